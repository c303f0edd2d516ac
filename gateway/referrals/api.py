"""ServiceRequest and Task routes (thin: parse, call the service, render)."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request

from gateway.fhir import registry as r
from gateway.fhir.http import FhirRoute
from gateway.fhir.routes import Handlers, add_routes

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

router = APIRouter(tags=["referrals"], route_class=FhirRoute)


def handlers_for(resource_type: str):
    def handlers(request: Request) -> Handlers:
        referrals = request.app.state.referrals
        return Handlers(
            read=partial(referrals.read, resource_type),
            vread=partial(referrals.vread, resource_type),
            history=partial(referrals.history, resource_type),
            search=partial(referrals.search, resource_type),
            create=referrals.create if resource_type == "ServiceRequest" else None,
            update=partial(referrals.update, resource_type),
        )

    return handlers


add_routes(router, SERVICE_REQUEST, handlers_for("ServiceRequest"))
add_routes(router, TASK, handlers_for("Task"))
