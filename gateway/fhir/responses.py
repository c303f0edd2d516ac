"""Helpers every resource's routes share: version headers, Prefer: return, history bundles."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import Response

from gateway.fhir.errors import FhirError, information
from gateway.fhir.http import base_url, http_date, prefer, render

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_ETAG = re.compile(r'^(W/)?"?(\d+)"?$')


def check_id(resource_type: str, resource_id: str) -> str:
    if not _ID.match(resource_id):
        raise FhirError(404, f"{resource_type}/{resource_id} is not a valid id", code="not-found")
    return resource_id


def if_match_version(request: Request) -> int | None:
    """The version number in If-Match (W/"3", "3" or 3); 400 when it is not one."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    match = _ETAG.match(header.strip())
    if not match:
        raise FhirError(
            400, f'If-Match must be a version ETag such as W/"1", got {header!r}', expression=["If-Match"]
        )
    return int(match[2])


def fhir_base(request: Request) -> str:
    return base_url(request, request.app.state.settings.public_base_url)


def version_headers(request: Request, resource: dict, location: bool = False) -> dict[str, str]:
    meta = resource.get("meta") or {}
    headers = {"ETag": f'W/"{meta.get("versionId", "1")}"'}
    if meta.get("lastUpdated"):
        headers["Last-Modified"] = http_date(meta["lastUpdated"])
    if location:
        path = f"{resource['resourceType']}/{resource['id']}/_history/{meta.get('versionId', '1')}"
        headers["Location"] = f"{fhir_base(request)}/{path}"
    return headers


def resource_response(
    request: Request, resource: dict, status: int = 200, location: bool = False
) -> Response:
    return render(request, resource, status, version_headers(request, resource, location))


def write_response(request: Request, resource: dict, status: int, message: str) -> Response:
    """Answer a create or update as `Prefer: return=` asks (representation by default)."""
    headers = version_headers(request, resource, location=True)
    wanted = prefer(request, "return") or "representation"
    if wanted == "minimal":
        return render(request, None, status, headers)
    if wanted == "operationoutcome":
        return render(request, information(message), status, headers)
    return render(request, resource, status, headers)


def history_bundle(request: Request, resource_type: str, resource_id: str, versions: list) -> dict:
    """A history Bundle, newest first.

    `versions` have .resource (or .patient), .version, .last_updated and .change."""
    base = fhir_base(request)
    entries = []
    for v in versions:
        resource = getattr(v, "resource", None) or getattr(v, "patient", None)
        n = v.version.version
        url = f"{resource_type}/{resource_id}"
        entry: dict = {"fullUrl": f"{base}/{url}"}
        if resource is not None:
            entry["resource"] = resource
        method = "DELETE" if v.change == "deleted" else ("POST" if n == 1 else "PUT")
        entry["request"] = {"method": method, "url": resource_type if method == "POST" else url}
        entry["response"] = {
            "status": "204" if method == "DELETE" else ("201" if n == 1 else "200"),
            "etag": f'W/"{n}"',
        }
        if v.last_updated:
            entry["response"]["lastModified"] = v.last_updated
        entries.append(entry)
    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "total": len(entries),
        "link": [{"relation": "self", "url": f"{base}/{resource_type}/{resource_id}/_history"}],
    }
    if entries:
        bundle["entry"] = entries
    return bundle
