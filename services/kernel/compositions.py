"""What every clinical module (journal, medication, referrals) does with compositions, written once.

A module differs from the others only by its `ClinicalModule` declaration: the templates it
accepts, its search index and its workflow rule (`check_transition`). It gets the use cases
(`CompositionService`) and the ITS-REST routes (`composition_router`, `query_router`) from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import QueryParams

from services.kernel.careflow import steps_derived_once
from services.kernel.database import run_blocking, run_write
from services.kernel.direct_routes import DirectRoute
from services.kernel.ehr_directory import EhrDirectory
from services.kernel.errors import BadRequest, Deleted, ErrorDetail, error_responses, json_body
from services.kernel.http import (
    COMMITTER_HEADERS,
    EHR_ID,
    IF_MATCH_HEADER,
    OBJECT_OR_VERSION_UID,
    PREFER_HEADER,
    EhrId,
    ObjectId,
    VersionUidPath,
    committer,
    documented,
    expected_version,
    version_response,
    wants_representation,
)
from services.kernel.openehr_json import document_with_uid, original_version_json, revision_history_json
from services.kernel.search import LARGEST_OFFSET, SearchIndex, parse_iso_datetime
from services.kernel.service_app import one_level
from services.kernel.store import SearchPage, SearchQuery, VersionedStore
from services.kernel.templates import TemplateRegistry, Validator, check_against_template
from services.kernel.versioning import Committer, Version, VersionUid, parse_object_id, parse_uid

# The workflow rule of a module: (latest stored composition or None on create, new one or None on delete).
# It raises `Conflict` (409) naming the allowed transitions when the change is not allowed.
TransitionCheck = Callable[[dict | None, dict | None], None]


@dataclass(frozen=True)
class ClinicalModule:
    name: str
    templates: TemplateRegistry
    index: SearchIndex
    check_transition: TransitionCheck | None = None


class CompositionService:
    def __init__(self, module: ClinicalModule, store: VersionedStore, validator: Validator, ehrs: EhrDirectory):
        self.module = module
        self.store = store
        self.validator = validator
        self.ehrs = ehrs

    def _checked(self, body: object) -> tuple[dict, str]:
        if not isinstance(body, dict) or body.get("_type") != "COMPOSITION":
            found = body.get("_type") if isinstance(body, dict) else type(body).__name__
            raise BadRequest(f"Expected a COMPOSITION (_type), got {found!r}", "wrong_type")
        template_id = check_against_template(body, self.module.templates, self.validator)
        # The store gives every version its uid; one sent by the client is not part of the content.
        return {k: v for k, v in body.items() if k != "uid"}, template_id

    async def _database(self, work: Callable[[], Version]) -> Version:
        return await run_write(self.store.engine, work)

    def _transition(self) -> Callable[[Version, dict | None], None] | None:
        rule = self.module.check_transition
        return None if rule is None else (lambda latest, new: rule(latest.data, new))

    async def create(self, ehr_id: str, body: object, who: Committer) -> Version:
        composition, template_id = self._checked(body)
        await self.ehrs.require(ehr_id)
        with steps_derived_once():  # for the check and the index alike
            if self.module.check_transition is not None:
                self.module.check_transition(None, composition)
            return await self.store.add(ehr_id=ehr_id, data=composition, template_id=template_id, committer=who)

    async def update(self, ehr_id: str, object_id: str, expected: VersionUid, body: object, who: Committer) -> Version:
        composition, template_id = self._checked(body)
        _same_object(object_id, expected)
        await self.ehrs.require(ehr_id)
        with steps_derived_once():
            return await self._database(
                lambda: self.store.update(
                    expected=expected,
                    ehr_id=ehr_id,
                    data=composition,
                    template_id=template_id,
                    committer=who,
                    check=self._transition(),
                )
            )

    async def delete(self, ehr_id: str, object_id: str, expected: VersionUid, who: Committer) -> Version:
        _same_object(object_id, expected)
        await self.ehrs.require(ehr_id)
        return await self._database(
            lambda: self.store.delete(expected=expected, ehr_id=ehr_id, committer=who, check=self._transition())
        )

    async def read(self, ehr_id: str, uid: str) -> Version:
        """By object id: the latest version (404 `deleted` if that is a deletion); by version uid: that."""
        object_id, version_uid = parse_uid(uid)
        version = await self.store.read(object_id, ehr_id, version_uid)
        if version.is_deleted:
            raise Deleted(f"Composition {version.uid.object_id} was deleted in version {version.uid}")
        return version

    def history(self, ehr_id: str, object_id: str) -> list[Version]:
        return self.store.history(parse_object_id(object_id), ehr_id)

    def at_time(self, ehr_id: str, object_id: str, moment: datetime | None) -> Version:
        object_id = parse_object_id(object_id)
        if moment is None:
            return self.store.latest(object_id, ehr_id)
        return self.store.at_time(object_id, moment, ehr_id)

    def version(self, ehr_id: str, object_id: str, version_uid: str) -> Version:
        uid = VersionUid.parse(version_uid)
        _same_object(object_id, uid)
        return self.store.version(uid, ehr_id)

    def search(self, query: SearchQuery) -> SearchPage:
        return self.store.search(query)


def _same_object(object_id: str, uid: VersionUid) -> None:
    if parse_object_id(object_id.split("::")[0]) != uid.object_id:
        raise BadRequest(f"Version {uid} is not a version of {object_id}", "version_mismatch")


_UNENCODED_PLUS = re.compile(r"(?<=\d) (\d{2}:?\d{2})$")


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time parameter; a bare date means its start (or, for an upper bound, its end)."""
    # An unencoded "+01:00" in a query string arrives as " 01:00".
    text = _UNENCODED_PLUS.sub(r"+\1", text.strip(" ")) if _UNENCODED_PLUS.search(text) else text
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, UTC)
        return parse_iso_datetime(text)
    except ValueError as error:
        raise BadRequest(f"'{text}' is not an ISO 8601 date or date-time", "bad_parameter") from error


