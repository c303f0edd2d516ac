"""The HTTP side of versioning: ETag, If-Match, Prefer, Location, Last-Modified, and the committer."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated
from urllib.parse import unquote

from fastapi import Path, Request, Response

from services.kernel.errors import BadRequest, ErrorDetail
from services.kernel.openehr_json import document_with_uid
from services.kernel.schema import contribution
from services.kernel.versioning import Committer, Version, VersionUid

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
VERSION_UID_PATTERN = UUID_PATTERN.removesuffix("$") + "::[^:]+::[1-9][0-9]{0,8}$"
OBJECT_OR_VERSION_PATTERN = UUID_PATTERN.removesuffix("$") + "(::[^:]+::[1-9][0-9]{0,8})?$"

# An EHR id is checked here (400 when it is not a UUID) before anything asks demographics about it or
# stores it; object ids and version uids are documented here and checked by the use cases (400 with
# codes bad_object_id / bad_version_uid).
EhrId = Annotated[str, Path(pattern=UUID_PATTERN, description="The EHR's id (a UUID)")]
ObjectId = Annotated[
    str, Path(description="A versioned object's id (a UUID)", json_schema_extra={"pattern": UUID_PATTERN})
]
VersionUidPath = Annotated[
    str,
    Path(
        description="A version uid {object_id}::{system_id}::{n}",
        json_schema_extra={"pattern": VERSION_UID_PATTERN},
    ),
]


# The parameters of the hot routes (reading and writing compositions and persons) are read from the
# request by plain functions, not declared as FastAPI parameters: solving declared parameters costs
# ~0.03 ms per request for the two path parameters of a read, ~0.1 ms for the headers of a write (a
# hello-world request is ~0.07 ms in process). Routes document them with `openapi_extra=documented(...)`
# exactly as FastAPI would.


def _header(name: str, description: str) -> dict:
    # The schema FastAPI gave these headers as optional Header parameters, kept so that the documents
    # stay compatible with the released ones.
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    return {"name": name, "in": "header", "required": False, "description": description, "schema": schema}


IF_MATCH_HEADER = _header("If-Match", "Required: the version uid being replaced (412 when it is not the latest)")
PREFER_HEADER = _header("Prefer", "return=minimal (the default: no body) or return=representation")
COMMITTER_HEADERS = (
    _header("openEHR-AUDIT_DETAILS.committer", 'Who commits, as ITS-REST sends it: name="...", external_ref...'),
    _header("X-Committer-Name", "Who commits, when the openEHR audit header is absent (UTF-8 or percent-encoded)"),
    _header("X-Committer-Hsa-Id", "The committer's HSA-id"),
)


@dataclass(frozen=True)
class PathParameter:
    """A path parameter of a hot route: documented with a pattern; with `checked`, a value that does not
    match is refused (400) the way FastAPI refuses a declared parameter."""

    name: str
    description: str
    pattern: str
    checked: bool = False

    def __call__(self, request: Request) -> str:
        value = request.path_params[self.name]
        if self.checked and not re.match(self.pattern, value):
            detail = ErrorDetail(f"path.{self.name}", f"/{self.name}", f"String should match pattern '{self.pattern}'")
            raise BadRequest("The request is malformed", "bad_request", [detail])
        return value

    @property
    def documented(self) -> dict:
        title = self.name.replace("_", " ").title()
        schema = {"description": self.description, "pattern": self.pattern, "title": title, "type": "string"}
        return {"description": self.description, "in": "path", "name": self.name, "required": True, "schema": schema}


EHR_ID = PathParameter("ehr_id", "The EHR's id (a UUID)", UUID_PATTERN, checked=True)
OBJECT_OR_VERSION_UID = PathParameter(
    "uid", "The object id (latest version) or a version uid {object_id}::{system_id}::{n}", OBJECT_OR_VERSION_PATTERN
)


def documented(*parameters: PathParameter | dict, **operation: object) -> dict:
    """`openapi_extra` for a route: these parameters (path parameters first), and any other operation fields."""
    listed = [p.documented if isinstance(p, PathParameter) else p for p in parameters]
    return {**operation, "parameters": listed}


def expected_version(request: Request) -> VersionUid:
    """The version a PUT or DELETE expects to replace, from If-Match (400 when absent)."""
    if_match = request.headers.get("if-match")
    if not if_match or not if_match.strip():
        raise BadRequest("If-Match with the version uid being replaced is required", "if_match_required")
    return VersionUid.parse(if_match.strip().removeprefix("W/"))


def wants_representation(request: Request) -> bool:
    """`Prefer: return=representation` (the default is minimal)."""
    prefer = request.headers.get("prefer")
    return bool(prefer) and "return=representation" in prefer.replace(" ", "")


# What the commit audit's columns hold.
_NAME_LENGTH, _HSA_ID_LENGTH = contribution.c.committer_name.type.length, contribution.c.committer_hsa_id.type.length


def committer(request: Request) -> Committer:
    """Who commits, from the openEHR audit header or the X-Committer-* headers (400 when the commit audit
    could not keep it: longer than its columns, or holding a control character such as a decoded %00)."""
    headers = request.headers
    chosen = _committer_name(headers.get("openehr-audit_details.committer")) or headers.get("x-committer-name")
    name = header_text(chosen) if chosen else "unknown"
    hsa_id = headers.get("x-committer-hsa-id") or "unknown"
    checked = (("the committer's name", name, _NAME_LENGTH), ("X-Committer-HSA-Id", hsa_id, _HSA_ID_LENGTH))
    for header, value, longest in checked:
        if len(value) > longest or not value.isprintable():
            problem = f"longer than {longest} characters" if len(value) > longest else "a control character"
            raise BadRequest(f"{header} holds {problem}", "bad_committer")
    return Committer(name=name, hsa_id=hsa_id)


def header_text(value: str) -> str:
    """Swedish names in headers: raw UTF-8 (which the server decodes as Latin-1) or percent-encoded."""
    with suppress(UnicodeEncodeError, UnicodeDecodeError):  # else it was genuine Latin-1 text: keep it
        value = value.encode("latin-1").decode("utf-8")
    return unquote(value)


def _committer_name(header: str | None) -> str | None:
    # ITS-REST sends `name="Dr. X", external_ref.id="..."`; a plain name is accepted too.
    if not header:
        return None
    for part in header.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "name" and value:
            return value.strip().strip('"')
    return header.strip() if "=" not in header else None


def version_response(
    request: Request, version: Version, status: int, representation: bool, location_path: str
) -> Response:
    """A version's answer: the object (`uid` its version uid) or an empty body, with `ETag`, `Last-Modified`
    and `Location` (the absolute URL of `location_path`)."""
    headers = {
        "ETag": version.uid.etag,
        "Last-Modified": http_date(version.time_committed),
        "Location": base_url(request) + location_path,
    }
    if representation:
        return Response(document_with_uid(version), status_code=status, headers=headers, media_type="application/json")
    return Response(status_code=status, headers=headers)


def base_url(request: Request) -> str:
    """The server's absolute URL as the client named it (scheme, Host, root path), without a final slash."""
    scope = request.scope
    server = scope.get("server")  # a list from some ASGI servers: made hashable for the cache
    return _base_url(scope.get("scheme", "http"), request.headers.get("host"), server and tuple(server),
                     scope.get("root_path", ""))  # fmt: skip


@lru_cache(maxsize=256)
def _base_url(scheme: str, host: str | None, server: tuple[str, int] | None, root_path: str) -> str:
    # Starlette's `request.base_url` parses and rebuilds the URL on every request; a server is reached by
    # few names, so the answer is kept per name.
    scope = {"type": "http", "scheme": scheme, "server": server, "root_path": root_path, "path": "/",
             "query_string": b"", "headers": [] if host is None else [(b"host", host.encode("latin-1"))]}  # fmt: skip
    return str(Request(scope).base_url).rstrip("/")


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(moment: datetime) -> str:
    """An HTTP date (RFC 9110 IMF-fixdate) of an aware datetime, as `email.utils.format_datetime(usegmt=True)`
    writes it, at a fifth of its cost."""
    t = moment.astimezone(UTC)
    return (f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year:04d} "
            f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} GMT")  # fmt: skip
