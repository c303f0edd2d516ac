"""Composition and Condition routes (thin: parse, call the service, render)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.fhir import registry as r
from gateway.fhir.errors import FhirError
from gateway.fhir.http import read_resource, render
from gateway.fhir.responses import check_id, fhir_base, history_bundle, resource_response, write_response
from gateway.fhir.search import parse_search, searchset
from gateway.journal.service import JournalService

SP = "http://hl7.org/fhir/SearchParameter/"
PATIENT = r.SearchParam(
    "patient", "reference", "The Patient (Patient/{id} or {id})", definition=SP + "clinical-patient"
)
SUBJECT = r.SearchParam("subject", "reference", "The Patient (Patient/{id})")

COMPOSITION = r.ResourceDef(
    type="Composition",
    profile="http://hl7.org/fhir/StructureDefinition/Composition",
    documentation="Journal notes of the journal module (template vgr.journal_note.v1), type LOINC 11506-3, "
    "sections Anamnes, Status, Bedömning, Diagnos (Conditions; contained on create) and Åtgärd/Plan.",
    interactions=[r.READ, r.VREAD, r.HISTORY_INSTANCE, r.SEARCH, r.CREATE],
    search_params={
        p.name: p
        for p in (
            PATIENT,
            SUBJECT,
            r.SearchParam(
                "date",
                "date",
                "The note's clinical date; prefixes eq, ge, gt, le, lt",
                definition=SP + "clinical-date",
            ),
            r.SearchParam(
                "type", "token", "http://loinc.org|11506-3 (every note)", definition=SP + "clinical-type"
            ),
        )
    },  # fmt: skip
)
CONDITION = r.ResourceDef(
    type="Condition",
    profile="http://hl7.org/fhir/StructureDefinition/Condition",
    documentation="Diagnoses (ICD-10-SE) recorded in journal notes; created through their Composition.",
    interactions=[r.READ, r.SEARCH],
    search_params={
        p.name: p
        for p in (
            PATIENT,
            SUBJECT,
            r.SearchParam(
                "code",
                "token",
                "ICD-10-SE code, urn:oid:1.2.752.116.1.1.1|{code} or {code}",
                definition=SP + "clinical-code",
            ),
            r.SearchParam(
                "recorded-date",
                "date",
                "Date of the note that records it",
                definition=SP + "Condition-recorded-date",
            ),
        )
    },  # fmt: skip
)
DEFINITIONS = (COMPOSITION, CONDITION)

router = APIRouter(tags=["journal"])


def service(request: Request) -> JournalService:
    return request.app.state.journal


def _version(resource_type: str, resource_id: str, version_id: str) -> int:
    if not version_id.isdigit():
        raise FhirError(404, f"{resource_type}/{resource_id} has no version {version_id!r}")
    return int(version_id)


@router.get("/fhir/Composition")
async def search_compositions(request: Request) -> Response:
    query = parse_search(request, COMPOSITION, request.app.state.settings)
    found, total = await service(request).search(query)
    return render(request, searchset(fhir_base(request), query, found, total))


@router.get("/fhir/Composition/{resource_id}")
async def read_composition(request: Request, resource_id: str) -> Response:
    return resource_response(request, await service(request).read(check_id("Composition", resource_id)))


@router.get("/fhir/Composition/{resource_id}/_history")
async def history_composition(request: Request, resource_id: str) -> Response:
    versions = await service(request).history(check_id("Composition", resource_id))
    return render(request, history_bundle(request, "Composition", resource_id, versions))


@router.get("/fhir/Composition/{resource_id}/_history/{version_id}")
async def vread_composition(request: Request, resource_id: str, version_id: str) -> Response:
    version = _version("Composition", resource_id, version_id)
    return resource_response(
        request, await service(request).vread(check_id("Composition", resource_id), version)
    )


@router.post("/fhir/Composition")
async def create_composition(request: Request) -> Response:
    created = await service(request).create(await read_resource(request, "Composition"))
    return write_response(request, created, 201, f"Created Composition/{created['id']}")


@router.get("/fhir/Condition")
async def search_conditions(request: Request) -> Response:
    query = parse_search(request, CONDITION, request.app.state.settings)
    if query.sort:
        raise FhirError(
            400, "Condition search does not support _sort", code="not-supported", expression=["_sort"]
        )
    found, total = await service(request).search_conditions(query)
    if query.summary == "count":
        found = []
    return render(request, searchset(fhir_base(request), query, found, total))


@router.get("/fhir/Condition/{resource_id}")
async def read_condition(request: Request, resource_id: str) -> Response:
    return resource_response(
        request, await service(request).read_condition(check_id("Condition", resource_id))
    )
