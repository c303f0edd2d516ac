"""The gateway against module fakes (httpx.MockTransport). Every FHIR body the gateway returns
is parsed by the strict fhir.resources R4B model of its resourceType (JSON and XML)."""

from __future__ import annotations

import warnings

import httpx
import pytest
from gateway_fakes import REFERRAL_NEXT, Down, FakeClinical, FakeDemographics, journal_index, referral_index
from gateway_support import strict_check

from gateway.app import create_app
from gateway.settings import GatewaySettings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


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
def journal(demographics) -> FakeClinical:
    return FakeClinical(demographics, "vgr.journal_note.v1", "journal.vgr.se", 8082, journal_index, None)


@pytest.fixture
def referrals(demographics) -> FakeClinical:
    return FakeClinical(
        demographics, "vgr.referral.v1", "referrals.vgr.se", 8084, referral_index, REFERRAL_NEXT
    )


@pytest.fixture
def med_client(make_client, medication, journal, referrals) -> TestClient:
    transports = {
        name: httpx.MockTransport(fake)
        for name, fake in (("medication", medication), ("journal", journal), ("referrals", referrals))
    }
    with make_client(**transports) as c:
        yield c
