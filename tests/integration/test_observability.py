"""Observability of the gateway and the modules (installed once per side: `new_service_app` and the
gateway's `create_app`): request ids across the gateway -> module hop, Prometheus metrics per route
template, JSON access logs without personal data, and `/docs` that needs no internet."""

from __future__ import annotations

import io
import json
import logging
import re
import warnings
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from services.demographics.app import create_app as create_demographics
from services.demographics.settings import DemographicsSettings
from services.journal.app import create_app as create_journal
from services.journal.settings import JournalSettings
from services.kernel.observability import JsonLineFormatter
from services.medication.app import create_app as create_medication
from services.medication.settings import MedicationSettings
from services.referrals.app import create_app as create_referrals
from services.referrals.settings import ReferralsSettings
from tests.integration.demographics.fakes import FAKE_TEMPLATES, fake_validator

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PNR = "191212121212"  # Tolvan Tolvansson, the Skatteverket test person
PNR_FORMS = (PNR, "19121212-1212", "121212-1212")
NAMES = ("Tolvansson", "Tolvan")
PNR_SYSTEM = "http://electronichealth.se/identifier/personnummer"
EXAMPLES = Path(__file__).resolve().parents[2] / "archetypes/examples"
VALID_NOTE = EXAMPLES / "vgr.journal_note.v1/valid/halsfluss_vardcentral.json"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Recording:
    """Wraps an ASGI app and keeps the headers of every request it gets."""

    def __init__(self, app):
        self.app = app
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.seen.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


def _down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def demographics_app(sqlite_url):
    app = create_demographics(
        DemographicsSettings(database_url=sqlite_url, migrate_on_startup=True),
        validator=fake_validator,
        templates=FAKE_TEMPLATES,
    )
    yield app
    app.state.engine.dispose()


@pytest.fixture
def recorded(demographics_app):
    return Recording(demographics_app)


@pytest.fixture
def gateway(recorded):
    down = httpx.MockTransport(_down)
    transports = {"demographics": httpx.ASGITransport(app=recorded), "journal": down, "medication": down,
                  "referrals": down}  # fmt: skip
    with TestClient(create_gateway(GatewaySettings(read_retries=0), transport=transports)) as client:
        yield client


