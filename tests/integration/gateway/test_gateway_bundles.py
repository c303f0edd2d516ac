"""POST /fhir with batch and transaction Bundles."""

from __future__ import annotations

import httpx
from gateway_support import PNR, PNR_2, PNR_SYSTEM, order, patient_body

PATIENT_URN = "urn:uuid:6a1f0f3e-1d7c-4c1b-9d25-4a6f5b7c8d90"


def transaction(*orders, patient=None) -> dict:
    entries = [
        {
            "fullUrl": PATIENT_URN,
            "resource": patient or patient_body(PNR),
            "request": {"method": "POST", "url": "Patient"},
        }
    ]
    # the orders come first in the Bundle: the gateway creates the Patient they reference first
    orders_entries = [
        {"resource": o, "request": {"method": "POST", "url": "MedicationRequest"}} for o in orders
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": orders_entries + entries}


def test_transaction_resolves_urn_uuid_references(med_client):
    bundle = transaction(order("placeholder"), order("placeholder", "C07AB02", "Metoprolol"))
    for entry in bundle["entry"][:2]:
        entry["resource"]["subject"] = {"reference": PATIENT_URN}
    response = med_client.post("/fhir", json=bundle)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created"] * 3
    patient_id = result["entry"][2]["resource"]["id"]
    assert result["entry"][2]["response"]["location"].startswith(
        f"http://testserver/fhir/Patient/{patient_id}"
    )
    subjects = {e["resource"]["subject"]["reference"] for e in result["entry"][:2]}
    assert subjects == {f"Patient/{patient_id}"}
    found = med_client.get("/fhir/MedicationRequest", params={"patient": patient_id}).json()
    assert found["total"] == 2


def test_a_failing_transaction_leaves_nothing_behind(med_client, demographics, medication):
    good = order("placeholder")
    good["subject"] = {"reference": PATIENT_URN}
    bad = order("placeholder")
    bad["subject"] = {"reference": PATIENT_URN}
    del bad["requester"]  # the template needs the care unit: 422
    bundle = transaction(good, bad)
    response = med_client.post("/fhir", json=bundle)
    assert response.status_code == 422
    assert "Bundle.entry[1]" in response.json()["issue"][0]["diagnostics"]
    # the Patient and the first order were written, then taken back
    assert all(v[-1]["data"] is None for v in demographics.store.objects.values())
    assert all(v[-1]["data"] is None for v in medication.store.objects.values())
    assert len(medication.store.objects) == 1
    assert med_client.get("/fhir/Patient", params={"identifier": f"{PNR_SYSTEM}|{PNR}"}).json()["total"] == 0
    # the EHR the Patient create made is closed by a second EHR_STATUS version
    (ehr,) = demographics.ehrs.values()
    assert (ehr["ehr_status"]["is_modifiable"], ehr["ehr_status"]["is_queryable"]) == (False, False)
    assert ehr["ehr_status"]["uid"]["value"].endswith("::2")


def failing_transaction() -> dict:
    good, bad = order("placeholder"), order("placeholder")
    good["subject"] = bad["subject"] = {"reference": PATIENT_URN}
    del bad["requester"]  # 422 from the module
    return transaction(good, bad)


def test_a_retry_after_a_failed_transaction_reopens_the_ehr(med_client, demographics):
    assert med_client.post("/fhir", json=failing_transaction()).status_code == 422
    good = order("placeholder")
    good["subject"] = {"reference": PATIENT_URN}
    retried = med_client.post("/fhir", json=transaction(good))
    assert retried.status_code == 200, retried.text
    (ehr,) = demographics.ehrs.values()
    assert (ehr["ehr_status"]["is_modifiable"], ehr["ehr_status"]["is_queryable"]) == (True, True)
    assert ehr["ehr_status"]["uid"]["value"].endswith("::3")
    patient_id = retried.json()["entry"][1]["resource"]["id"]
    assert med_client.get("/fhir/MedicationRequest", params={"patient": patient_id}).json()["total"] == 1


def test_an_ehr_that_was_open_before_the_transaction_stays_open(med_client, demographics):
    """The Patient is new but its EHR is not (created directly in demographics): the undo deletes the
    Patient and leaves the EHR as it was."""
    demographics.create_ehr({"_type": "EHR_STATUS", "subject": {"external_ref": {"id": {"value": PNR}}},
                             "is_modifiable": True, "is_queryable": True})  # fmt: skip
    assert med_client.post("/fhir", json=failing_transaction()).status_code == 422
    (ehr,) = demographics.ehrs.values()
    assert ehr["ehr_status"]["is_modifiable"] is True
    assert ehr["ehr_status"]["uid"]["value"].endswith("::1")
    assert med_client.get("/fhir/Patient", params={"identifier": f"{PNR_SYSTEM}|{PNR}"}).json()["total"] == 0


def test_batch_entries_are_independent(med_client):
    existing = med_client.post("/fhir/Patient", json=patient_body(PNR_2)).json()
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": patient_body(PNR), "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": f"Patient/{existing['id']}"}},
            {"request": {"method": "GET", "url": "Patient/5b8e3c1a-4a7f-4f43-9a0e-2a9d1c3b7e10"}},
            {"request": {"method": "GET", "url": f"Patient?identifier={PNR_SYSTEM}|{PNR_2}"}},
        ],
    }
    response = med_client.post("/fhir", json=bundle)
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["201 Created", "200 OK", "404 Not Found", "200 OK"]
    assert entries[2]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert entries[3]["resource"]["total"] == 1