# --- routes ---------------------------------------------------------------------------------------

WRITE_ERRORS = error_responses(400, 404, 409, 412, 422, 503)
COMPOSITION_CONTENT = {"content": {"application/json": {"schema": {"type": "object"}}}}


def composition_media(templates: TemplateRegistry) -> dict:
    """A COMPOSITION request body, with a valid example of each template that has one."""
    examples = {
        t.template_id: {"summary": f"A valid {t.template_id}", "value": example}
        for t in templates.all()
        if (example := t.example()) is not None
    }
    return {"schema": {"type": "object"}, **({"examples": examples} if examples else {})}


def _version_response(request: Request, version: Version, status: int, representation: bool) -> Response:
    object_path = request.scope["path"].split("/composition")[0]
    status = status if representation or status != 200 else 204
    return version_response(request, version, status, representation, f"{object_path}/composition/{version.uid}")


def composition_router(service: CompositionService) -> APIRouter:
    """POST/GET/PUT/DELETE composition (direct routes: nearly every request is one of them), revision
    history, version at time and version by uid."""
    direct = APIRouter(tags=["composition"], route_class=DirectRoute)
    router = APIRouter(tags=["composition"])
    media = composition_media(service.module.templates)
    body = {"requestBody": {"required": True, "content": {"application/json": media}}}
    commit = documented(EHR_ID, *COMMITTER_HEADERS, PREFER_HEADER, **body)

    @direct.post(
        "/ehr/{ehr_id}/composition",
        status_code=201,
        openapi_extra=commit,
        # Empty by default (Prefer: return=minimal): no media type is promised for the 201.
        response_class=Response,
        responses={
            201: {
                "description": "Created; Location and ETag name the version. The body is empty, or the "
                "composition with Prefer: return=representation"
            },
            **error_responses(400, 404, 409, 422, 503),
        },
    )
    async def create_composition(request: Request) -> Response:
        version = await service.create(EHR_ID(request), await json_body(request), committer(request))
        return _version_response(request, version, 201, wants_representation(request))

    @direct.get(
        "/ehr/{ehr_id}/composition/{uid}",
        openapi_extra=documented(EHR_ID, OBJECT_OR_VERSION_UID),
        responses={
            200: {"description": "The composition, uid set to its version uid", **COMPOSITION_CONTENT},
            **error_responses(400, 404),
        },
    )
    async def get_composition(request: Request) -> Response:
        version = await service.read(EHR_ID(request), OBJECT_OR_VERSION_UID(request))
        return _version_response(request, version, 200, True)

    @direct.put(
        "/ehr/{ehr_id}/composition/{uid}",
        status_code=200,
        openapi_extra=documented(
            EHR_ID, OBJECT_OR_VERSION_UID, IF_MATCH_HEADER, *COMMITTER_HEADERS, PREFER_HEADER, **body
        ),
        responses={
            200: {"description": "Updated (with Prefer: return=representation)", **COMPOSITION_CONTENT},
            204: {"description": "Updated (Prefer: return=minimal)"},
            **WRITE_ERRORS,
        },
    )
    async def update_composition(request: Request) -> Response:
        ehr_id, uid, expected, who = (
            EHR_ID(request),
            OBJECT_OR_VERSION_UID(request),
            expected_version(request),
            committer(request),
        )
        version = await service.update(ehr_id, uid, expected, await json_body(request), who)
        return _version_response(request, version, 200, wants_representation(request))

    @direct.delete(
        "/ehr/{ehr_id}/composition/{uid}",
        status_code=204,
        openapi_extra=documented(EHR_ID, OBJECT_OR_VERSION_UID, IF_MATCH_HEADER, *COMMITTER_HEADERS),
        responses={
            204: {"description": "Deleted: a new version with lifecycle state deleted"},
            **error_responses(400, 404, 409, 412, 503),
        },
    )
    async def delete_composition(request: Request) -> Response:
        ehr_id, uid = EHR_ID(request), OBJECT_OR_VERSION_UID(request)
        version = await service.delete(ehr_id, uid, expected_version(request), committer(request))
        return _version_response(request, version, 204, False)

    @router.get(
        "/ehr/{ehr_id}/versioned_composition/{object_id}/revision_history",
        responses={200: {"description": "REVISION_HISTORY_ITEMs, oldest first"}, **error_responses(400, 404)},
    )
    def revision_history(ehr_id: EhrId, object_id: ObjectId) -> list[dict]:
        return revision_history_json(service.history(ehr_id, object_id))

    @router.get(
        "/ehr/{ehr_id}/versioned_composition/{object_id}/version",
        responses={
            200: {"description": "The ORIGINAL_VERSION that was latest at that time (latest without it)"},
            **error_responses(400, 404),
        },
    )
    def version_at_time(ehr_id: EhrId, object_id: ObjectId, version_at_time: str | None = None) -> dict:
        moment = parse_moment(version_at_time) if version_at_time else None
        return original_version_json(service.at_time(ehr_id, object_id, moment))

    @router.get(
        "/ehr/{ehr_id}/versioned_composition/{object_id}/version/{version_uid}",
        responses={200: {"description": "That ORIGINAL_VERSION"}, **error_responses(400, 404)},
    )
    def version_by_uid(ehr_id: EhrId, object_id: ObjectId, version_uid: VersionUidPath) -> dict:
        return original_version_json(service.version(ehr_id, object_id, version_uid))

    return one_level(direct, router)


