"""The gateway in-process against ALL the real module apps (httpx.ASGITransport): demographics,
journal, medication and referrals, each on its own fresh database (SQLite, and PostgreSQL through
the `database_url` fixture), with the real templates and archetype validator. The clinical apps'
EHR lookups go to the real demographics app in-process too. Every FHIR body the gateway returns is
parsed by the strict fhir.resources R4B model (`strict_check`)."""

from __future__ import annotations

import warnings

import httpx
import pytest
from gateway_support import PNR, PNR_2, PNR_SYSTEM, order, patient_body, strict_check
from test_gateway_bundles import PATIENT_URN, transaction
from test_gateway_journal import ICD, note
from test_gateway_referrals import move, referral

from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.demographics.app import create_app as create_demographics
from services.demographics.settings import DemographicsSettings
from services.journal.app import create_app as create_journal
from services.journal.settings import JournalSettings
from services.kernel.testing import fresh_postgres_database, fresh_sqlite_database
from services.medication.app import create_app as create_medication
from services.medication.settings import MedicationSettings
from services.referrals.app import create_app as create_referrals
from services.referrals.settings import ReferralsSettings
from tests.integration.clinical_support import example

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

JOURNAL_NOTE = "vgr.journal_note.v1"
CLINICAL = {
    "journal": (create_journal, JournalSettings),
    "medication": (create_medication, MedicationSettings),
    "referrals": (create_referrals, ReferralsSettings),
}


@pytest.fixture
def database_urls(request, database_url, tmp_path):
    """One fresh database per module, of the kind `database_url` is (SQLite or PostgreSQL)."""
    if database_url.startswith("sqlite"):
        urls = {name: fresh_sqlite_database(tmp_path / name) for name in CLINICAL}
        yield {"demographics": database_url, **urls}
        return
    server = request.getfixturevalue("postgres_server_url")
    with (
        fresh_postgres_database(server) as journal,
        fresh_postgres_database(server) as medication,
        fresh_postgres_database(server) as referrals,
    ):
        yield {"demographics": database_url, "journal": journal, "medication": medication,
               "referrals": referrals}  # fmt: skip


@pytest.fixture
def modules(database_urls):
    demographics = create_demographics(
        DemographicsSettings(database_url=database_urls["demographics"], migrate_on_startup=True)
    )
    apps = {"demographics": demographics}
    for name, (factory, settings_class) in CLINICAL.items():
        settings = settings_class(
            database_url=database_urls[name], migrate_on_startup=True, ehr_cache_ttl_seconds=0
        )
        apps[name] = factory(settings, demographics_transport=httpx.ASGITransport(app=demographics))
    yield apps
    demographics.state.engine.dispose()
    for name in CLINICAL:
        apps[name].state.service.store.engine.dispose()


@pytest.fixture
def gw(modules):
    transports = {name: httpx.ASGITransport(app=app) for name, app in modules.items()}
    app = create_app(GatewaySettings(read_retries=0), transport=transports)
    with TestClient(app, base_url="http://testserver") as client:
        client.event_hooks = {"request": [], "response": [strict_check]}
        yield client


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def ids(bundle: dict, mode: str = "match") -> list[str]:
    return sorted(e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode)


def new_patient(gw, number: str = PNR) -> str:
    return ok(gw.post("/fhir/Patient", json=patient_body(number)), 201)["id"]


def test_patient_interactions(gw):
    headers = {"If-None-Exist": f"identifier={PNR_SYSTEM}|{PNR}"}
    patient = ok(gw.post("/fhir/Patient", json=patient_body(), headers=headers), 201)
    assert ok(gw.post("/fhir/Patient", json=patient_body(), headers=headers))["id"] == patient["id"]
    pid = patient["id"]
    anna = new_patient(gw, PNR_2)
    assert ok(gw.get(f"/fhir/Patient/{pid}"))["identifier"][0]["value"] == PNR
    assert ids(ok(gw.get("/fhir/Patient", params={"identifier": f"{PNR_SYSTEM}|{PNR}"}))) == [pid]
    assert ids(ok(gw.get("/fhir/Patient", params={"family": "tolvan"}))) == sorted([pid, anna])
    page = ok(gw.get("/fhir/Patient", params={"_count": "1"}))
    assert page["total"] == 2
    following = next(link["url"] for link in page["link"] if link["relation"] == "next")
    assert len(ok(gw.get(following))["entry"]) == 1

    patient["gender"] = "other"
    updated = ok(gw.put(f"/fhir/Patient/{pid}", json=patient, headers={"If-Match": 'W/"1"'}))
    assert updated["meta"]["versionId"] == "2"
    assert gw.put(f"/fhir/Patient/{pid}", json=patient, headers={"If-Match": 'W/"1"'}).status_code == 412
    assert ok(gw.get(f"/fhir/Patient/{pid}/_history/1"))["gender"] == "male"
    assert ok(gw.get(f"/fhir/Patient/{pid}/_history"))["total"] == 2
    xml = gw.get(f"/fhir/Patient/{pid}", headers={"Accept": "application/fhir+xml"})
    assert xml.status_code == 200 and b"<Patient" in xml.content
    ok(gw.delete(f"/fhir/Patient/{anna}"), 204)
    assert gw.get(f"/fhir/Patient/{anna}").status_code == 410