@pytest.fixture
def logs():
    """Everything logged while the test runs (the access log and any other logger), as text."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(JsonLineFormatter())  # what the apps' own handler writes
    access = logging.getLogger("openehr.access")
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    for logger in (access, root):
        logger.addHandler(handler)
    yield stream
    for logger in (access, root):
        logger.removeHandler(handler)
    root.setLevel(old_level)


def patient() -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": PNR_SYSTEM, "value": PNR}],
        "name": [{"family": NAMES[0], "given": [NAMES[1]]}],
        "gender": "male",
        "birthDate": "1912-12-12",
    }


def metrics(client: TestClient) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def test_the_gateway_passes_the_request_id_and_traceparent_to_the_module(gateway, recorded):
    headers = {"X-Request-Id": "req-42", "traceparent": TRACEPARENT}
    created = gateway.post("/fhir/Patient", json=patient(), headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["x-request-id"] == "req-42"
    assert recorded.seen, "the gateway called demographics"
    assert all(seen["x-request-id"] == "req-42" for seen in recorded.seen)
    assert all(seen["traceparent"] == TRACEPARENT for seen in recorded.seen)


def test_a_request_without_an_id_gets_one_and_the_module_sees_the_same(gateway, recorded):
    read = gateway.get("/fhir/Patient/5b1b2c3e-0000-4000-8000-000000000000")
    assert read.status_code == 404
    request_id = read.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert recorded.seen and {seen["x-request-id"] for seen in recorded.seen} == {request_id}
    assert all("traceparent" not in seen for seen in recorded.seen)


def test_a_malformed_request_id_or_traceparent_is_not_passed_on(gateway, recorded):
    answered = gateway.get("/fhir/Patient", params={"identifier": PNR},
                           headers={"X-Request-Id": "bad id\twith spaces", "traceparent": "nonsense"})  # fmt: skip
    assert answered.status_code == 200
    assert answered.headers["x-request-id"] != "bad id\twith spaces"
    assert {seen["x-request-id"] for seen in recorded.seen} == {answered.headers["x-request-id"]}
    assert all("traceparent" not in seen for seen in recorded.seen)


def test_every_response_carries_the_request_id_errors_included(gateway, demographics_app):
    for response in (gateway.get("/health"), gateway.get("/fhir/NoSuchType"), gateway.get("/metrics")):
        assert response.headers["x-request-id"]
    with TestClient(demographics_app) as module:
        assert module.get("/rest/openehr/v1/ehr/not-a-uuid", headers={"X-Request-Id": "m-1"}).headers[
            "x-request-id"] == "m-1"  # fmt: skip


def test_gateway_metrics_per_route_template_and_module_call_errors(gateway):
    created = gateway.post("/fhir/Patient", json=patient())
    pid = created.json()["id"]
    assert gateway.get(f"/fhir/Patient/{pid}").status_code == 200
    assert gateway.get(f"/fhir/MedicationRequest?subject=Patient/{pid}").status_code == 503  # medication is down
    bad = patient() | {"birthDate": "not a date"}
    assert gateway.post("/fhir/Patient", json=bad).status_code in (400, 422)
    samples = metrics(gateway)
    requests = {(s.labels["method"], s.labels["route"], s.labels["status"]): s.value
                for s in samples["http_requests"] if s.name == "http_requests_total"}  # fmt: skip
    assert requests[("POST", "/fhir/Patient", "201")] == 1
    read = [key for key in requests if re.fullmatch(r"/fhir/Patient/\{\w+\}", key[1])]
    assert [requests[key] for key in read] == [1] and read[0][2] == "200"
    assert requests[("GET", "/fhir/MedicationRequest", "503")] == 1
    assert not any(pid in route for _, route, _ in requests), "no ids in labels"
    latency = {(s.labels["method"], s.labels["route"]) for s in samples["http_request_duration_seconds"]}
    assert ("GET", read[0][1]) in latency
    errors = {(s.labels["module"], s.labels["kind"]): s.value
              for s in samples["gateway_module_call_errors"] if s.name.endswith("_total")}  # fmt: skip
    assert errors[("medication", "unreachable")] >= 1
    assert "http_validation_failures" in samples


def test_module_metrics_count_requests_and_422_per_route_template(demographics_app):
    with TestClient(demographics_app) as module:
        base = "/rest/openehr/v1"
        bad_person = {"_type": "PERSON", "archetype_node_id": "openEHR-DEMOGRAPHIC-PERSON.person.v1"}
        failed = module.post(f"{base}/demographic/person", json=bad_person)
        assert failed.status_code == 422, failed.text
        assert module.get(f"{base}/ehr/7d44b88c-4199-4bad-97dc-d78268e01398").status_code == 404
        samples = metrics(module)
    requests = {(s.labels["method"], s.labels["route"], s.labels["status"]) for s in samples["http_requests"]
                if s.name == "http_requests_total"}  # fmt: skip
    assert ("POST", f"{base}/demographic/person", "422") in requests
    assert ("GET", f"{base}/ehr/{{ehr_id}}", "404") in requests
    failures = {s.labels["route"]: s.value for s in samples["http_validation_failures"] if s.name.endswith("_total")}
    assert failures == {f"{base}/demographic/person": 1.0}


def test_two_apps_in_one_process_keep_their_own_metrics(sqlite_url, tmp_path):
    first = create_journal(JournalSettings(database_url=f"sqlite:///{tmp_path}/a.db"))
    second = create_journal(JournalSettings(database_url=f"sqlite:///{tmp_path}/b.db"))
    with TestClient(first) as a, TestClient(second) as b:
        a.get("/health")
        a.get("/health")
        b.get("/health")
        count = {name: next(s.value for s in metrics(c)["http_requests"]
                            if s.labels.get("route") == "/health" and s.name.endswith("_total"))
                 for name, c in (("a", a), ("b", b))}  # fmt: skip
    assert count == {"a": 2.0, "b": 1.0}


def test_logs_are_json_lines_without_personal_data(gateway, logs):
    created = gateway.post("/fhir/Patient", json=patient(), headers={"X-Request-Id": "log-1"})
    assert created.status_code == 201
    pid = created.json()["id"]
    gateway.get("/fhir/Patient", params={"identifier": f"{PNR_SYSTEM}|{PNR}", "name": NAMES[0]})
    gateway.get(f"/fhir/Patient/{PNR}")  # an identifier in the path
    gateway.get(f"/fhir/Patient/{NAMES[0]}/_history")
    gateway.put(f"/fhir/Patient/{pid}", json=patient() | {"id": pid, "name": [{"family": "Åkesson", "given": ["Åsa"]}]})
    gateway.get("/fhir/Patient/$everything", params={"identifier": PNR})
    text = logs.getvalue()
    assert logging.getLogger("uvicorn.access").disabled, "uvicorn's access log writes raw query strings"
    for secret in (*PNR_FORMS, *NAMES, "Åkesson", "Åsa", "akesson"):
        assert secret not in text, f"{secret!r} was logged"
    access = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    lines = [line for line in access if line.get("module") == "gateway"]
    assert len(lines) >= 6
    for line in lines:
        assert {"time", "level", "module", "request_id", "method", "route", "status", "duration_ms"} <= set(line)
        assert "?" not in line["route"]
    posted = {"module": "gateway", "request_id": "log-1", "method": "POST", "route": "/fhir/Patient", "status": 201}
    assert any(posted.items() <= line.items() for line in lines)
    module_lines = [line for line in access if line.get("module") == "demographics"]
    assert module_lines and any(line["request_id"] == "log-1" for line in module_lines)


MODULE_APPS = {
    "journal": lambda url: create_journal(JournalSettings(database_url=url)),
    "medication": lambda url: create_medication(MedicationSettings(database_url=url)),
    "referrals": lambda url: create_referrals(ReferralsSettings(database_url=url)),
}


def _assert_docs_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    references = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert references, page.text
    assert not re.search(r"https?://|//cdn|unpkg|jsdelivr", page.text), page.text
    for reference in references:
        assert reference.startswith("/"), reference
        assert client.get(reference).status_code == 200, reference
    assert any(ref.endswith(".js") for ref in references) and any(ref.endswith(".css") for ref in references)
    assert "swagger-ui-bundle.js" in page.text and client.get("/openapi.json").json()["paths"]


def test_docs_need_no_internet_on_the_gateway(gateway):
    _assert_docs_offline(gateway)
    assert "/metrics" not in gateway.get("/openapi.json").json()["paths"]


def test_docs_need_no_internet_on_demographics(demographics_app):
    with TestClient(demographics_app) as client:
        _assert_docs_offline(client)
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("name", sorted(MODULE_APPS))
def test_docs_need_no_internet_on_clinical_modules(name, tmp_path):
    with TestClient(MODULE_APPS[name](f"sqlite:///{tmp_path}/{name}.db")) as client:
        _assert_docs_offline(client)


def test_a_clinical_module_passes_the_request_id_on_to_demographics_hop(demographics_app, tmp_path):
    recorded = Recording(demographics_app)
    journal = create_journal(JournalSettings(database_url=f"sqlite:///{tmp_path}/j.db"),
                             demographics_transport=httpx.ASGITransport(app=recorded))  # fmt: skip
    with TestClient(journal) as client:
        headers = {"X-Request-Id": "hop-2", "traceparent": TRACEPARENT}
        answered = client.post("/rest/openehr/v1/ehr/7d44b88c-4199-4bad-97dc-d78268e01398/composition",
                               json=json.loads(VALID_NOTE.read_text()), headers=headers)  # fmt: skip
    assert answered.status_code == 404, answered.text  # demographics knows no such EHR: it was asked
    assert answered.headers["x-request-id"] == "hop-2"
    assert recorded.seen, answered.text
    assert all(seen["x-request-id"] == "hop-2" and seen["traceparent"] == TRACEPARENT for seen in recorded.seen)