# --- the query: a direct route whose parameters are parsed here, as FastAPI would parse them ----------
# (declared as FastAPI dependencies they were solved on a thread each: ~0.4 ms of a 10-note query)

_EHR_IDS = "EHR ids (repeatable); all EHRs when absent"
_DATE_FROM = "Clinical date from (ISO date or date-time, inclusive)"
_DATE_TO = "Clinical date to (ISO date or date-time, inclusive)"
_OPTIONAL_TEXT = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def _query_parameter(name: str, schema: dict, description: str | None = None) -> dict:
    """A query parameter documented as FastAPI documents a declared one (the released documents have it so)."""
    described = {"description": description} if description else {}
    return {**described, "in": "query", "name": name, "required": False,
            "schema": {**schema, **described, "title": name.replace("_", " ").title()}}  # fmt: skip


def query_parameters(index: SearchIndex) -> list[dict]:
    """The documented parameters of `GET /query/compositions`: the common ones and the index's fields."""
    return [
        _query_parameter("ehr_id", {"default": [], "items": {"type": "string"}, "type": "array"}, _EHR_IDS),
        _query_parameter("template_id", _OPTIONAL_TEXT),
        _query_parameter("date_from", _OPTIONAL_TEXT, _DATE_FROM),
        _query_parameter("date_to", _OPTIONAL_TEXT, _DATE_TO),
        _query_parameter("sort", {"default": "-date", "enum": ["date", "-date"], "type": "string"}),
        _query_parameter("offset", {"default": 0, "minimum": 0, "type": "integer"}),
        _query_parameter("limit", {"default": 20, "maximum": 1000, "minimum": 1, "type": "integer"}),
        *(
            _query_parameter(
                name, {**_OPTIONAL_TEXT, **({"enum": list(f.allowed)} if f.allowed else {})}, f.description
            )  # fmt: skip
            for name, f in index.declared.items()
        ),
    ]


