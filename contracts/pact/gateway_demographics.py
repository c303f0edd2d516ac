"""The gateway as consumer of demographics: every call of gateway/patient/service.py (person read,
revision history, version, search, create, update, delete; EHR create, lookup by subject and by id,
a new EHR_STATUS version that closes or re-opens it),
driven through the gateway's own `PatientService`, whose mapping reads what the pact answers."""

from __future__ import annotations

import copy

import httpx
from pact import match

from contracts.pact.consumer import (
    API,
    EHR_ID,
    NEW_PERSONNUMMER,
    PERSON_ID,
    PERSONNUMMER,
    Interaction,
    datetime_value,
    etag,
    expect_status,
    from_state,
    if_match_from_state,
    reply,
    state_path,
    uuid,
    version_uid,
    version_uid_example,
)
from contracts.pact.gateway_clinical import HTTP_DATE_RE, UNKNOWN_OBJECT
from contracts.pact.states import ehr_status, person_document
from gateway.fhir.search import SearchRequest
from gateway.module_http import HttpxClient
from gateway.modules import ModuleClient
from gateway.patient.mapping import patient_to_person, person_to_patient
from gateway.patient.service import PatientService

UNKNOWN_EHR = "00000000-0000-4000-8000-0000000000ee"
EHR_STATUS_ID = "3f0c8d1e-2b4a-4c6d-9e8f-7a6b5c4d3e2f"
PREFER = "return=representation"


def _service(base: str) -> PatientService:
    http = HttpxClient(httpx.AsyncClient(base_url=base, timeout=5.0))
    return PatientService(ModuleClient("demographics", http), cache_size=0)


def _as_gateway_sends(number: str) -> tuple[dict, dict]:
    """(FHIR Patient, the PERSON the gateway sends for it) for the person example with that number."""
    person = person_document(number)
    person.pop("uid", None)
    patient = person_to_patient(person, version_uid_example(PERSON_ID, "demographics"))
    return patient, patient_to_person(patient)


