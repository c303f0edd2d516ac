"""The FHIR routes served directly (gateway/fhir/direct.py) answer exactly as FastAPI answers them:
the same module fakes behind two gateways, one with the direct layer and one without."""

from __future__ import annotations

import warnings

import httpx
import pytest
from gateway_support import PNR, PNR_2, order, patient_body

from gateway.app import create_app
from gateway.fhir import direct
from gateway.fhir.direct import DirectFhirRoutes
from gateway.settings import GatewaySettings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def gateways(demographics, medication, journal, referrals):
    """(with the direct layer, without it): both over the same module fakes."""
    settings = GatewaySettings(read_retries=1, public_base_url=None)

    def transports() -> dict:
        fakes = {"demographics": demographics, "medication": medication, "journal": journal, "referrals": referrals}
        return {name: httpx.MockTransport(fake) for name, fake in fakes.items()}

    with_layer = create_app(settings, transport=transports())
    without_layer = create_app(settings, transport=transports())
    without_layer.user_middleware = [m for m in without_layer.user_middleware if m.cls is not DirectFhirRoutes]
    with (TestClient(with_layer, base_url="http://testserver") as a,
          TestClient(without_layer, base_url="http://testserver") as b):  # fmt: skip
        yield a, b


def answer(response: httpx.Response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "date")}
    return response.status_code, headers, response.content


def test_reads_searches_and_errors_answer_the_same_through_either_path(gateways, monkeypatch):
    direct_client, fastapi_client = gateways
    served_directly, check_format = [], direct.check_format

    def spy(request) -> None:
        served_directly.append(request.url.path)
        check_format(request)

    monkeypatch.setattr(direct, "check_format", spy)
    patient = direct_client.post("/fhir/Patient", json=patient_body(PNR)).json()
    direct_client.post("/fhir/Patient", json=patient_body(PNR_2))
    order_id = direct_client.post("/fhir/MedicationRequest", json=order(patient["id"])).json()["id"]
    pid = patient["id"]
    paths = [
        f"/fhir/Patient/{pid}", f"/fhir/Patient/{pid}?_format=xml", f"/fhir/Patient/{pid}?_pretty=true",
        f"/fhir/Patient/{pid}?_format=text", f"/fhir/Patient/{pid}?_pretty=maybe", f"/fhir/Patient/{pid}/_history",
        f"/fhir/Patient/{pid}/_history/1", f"/fhir/Patient/{pid}/_history/x", f"/fhir/Patient/{'0' * 64}",
        "/fhir/Patient/not an id", f"/fhir/Patient?identifier={PNR}", "/fhir/Patient?family=t&_count=1",
        "/fhir/Patient?unknown=1", f"/fhir/Patient/{pid}/$everything", f"/fhir/MedicationRequest/{order_id}",
        f"/fhir/MedicationRequest?patient={pid}", "/fhir/metadata", "/fhir/Nothing/1", "/health",
        "/fhir/Patient/_search",  # GET on a POST-only path: the read route with id "_search", as FastAPI has it
    ]  # fmt: skip
    for path in paths:
        assert answer(direct_client.get(path)) == answer(fastapi_client.get(path)), path
    assert f"/fhir/Patient/{pid}" in served_directly and "/health" not in served_directly
    for method, path in (("PATCH", f"/fhir/Patient/{pid}"), ("DELETE", "/fhir/metadata")):  # 405s
        assert answer(direct_client.request(method, path)) == answer(fastapi_client.request(method, path))


def test_writes_answer_the_same_through_either_path(gateways):
    direct_client, fastapi_client = gateways
    outcomes = []
    for client, number in ((direct_client, PNR), (fastapi_client, PNR_2)):
        created = client.post("/fhir/Patient", json=patient_body(number))
        body = created.json()
        stale = client.put(f"/fhir/Patient/{body['id']}", json=body, headers={"If-Match": 'W/"9"'})
        bad = client.post("/fhir/Patient", content=b"{", headers={"Content-Type": "application/fhir+json"})
        outcomes.append([(r.status_code, r.headers.get("content-type"), r.json()["resourceType"])
                         for r in (created, stale, bad)])  # fmt: skip
    assert outcomes[0] == outcomes[1]
    assert [status for status, _, _ in outcomes[0]] == [201, 412, 400]
