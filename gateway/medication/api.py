"""MedicationRequest routes (thin: parse, call the service, render)."""

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
from gateway.medication.service import MedicationService

SP = "http://hl7.org/fhir/SearchParameter/"
DEFINITION = r.ResourceDef(
    type="MedicationRequest",
    profile="http://hl7.org/fhir/StructureDefinition/MedicationRequest",
    documentation="Medication orders of the medication module (template vgr.medication_order.v1). "
    "An update may change only status (active, on-hold, stopped, completed, cancelled) and statusReason; "
    "each change is a new version with an ACTION.medication.v1; illegal transitions give 409.",
    interactions=[r.READ, r.VREAD, r.HISTORY_INSTANCE, r.SEARCH, r.CREATE, r.UPDATE],
    search_params={
        p.name: p
        for p in (
            r.id_param(),
            r.SearchParam(
                "patient",
                "reference",
                "The Patient (Patient/{id} or {id})",
                definition=SP + "clinical-patient",
            ),
            r.SearchParam(
                "subject",
                "reference",
                "The Patient (Patient/{id})",
                definition=SP + "MedicationRequest-subject",
            ),
            r.SearchParam(
                "status",
                "token",
                "active | on-hold | stopped | completed",
                definition=SP + "medications-status",
            ),
            r.SearchParam(
                "code",
                "token",
                "ATC code, http://www.whocc.no/atc|{code} or {code}",
                definition=SP + "clinical-code",
            ),
            r.SearchParam(
                "authoredon",
                "date",
                "When the order was written; prefixes eq, ge, gt, le, lt",
                definition=SP + "MedicationRequest-authoredon",
            ),
        )
    },
    search_include=["MedicationRequest:subject", "MedicationRequest:patient"],
)

router = APIRouter(prefix="/fhir/MedicationRequest", tags=["MedicationRequest"])


def service(request: Request) -> MedicationService:
    return request.app.state.medications


@router.get("")
async def search(request: Request) -> Response:
    return await _search(request, [])


@router.post("/_search")
async def search_post(request: Request) -> Response:
    form = await request.form()
    return await _search(request, [(k, str(v)) for k, v in form.multi_items()])


async def _search(request: Request, extra: list[tuple[str, str]]) -> Response:
    query = parse_search(request, DEFINITION, request.app.state.settings, extra)
    found, total, included = await service(request).search(query)
    return render(request, searchset(fhir_base(request), query, found, total, included))


@router.get("/{resource_id}")
async def read(request: Request, resource_id: str) -> Response:
    return resource_response(request, await service(request).read(check_id("MedicationRequest", resource_id)))


@router.get("/{resource_id}/_history")
async def history(request: Request, resource_id: str) -> Response:
    versions = await service(request).history(check_id("MedicationRequest", resource_id))
    return render(request, history_bundle(request, "MedicationRequest", resource_id, versions))


@router.get("/{resource_id}/_history/{version_id}")
async def vread(request: Request, resource_id: str, version_id: str) -> Response:
    if not version_id.isdigit():
        raise FhirError(404, f"MedicationRequest/{resource_id} has no version {version_id!r}")
    resource = await service(request).vread(check_id("MedicationRequest", resource_id), int(version_id))
    return resource_response(request, resource)


@router.post("")
async def create(request: Request) -> Response:
    created = await service(request).create(await read_resource(request, "MedicationRequest"))
    return write_response(request, created, 201, f"Created MedicationRequest/{created['id']}")


@router.put("/{resource_id}")
async def update(request: Request, resource_id: str) -> Response:
    check_id("MedicationRequest", resource_id)
    body = await read_resource(request, "MedicationRequest")
    if body.get("id") != resource_id:
        raise FhirError(
            400,
            f"The body's id ({body.get('id')!r}) must be the id in the URL ({resource_id!r})",
            expression=["MedicationRequest.id"],
        )
    updated = await service(request).update(resource_id, body, if_match_version(request))
    return write_response(request, updated, 200, f"Updated MedicationRequest/{resource_id}")
