"""Demographics routes (openEHR REST, ITS-REST semantics): HTTP in, use cases, HTTP out. Nothing else."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import QueryParams

from services.demographics.repository import EhrRecord
from services.demographics.search import DEFAULT_LIMIT, BadParameter, PersonQuery, parse_query
from services.demographics.service import EhrService, Page, PersonService
from services.kernel import jsontext
from services.kernel.compositions import parse_moment
from services.kernel.database import run_blocking
from services.kernel.direct_routes import DirectRoute
from services.kernel.errors import BadRequest, ErrorDetail, error_responses, json_body
from services.kernel.http import (
    COMMITTER_HEADERS,
    IF_MATCH_HEADER,
    PREFER_HEADER,
    EhrId,
    VersionUidPath,
    committer,
    documented,
    expected_version,
    version_response,
    wants_representation,
)
from services.kernel.openehr_json import document_with_uid, original_version_json, revision_history_json, with_uid
from services.kernel.service_app import one_level
from services.kernel.versioning import Version

# Documented as FastAPI documented it when it was a declared parameter (the released document has it so).
_PERSON_UID = {"in": "path", "name": "uid", "required": True, "schema": {"title": "Uid", "type": "string"}}
_JSON_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}}


def render_ehr(record: EhrRecord) -> dict[str, Any]:
    return {
        "system_id": {"value": record.system_id},
        "ehr_id": {"value": record.ehr_id},
        "ehr_status": with_uid(record.status),
        "time_created": {"value": record.time_created.isoformat()},
    }


# --- person search: the gateway's Patient?identifier= on every patient lookup ---------------------------
# Its parameters are read from the request, not declared (FastAPI's solving of eight declared query
# parameters cost ~0.2 ms a search), and documented exactly as FastAPI documented them.
def _optional(name: str, schema: dict) -> dict:
    return {"in": "query", "name": name, "required": False,
            "schema": {**schema, "title": name.title()}}  # fmt: skip


_TEXT = {"anyOf": [{"type": "string"}, {"type": "null"}]}
_SEARCH_PARAMETERS = (
    *(_optional(name, _TEXT) for name in ("identifier", "name", "family", "given")),
    _optional("birthdate", {"anyOf": [{"items": {"type": "string"}, "type": "array"}, {"type": "null"}]}),
    _optional("gender", _TEXT),
    _optional("offset", {"default": 0, "type": "integer"}),
    _optional("limit", {"default": DEFAULT_LIMIT, "type": "integer"}),
)
_INTEGER = TypeAdapter(int)


def _integer(parameters: QueryParams, name: str, default: int) -> int:
    """An integer query parameter, parsed (and refused, 400) as FastAPI parses a declared `int`."""
    text = parameters.get(name)
    if text is None:
        return default
    try:
        return _INTEGER.validate_python(text)
    except ValidationError as error:
        detail = ErrorDetail(f"query.{name}", f"/{name}", error.errors()[0]["msg"])
        raise BadRequest("The request is malformed", "bad_request", [detail]) from None


def search_query(request: Request) -> PersonQuery:
    """The search of a GET /demographic/person (400 `bad_parameter` for a value that makes no search)."""
    parameters = request.query_params
    offset, limit = _integer(parameters, "offset", 0), _integer(parameters, "limit", DEFAULT_LIMIT)
    try:
        return parse_query(identifier=parameters.get("identifier"), name=parameters.get("name"),
                           family=parameters.get("family"), given=parameters.get("given"),
                           birthdate=parameters.getlist("birthdate"), gender=parameters.get("gender"),
                           offset=offset, limit=limit)  # fmt: skip
    except BadParameter as error:
        raise BadRequest(str(error), "bad_parameter") from error


def render_page(page: Page) -> bytes:
    """The search's answer as JSON text, each PERSON spliced in from its stored text (never parsed)."""
    items = b",".join(
        b'{"uid":' + jsontext.dumps(str(version.uid)) + b',"time_committed":"'
        + version.time_committed.isoformat().encode() + b'","person":' + document_with_uid(version) + b"}"
        for version in page.items
    )  # fmt: skip
    return b'{"total":%d,"offset":%d,"limit":%d,"items":[%s]}' % (page.total, page.offset, page.limit, items)


