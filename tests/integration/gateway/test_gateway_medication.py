"""MedicationRequest through the gateway against medication and demographics fakes."""

from __future__ import annotations

import httpx
from gateway_support import ATC, CARE_UNIT, PNR, PNR_2, order, patient_body


def new_patient(client, number=PNR) -> str:
    return client.post("/fhir/Patient", json=patient_body(number)).json()["id"]


def test_create_read_and_version(med_client):
    patient_id = new_patient(med_client)
    created = med_client.post("/fhir/MedicationRequest", json=order(patient_id))
    assert created.status_code == 201, created.text
    mr = created.json()
    assert len(mr["id"]) == 64 and mr["meta"]["versionId"] == "1"
    assert mr["status"] == "active" and mr["subject"] == {"reference": f"Patient/{patient_id}"}
    assert mr["medicationCodeableConcept"]["coding"][0] == {
        "system": ATC,
        "code": "N02BE01",
        "display": "Paracetamol",
    }
    read = med_client.get(f"/fhir/MedicationRequest/{mr['id']}")
    assert read.status_code == 200 and read.headers["etag"] == 'W/"1"'
    body = read.json()
    for key in ("dosageInstruction", "reasonCode", "substitution", "authoredOn", "intent"):
        assert body[key] == order(patient_id)[key]
    assert body["requester"]["identifier"] == CARE_UNIT["identifier"]
    assert med_client.get(f"/fhir/MedicationRequest/{'0' * 64}").status_code == 404
    assert med_client.get("/fhir/MedicationRequest/short").status_code == 404


def test_status_update_adds_an_action_and_illegal_transition_is_409(med_client, medication):
    patient_id = new_patient(med_client)
    mr = med_client.post("/fhir/MedicationRequest", json=order(patient_id)).json()
    mr["status"] = "on-hold"
    held = med_client.put(f"/fhir/MedicationRequest/{mr['id']}", json=mr, headers={"If-Match": 'W/"1"'})
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "on-hold" and held.json()["meta"]["versionId"] == "2"
    stopped_body = {**held.json(), "status": "stopped", "statusReason": {"text": "Biverkningar"}}
    stopped = med_client.put(f"/fhir/MedicationRequest/{mr['id']}", json=stopped_body)
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["statusReason"] == {"text": "Biverkningar"}
    # every change is a new version with one more ACTION, never an overwrite
    versions = next(iter(medication.store.objects.values()))
    assert [sum(c["_type"] == "ACTION" for c in v["data"]["content"]) for v in versions] == [1, 2, 3]
    again = med_client.put(f"/fhir/MedicationRequest/{mr['id']}", json={**stopped.json(), "status": "active"})
    assert again.status_code == 409
    assert again.json()["issue"][0]["code"] == "conflict"
    assert "stopped" in again.json()["issue"][0]["diagnostics"]
    assert med_client.get(f"/fhir/MedicationRequest/{mr['id']}/_history/1").json()["status"] == "active"


def test_update_of_other_elements_is_422_and_stale_is_412(med_client):
    patient_id = new_patient(med_client)
    mr = med_client.post("/fhir/MedicationRequest", json=order(patient_id)).json()
    changed = {**mr, "dosageInstruction": [{"text": "2 tabletter"}]}
    assert med_client.put(f"/fhir/MedicationRequest/{mr['id']}", json=changed).status_code == 422
    stale = med_client.put(
        f"/fhir/MedicationRequest/{mr['id']}", json={**mr, "status": "stopped"}, headers={"If-Match": 'W/"7"'}
    )
    assert stale.status_code == 412


def test_create_errors(med_client):
    patient_id = new_patient(med_client)
    unknown_patient = med_client.post("/fhir/MedicationRequest", json=order("nobody"))
    assert unknown_patient.status_code == 422
    assert unknown_patient.json()["issue"][0]["expression"] == ["MedicationRequest.subject"]
    no_unit = order(patient_id)
    del no_unit["requester"]
    missing = med_client.post("/fhir/MedicationRequest", json=no_unit)
    assert missing.status_code == 422
    assert missing.json()["issue"][0]["expression"] == ["MedicationRequest.requester.identifier"]
    bad = med_client.post("/fhir/MedicationRequest", json=order(patient_id, status="bogus"))
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["expression"] == ["MedicationRequest.status"]


