"""ServiceRequest and Task (the referral workflow) through the gateway against fakes."""

from __future__ import annotations

from gateway_support import PNR, patient_body

HSA = "urn:oid:1.2.752.29.4.19"
CARDIOLOGY = {
    "identifier": {"system": HSA, "value": "SE2321000131-E000000033003"},
    "display": "Kardiologen NÄL",
}
MAJORNA = {"identifier": {"system": HSA, "value": "SE2321000131-E000000011001"}, "display": "VC Majorna"}


def referral(patient_id: str, status: str = "active", **extra) -> dict:
    body = {
        "resourceType": "ServiceRequest",
        "status": status,
        "intent": "order",
        "priority": "urgent",
        "code": {"text": "Bedömning av kardiolog, arbets-EKG"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": "2026-11-20T10:00:00+01:00",
        "requester": MAJORNA,
        "performer": [CARDIOLOGY],
        "reasonCode": [{"text": "Misstänkt stabil kärlkramp"}],
    }
    body.update(extra)
    return body


def setup(client) -> tuple[str, dict]:
    patient_id = client.post("/fhir/Patient", json=patient_body(PNR)).json()["id"]
    created = client.post("/fhir/ServiceRequest", json=referral(patient_id))
    assert created.status_code == 201, created.text
    return patient_id, created.json()


def move(client, task: dict, status: str, reason: str | None = None):
    body = {k: v for k, v in task.items() if k != "statusReason"} | {"status": status}
    if reason:
        body["statusReason"] = {"text": reason}
    return client.put(f"/fhir/Task/{task['id']}", json=body)


def test_referral_workflow_through_task(med_client, referrals):
    _, sr = setup(med_client)
    assert sr["status"] == "active" and sr["priority"] == "urgent"
    task = med_client.get(f"/fhir/Task/{sr['id']}").json()
    assert task["status"] == "requested" and task["focus"] == {"reference": f"ServiceRequest/{sr['id']}"}
    assert task["owner"]["identifier"] == CARDIOLOGY["identifier"]
    for status in ("received", "accepted", "in-progress", "completed"):
        response = move(med_client, task, status)
        assert response.status_code == 200, response.text
        task = response.json()
        assert task["status"] == status
    assert med_client.get(f"/fhir/ServiceRequest/{sr['id']}").json()["status"] == "completed"
    assert move(med_client, task, "cancelled").status_code == 409
    versions = next(iter(referrals.store.objects.values()))
    assert [sum(c["_type"] == "ACTION" for c in v["data"]["content"]) for v in versions] == [1, 2, 3, 4, 5]
    assert med_client.get(f"/fhir/Task/{sr['id']}/_history/2").json()["status"] == "received"


def test_rejection_and_cancellation(med_client):
    patient_id, sr = setup(med_client)
    task = move(med_client, med_client.get(f"/fhir/Task/{sr['id']}").json(), "received").json()
    rejected = move(med_client, task, "rejected", "Fel mottagare")
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["statusReason"]["text"].startswith("Avvisad")
    assert med_client.get(f"/fhir/ServiceRequest/{sr['id']}").json()["status"] == "revoked"
    second = med_client.post("/fhir/ServiceRequest", json=referral(patient_id, status="draft")).json()
    assert second["status"] == "draft"
    assert med_client.get(f"/fhir/Task/{second['id']}").json()["status"] == "draft"
    sent = med_client.put(f"/fhir/ServiceRequest/{second['id']}", json={**second, "status": "active"})
    assert sent.status_code == 200 and sent.json()["status"] == "active"
    revoked = med_client.put(
        f"/fhir/ServiceRequest/{second['id']}", json={**sent.json(), "status": "revoked"}
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert med_client.get(f"/fhir/Task/{second['id']}").json()["status"] == "cancelled"


def test_illegal_and_other_changes(med_client):
    _, sr = setup(med_client)
    task = med_client.get(f"/fhir/Task/{sr['id']}").json()
    assert move(med_client, task, "completed").status_code == 409  # requested -> completed skips steps
    assert move(med_client, task, "on-hold").status_code == 422
    changed = med_client.put(f"/fhir/ServiceRequest/{sr['id']}", json={**sr, "priority": "routine"})
    assert changed.status_code == 422
    assert changed.json()["issue"][0]["expression"] == ["ServiceRequest.priority"]
    stale = med_client.put(
        f"/fhir/Task/{sr['id']}", json={**task, "status": "received"}, headers={"If-Match": 'W/"9"'}
    )
    assert stale.status_code == 412


def test_searches(med_client):
    patient_id, sr = setup(med_client)
    draft = med_client.post(
        "/fhir/ServiceRequest", json=referral(patient_id, status="draft", priority="routine")
    ).json()

    def ids(path, params):
        response = med_client.get(path, params=params)
        assert response.status_code == 200, response.text
        return sorted(e["resource"]["id"] for e in response.json().get("entry", []))

    assert ids("/fhir/ServiceRequest", {"patient": patient_id}) == sorted([sr["id"], draft["id"]])
    assert ids("/fhir/ServiceRequest", {"status": "draft"}) == [draft["id"]]
    assert ids("/fhir/ServiceRequest", {"status": "active"}) == [sr["id"]]
    assert ids("/fhir/ServiceRequest", {"priority": "urgent"}) == [sr["id"]]
    assert ids("/fhir/Task", {"status": "requested"}) == [sr["id"]]
    assert ids("/fhir/Task", {"owner": f"{HSA}|SE2321000131-E000000033003"}) == sorted(
        [sr["id"], draft["id"]]
    )
    assert ids("/fhir/Task", {"owner": "SE2321000131-E000000099999"}) == []
    assert med_client.get("/fhir/Task", params={"status": "on-hold"}).status_code == 400
    everything = med_client.get(f"/fhir/Patient/{patient_id}/$everything").json()
    kinds = sorted(e["resource"]["resourceType"] for e in everything["entry"])
    assert kinds == ["Patient", "ServiceRequest", "ServiceRequest", "Task", "Task"]


def test_practitioner_role_requester_round_trips(med_client):
    patient_id = med_client.post("/fhir/Patient", json=patient_body(PNR)).json()["id"]
    role = {
        "resourceType": "PractitionerRole",
        "id": "r1",
        "practitioner": {
            "identifier": {"system": HSA, "value": "SE2321000131-P000000101011"},
            "display": "Anna L",
        },
        "organization": MAJORNA,
    }
    created = med_client.post(
        "/fhir/ServiceRequest", json=referral(patient_id, contained=[role], requester={"reference": "#r1"})
    )
    assert created.status_code == 201, created.text
    contained = created.json()["contained"][0]
    assert contained["practitioner"]["identifier"]["value"] == "SE2321000131-P000000101011"
    assert contained["organization"]["identifier"] == MAJORNA["identifier"]
    assert created.json()["requester"] == {"reference": f"#{contained['id']}"}


def test_history_of_clinical_resources(med_client):
    _, sr = setup(med_client)
    task = med_client.get(f"/fhir/Task/{sr['id']}").json()
    move(med_client, task, "received")
    history = med_client.get(f"/fhir/Task/{sr['id']}/_history").json()
    assert history["type"] == "history" and history["total"] == 2
    assert [e["resource"]["status"] for e in history["entry"]] == ["received", "requested"]
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]
    sr_history = med_client.get(f"/fhir/ServiceRequest/{sr['id']}/_history").json()
    assert [e["resource"]["meta"]["versionId"] for e in sr_history["entry"]] == ["2", "1"]


def test_task_update_of_a_referral_authored_now(med_client):
    patient_id = med_client.post("/fhir/Patient", json=patient_body(PNR)).json()["id"]
    body = referral(patient_id)
    del body["authoredOn"]
    sr = med_client.post("/fhir/ServiceRequest", json=body).json()
    task = med_client.get(f"/fhir/Task/{sr['id']}").json()
    assert move(med_client, task, "received").status_code == 200