def test_medication_request_interactions(gw):
    tolvan, anna = new_patient(gw), new_patient(gw, PNR_2)
    mr = ok(gw.post("/fhir/MedicationRequest", json=order(tolvan)), 201)
    other = ok(gw.post("/fhir/MedicationRequest", json=order(tolvan, "C07AB02", "Metoprolol")), 201)
    ok(gw.post("/fhir/MedicationRequest", json=order(anna)), 201)
    assert ok(gw.get(f"/fhir/MedicationRequest/{mr['id']}"))["status"] == "active"
    assert ids(ok(gw.get("/fhir/MedicationRequest", params={"patient": tolvan}))) == sorted(
        [mr["id"], other["id"]]
    )
    assert ids(ok(gw.get("/fhir/MedicationRequest", params={"code": "C07AB02"}))) == [other["id"]]
    included = ok(
        gw.get("/fhir/MedicationRequest", params={"patient": tolvan, "_include": "MedicationRequest:subject"})
    )
    assert ids(included, "include") == [tolvan]

    held = ok(gw.put(f"/fhir/MedicationRequest/{mr['id']}", json={**mr, "status": "on-hold"},
                     headers={"If-Match": 'W/"1"'}))  # fmt: skip
    assert held["status"] == "on-hold" and held["meta"]["versionId"] == "2"
    stopped = ok(gw.put(f"/fhir/MedicationRequest/{mr['id']}", json={**held, "status": "stopped"}))
    assert stopped["status"] == "stopped"
    again = gw.put(f"/fhir/MedicationRequest/{mr['id']}", json={**stopped, "status": "active"})
    assert again.status_code == 409
    assert ok(gw.get(f"/fhir/MedicationRequest/{mr['id']}/_history/1"))["status"] == "active"
    assert ok(gw.get(f"/fhir/MedicationRequest/{mr['id']}/_history"))["total"] == 3
    assert ids(ok(gw.get("/fhir/MedicationRequest", params={"status": "stopped"}))) == [mr["id"]]

    unknown = gw.post("/fhir/MedicationRequest", json=order("5b8e3c1a-4a7f-4f43-9a0e-2a9d1c3b7e10"))
    assert unknown.status_code in (400, 404, 422), unknown.text
    no_unit = order(tolvan)
    del no_unit["requester"]
    assert gw.post("/fhir/MedicationRequest", json=no_unit).status_code == 422

    rev = ok(gw.get("/fhir/Patient", params={"_id": tolvan, "_revinclude": "MedicationRequest:subject"}))
    assert ids(rev, "include") == sorted([mr["id"], other["id"]])


