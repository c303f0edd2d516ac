"""ServiceRequest and Task routes (thin: parse, call the service, render)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.fhir import registry as r
from gateway.fhir.errors import FhirError
from gateway.fhir.http import read_resource, render
from gateway.fhir.responses import (
    check_id,
    fhir_base,
    history_bundle,
    if_match_version,
    resource_response,
    write_response,
)
from gateway.fhir.search import parse_search, searchset
from gateway.referrals.service import ReferralService

SP = "http://hl7.org/fhir/SearchParameter/"
PATIENT = r.SearchParam(
    "patient", "reference", "The Patient (Patient/{id} or {id})", definition=SP + "clinical-patient"
)
SUBJECT = r.SearchParam("subject", "reference", "The Patient (Patient/{id})")
RECEIVER = "The receiving unit's HSA-id (urn:oid:1.2.752.29.4.19|{hsa-id} or {hsa-id})"

SERVICE_REQUEST = r.ResourceDef(
    type="ServiceRequest",
    profile="http://hl7.org/fhir/StructureDefinition/ServiceRequest",
    documentation="Referrals (remisser) of the referrals module (template vgr.referral.v1). Create as draft "
    "or active (sent); an update may send a draft (active) or revoke; the rest of the workflow is Task's.",
    interactions=[r.READ, r.VREAD, r.HISTORY_INSTANCE, r.SEARCH, r.CREATE, r.UPDATE],
    search_params={
        p.name: p
        for p in (
            PATIENT,
            SUBJECT,
            r.SearchParam(
                "status",
                "token",
                "draft | active | completed | revoked",
                definition=SP + "ServiceRequest-status",
            ),
            r.SearchParam(
                "priority",
                "token",
                "stat | urgent | asap | routine",
                definition=SP + "ServiceRequest-priority",
            ),
            r.SearchParam("performer", "token", RECEIVER),
            r.SearchParam(
                "authored", "date", "When the referral was written", definition=SP + "ServiceRequest-authored"
            ),
        )
    },
)
TASK = r.ResourceDef(
    type="Task",
    profile="http://hl7.org/fhir/StructureDefinition/Task",
    documentation="The workflow of a referral (same id as its ServiceRequest): draft, requested, received, "
    "accepted | rejected, in-progress (booked), completed, or cancelled. An update of status adds an "
    "ACTION.service.v1 in the module; an illegal transition is 409.",
    interactions=[r.READ, r.VREAD, r.HISTORY_INSTANCE, r.SEARCH, r.UPDATE],
    search_params={
        p.name: p
        for p in (
            PATIENT,
            SUBJECT,
            r.SearchParam(
                "status",
                "token",
                "draft | requested | received | accepted | rejected | in-progress | completed | cancelled",
                definition=SP + "Task-status",
            ),
            r.SearchParam("owner", "token", RECEIVER),
            r.SearchParam(
                "authored-on", "date", "When the referral was written", definition=SP + "Task-authored-on"
            ),
        )
    },
)
DEFINITIONS = (SERVICE_REQUEST, TASK)

router = APIRouter(tags=["referrals"])


def service(request: Request) -> ReferralService:
    return request.app.state.referrals


def _routes(definition: r.ResourceDef) -> None:
    rtype = definition.type

    @router.get(f"/fhir/{rtype}", name=f"search {rtype}")
    async def search(request: Request) -> Response:
        query = parse_search(request, definition, request.app.state.settings)
        found, total = await service(request).search(rtype, query)
        return render(request, searchset(fhir_base(request), query, found, total))

    @router.get(f"/fhir/{rtype}/{{resource_id}}", name=f"read {rtype}")
    async def read(request: Request, resource_id: str) -> Response:
        return resource_response(request, await service(request).read(rtype, check_id(rtype, resource_id)))

    @router.get(f"/fhir/{rtype}/{{resource_id}}/_history", name=f"history {rtype}")
    async def history(request: Request, resource_id: str) -> Response:
        versions = await service(request).history(rtype, check_id(rtype, resource_id))
        return render(request, history_bundle(request, rtype, resource_id, versions))

    @router.get(f"/fhir/{rtype}/{{resource_id}}/_history/{{version_id}}", name=f"vread {rtype}")
    async def vread(request: Request, resource_id: str, version_id: str) -> Response:
        if not version_id.isdigit():
            raise FhirError(404, f"{rtype}/{resource_id} has no version {version_id!r}")
        found = await service(request).vread(rtype, check_id(rtype, resource_id), int(version_id))
        return resource_response(request, found)

    @router.put(f"/fhir/{rtype}/{{resource_id}}", name=f"update {rtype}")
    async def update(request: Request, resource_id: str) -> Response:
        check_id(rtype, resource_id)
        body = await read_resource(request, rtype)
        if body.get("id") != resource_id:
            raise FhirError(
                400,
                f"The body's id ({body.get('id')!r}) must be the id in the URL ({resource_id!r})",
                expression=[f"{rtype}.id"],
            )
        updated = await service(request).update(rtype, resource_id, body, if_match_version(request))
        return write_response(request, updated, 200, f"Updated {rtype}/{resource_id}")


_routes(SERVICE_REQUEST)
_routes(TASK)


@router.post("/fhir/ServiceRequest")
async def create(request: Request) -> Response:
    created = await service(request).create(await read_resource(request, "ServiceRequest"))
    return write_response(request, created, 201, f"Created ServiceRequest/{created['id']}")
