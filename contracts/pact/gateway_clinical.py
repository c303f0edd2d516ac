"""The gateway as consumer of journal, medication and referrals: every call of gateway/clinical.py
(`Compositions`: read, revision history, version, create, update, delete, the composition query),
driven through the gateway's own `ModuleClient` and `Compositions`, and each composition read is
mapped by the gateway's mapping functions (so the pact holds what the gateway needs to read)."""

from __future__ import annotations

import copy

import httpx
from pact import match

from contracts.pact.consumer import (
    API,
    EHR_ID,
    OBJECT_ID,
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
from contracts.pact.states import CLINICAL_EXAMPLES, example
from gateway.clinical import Compositions
from gateway.journal.mapping import composition_to_fhir as journal_to_fhir
from gateway.medication.mapping import composition_to_medication_request
from gateway.module_http import HttpxClient
from gateway.modules import ModuleClient
from gateway.openehr import VersionUid, joined_id
from gateway.referrals.mapping import composition_to_service_request, composition_to_task

MODULES = ("journal", "medication", "referrals")
# The provider state and the words for one document of each module.
DOCUMENT = {
    "journal": ("a journal note exists for " + PERSONNUMMER, "journal note"),
    "medication": ("a medication order exists in status active for " + PERSONNUMMER, "medication order"),
    "referrals": ("a referral exists in status sent for " + PERSONNUMMER, "referral"),
}
UNKNOWN_OBJECT = "00000000-0000-4000-8000-00000000abcd"
HTTP_DATE_RE = r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$"


def _mappers(module: str):
    if module == "journal":
        return [journal_to_fhir]
    if module == "medication":
        return [composition_to_medication_request]
    return [composition_to_service_request, composition_to_task]


def _compositions(module: str, base: str) -> Compositions:
    template_id = CLINICAL_EXAMPLES[module][0]
    http = HttpxClient(httpx.AsyncClient(base_url=base, timeout=5.0))
    return Compositions(ModuleClient(module, http), None, template_id)


def _audit(module: str) -> dict:
    return {
        "_type": "AUDIT_DETAILS",
        "system_id": match.str(f"{module}.vgr.se"),
        "committer": match.like({"_type": "PARTY_IDENTIFIED", "name": "Anna Läkare"}),
        "time_committed": {"value": datetime_value()},
        "change_type": {"value": match.regex("creation", regex="^(creation|modification|deleted)$")},
    }


def interactions(module: str) -> list[Interaction]:  # noqa: C901 (one builder per call)
    state, words = DOCUMENT[module]
    document = example(*CLINICAL_EXAMPLES[module])
    document.pop("uid", None)
    uid = version_uid_example(OBJECT_ID, module)
    stored = {"_type": document["_type"], "uid": {"_type": "OBJECT_VERSION_ID", "value": version_uid(uid)}}
    stored.update({k: match.like(copy.deepcopy(v)) for k, v in document.items() if k != "_type"})
    composition_path = f"{API}/ehr/{EHR_ID}/composition/{OBJECT_ID}"
    composition_expr = f"{API}/ehr/${{ehr_id}}/composition/${{object_id}}"
    versioned = f"{API}/ehr/{EHR_ID}/versioned_composition/{OBJECT_ID}"
    versioned_expr = f"{API}/ehr/${{ehr_id}}/versioned_composition/${{object_id}}"
    headers = {
        "ETag": etag(uid),
        "Last-Modified": match.regex("Sun, 01 Nov 2026 10:00:00 GMT", regex=HTTP_DATE_RE),
    }
    mapped = _mappers(module)

    def check_mapped(composition: dict, version: str) -> None:
        for mapper in mapped:
            resource = mapper(composition, str(version), EHR_ID, "patient", None)
            assert resource.get("resourceType"), f"{mapper.__name__} mapped nothing"

    def respond(i, status, body=None, with_headers=True):
        reply(i, status, body, headers if with_headers else {})

    # -- reads --
    def read(i):
        i.with_request("GET", state_path(composition_path, composition_expr))
        respond(i, 200, stored)

    async def drive_read(base):
        composition, got, _ = await _compositions(module, base).get(EHR_ID, OBJECT_ID, "read")
        check_mapped(composition, got)

    def read_unknown(i):
        path = f"{API}/ehr/{EHR_ID}/composition/{UNKNOWN_OBJECT}"
        i.with_request("GET", state_path(path, f"{API}/ehr/${{ehr_id}}/composition/{UNKNOWN_OBJECT}"))
        respond(i, 404, {"message": match.str("not found"), "code": match.str("not_found")}, with_headers=False)

    async def drive_read_unknown(base):
        await expect_status(404, _compositions(module, base).get(EHR_ID, UNKNOWN_OBJECT, "read"))

    def history(i):
        i.with_request("GET", state_path(f"{versioned}/revision_history", f"{versioned_expr}/revision_history"))
        respond(i, 200, match.each_like({"version_id": {"value": version_uid(uid)}, "audits": [_audit(module)]}),
                with_headers=False)  # fmt: skip

    async def drive_history(base):
        versions = await _compositions(module, base).history(EHR_ID, OBJECT_ID, "history")
        assert versions and versions[0].data, versions
        check_mapped(versions[0].data, versions[0].version)

    def version(i):
        i.with_request("GET", state_path(f"{versioned}/version/{uid}", f"{versioned_expr}/version/${{version_uid}}"))
        body = {
            "_type": "ORIGINAL_VERSION",
            "uid": {"value": version_uid(uid)},
            "commit_audit": _audit(module),
            "data": stored,
        }
        respond(i, 200, body, with_headers=False)

    async def drive_version(base):
        composition, got, _ = await _compositions(module, base).version(EHR_ID, OBJECT_ID, 1, "vread")
        check_mapped(composition, got)

    def query(i):
        i.with_request("GET", f"{API}/query/compositions")
        i.with_query_parameter("template_id", CLINICAL_EXAMPLES[module][0])
        i.with_query_parameter("ehr_id", state_path(EHR_ID, "${ehr_id}"))
        i.with_query_parameter("offset", "0")
        i.with_query_parameter("limit", "20")
        item = {
            "ehr_id": uuid(EHR_ID),
            "uid": version_uid(uid),
            "time_committed": datetime_value(),
            "index": match.like({"date": "2026-11-01T10:00:00Z"}),
            "composition": stored,
        }
        respond(
            i, 200,
            {"total": match.int(1), "offset": 0, "limit": 20, "items": match.each_like(item)},
            with_headers=False,
        )  # fmt: skip

    async def drive_query(base):
        compositions = _compositions(module, base)
        items, total = await compositions.query([("template_id", compositions.template_id), ("ehr_id", EHR_ID)], 0, 20)
        assert items and total >= 1
        check_mapped(items[0]["composition"], items[0]["uid"])

    # -- writes --
    def create(i):
        i.with_request("POST", state_path(f"{API}/ehr/{EHR_ID}/composition", f"{API}/ehr/${{ehr_id}}/composition"))
        i.with_header("Prefer", "return=representation")
        i.with_body(document, content_type="application/json")
        respond(i, 201, stored)

    async def drive_create(base):
        composition, got, _ = await _compositions(module, base).create(EHR_ID, copy.deepcopy(document), "create")
        check_mapped(composition, got)

    def update(i):
        i.with_request("PUT", state_path(composition_path, composition_expr))
        i.with_header("Prefer", "return=representation")
        i.with_header("If-Match", if_match_from_state(uid))
        i.with_body(document, content_type="application/json")
        respond(i, 200, stored)

    async def drive_update(base):
        current = version_uid_example(OBJECT_ID, module)
        composition, got, _ = await _compositions(module, base).update(
            EHR_ID, OBJECT_ID, copy.deepcopy(document), VersionUid.parse(current), "update"
        )
        check_mapped(composition, got)

    invalid = example(CLINICAL_EXAMPLES[module][0], "wrong_node_id.json", "invalid")
    detail = {"path": match.str("/content[openEHR-EHR-INSTRUCTION]"), "pointer": match.str("/content/0"),
              "message": match.str("unknown node id")}  # fmt: skip

    def create_invalid(i):
        i.with_request("POST", state_path(f"{API}/ehr/{EHR_ID}/composition", f"{API}/ehr/${{ehr_id}}/composition"))
        i.with_header("Prefer", "return=representation")
        i.with_body(invalid, content_type="application/json")
        error = {"message": match.str("template violation"), "code": "template_violation",
                 "details": match.each_like(detail)}  # fmt: skip
        reply(i, 422, error)

    async def drive_create_invalid(base):
        await expect_status(422, _compositions(module, base).create(EHR_ID, copy.deepcopy(invalid), "create"))

    stale = version_uid_example(OBJECT_ID, module, 7)

    def update_stale(i):
        i.with_request("PUT", state_path(composition_path, composition_expr))
        i.with_header("Prefer", "return=representation")
        i.with_header("If-Match", from_state(f'"{stale}"', '"${stale_version_uid}"'))
        i.with_body(document, content_type="application/json")
        reply(i, 412, {"message": match.str("stale"), "code": match.str("precondition_failed")})

    async def drive_update_stale(base):
        call = _compositions(module, base).update(
            EHR_ID, OBJECT_ID, copy.deepcopy(document), VersionUid.parse(stale), "u"
        )
        await expect_status(412, call)

    def delete(i):
        i.with_request("DELETE", state_path(composition_path, composition_expr))
        i.with_header("If-Match", if_match_from_state(uid))
        i.will_respond_with(204)
        i.with_header(
            "ETag",
            match.regex(f'"{OBJECT_ID}::{module}.vgr.se::2"', regex=r'^"[0-9a-f-]{36}::[^:]+::\d+"$'),
            "Response",
        )

    async def drive_delete(base):
        await _compositions(module, base).delete_resource(joined_id(EHR_ID, OBJECT_ID))

    return [
        Interaction(f"a read of a {words}", state, read, drive_read),
        Interaction(
            f"a read of an unknown {words}", f"an EHR exists for {PERSONNUMMER}", read_unknown, drive_read_unknown
        ),
        Interaction(f"the revision history of a {words}", state, history, drive_history),
        Interaction(f"the first version of a {words}", state, version, drive_version),
        Interaction(f"a search for the {words}s of an EHR", state, query, drive_query),
        Interaction(f"a {words} created", f"an EHR exists for {PERSONNUMMER}", create, drive_create),
        Interaction(f"a {words} updated", state, update, drive_update),
        Interaction(f"a {words} deleted", state, delete, drive_delete),
        Interaction(f"an invalid {words} rejected", f"an EHR exists for {PERSONNUMMER}", create_invalid,
                    drive_create_invalid),
        Interaction(f"a {words} updated with a stale version", state, update_stale, drive_update_stale),
    ]  # fmt: skip
