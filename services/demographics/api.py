"""Demographics routes (openEHR REST, ITS-REST semantics): HTTP in, use cases, HTTP out. Nothing else."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from services.demographics.repository import EhrRecord
from services.demographics.search import BadParameter, parse_query
from services.demographics.service import EhrService, PersonService
from services.kernel.database import run_blocking
from services.kernel.errors import BadRequest, error_responses, json_body
from services.kernel.http import (
    COMMITTER_HEADERS,
    IF_MATCH_HEADER,
    PREFER_HEADER,
    committer,
    documented,
    expected_version,
    set_version_headers,
    wants_representation,
)
from services.kernel.openehr_json import document_with_uid, original_version_json, revision_history_json, with_uid
from services.kernel.versioning import Version

_JSON_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
}


def render_ehr(record: EhrRecord) -> dict[str, Any]:
    return {
        "system_id": {"value": record.system_id},
        "ehr_id": {"value": record.ehr_id},
        "ehr_status": record.ehr_status,
        "time_created": {"value": record.time_created.isoformat()},
    }


def router(ehrs: EhrService, persons: PersonService, base_path: str) -> APIRouter:
    api = APIRouter()  # mounted under base_path by the app; here it makes the Location headers

    def ehr_response(request: Request, record: EhrRecord, status: int, representation: bool) -> Response:
        location = str(request.base_url).rstrip("/") + f"{base_path}/ehr/{record.ehr_id}"
        headers = {"ETag": f'"{record.ehr_id}"', "Location": location}
        if not representation:
            return Response(status_code=status, headers=headers)
        return JSONResponse(render_ehr(record), status_code=status, headers=headers)

    def ehr_in_body(prefer: str | None) -> bool:
        return not (prefer and "return=minimal" in prefer.replace(" ", ""))

    # --- EHR registry -------------------------------------------------------------------------

    @api.post("/ehr", status_code=201, tags=["ehr"], openapi_extra=_JSON_BODY,
              responses=error_responses(400, 409, 422))  # fmt: skip
    def create_ehr(request: Request, body: Any = Depends(json_body)) -> Response:
        """A new EHR for the EHR_STATUS subject (returned in the body unless Prefer: return=minimal)."""
        record = ehrs.create(body)
        return ehr_response(request, record, 201, ehr_in_body(request.headers.get("Prefer")))

    @api.put("/ehr/{ehr_id}", status_code=201, tags=["ehr"], openapi_extra=_JSON_BODY,
             responses=error_responses(400, 409, 422))  # fmt: skip
    def create_ehr_with_id(ehr_id: str, request: Request, body: Any = Depends(json_body)) -> Response:
        """A new EHR with the given id (409 when that id or the subject already has one)."""
        record = ehrs.create(body, ehr_id)
        return ehr_response(request, record, 201, ehr_in_body(request.headers.get("Prefer")))

    @api.get("/ehr/{ehr_id}", tags=["ehr"], responses=error_responses(400, 404))
    def get_ehr(ehr_id: str, request: Request) -> Response:
        return ehr_response(request, ehrs.get(ehr_id), 200, True)

    @api.get("/ehr", tags=["ehr"], responses=error_responses(400, 404))
    def find_ehr(
        request: Request, subject_id: str = Query(...), subject_namespace: str | None = Query(None)
    ) -> Response:
        """The EHR of a subject (a personnummer or samordningsnummer in any accepted form)."""
        return ehr_response(request, ehrs.by_subject(subject_id, subject_namespace), 200, True)

    # --- persons ------------------------------------------------------------------------------

    def person_response(request: Request, version: Version, status: int, representation: bool) -> Response:
        response = (Response(document_with_uid(version), status_code=status, media_type="application/json")
                    if representation else Response(status_code=status))  # fmt: skip
        set_version_headers(response, request, version, f"{base_path}/demographic/person/{version.uid}")
        return response

    # Empty by default (Prefer: return=minimal): no media type is promised for the 201.
    @api.post("/demographic/person", status_code=201, tags=["person"],
              openapi_extra=documented(*COMMITTER_HEADERS, PREFER_HEADER, **_JSON_BODY),
              response_class=Response, responses={201: {"description": "Created; the body is empty, or the "
              "PERSON with Prefer: return=representation"}, **error_responses(400, 409, 422)})  # fmt: skip
    def create_person(request: Request, body: Any = Depends(json_body)) -> Response:
        return person_response(request, persons.create(body, committer(request)), 201, wants_representation(request))

    @api.get("/demographic/person", tags=["person"], responses=error_responses(400))
    def search_persons(
        identifier: str | None = None,
        name: str | None = None,
        family: str | None = None,
        given: str | None = None,
        birthdate: list[str] | None = Query(None),
        gender: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> dict[str, Any]:
        """Persons by identifier (any form), name/family/given prefix (case and accents folded),
        birthdate ([eq|ne|gt|lt|ge|le]YYYY[-MM[-DD]], repeatable) and gender."""
        try:
            query = parse_query(identifier=identifier, name=name, family=family, given=given,
                                birthdate=birthdate, gender=gender, offset=offset, limit=limit)  # fmt: skip
        except BadParameter as error:
            raise BadRequest(str(error), "bad_parameter") from error
        page = persons.search(query)
        return {
            "total": page.total,
            "offset": page.offset,
            "limit": page.limit,
            "items": [
                {"uid": str(v.uid), "time_committed": v.time_committed.isoformat(), "person": with_uid(v)}
                for v in page.items
            ],
        }

    @api.get("/demographic/person/{uid}", tags=["person"], responses=error_responses(400, 404))
    async def get_person(uid: str, request: Request) -> Response:
        """The latest version (object id) or a given version (version uid); deleted -> 404 `deleted`."""
        return person_response(request, await run_blocking(persons.store.engine, lambda: persons.get(uid)), 200, True)

    @api.put("/demographic/person/{uid}", tags=["person"],
             openapi_extra=documented(IF_MATCH_HEADER, *COMMITTER_HEADERS, PREFER_HEADER, **_JSON_BODY),
             responses={204: {"description": "Updated (Prefer: return=minimal, the default)"},
                        **error_responses(400, 404, 409, 412, 422)})  # fmt: skip
    def update_person(uid: str, request: Request, body: Any = Depends(json_body)) -> Response:
        representation = wants_representation(request)
        version = persons.update(uid, expected_version(request), body, committer(request))
        return person_response(request, version, 200 if representation else 204, representation)

    @api.delete("/demographic/person/{uid}", status_code=204, tags=["person"],
                openapi_extra=documented(IF_MATCH_HEADER, *COMMITTER_HEADERS),
                responses=error_responses(400, 404, 412))  # fmt: skip
    def delete_person(uid: str, request: Request) -> Response:
        version = persons.delete(uid, expected_version(request), committer(request))
        return person_response(request, version, 204, False)

    @api.get("/demographic/versioned_party/{object_id}/revision_history", tags=["person"],
             responses=error_responses(400, 404))  # fmt: skip
    def revision_history(object_id: str) -> list[dict[str, Any]]:
        return revision_history_json(persons.history(object_id))

    @api.get("/demographic/versioned_party/{object_id}/version/{version_uid}", tags=["person"],
             responses=error_responses(400, 404))  # fmt: skip
    def party_version(object_id: str, version_uid: str) -> dict[str, Any]:
        return original_version_json(persons.version(object_id, version_uid))

    return api