def test_composition_and_condition_interactions(gw):
    tolvan, anna = new_patient(gw), new_patient(gw, PNR_2)
    first = ok(gw.post("/fhir/Composition", json=note(tolvan)), 201)
    second = ok(
        gw.post("/fhir/Composition", json=note(tolvan, "2026-11-21T09:00:00+01:00",
                                               (("I10.9", "Essentiell hypertoni"), ("E11.9", "Diabetes")))),
        201,
    )  # fmt: skip
    ok(gw.post("/fhir/Composition", json=note(anna, codes=(("I10.9", "Essentiell hypertoni"),))), 201)
    read = ok(gw.get(f"/fhir/Composition/{first['id']}"))
    assert read["section"][0]["title"] == "Anamnes"
    assert ok(gw.get(f"/fhir/Composition/{first['id']}/_history/1"))["id"] == first["id"]
    condition = ok(gw.get(f"/fhir/{read['section'][1]['entry'][0]['reference']}"))
    assert condition["code"]["coding"][0]["code"] == "J02.0"

    assert ok(gw.get("/fhir/Composition", params={"patient": tolvan}))["total"] == 2
    assert ids(ok(gw.get("/fhir/Composition", params={"patient": tolvan, "date": "ge2026-11-20"}))) == [
        second["id"]
    ]
    assert ok(gw.get("/fhir/Composition", params={"type": "http://loinc.org|11506-3"}))["total"] == 3
    assert ok(gw.get("/fhir/Condition", params={"code": f"{ICD}|I10.9"}))["total"] == 2
    assert ok(gw.get("/fhir/Condition", params={"subject": f"Patient/{tolvan}"}))["total"] == 3
    wrong_type = note(tolvan)
    wrong_type["type"] = {"coding": [{"system": "http://loinc.org", "code": "34133-9"}]}
    assert gw.post("/fhir/Composition", json=wrong_type).status_code == 422


def test_service_request_and_task_interactions(gw):
    patient_id = new_patient(gw)
    sr = ok(gw.post("/fhir/ServiceRequest", json=referral(patient_id)), 201)
    task = ok(gw.get(f"/fhir/Task/{sr['id']}"))
    assert task["status"] == "requested"
    for status in ("received", "accepted", "in-progress", "completed"):
        task = ok(move(gw, task, status))
        assert task["status"] == status
    assert ok(gw.get(f"/fhir/ServiceRequest/{sr['id']}"))["status"] == "completed"
    assert move(gw, task, "cancelled").status_code == 409
    assert ok(gw.get(f"/fhir/Task/{sr['id']}/_history/2"))["status"] == "received"
    assert ok(gw.get(f"/fhir/Task/{sr['id']}/_history"))["total"] == 5

    draft = ok(gw.post("/fhir/ServiceRequest", json=referral(patient_id, status="draft", priority="routine")), 201)
    assert ids(ok(gw.get("/fhir/ServiceRequest", params={"patient": patient_id}))) == sorted(
        [sr["id"], draft["id"]]
    )
    assert ids(ok(gw.get("/fhir/ServiceRequest", params={"status": "draft"}))) == [draft["id"]]
    assert ids(ok(gw.get("/fhir/Task", params={"status": "draft"}))) == [draft["id"]]
    sent = ok(gw.put(f"/fhir/ServiceRequest/{draft['id']}", json={**draft, "status": "active"}))
    assert sent["status"] == "active"
    assert ok(gw.get(f"/fhir/Task/{draft['id']}"))["status"] == "requested"


def test_everything_across_all_modules(gw):
    tolvan = new_patient(gw)
    ok(gw.post("/fhir/MedicationRequest", json=order(tolvan)), 201)
    ok(gw.post("/fhir/Composition", json=note(tolvan)), 201)
    ok(gw.post("/fhir/ServiceRequest", json=referral(tolvan)), 201)
    everything = ok(gw.get(f"/fhir/Patient/{tolvan}/$everything"))
    kinds = sorted(e["resource"]["resourceType"] for e in everything["entry"])
    assert kinds == ["Composition", "Condition", "MedicationRequest", "Patient", "ServiceRequest", "Task"]
    assert gw.get(f"/fhir/Patient/{tolvan}/$everything", params={"_format": "xml"}).status_code == 200


def test_transactions_and_batches(gw):
    good = order("placeholder")
    good["subject"] = {"reference": PATIENT_URN}
    result = ok(gw.post("/fhir", json=transaction(good)))
    assert [e["response"]["status"] for e in result["entry"]] == ["201 Created"] * 2
    patient_id = result["entry"][1]["resource"]["id"]
    assert ok(gw.get("/fhir/MedicationRequest", params={"patient": patient_id}))["total"] == 1

    bad = order("placeholder")
    bad["subject"] = {"reference": PATIENT_URN}
    del bad["requester"]
    failed = gw.post("/fhir", json=transaction(good, bad, patient=patient_body(PNR_2)))
    assert failed.status_code == 422, failed.text
    assert ok(gw.get("/fhir/Patient", params={"identifier": f"{PNR_SYSTEM}|{PNR_2}"}))["total"] == 0

    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"Patient/{patient_id}"}},
            {"request": {"method": "GET", "url": f"MedicationRequest?patient={patient_id}"}},
        ],
    }
    entries = ok(gw.post("/fhir", json=batch))["entry"]
    assert [e["response"]["status"] for e in entries] == ["200 OK", "200 OK"]