def test_search(med_client):
    tolvan = new_patient(med_client)
    other = new_patient(med_client, PNR_2)
    first = med_client.post("/fhir/MedicationRequest", json=order(tolvan)).json()
    second = med_client.post(
        "/fhir/MedicationRequest",
        json=order(tolvan, "C07AB02", "Metoprolol", authoredOn="2026-04-15T08:00:00Z"),
    ).json()
    third = med_client.post(
        "/fhir/MedicationRequest", json=order(other, authoredOn="2025-12-24T12:00:00Z")
    ).json()
    med_client.put(f"/fhir/MedicationRequest/{second['id']}", json={**second, "status": "stopped"})

    def ids(params, **headers):
        response = med_client.get("/fhir/MedicationRequest", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [
            e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match"
        ]

    assert sorted(ids({"patient": f"Patient/{tolvan}"})) == sorted([first["id"], second["id"]])
    assert ids({"subject": f"Patient/{other}"}) == [third["id"]]
    assert ids({"patient": "nobody"}) == []
    assert ids({"status": "stopped"}) == [second["id"]]
    assert sorted(ids({"status": "active"})) == sorted([first["id"], third["id"]])
    assert ids({"code": f"{ATC}|C07AB02"}) == [second["id"]]
    assert ids({"code": "C07AB02"}) == [second["id"]]
    assert ids({"code": "http://snomed.info/sct|123"}) == []
    assert ids({"authoredon": "2026-03-01"}) == [first["id"]]
    assert ids({"authoredon": "lt2026"}) == [third["id"]]
    assert sorted(ids([("authoredon", "ge2026-01"), ("authoredon", "le2026-03")])) == [first["id"]]
    assert ids({"_sort": "-authoredon"}) == [second["id"], first["id"], third["id"]]
    assert ids({"_sort": "authoredon", "_count": "1", "_offset": "1"}) == [first["id"]]
    assert med_client.get("/fhir/MedicationRequest", params={"status": "draft"}).status_code == 400
    assert med_client.get("/fhir/MedicationRequest", params={"_sort": "code"}).status_code == 400
    assert med_client.get("/fhir/MedicationRequest", params={"authoredon": "ne2026"}).status_code == 400


def test_include_subject(med_client):
    tolvan = new_patient(med_client)
    med_client.post("/fhir/MedicationRequest", json=order(tolvan))
    med_client.post("/fhir/MedicationRequest", json=order(tolvan, "C07AB02", "Metoprolol"))
    bundle = med_client.get(
        "/fhir/MedicationRequest", params={"patient": tolvan, "_include": "MedicationRequest:subject"}
    ).json()
    modes = [(e["search"]["mode"], e["resource"]["resourceType"]) for e in bundle["entry"]]
    assert modes.count(("match", "MedicationRequest")) == 2
    assert modes.count(("include", "Patient")) == 1
    assert "_include=MedicationRequest%3Asubject" in bundle["link"][0]["url"]
    refused = med_client.get("/fhir/MedicationRequest", params={"_include": "MedicationRequest:requester"})
    assert refused.status_code == 400


def test_medication_down_does_not_stop_patient_reads(make_client):
    with make_client() as client:  # the medication module is Down() here
        patient_id = new_patient(client)
        assert client.get(f"/fhir/Patient/{patient_id}").status_code == 200
        response = client.get("/fhir/MedicationRequest", params={"patient": patient_id})
        assert response.status_code == 503
        assert "medication" in response.json()["issue"][0]["diagnostics"]


def test_ehr_lookups_are_cached(med_client, make_client, demographics, medication):
    tolvan = new_patient(med_client)
    for _ in range(3):
        med_client.get("/fhir/MedicationRequest", params={"patient": tolvan})
    # the create made the EHR and keeps the Patient <-> EHR pair: no lookup at all
    assert sum(1 for method, path in demographics.calls if path.endswith("/ehr") and method == "GET") == 0
    with make_client(medication=httpx.MockTransport(medication)) as fresh:  # another gateway: asks once
        for _ in range(3):
            fresh.get("/fhir/MedicationRequest", params={"patient": tolvan})
    assert sum(1 for method, path in demographics.calls if path.endswith("/ehr") and method == "GET") == 1


def test_everything_and_revinclude(med_client):
    tolvan = new_patient(med_client)
    other = new_patient(med_client, PNR_2)
    mine = [med_client.post("/fhir/MedicationRequest", json=order(tolvan)).json()["id"] for _ in range(2)]
    med_client.post("/fhir/MedicationRequest", json=order(other))
    everything = med_client.get(f"/fhir/Patient/{tolvan}/$everything")
    assert everything.status_code == 200
    bundle = everything.json()
    kinds = sorted((e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"])
    assert kinds == sorted([("Patient", tolvan)] + [("MedicationRequest", i) for i in mine])
    assert bundle["total"] == 3
    rev = med_client.get(
        "/fhir/Patient", params={"_id": tolvan, "_revinclude": "MedicationRequest:subject"}
    ).json()
    assert sorted(e["resource"]["id"] for e in rev["entry"] if e["search"]["mode"] == "include") == sorted(
        mine
    )
    assert med_client.get(f"/fhir/Patient/{tolvan}/$everything", params={"start": "2020"}).status_code == 400
    assert med_client.get("/fhir/Patient/nobody/$everything").status_code == 404


def test_everything_names_a_module_that_does_not_answer(make_client):
    with make_client() as client:  # medication is Down()
        tolvan = new_patient(client)
        bundle = client.get(f"/fhir/Patient/{tolvan}/$everything").json()
        assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient", "OperationOutcome"]
        outcome = bundle["entry"][-1]
        assert outcome["search"]["mode"] == "outcome"
        assert "medication" in outcome["resource"]["issue"][0]["diagnostics"]


def test_suspended_order_cannot_complete_without_resuming(med_client):
    patient_id = new_patient(med_client)
    mr = med_client.post("/fhir/MedicationRequest", json=order(patient_id)).json()
    held = med_client.put(f"/fhir/MedicationRequest/{mr['id']}", json={**mr, "status": "on-hold"}).json()
    refused = med_client.put(f"/fhir/MedicationRequest/{mr['id']}", json={**held, "status": "completed"})
    assert refused.status_code == 409
    assert med_client.get(f"/fhir/MedicationRequest/{mr['id']}").json()["meta"]["versionId"] == "2"


def test_medication_request_and_composition_history(med_client):
    patient_id = new_patient(med_client)
    mr = med_client.post("/fhir/MedicationRequest", json=order(patient_id)).json()
    med_client.put(f"/fhir/MedicationRequest/{mr['id']}", json={**mr, "status": "stopped"})
    history = med_client.get(f"/fhir/MedicationRequest/{mr['id']}/_history").json()
    assert [e["resource"]["status"] for e in history["entry"]] == ["stopped", "active"]
    assert history["link"][0]["url"].endswith(f"/fhir/MedicationRequest/{mr['id']}/_history")
    assert med_client.get(f"/fhir/MedicationRequest/{'0' * 64}/_history").status_code == 404


def test_status_update_of_an_order_authored_now(med_client):
    """authoredOn defaults to now with milliseconds; what the client sends back is the model's
    normal form of it, which must still count as unchanged."""
    patient_id = new_patient(med_client)
    body = order(patient_id)
    del body["authoredOn"]
    mr = med_client.post("/fhir/MedicationRequest", json=body).json()
    stopped = med_client.put(f"/fhir/MedicationRequest/{mr['id']}", json={**mr, "status": "stopped"})
    assert stopped.status_code == 200, stopped.text