class CompositionQuery(BaseModel):
    """The common parameters, validated (and refused with pydantic's words) as FastAPI validated them."""

    ehr_id: list[str] = []
    template_id: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    sort: Literal["date", "-date"] = "-date"
    offset: int = Field(0, ge=0, le=LARGEST_OFFSET)
    limit: int = Field(20, ge=1, le=1000)


def search_query(parameters: QueryParams, index: SearchIndex) -> SearchQuery:
    """The search a `GET /query/compositions` asks for (400 for a parameter that makes none)."""
    given = {name: parameters.get(name) for name in CompositionQuery.model_fields if name in parameters}
    given["ehr_id"] = parameters.getlist("ehr_id")
    if any("\x00" in value for _, value in parameters.multi_items()):  # a decoded %00: PostgreSQL's text refuses it
        raise BadRequest("A query parameter holds the character U+0000", "bad_parameter")
    try:
        common = CompositionQuery.model_validate(given)
    except ValidationError as error:
        details = [ErrorDetail(f"query.{e['loc'][0]}", f"/{e['loc'][0]}", e["msg"]) for e in error.errors()]
        raise BadRequest("The request is malformed", "bad_request", details) from None
    fields = {name: parameters[name] for name in index.declared if name in parameters}
    for name, value in fields.items():
        allowed = index.declared[name].allowed
        if allowed and value not in allowed:
            raise BadRequest(f"{name} must be one of {', '.join(allowed)}", "bad_parameter")
    return SearchQuery(
        ehr_ids=common.ehr_id,
        template_id=common.template_id,
        date_from=parse_moment(common.date_from) if common.date_from else None,
        date_to=parse_moment(common.date_to, end_of_day=True) if common.date_to else None,
        fields=fields,
        newest_first=common.sort == "-date",
        offset=common.offset,
        limit=common.limit,
    )


def query_router(service: CompositionService) -> APIRouter:
    """`GET /query/compositions` (a direct route): the common parameters plus one per declared index field."""
    router = APIRouter(tags=["query"], route_class=DirectRoute)
    index = service.module.index

    @router.get(
        "/query/compositions",
        openapi_extra=documented(*query_parameters(index)),
        responses={
            200: {
                "description": "{total, offset, limit, items: [{ehr_id, uid, time_committed, index, composition}]}",
                "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
            },
            **error_responses(400),
        },
    )
    async def query_compositions(request: Request) -> Response:
        query = search_query(request.query_params, index)
        page = await run_blocking(service.store.engine, lambda: service.search(query))
        # The compositions go out as stored (uid spliced in), never parsed and written again.
        items = [
            {
                "ehr_id": hit.version.ehr_id,
                "uid": str(hit.version.uid),
                "time_committed": hit.version.time_committed.isoformat(),
                "index": {"date": hit.clinical_time.isoformat() if hit.clinical_time else None, **hit.index},
                "composition": orjson.Fragment(document_with_uid(hit.version)),
            }
            for hit in page.hits
        ]
        page_json = {"total": page.total, "offset": query.offset, "limit": query.limit, "items": items}
        return Response(orjson.dumps(page_json), media_type="application/json")

    return router
