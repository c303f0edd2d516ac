"""The FHIR interactions of a resource type as routes, generated from its registry entry.

A resource package supplies its ResourceDef and, per request, the handlers (its service's use
cases); the routes here do the HTTP part the same way for every type: id checks, search parsing,
Bundles, version headers, Prefer: return, If-Match.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.fhir import registry as r
from gateway.fhir.errors import FhirError
from gateway.fhir.http import read_resource, render, search_form
from gateway.fhir.responses import (
    check_id,
    fhir_base,
    history_bundle,
    if_match_version,
    resource_response,
    write_response,
)
from gateway.fhir.search import SearchRequest, parse_search, searchset

Handler = Callable[..., Awaitable[Any]]


@dataclass
class Handlers:
    read: Handler | None = None  # (id) -> resource
    vread: Handler | None = None  # (id, n) -> resource
    history: Handler | None = None  # (id) -> versions
    search: Handler | None = None  # (SearchRequest) -> (resources, total) or (resources, total, included)
    create: Handler | None = None  # (resource) -> resource
    update: Handler | None = None  # (id, resource, if_match n or None) -> resource


def version_number(resource_type: str, resource_id: str, version_id: str) -> int:
    # ASCII digits only: str.isdigit() also takes "¹", which int() refuses (a 500 found by schemathesis);
    # no module keeps a billion versions of one resource.
    if not (version_id.isascii() and version_id.isdigit()) or len(version_id) > 9:
        raise FhirError(404, f"{resource_type}/{resource_id} has no version {version_id!r}")
    return int(version_id)


async def update_body(request: Request, resource_type: str, resource_id: str) -> dict:
    """The resource of an update, whose id must be the one in the URL (400 otherwise)."""
    check_id(resource_type, resource_id)
    body = await read_resource(request, resource_type)
    if body.get("id") != resource_id:
        raise FhirError(
            400,
            f"The body's id ({body.get('id')!r}) must be the id in the URL ({resource_id!r})",
            expression=[f"{resource_type}.id"],
        )
    return body


async def search_response(request: Request, query: SearchRequest, found, total, included=None, outcome=None):
    if query.summary == "count":
        found, included = [], []
    return render(request, searchset(fhir_base(request), query, found, total, included, outcome))


def add_routes(router: APIRouter, definition: r.ResourceDef, handlers: Callable[[Request], Handlers]) -> None:
    """Routes for the interactions `definition` lists (and only those)."""
    rtype = definition.type
    base = f"/fhir/{rtype}"
    can = set(definition.interactions)

    if r.SEARCH in can:

        async def search(request: Request, extra: list[tuple[str, str]]) -> Response:
            query = parse_search(request, definition, request.app.state.settings, extra)
            found, total, *included = await handlers(request).search(query)
            return await search_response(request, query, found, total, included[0] if included else None)

        @router.get(base, name=f"search {rtype}")
        async def search_get(request: Request) -> Response:
            return await search(request, [])

        @router.post(f"{base}/_search", name=f"search {rtype} (POST)")
        async def search_post(request: Request) -> Response:
            return await search(request, await search_form(request))

    if r.CREATE in can:

        @router.post(base, name=f"create {rtype}")
        async def create(request: Request) -> Response:
            created = await handlers(request).create(await read_resource(request, rtype))
            return write_response(request, created, 201, f"Created {rtype}/{created['id']}")

    if r.READ in can:

        @router.get(f"{base}/{{resource_id}}", name=f"read {rtype}")
        async def read(request: Request, resource_id: str) -> Response:
            return resource_response(request, await handlers(request).read(check_id(rtype, resource_id)))

    if r.HISTORY_INSTANCE in can:

        @router.get(f"{base}/{{resource_id}}/_history", name=f"history {rtype}")
        async def history(request: Request, resource_id: str) -> Response:
            versions = await handlers(request).history(check_id(rtype, resource_id))
            return render(request, history_bundle(request, rtype, resource_id, versions))

    if r.VREAD in can:

        @router.get(f"{base}/{{resource_id}}/_history/{{version_id}}", name=f"vread {rtype}")
        async def vread(request: Request, resource_id: str, version_id: str) -> Response:
            n = version_number(rtype, resource_id, version_id)
            return resource_response(request, await handlers(request).vread(check_id(rtype, resource_id), n))

    if r.UPDATE in can:

        @router.put(f"{base}/{{resource_id}}", name=f"update {rtype}")
        async def update(request: Request, resource_id: str) -> Response:
            body = await update_body(request, rtype, resource_id)
            updated = await handlers(request).update(resource_id, body, if_match_version(request))
            return write_response(request, updated, 200, f"Updated {rtype}/{resource_id}")