def interactions() -> list[Interaction]:  # noqa: C901 (one builder per call)
    uid = version_uid_example(PERSON_ID, "demographics")
    tolvan = person_document(PERSONNUMMER)
    tolvan.pop("uid", None)
    stored = {"_type": "PERSON", "uid": {"_type": "OBJECT_VERSION_ID", "value": version_uid(uid)}}
    stored.update({k: match.like(copy.deepcopy(v)) for k, v in tolvan.items() if k != "_type"})
    person_path, person_expr = f"{API}/demographic/person/{PERSON_ID}", f"{API}/demographic/person/${{person_id}}"
    party = f"{API}/demographic/versioned_party/{PERSON_ID}"
    party_expr = f"{API}/demographic/versioned_party/${{person_id}}"
    person_state = f"a person exists for {PERSONNUMMER}"
    modified = match.regex("Sun, 01 Nov 2026 10:00:00 GMT", regex=HTTP_DATE_RE)
    headers = {"ETag": etag(uid), "Last-Modified": modified}
    patient, sent_person = _as_gateway_sends(PERSONNUMMER)
    new_patient, new_person = _as_gateway_sends(NEW_PERSONNUMMER)
    ehr = {
        "ehr_id": {"value": uuid(EHR_ID)},
        "system_id": {"value": match.str("demographics.vgr.se")},
        "time_created": {"value": datetime_value()},
    }
    status_uid = version_uid_example(EHR_STATUS_ID, "demographics")
    # What the gateway reads of an EHR_STATUS: whether the EHR is open, and the version to replace.
    open_status = {"is_modifiable": match.bool(True), "is_queryable": match.bool(True)}
    ehr_with_status = {**ehr, "ehr_status": {"uid": {"value": version_uid(status_uid)}, **open_status}}

    def respond(i, status, body=None, with_headers=True):
        reply(i, status, body, headers if with_headers else {})

    def read(i):
        i.with_request("GET", state_path(person_path, person_expr))
        respond(i, 200, stored)

    async def drive_read(base):
        read = await _service(base).read(PERSON_ID)
        assert read["identifier"], read

    def read_unknown(i):
        i.with_request("GET", f"{API}/demographic/person/{UNKNOWN_OBJECT}")
        respond(i, 404, {"message": match.str("not found"), "code": match.str("not_found")}, with_headers=False)

    async def drive_read_unknown(base):
        await expect_status(404, _service(base).read(UNKNOWN_OBJECT))

    audit = {
        "system_id": match.str("demographics.vgr.se"),
        "time_committed": {"value": datetime_value()},
        "change_type": {"value": match.regex("creation", regex="^(creation|modification|deleted)$")},
    }

    def history(i):
        i.with_request("GET", state_path(f"{party}/revision_history", f"{party_expr}/revision_history"))
        respond(i, 200, match.each_like({"version_id": {"value": version_uid(uid)}, "audits": [audit]}),
                with_headers=False)  # fmt: skip

    async def drive_history(base):
        versions = await _service(base).history(PERSON_ID)
        assert versions and versions[0].patient, versions

    def version(i):
        i.with_request("GET", state_path(f"{party}/version/{uid}", f"{party_expr}/version/${{version_uid}}"))
        respond(i, 200, {"uid": {"value": version_uid(uid)}, "commit_audit": audit, "data": stored}, with_headers=False)

    async def drive_version(base):
        found = await _service(base).vread(PERSON_ID, 1)
        assert found.patient, found

    item = {"uid": version_uid(uid), "time_committed": datetime_value(), "person": stored}
    page = {"total": match.int(1), "offset": 0, "limit": match.int(20), "items": match.each_like(item)}

    def search(i):
        i.with_request("GET", f"{API}/demographic/person")
        i.with_query_parameter("identifier", PERSONNUMMER)
        i.with_query_parameter("offset", "0")
        i.with_query_parameter("limit", "20")
        respond(i, 200, page, with_headers=False)

    async def drive_search(base):
        search = SearchRequest("Patient", params={"identifier": [(None, PERSONNUMMER)]})
        found, total = await _service(base).search(search)
        assert found and total == 1, (found, total)

    def ehr_by_id(i):
        i.with_request("GET", state_path(f"{API}/ehr/{EHR_ID}", f"{API}/ehr/${{ehr_id}}"))
        subject = {"external_ref": {"id": {"value": PERSONNUMMER}, "namespace": "vgr.demographics"}}
        respond(i, 200, {**ehr, "ehr_status": {"subject": subject, "is_queryable": match.bool(True)}},
                with_headers=False)  # fmt: skip

    def person_by_number(i):
        i.with_request("GET", f"{API}/demographic/person")
        i.with_query_parameter("identifier", PERSONNUMMER)
        i.with_query_parameter("limit", "1")
        respond(i, 200, page, with_headers=False)

    async def drive_patient_of_ehr(base):
        assert await _service(base).patient_id(EHR_ID) == PERSON_ID

    def ehr_unknown(i):
        i.with_request("GET", f"{API}/ehr/{UNKNOWN_EHR}")
        i.will_respond_with(404)

    async def drive_ehr_unknown(base):
        assert await _service(base).patient_id(UNKNOWN_EHR) is None

    def ehr_by_subject(i):
        i.with_request("GET", f"{API}/ehr")
        i.with_query_parameter("subject_id", PERSONNUMMER)
        i.with_query_parameter("subject_namespace", "vgr.demographics")
        respond(i, 200, ehr_with_status, with_headers=False)

    async def drive_ehr_of_patient(base):
        assert await _service(base).ehr_id(PERSON_ID) == EHR_ID

    def create_person(i):
        i.with_request("POST", f"{API}/demographic/person")
        i.with_header("Prefer", PREFER)
        i.with_body(new_person, content_type="application/json")
        respond(i, 201, stored)

    def create_ehr(i):
        i.with_request("POST", f"{API}/ehr")
        i.with_header("Prefer", PREFER)
        i.with_body(ehr_status(NEW_PERSONNUMMER), content_type="application/json")
        respond(i, 201, ehr, with_headers=False)

    async def drive_create(base):
        created, new = await _service(base).create(copy.deepcopy(new_patient))
        assert new and created["id"] == PERSON_ID

    def create_ehr_exists(i):
        i.with_request("POST", f"{API}/ehr")
        i.with_header("Prefer", PREFER)
        i.with_body(ehr_status(PERSONNUMMER), content_type="application/json")
        i.will_respond_with(409)
        i.with_body({"message": match.str("exists"), "code": "ehr_exists_for_subject"}, "application/json", "Response")

    async def drive_ehr_exists(base):
        assert await _service(base)._ensure_ehr(("personnummer", PERSONNUMMER)) == (EHR_ID, False)

    reopened = {**ehr_status(PERSONNUMMER), "is_modifiable": True, "is_queryable": True}

    def set_ehr_active(i):
        i.with_request("PUT", state_path(f"{API}/ehr/{EHR_ID}/ehr_status", f"{API}/ehr/${{ehr_id}}/ehr_status"))
        i.with_header("If-Match", from_state(f'"{status_uid}"', '"${ehr_status_uid}"'))
        i.with_body(match.like(reopened), content_type="application/json")
        i.will_respond_with(204)

    async def drive_set_ehr_active(base):
        ehr = {"ehr_id": {"value": EHR_ID}, "ehr_status": {**reopened, "uid": {"value": status_uid}}}
        await _service(base)._set_ehr_active(ehr, True)

    def update(i):
        i.with_request("PUT", state_path(person_path, person_expr))
        i.with_header("Prefer", PREFER)
        i.with_header("If-Match", if_match_from_state(uid))
        i.with_body(sent_person, content_type="application/json")
        respond(i, 200, stored)

    async def drive_update(base):
        updated = await _service(base).update(PERSON_ID, copy.deepcopy(patient), None)
        assert updated["id"] == PERSON_ID

    def delete(i):
        i.with_request("DELETE", state_path(person_path, person_expr))
        i.with_header("If-Match", if_match_from_state(uid))
        i.will_respond_with(204)

    async def drive_delete(base):
        await _service(base).delete(PERSON_ID)

    no_person = f"no person exists for {NEW_PERSONNUMMER}"
    return [
        Interaction("a read of a person", person_state, read, drive_read),
        Interaction("a read of an unknown person", f"no person exists with id {UNKNOWN_OBJECT}", read_unknown,
                    drive_read_unknown),
        Interaction("the revision history of a person", person_state, history, drive_history),
        Interaction("the first version of a person", person_state, version, drive_version),
        Interaction("a search for persons by personnummer", person_state, search, drive_search),
        Interaction("a read of an EHR", person_state, ehr_by_id, drive_patient_of_ehr),
        Interaction("a search for the person of an EHR", person_state, person_by_number, drive_patient_of_ehr),
        Interaction("a read of an unknown EHR", f"no EHR exists with id {UNKNOWN_EHR}", ehr_unknown, drive_ehr_unknown),
        Interaction("the EHR of a personnummer", person_state, ehr_by_subject, drive_ehr_of_patient),
        Interaction("a person created", no_person, create_person, drive_create),
        Interaction("an EHR created for a new person", f"no EHR exists for {NEW_PERSONNUMMER}", create_ehr,
                    drive_create),
        Interaction("an EHR created for a subject that has one", person_state, create_ehr_exists, drive_ehr_exists),
        Interaction("a new EHR_STATUS version (closing or re-opening an EHR)", person_state, set_ehr_active,
                    drive_set_ehr_active),
        Interaction("a person updated", person_state, update, drive_update),
        Interaction("a person deleted", person_state, delete, drive_delete),
    ]  # fmt: skip
