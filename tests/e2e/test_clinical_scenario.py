"""End to end through real processes: the five started the way `make run` starts them
(`deploy.run.Stack`, on free ports, SQLite in a temporary data folder), a clinical scenario through
the gateway with plain httpx, and every process stopped afterwards.

Register a patient, write a journal note with a diagnosis, prescribe, stop the medication (and be
refused a transition after that), send a referral through sent -> received -> completed, and find
it all in `Patient/$everything`. Along the way: request ids cross the gateway -> module hop in the
real processes, and their logs carry no personal data.
"""

from __future__ import annotations

import io
import json
import os
import time

import httpx
import pytest

from deploy.run import DEFAULT_PORTS, Stack, free_port

PNR = "191212121212"  # Tolvan Tolvansson, the Skatteverket test person
FAMILY, GIVEN = "Tolvansson", "Tolvan"
PNR_SYSTEM = "http://electronichealth.se/identifier/personnummer"
HSA = "urn:oid:1.2.752.29.4.19"
ICD = "urn:oid:1.2.752.116.1.1.1"
ATC = "http://www.whocc.no/atc"
XHTML = "http://www.w3.org/1999/xhtml"
PENICILLIN = "Fenoximetylpenicillin"
CARE_UNIT = {"identifier": {"system": HSA, "value": "SE2321000131-E000000000001"}, "display": "Vårdcentralen Näset"}
CARDIOLOGY = {"identifier": {"system": HSA, "value": "SE2321000131-E000000033003"}, "display": "Kardiologen NÄL"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    log = io.StringIO()
    stack = Stack(tmp_path_factory.mktemp("data"), ports={name: free_port() for name in DEFAULT_PORTS},
                  log_stream=log)  # fmt: skip
    stack.log_text = log.getvalue  # type: ignore[attr-defined]
    with stack:
        yield stack
    for name, process in stack.processes.items():
        assert process.poll() is not None, f"{name} still running after stop"
        with pytest.raises(ProcessLookupError):
            os.kill(process.pid, 0)


@pytest.fixture(scope="module")
def fhir(stack):
    with httpx.Client(base_url=f"{stack.url('gateway')}/fhir", timeout=30.0,
                      headers={"Accept": "application/fhir+json"}) as client:  # fmt: skip
        yield client


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def test_clinical_scenario_through_the_gateway(stack, fhir):
    started = time.monotonic()
    patient = ok(fhir.post("/Patient", json={
        "resourceType": "Patient", "identifier": [{"system": PNR_SYSTEM, "value": PNR}],
        "name": [{"use": "official", "family": FAMILY, "given": [GIVEN]}], "gender": "male",
        "birthDate": "1912-12-12",
    }, headers={"X-Request-Id": "e2e-register"}), 201)  # fmt: skip
    pid = patient["id"]
    found = ok(fhir.get("/Patient", params={"identifier": f"{PNR_SYSTEM}|{PNR}"}))
    assert [e["resource"]["id"] for e in found["entry"]] == [pid]

    note = ok(fhir.post("/Composition", json={
        "resourceType": "Composition", "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
        "subject": {"reference": f"Patient/{pid}"}, "date": "2026-11-19T13:15:00+01:00",
        "author": [{"identifier": {"system": HSA, "value": "SE2321000131-P000000202022"}, "display": "Dr Ek"}],
        "custodian": CARE_UNIT, "title": "Journalanteckning",
        "contained": [{"resourceType": "Condition", "id": "d0", "subject": {"reference": f"Patient/{pid}"},
                       "code": {"coding": [{"system": ICD, "code": "J02.0"}], "text": "Streptokockfaryngit"}}],
        "section": [
            {"title": "Anamnes", "text": {"status": "generated", "div": f'<div xmlns="{XHTML}"><p>Halsont.</p></div>'}},
            {"title": "Diagnos", "entry": [{"reference": "#d0"}]},
        ],
    }), 201)  # fmt: skip
    condition_ref = next(s for s in note["section"] if s["title"] == "Diagnos")["entry"][0]["reference"]
    condition = ok(fhir.get(f"/{condition_ref}"))
    assert condition["code"]["coding"][0]["code"] == "J02.0"

    order = ok(fhir.post("/MedicationRequest", json={
        "resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "J01CE02", "display": PENICILLIN}],
                                      "text": PENICILLIN},
        "subject": {"reference": f"Patient/{pid}"}, "authoredOn": "2026-11-19T13:30:00+01:00",
        "requester": CARE_UNIT, "dosageInstruction": [{"text": "1 tablett 3 gånger dagligen i 10 dagar"}],
        "reasonCode": [{"text": "Streptokockfaryngit"}],
    }), 201)  # fmt: skip
    assert order["status"] == "active"
    stopped = ok(fhir.put(f"/MedicationRequest/{order['id']}", headers={"If-Match": 'W/"1"'},
                          json={**order, "status": "stopped", "statusReason": {"text": "Utslag"}}))  # fmt: skip
    assert stopped["status"] == "stopped" and stopped["meta"]["versionId"] == "2"
    illegal = fhir.put(f"/MedicationRequest/{order['id']}", json={**stopped, "status": "active"})
    assert illegal.status_code == 409, illegal.text
    assert illegal.json()["resourceType"] == "OperationOutcome"

    referral = ok(fhir.post("/ServiceRequest", json={
        "resourceType": "ServiceRequest", "status": "active", "intent": "order", "priority": "urgent",
        "code": {"text": "Bedömning av kardiolog, arbets-EKG"}, "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": "2026-11-20T10:00:00+01:00", "requester": CARE_UNIT, "performer": [CARDIOLOGY],
        "reasonCode": [{"text": "Misstänkt stabil kärlkramp"}],
    }), 201)  # fmt: skip
    task = ok(fhir.get(f"/Task/{referral['id']}"))
    assert task["status"] == "requested"  # sent
    for status in ("received", "accepted", "in-progress", "completed"):
        task = ok(fhir.put(f"/Task/{task['id']}", json={**task, "status": status}))
        assert task["status"] == status
    assert ok(fhir.get(f"/ServiceRequest/{referral['id']}"))["status"] == "completed"

    everything = ok(fhir.get(f"/Patient/{pid}/$everything"))
    by_type: dict[str, set[str]] = {}
    for entry in everything["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], set()).add(entry["resource"]["id"])
    assert by_type["Patient"] == {pid}
    assert note["id"] in by_type["Composition"]
    assert order["id"] in by_type["MedicationRequest"]
    assert referral["id"] in by_type["ServiceRequest"]
    assert not any(e["resource"]["resourceType"] == "OperationOutcome" for e in everything["entry"])
    assert time.monotonic() - started < 60


def test_request_ids_cross_processes_and_logs_hold_no_personal_data(stack, fhir):
    answered = fhir.get("/Patient", params={"identifier": PNR, "family": FAMILY}, headers={"X-Request-Id": "e2e-x"})
    assert answered.status_code == 200 and answered.headers["x-request-id"] == "e2e-x"
    metrics = httpx.get(f"{stack.url('gateway')}/metrics", timeout=5).text
    assert 'route="/fhir/Patient"' in metrics
    assert httpx.get(f"{stack.url('journal')}/metrics", timeout=5).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and '"e2e-x"' not in stack.log_text():
        time.sleep(0.1)  # the relay threads print what the processes wrote
    lines = [line.split(" | ", 1)[1] for line in stack.log_text().splitlines() if " | {" in line]
    records = [json.loads(line) for line in lines]
    assert {r["module"] for r in records if r["request_id"] == "e2e-x"} == {"gateway", "demographics"}
    text = stack.log_text()
    for secret in (PNR, "19121212-1212", FAMILY, GIVEN):
        assert secret not in text, f"{secret!r} in the processes' logs"
