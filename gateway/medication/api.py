"""MedicationRequest routes (thin: parse, call the service, render)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.fhir import registry as r
from gateway.fhir.http import FhirRoute
from gateway.fhir.routes import Handlers, add_routes

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

router = APIRouter(tags=["MedicationRequest"], route_class=FhirRoute)


def handlers(request: Request) -> Handlers:
    medications = request.app.state.medications
    return Handlers(
        read=medications.read,
        vread=medications.vread,
        history=medications.history,
        search=medications.search,
        create=medications.create,
        update=medications.update,
    )


add_routes(router, DEFINITION, handlers)
