"""Patient routes (thin: parse, call the service, render)."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway import compartment
from gateway.fhir import registry as r
from gateway.fhir.errors import FhirError
from gateway.fhir.http import FhirRoute, prefer, read_resource, render, search_form
from gateway.fhir.responses import (
    check_id,
    fhir_base,
    history_bundle,
    if_match_version,
    resource_response,
    write_response,
)
from gateway.fhir.routes import search_response, update_body, version_number
from gateway.fhir.search import DATE_PREFIXES, SearchRequest, parse_search, searchset
from gateway.patient.service import PatientService

SP = "http://hl7.org/fhir/SearchParameter/"
DEFINITION = r.ResourceDef(
    type="Patient",
    profile="http://hl7.org/fhir/StructureDefinition/Patient",
    documentation="Persons of the demographics module (openEHR PERSON, template vgr.person.v1). Identifiers: "
    "personnummer and samordningsnummer (checked). Creating a Patient also creates its EHR.",
    interactions=[r.READ, r.VREAD, r.HISTORY_INSTANCE, r.SEARCH, r.CREATE, r.UPDATE, r.DELETE],
    conditional_create=True,
    operations=[("everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything")],
    search_rev_include=compartment.REVINCLUDES,
    search_params={
        p.name: p
        for p in (
            r.id_param(),
            r.SearchParam(
                "identifier",
                "token",
                "personnummer or samordningsnummer, system|value or value",
                definition=SP + "Patient-identifier",
            ),
            r.SearchParam(
                "name",
                "string",
                "Any part of the name, prefix match, case- and accent-insensitive",
                definition=SP + "Patient-name",
            ),
            r.SearchParam(
                "family", "string", "Family name, prefix match", definition=SP + "individual-family"
            ),
            r.SearchParam("given", "string", "Given name, prefix match", definition=SP + "individual-given"),
            r.SearchParam(
                "birthdate",
                "date",
                f"Date of birth, prefixes {', '.join(DATE_PREFIXES[:6])}",
                definition=SP + "individual-birthdate",
            ),
            r.SearchParam(
                "gender", "token", "male | female | other | unknown", definition=SP + "individual-gender"
            ),
        )
    },
)
# Only these date prefixes reach the module (README: "FHIR-like prefixes").
_BIRTHDATE_PREFIXES = {"eq", "ne", "gt", "lt", "ge", "le"}

router = APIRouter(prefix="/fhir/Patient", tags=["Patient"], route_class=FhirRoute)


def service(request: Request) -> PatientService:
    return request.app.state.patients


@router.get("")
async def search(request: Request) -> Response:
    return await _search(request, [])


@router.post("/_search")
async def search_post(request: Request) -> Response:
    return await _search(request, await search_form(request))


async def _search(request: Request, extra: list[tuple[str, str]]) -> Response:
    settings = request.app.state.settings
    query = parse_search(request, DEFINITION, settings, extra)
    for value in query.values("birthdate"):
        prefix = value[:2]
        if prefix.isalpha() and prefix not in _BIRTHDATE_PREFIXES:
            raise FhirError(
                400,
                f"birthdate prefix {prefix!r} is not supported",
                code="not-supported",
                expression=["birthdate"],
            )
    patients, total = await service(request).search(query)
    included, outcome = [], None
    if query.revincludes and patients:
        wanted = {r.split(":")[0] for r in query.revincludes}
        sources = [s for s in request.app.state.compartment if s.yields(wanted)]
        ehrs = await _ehr_ids(request, [p["id"] for p in patients])
        found, outcome = await compartment.gather(sources, ehrs)
        included = [resource for resource in found if resource["resourceType"] in wanted]
    return await search_response(request, query, patients, total, included, outcome)


async def _compartment_of(request: Request, patient_id: str) -> tuple[list[dict], dict | None]:
    ehrs = await _ehr_ids(request, [patient_id])
    return await compartment.gather(request.app.state.compartment, ehrs)


async def _ehr_ids(request: Request, patient_ids: list[str]) -> dict[str, str]:
    """{ehr_id: patient_id} for the patients that have an EHR."""

    async def one(patient_id: str) -> tuple[str | None, str]:
        try:
            return await service(request).ehr_id(patient_id), patient_id
        except FhirError as exc:
            if exc.status in (404, 410, 422):
                return None, patient_id
            raise

    pairs = await asyncio.gather(*(one(p) for p in patient_ids))
    return {ehr: patient for ehr, patient in pairs if ehr}


@router.get("/{patient_id}/$everything")
async def everything(request: Request, patient_id: str) -> Response:
    """The Patient and every resource of it from every module; a module that does not answer is
    named in an OperationOutcome entry and the rest is still returned."""
    unknown = sorted(set(request.query_params) - {"_format", "_pretty"})
    if unknown and (prefer(request, "handling") or "strict") == "strict":
        raise FhirError(
            400,
            f"$everything does not support {', '.join(unknown)}",
            code="not-supported",
            expression=unknown[:1],
        )
    patient_id = check_id("Patient", patient_id)
    # the Patient, and its EHR (cached after the first time) with the compartment, concurrently
    patient, (resources, outcome) = await asyncio.gather(
        service(request).read(patient_id), _compartment_of(request, patient_id)
    )
    query = SearchRequest("Patient", count=len(resources) + 1)
    bundle = searchset(fhir_base(request), query, [patient, *resources], len(resources) + 1, outcome=outcome)
    bundle["link"] = [{"relation": "self", "url": f"{fhir_base(request)}/Patient/{patient_id}/$everything"}]
    return render(request, bundle)


@router.get("/{patient_id}")
async def read(request: Request, patient_id: str) -> Response:
    patient = await service(request).read(check_id("Patient", patient_id))
    return resource_response(request, patient)


@router.get("/{patient_id}/_history")
async def history(request: Request, patient_id: str) -> Response:
    versions = await service(request).history(check_id("Patient", patient_id))
    return render(request, history_bundle(request, "Patient", patient_id, versions))


@router.get("/{patient_id}/_history/{version_id}")
async def vread(request: Request, patient_id: str, version_id: str) -> Response:
    n = version_number("Patient", patient_id, version_id)
    version = await service(request).vread(check_id("Patient", patient_id), n)
    if version.patient is None:
        raise FhirError(410, f"Patient/{patient_id} version {version_id} is a deletion", code="deleted")
    return resource_response(request, version.patient)


@router.post("")
async def create(request: Request) -> Response:
    patient = await read_resource(request, "Patient")
    header = request.headers.get("if-none-exist")
    criteria = None
    if header is not None:
        criteria = parse_qsl(header.split("?", 1)[-1], keep_blank_values=False)
    created, is_new = await service(request).create(patient, criteria)
    if not is_new:
        return write_response(
            request, created, 200, "A Patient matching If-None-Exist exists; nothing created"
        )
    return write_response(request, created, 201, f"Created Patient/{created['id']}")


@router.put("/{patient_id}")
async def update(request: Request, patient_id: str) -> Response:
    patient = await update_body(request, "Patient", patient_id)
    updated = await service(request).update(patient_id, patient, if_match_version(request))
    return write_response(request, updated, 200, f"Updated Patient/{patient_id}")


@router.delete("/{patient_id}")
async def delete(request: Request, patient_id: str) -> Response:
    await service(request).delete(check_id("Patient", patient_id), if_match_version(request))
    return Response(status_code=204)
