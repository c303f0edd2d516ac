"""The HTTP side of versioning: ETag, If-Match, Prefer, Location, Last-Modified, and the committer."""

from __future__ import annotations

from contextlib import suppress
from email.utils import format_datetime
from typing import Annotated
from urllib.parse import unquote

from fastapi import Header, Path, Request, Response

from services.kernel.errors import BadRequest
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
ObjectOrVersionUid = Annotated[
    str,
    Path(
        description="The object id (latest version) or a version uid {object_id}::{system_id}::{n}",
        json_schema_extra={"pattern": OBJECT_OR_VERSION_PATTERN},
    ),
]
VersionUidPath = Annotated[
    str,
    Path(
        description="A version uid {object_id}::{system_id}::{n}",
        json_schema_extra={"pattern": VERSION_UID_PATTERN},
    ),
]


async def require_if_match(if_match: str | None = Header(None, alias="If-Match")) -> VersionUid:
    """FastAPI dependency: the version a PUT or DELETE expects to replace (400 when absent)."""
    if not if_match or not if_match.strip():
        raise BadRequest("If-Match with the version uid being replaced is required", "if_match_required")
    return VersionUid.parse(if_match.strip().removeprefix("W/"))


async def wants_representation(prefer: str | None = Header(None, alias="Prefer")) -> bool:
    """FastAPI dependency: `Prefer: return=representation` (the default is minimal)."""
    return bool(prefer) and "return=representation" in prefer.replace(" ", "")


async def committer(
    audit_committer: str | None = Header(None, alias="openEHR-AUDIT_DETAILS.committer"),
    name: str | None = Header(None, alias="X-Committer-Name"),
    hsa_id: str | None = Header(None, alias="X-Committer-Hsa-Id"),
) -> Committer:
    """FastAPI dependency: who commits, from the openEHR audit header or the X-Committer-* headers."""
    chosen = _committer_name(audit_committer) or name
    return Committer(name=header_text(chosen) if chosen else "unknown", hsa_id=hsa_id or "unknown")


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


def set_version_headers(response: Response, request: Request, version: Version, location_path: str) -> None:
    response.headers["ETag"] = version.uid.etag
    response.headers["Last-Modified"] = format_datetime(version.time_committed, usegmt=True)
    response.headers["Location"] = str(request.base_url).rstrip("/") + location_path