def test_patient_sort(gw):
    from gateway_support import SAM_SYSTEM, SAMORDNING

    tolvan = new_patient(gw)  # Tolvansson, 1912
    anna = ok(gw.post("/fhir/Patient", json=patient_body(
        PNR_2, name=[{"family": "Åkesson", "given": ["Anna"]}], gender="female", birthDate="1949-10-01")), 201)["id"]
    sven = ok(gw.post("/fhir/Patient", json=patient_body(
        SAMORDNING, SAM_SYSTEM, name=[{"family": "Berg", "given": ["Sven"]}], birthDate="2001-01-01")), 201)["id"]

    def order_of(sort: str, **extra) -> list[str]:
        bundle = ok(gw.get("/fhir/Patient", params={"_sort": sort, **extra}))
        return [e["resource"]["id"] for e in bundle["entry"]]

    assert order_of("birthdate") == [tolvan, anna, sven]
    assert order_of("-birthdate") == [sven, anna, tolvan]
    assert order_of("family") == [sven, tolvan, anna]  # Å after Z, as in Swedish
    assert order_of("-family") == [anna, tolvan, sven]
    assert order_of("gender,-birthdate") == [anna, sven, tolvan]
    page = ok(gw.get("/fhir/Patient", params={"_sort": "-birthdate", "_count": "1", "_offset": "1"}))
    assert [e["resource"]["id"] for e in page["entry"]] == [anna] and page["total"] == 3
    following = next(link["url"] for link in page["link"] if link["relation"] == "next")
    assert "_sort=-birthdate" in following
    assert [e["resource"]["id"] for e in ok(gw.get(following))["entry"]] == [tolvan]
    refused = gw.get("/fhir/Patient", params={"_sort": "address"})
    assert refused.status_code == 400 and refused.json()["issue"][0]["expression"] == ["_sort"]


def test_patient_revinclude_of_every_compartment_resource(gw):
    tolvan, anna = new_patient(gw), new_patient(gw, PNR_2)
    mr = ok(gw.post("/fhir/MedicationRequest", json=order(tolvan)), 201)["id"]
    note_id = ok(gw.post("/fhir/Composition", json=note(tolvan)), 201)["id"]
    sr = ok(gw.post("/fhir/ServiceRequest", json=referral(tolvan)), 201)["id"]
    ok(gw.post("/fhir/MedicationRequest", json=order(anna)), 201)

    def included(*revincludes: str) -> list[tuple[str, str]]:
        params = [("_id", tolvan), *(("_revinclude", r) for r in revincludes)]
        bundle = ok(gw.get("/fhir/Patient", params=params))
        assert ids(bundle) == [tolvan]
        return sorted((e["resource"]["resourceType"], e["resource"]["id"])
                      for e in bundle["entry"] if e["search"]["mode"] == "include")  # fmt: skip

    assert included("Composition:subject") == [("Composition", note_id)]
    assert [t for t, _ in included("Condition:patient")] == ["Condition"]
    assert included("ServiceRequest:subject", "Task:patient") == [("ServiceRequest", sr), ("Task", sr)]
    assert included("MedicationRequest:patient", "Composition:patient") == sorted(
        [("Composition", note_id), ("MedicationRequest", mr)]
    )
    statement = ok(gw.get("/fhir/metadata"))
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert "Task:patient" in patient["searchRevInclude"]
    assert gw.get("/fhir/Patient", params={"_revinclude": "Observation:subject"}).status_code == 400


