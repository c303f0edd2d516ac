"""The gateway against module fakes (httpx.MockTransport). Every FHIR body the gateway returns
is parsed by the strict fhir.resources R4B model of its resourceType (JSON and XML)."""

from __future__ import annotations

import warnings

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class
from gateway_fakes import Down, FakeClinical, FakeDemographics

from gateway.app import create_app
from gateway.settings import GatewaySettings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PNR = "191212121212"  # Tolvan Tolvansson, the Skatteverket test person
PNR_2 = "194910019803"
SAMORDNING = "200101611234"  # 2001-01-01, day + 60
PNR_SYSTEM = "http://electronichealth.se/identifier/personnummer"
SAM_SYSTEM = "http://electronichealth.se/identifier/samordningsnummer"

checked: list[str] = []


def strict_check(response: httpx.Response) -> None:
    """Parse every FHIR body with the strict R4B model (raises on anything invalid)."""
    response.read()
    media = response.headers.get("content-type", "")
    if "fhir+json" in media:
        body = response.json()
        get_fhir_model_class(body["resourceType"]).model_validate(body)
        checked.append(body["resourceType"])
    elif "fhir+xml" in media:
        from lxml import etree

        root = etree.fromstring(response.content)
        name = etree.QName(root).localname
        get_fhir_model_class(name).model_validate_xml(response.content)
        checked.append(name)


def patient_body(identifier: str = PNR, system: str = PNR_SYSTEM, **extra) -> dict:
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": system, "value": identifier}],
        "name": [{"use": "official", "family": "Tolvansson", "given": ["Tolvan"]}],
        "gender": "male",
        "birthDate": "1912-12-12",
    }
    body.update(extra)
    return body


@pytest.fixture
def demographics() -> FakeDemographics:
    return FakeDemographics()


@pytest.fixture
def settings() -> GatewaySettings:
    return GatewaySettings(read_retries=1, public_base_url=None)


@pytest.fixture
def make_client(demographics, settings):
    def make(**transports) -> TestClient:
        chosen = {
            "demographics": httpx.MockTransport(demographics),
            "journal": httpx.MockTransport(Down()),
            "medication": httpx.MockTransport(Down()),
            "referrals": httpx.MockTransport(Down()),
        }
        chosen.update(transports)
        app = create_app(settings, transport=chosen)
        test_client = TestClient(app, base_url="http://testserver")
        test_client.event_hooks = {"request": [], "response": [strict_check]}
        return test_client

    return make


@pytest.fixture
def client(make_client) -> TestClient:
    with make_client() as c:
        yield c


@pytest.fixture
def medication(demographics) -> FakeClinical:
    return FakeClinical(demographics)


@pytest.fixture
def med_client(make_client, medication) -> TestClient:
    with make_client(medication=httpx.MockTransport(medication)) as c:
        yield c
