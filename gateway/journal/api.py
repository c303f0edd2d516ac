"""Composition and Condition routes (thin: parse, call the service, render)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.fhir import registry as r
from gateway.fhir.http import FhirRoute
from gateway.fhir.routes import Handlers, add_routes

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
    documentation="Diagnoses (ICD-10-SE) recorded in journal notes. Created with a Composition, or on its "
    "own (then as a note holding only it; its recorder is a contained PractitionerRole whose organization "
    "is the care unit).",
    interactions=[r.READ, r.SEARCH, r.CREATE],
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

router = APIRouter(tags=["journal"], route_class=FhirRoute)


def compositions(request: Request) -> Handlers:
    journal = request.app.state.journal
    return Handlers(
        read=journal.read,
        vread=journal.vread,
        history=journal.history,
        search=journal.search,
        create=journal.create,
    )


def conditions(request: Request) -> Handlers:
    journal = request.app.state.journal
    return Handlers(read=journal.read_condition, search=journal.search_conditions,
                    create=journal.create_condition)  # fmt: skip


add_routes(router, COMPOSITION, compositions)
add_routes(router, CONDITION, conditions)