def test_bad_bundles(med_client):
    assert med_client.post("/fhir", json={"resourceType": "Bundle", "type": "collection"}).status_code == 400
    deletes = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": f"Patient/{n}"}} for n in ("x", "y")],
    }
    assert med_client.post("/fhir", json=deletes).status_code == 400
    patch = {"resourceType": "Bundle", "type": "transaction",
             "entry": [{"request": {"method": "PATCH", "url": "Patient/x"}}]}  # fmt: skip
    assert med_client.post("/fhir", json=patch).status_code == 400
    statement = med_client.get("/fhir/metadata").json()
    assert {i["code"] for i in statement["rest"][0]["interaction"]} == {"batch", "transaction"}


def test_the_undo_closes_the_ehr_also_without_an_ehr_cache(make_client, settings, demographics, medication):
    settings.ehr_cache_size = 0
    with make_client(medication=httpx.MockTransport(medication)) as client:
        assert client.post("/fhir", json=failing_transaction()).status_code == 422
    (ehr,) = demographics.ehrs.values()
    assert ehr["ehr_status"]["is_modifiable"] is False


def test_a_create_the_undo_cannot_take_back_is_named(make_client, demographics, medication, journal, referrals):
    """The medication module refuses the undo's DELETE (down by then): the answer names the order that
    stays instead of saying nothing was saved; the Patient is still taken back."""

    def medication_down_for_deletes(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            raise httpx.ConnectError("connection refused", request=request)
        return medication(request)

    transports = {"medication": httpx.MockTransport(medication_down_for_deletes),
                  "journal": httpx.MockTransport(journal), "referrals": httpx.MockTransport(referrals)}  # fmt: skip
    with make_client(**transports) as client:
        response = client.post("/fhir", json=failing_transaction())
    assert response.status_code == 422
    diagnostics = response.json()["issue"][0]["diagnostics"]
    (order_id,) = [(medication.ehr_of[o] + o).replace("-", "") for o in medication.store.objects]
    assert f"could not undo the create of MedicationRequest/{order_id} (503)" in diagnostics, diagnostics
    assert "nothing was saved" not in diagnostics
    assert all(v[-1]["data"] is None for v in demographics.store.objects.values()), "the Patient is undone"