def router(ehrs: EhrService, persons: PersonService, base_path: str) -> APIRouter:
    api = APIRouter()  # mounted under base_path by the app; here it makes the Location headers
    # The gateway's Patient read and search: served directly (services/kernel/direct_routes.py).
    direct = APIRouter(route_class=DirectRoute)

    def ehr_response(request: Request, record: EhrRecord, status: int, representation: bool) -> Response:
        location = str(request.base_url).rstrip("/") + f"{base_path}/ehr/{record.ehr_id}"
        headers = {"ETag": f'"{record.ehr_id}"', "Location": location}
        if not representation:
            return Response(status_code=status, headers=headers)
        return JSONResponse(render_ehr(record), status_code=status, headers=headers)

    def ehr_in_body(prefer: str | None) -> bool:
        return not (prefer and "return=minimal" in prefer.replace(" ", ""))

    # --- EHR registry -------------------------------------------------------------------------

    @api.post("/ehr", status_code=201, tags=["ehr"], openapi_extra=documented(*COMMITTER_HEADERS, **_JSON_BODY),
              responses=error_responses(400, 409, 422))  # fmt: skip
    def create_ehr(request: Request, body: Any = Depends(json_body)) -> Response:
        """A new EHR for the EHR_STATUS subject (returned in the body unless Prefer: return=minimal)."""
        record = ehrs.create(body, committer(request))
        return ehr_response(request, record, 201, ehr_in_body(request.headers.get("Prefer")))

    @api.put("/ehr/{ehr_id}", status_code=201, tags=["ehr"], openapi_extra=documented(*COMMITTER_HEADERS, **_JSON_BODY),
             responses=error_responses(400, 409, 422))  # fmt: skip
    def create_ehr_with_id(ehr_id: str, request: Request, body: Any = Depends(json_body)) -> Response:
        """A new EHR with the given id (409 when that id or the subject already has one)."""
        record = ehrs.create(body, committer(request), ehr_id)
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

    # --- EHR_STATUS: one versioned object per EHR (VERSIONED_EHR_STATUS) ------------------------

    def status_response(request: Request, version: Version, status: int, representation: bool) -> Response:
        location = f"{base_path}/ehr/{version.ehr_id}/ehr_status/{version.uid}"
        return version_response(request, version, status, representation, location)

    @api.get("/ehr/{ehr_id}/ehr_status", tags=["ehr_status"], responses=error_responses(400, 404))
    def get_ehr_status(request: Request, ehr_id: EhrId, version_at_time: str | None = None) -> Response:
        """The latest EHR_STATUS, or the one that was the latest at version_at_time (ISO 8601)."""
        moment = parse_moment(version_at_time) if version_at_time else None
        return status_response(request, ehrs.status(ehr_id, moment), 200, True)

    @api.put("/ehr/{ehr_id}/ehr_status", tags=["ehr_status"],
             openapi_extra=documented(IF_MATCH_HEADER, *COMMITTER_HEADERS, PREFER_HEADER, **_JSON_BODY),
             responses={204: {"description": "Updated (Prefer: return=minimal, the default)"},
                        **error_responses(400, 404, 412, 422)})  # fmt: skip
    def update_ehr_status(ehr_id: EhrId, request: Request, body: Any = Depends(json_body)) -> Response:
        """A new EHR_STATUS version (If-Match: the latest one); the subject cannot change (422)."""
        representation = wants_representation(request)
        version = ehrs.update_status(ehr_id, expected_version(request), body, committer(request))
        return status_response(request, version, 200 if representation else 204, representation)

    @api.get("/ehr/{ehr_id}/ehr_status/{version_uid}", tags=["ehr_status"],
             responses=error_responses(400, 404))  # fmt: skip
    def get_ehr_status_version(request: Request, ehr_id: EhrId, version_uid: VersionUidPath) -> Response:
        return status_response(request, ehrs.status_version(ehr_id, version_uid), 200, True)

    @api.get("/ehr/{ehr_id}/versioned_ehr_status", tags=["ehr_status"],
             responses=error_responses(400, 404))  # fmt: skip
    def versioned_ehr_status(ehr_id: EhrId) -> dict[str, Any]:
        record = ehrs.get(ehr_id)
        return {
            "_type": "VERSIONED_EHR_STATUS",
            "uid": {"_type": "HIER_OBJECT_ID", "value": record.status_id},
            "owner_id": {"_type": "HIER_OBJECT_ID", "value": record.ehr_id},
            "time_created": {"_type": "DV_DATE_TIME", "value": record.time_created.isoformat()},
        }

    @api.get("/ehr/{ehr_id}/versioned_ehr_status/revision_history", tags=["ehr_status"],
             responses=error_responses(400, 404))  # fmt: skip
    def ehr_status_revision_history(ehr_id: EhrId) -> list[dict[str, Any]]:
        """REVISION_HISTORY_ITEMs of the EHR_STATUS, oldest first."""
        return revision_history_json(ehrs.status_history(ehr_id))

    @api.get("/ehr/{ehr_id}/versioned_ehr_status/version", tags=["ehr_status"],
             responses=error_responses(400, 404))  # fmt: skip
    def ehr_status_version_at_time(ehr_id: EhrId, version_at_time: str | None = None) -> dict[str, Any]:
        """The ORIGINAL_VERSION that was the latest at version_at_time (the latest without it)."""
        moment = parse_moment(version_at_time) if version_at_time else None
        return original_version_json(ehrs.status(ehr_id, moment))

    @api.get("/ehr/{ehr_id}/versioned_ehr_status/version/{version_uid}", tags=["ehr_status"],
             responses=error_responses(400, 404))  # fmt: skip
    def ehr_status_version(ehr_id: EhrId, version_uid: VersionUidPath) -> dict[str, Any]:
        return original_version_json(ehrs.status_version(ehr_id, version_uid))

    # --- persons ------------------------------------------------------------------------------

    def person_response(request: Request, version: Version, status: int, representation: bool) -> Response:
        location = f"{base_path}/demographic/person/{version.uid}"
        return version_response(request, version, status, representation, location)

    # Empty by default (Prefer: return=minimal): no media type is promised for the 201.
    @api.post("/demographic/person", status_code=201, tags=["person"],
              openapi_extra=documented(*COMMITTER_HEADERS, PREFER_HEADER, **_JSON_BODY),
              response_class=Response, responses={201: {"description": "Created; the body is empty, or the "
              "PERSON with Prefer: return=representation"}, **error_responses(400, 409, 422)})  # fmt: skip
    def create_person(request: Request, body: Any = Depends(json_body)) -> Response:
        return person_response(request, persons.create(body, committer(request)), 201, wants_representation(request))

    @direct.get("/demographic/person", tags=["person"], response_model=dict[str, Any],
                openapi_extra=documented(*_SEARCH_PARAMETERS), responses=error_responses(400))  # fmt: skip
    async def search_persons(request: Request) -> Response:
        """Persons by identifier (any form), name/family/given prefix (case and accents folded),
        birthdate ([eq|ne|gt|lt|ge|le]YYYY[-MM[-DD]], repeatable) and gender."""
        query = search_query(request)
        page = await run_blocking(persons.store.engine, lambda: persons.search(query))
        return Response(render_page(page), media_type="application/json")

    @direct.get("/demographic/person/{uid}", tags=["person"], responses=error_responses(400, 404),
                openapi_extra=documented(_PERSON_UID))  # fmt: skip
    async def get_person(request: Request) -> Response:
        """The latest version (object id) or a given version (version uid); deleted -> 404 `deleted`."""
        uid = request.path_params["uid"]
        person = await persons.read(uid)
        return person_response(request, person, 200, True)

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

    return one_level(direct, api)