def test_condition_create(gw):
    patient_id = new_patient(gw)
    unit = {"identifier": {"system": "urn:oid:1.2.752.29.4.19", "value": "SE2321000131-E000000022002"},
            "display": "VC Näset"}  # fmt: skip
    condition = {
        "resourceType": "Condition",
        "contained": [{"resourceType": "PractitionerRole", "id": "r", "organization": unit,
                       "practitioner": {"display": "Dr Ek"}}],  # fmt: skip
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {"coding": [{"system": ICD, "code": "I10.9"}], "text": "Essentiell hypertoni"},
        "recordedDate": "2026-11-22T10:00:00+01:00",
        "recorder": {"reference": "#r"},
        "note": [{"text": "Upprepade mätningar över 150/95"}],
    }
    created = ok(gw.post("/fhir/Condition", json=condition), 201)
    assert created["code"]["coding"][0]["code"] == "I10.9"
    assert created["subject"] == {"reference": f"Patient/{patient_id}"}
    assert created["note"] == [{"text": "Upprepade mätningar över 150/95"}]
    assert ok(gw.get(f"/fhir/Condition/{created['id']}"))["recordedDate"].startswith("2026-11-22")
    assert ids(ok(gw.get("/fhir/Condition", params={"patient": patient_id}))) == [created["id"]]
    note_ref = created["evidence"][0]["detail"][0]["reference"]
    assert ok(gw.get(f"/fhir/{note_ref}"))["section"][0]["title"] == "Diagnos"

    no_unit = {**condition, "recorder": {"display": "Dr Ek"}}
    refused = gw.post("/fhir/Condition", json=no_unit)
    assert refused.status_code == 422 and refused.json()["issue"][0]["expression"] == ["Condition.recorder"]
    uncoded = {**condition, "code": {"text": "Högt blodtryck"}}
    refused = gw.post("/fhir/Condition", json=uncoded)
    assert refused.status_code == 422 and refused.json()["issue"][0]["expression"] == ["Condition.code"]


def test_transaction_put_and_delete_entries_and_their_undo(gw):
    tolvan = ok(gw.post("/fhir/Patient", json=patient_body()), 201)
    anna = new_patient(gw, PNR_2)
    mr = ok(gw.post("/fhir/MedicationRequest", json=order(tolvan["id"])), 201)

    def bundle(*entries) -> dict:
        return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}

    renamed = {k: v for k, v in tolvan.items() if k != "meta"} | {"gender": "other"}
    put = {"resource": renamed, "request": {"method": "PUT", "url": f"Patient/{tolvan['id']}"}}
    stop = {"resource": {**mr, "status": "stopped"},
            "request": {"method": "PUT", "url": f"MedicationRequest/{mr['id']}"}}  # fmt: skip
    delete = {"request": {"method": "DELETE", "url": f"Patient/{anna}"}}
    bad = order(tolvan["id"])
    del bad["requester"]
    failing = {"resource": bad, "request": {"method": "POST", "url": "MedicationRequest"}}

    # the failing POST runs first (POST, PUT, DELETE, GET): nothing else is tried
    refused = gw.post("/fhir", json=bundle(put, delete, failing))
    assert refused.status_code == 422 and "nothing was saved" in refused.json()["issue"][0]["diagnostics"]
    assert ok(gw.get(f"/fhir/Patient/{anna}"))["id"] == anna

    # an update, then a delete that fails: the update is put back as one more version
    missing = {"request": {"method": "DELETE", "url": "Patient/5b8e3c1a-4a7f-4f43-9a0e-2a9d1c3b7e10"}}
    undone = gw.post("/fhir", json=bundle(put, missing))
    assert undone.status_code == 404, undone.text
    restored = ok(gw.get(f"/fhir/Patient/{tolvan['id']}"))
    assert restored["gender"] == "male" and restored["meta"]["versionId"] == "3"

    # a workflow step cannot go back: the answer says so
    stuck = gw.post("/fhir", json=bundle(stop, missing))
    assert stuck.status_code == 404
    assert f"could not undo the update of MedicationRequest/{mr['id']}" in stuck.json()["issue"][0]["diagnostics"]

    result = ok(gw.post("/fhir", json=bundle(delete, put)))
    assert [e["response"]["status"] for e in result["entry"]] == ["204 No Content", "200 OK"]
    assert gw.get(f"/fhir/Patient/{anna}").status_code == 410
    assert ok(gw.get(f"/fhir/Patient/{tolvan['id']}"))["gender"] == "other"


def test_a_failing_transaction_takes_back_a_condition_it_created(gw):
    patient_id = new_patient(gw)
    unit = {"identifier": {"system": "urn:oid:1.2.752.29.4.19", "value": "SE2321000131-E000000022002"}}
    condition = {
        "resourceType": "Condition",
        "contained": [{"resourceType": "PractitionerRole", "id": "r", "organization": unit}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {"coding": [{"system": ICD, "code": "I10.9"}]},
        "recorder": {"reference": "#r"},
    }
    missing = {"request": {"method": "DELETE", "url": "Patient/5b8e3c1a-4a7f-4f43-9a0e-2a9d1c3b7e10"}}
    create = {"resource": condition, "request": {"method": "POST", "url": "Condition"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [create, missing]}
    assert gw.post("/fhir", json=bundle).status_code == 404
    assert ok(gw.get("/fhir/Condition", params={"patient": patient_id}))["total"] == 0
    assert ok(gw.get("/fhir/Composition", params={"patient": patient_id}))["total"] == 0


def test_a_failed_transaction_leaves_no_patient_and_no_open_ehr_and_a_retry_reopens_it(gw, modules):
    demographics = TestClient(modules["demographics"], base_url="http://demographics.test")
    api = "/rest/openehr/v1"

    def ehr_status() -> dict:
        ehr = demographics.get(f"{api}/ehr", params={"subject_id": PNR_2})
        assert ehr.status_code == 200, ehr.text
        return ehr.json()["ehr_status"]

    def bundle(last_fails: bool) -> dict:
        subject = {"reference": PATIENT_URN}
        last = order("placeholder")
        if last_fails:
            del last["requester"]  # the template needs the care unit: 422
        entries = [
            {"fullUrl": PATIENT_URN, "resource": patient_body(PNR_2), "request": {"method": "POST", "url": "Patient"}},
            {"resource": {**order("placeholder"), "subject": subject},
             "request": {"method": "POST", "url": "MedicationRequest"}},
            {"resource": {**note("placeholder"), "subject": subject},
             "request": {"method": "POST", "url": "Composition"}},
            {"resource": {**last, "subject": subject}, "request": {"method": "POST", "url": "MedicationRequest"}},
        ]  # fmt: skip
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    failed = gw.post("/fhir", json=bundle(last_fails=True))
    assert failed.status_code == 422, failed.text
    assert "Bundle.entry[3]" in failed.json()["issue"][0]["diagnostics"]
    assert ok(gw.get("/fhir/Patient", params={"identifier": f"{PNR_SYSTEM}|{PNR_2}"}))["total"] == 0
    closed = ehr_status()
    assert (closed["is_modifiable"], closed["is_queryable"]) == (False, False)
    ehr_id = demographics.get(f"{api}/ehr", params={"subject_id": PNR_2}).json()["ehr_id"]["value"]
    history = demographics.get(f"{api}/ehr/{ehr_id}/versioned_ehr_status/revision_history").json()
    assert [item["audits"][0]["change_type"]["value"] for item in history] == ["creation", "modification"]
    # the closed EHR takes no content, and what the transaction wrote into it is deleted
    journal = TestClient(modules["journal"], base_url="http://journal.test")  # no lifespan: the gateway uses it
    assert journal.get(f"{api}/query/compositions", params={"ehr_id": ehr_id}).json()["total"] == 0
    refused = journal.post(f"{api}/ehr/{ehr_id}/composition", json=example(JOURNAL_NOTE, "halsfluss_vardcentral"))
    assert refused.status_code == 409 and refused.json()["code"] == "ehr_not_modifiable"

    retried = gw.post("/fhir", json=bundle(last_fails=False))
    assert retried.status_code == 200, retried.text
    patient_id = retried.json()["entry"][0]["resource"]["id"]
    reopened = ehr_status()
    assert (reopened["is_modifiable"], reopened["is_queryable"]) == (True, True)
    assert reopened["uid"]["value"].endswith("::3")
    assert demographics.get(f"{api}/ehr", params={"subject_id": PNR_2}).json()["ehr_id"]["value"] == ehr_id
    assert ok(gw.get("/fhir/MedicationRequest", params={"patient": patient_id}))["total"] == 2
    everything = ok(gw.get(f"/fhir/Patient/{patient_id}/$everything"))
    kinds = sorted(e["resource"]["resourceType"] for e in everything["entry"])
    assert kinds == ["Composition", "Condition", "MedicationRequest", "MedicationRequest", "Patient"]
    subjects = {e["resource"]["subject"]["reference"] for e in everything["entry"] if "subject" in e["resource"]}
    assert subjects == {f"Patient/{patient_id}"}  # not the undone Patient of the first attempt
