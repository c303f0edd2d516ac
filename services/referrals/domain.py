"""Referrals (remisser): status from ACTION.service.v1, the workflow rule, and the search index.

A referral is a `vgr.referral.v1` composition (COMPOSITION.request.v1) holding one
INSTRUCTION.service_request.v1 and the ACTION.service.v1 entries recorded against it. The status
is that of the latest ACTION by time; a referral with no ACTION yet is a draft.

ACTION.service.v1 has no careflow steps named "accepted" or "rejected". The mapping, the one the
template vgr.referral.v1 documents and allows (at-code, ISM state):

    draft      no ACTION yet: the request is written but not sent
    sent       at0026 Service request sent (526 planned)
    received   at0035 Service request received (526 planned)
    accepted   at0002 Service planned (526 planned): the receiver plans to perform the service
    scheduled  at0003 Service scheduled (529 scheduled), and at0004 Service carried out (245 active):
               the service under way stays scheduled until it is complete
    completed  at0005 Service activity complete (532 completed)
    rejected   at0009 Service cancelled (528 cancelled) whose Reason (at0012) starts with "Avvisad"
               (or "Rejected"): the receiver turned the referral down
    cancelled  at0009 Service cancelled (528) with any other or no Reason; at0006 Service abandoned (531)

An unknown step falls back to its ISM state for cancelled (528), completed (532) and aborted (531,
cancelled); any other (at0008 postponed, at0010 suspended, at0023 expired) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.kernel.careflow import (
    Workflow,
    classify_by_codes,
    code_string,
    context_start_time,
    element_value,
    elements,
    find_entries,
)

TEMPLATE_ID = "vgr.referral.v1"
INSTRUCTION_ARCHETYPE = "openEHR-EHR-INSTRUCTION.service_request.v1"
ACTION_ARCHETYPE = "openEHR-EHR-ACTION.service.v1"
ORGANISATION_CLUSTER = "openEHR-EHR-CLUSTER.organisation.v1"

DRAFT, SENT, RECEIVED, ACCEPTED, REJECTED = "draft", "sent", "received", "accepted", "rejected"
SCHEDULED, COMPLETED, CANCELLED = "scheduled", "completed", "cancelled"
STATUSES = (DRAFT, SENT, RECEIVED, ACCEPTED, REJECTED, SCHEDULED, COMPLETED, CANCELLED)

SCHEDULED_AT = "at0025"  # ACTION.service.v1 Scheduled date/time
REASON = "at0012"  # ACTION.service.v1 Reason
REJECTED_PREFIXES = ("avvisad", "rejected")

STEP_STATUS = {
    "at0026": SENT,
    "at0035": RECEIVED,
    "at0002": ACCEPTED,
    "at0003": SCHEDULED,
    "at0004": SCHEDULED,
    "at0005": COMPLETED,
    "at0009": CANCELLED,  # REJECTED when the Reason says "Avvisad"
    "at0006": CANCELLED,
}
STATE_STATUS = {"528": CANCELLED, "531": CANCELLED, "532": COMPLETED}

# The careflow step written for each status (draft has none: it is the absence of an ACTION).
CANONICAL_STEP = {
    SENT: (("at0026", "Begäran om tjänst skickad"), "526"),
    RECEIVED: (("at0035", "Begäran om tjänst mottagen"), "526"),
    ACCEPTED: (("at0002", "Tjänst planerad"), "526"),
    SCHEDULED: (("at0003", "Tjänst bokad"), "529"),
    COMPLETED: (("at0005", "Tjänst slutförd"), "532"),
    REJECTED: (("at0009", "Tjänst avbokad"), "528"),
    CANCELLED: (("at0009", "Tjänst avbokad"), "528"),
}

_by_codes = classify_by_codes(STEP_STATUS, STATE_STATUS)


def _reason(action: Mapping) -> str:
    value = element_value(action.get("description"), REASON)
    return str(value.get("value", "")) if value else ""


def classify(action: Mapping) -> str | None:
    found = _by_codes(action)
    if found != CANCELLED or code_string((action.get("ism_transition") or {}).get("careflow_step")) != "at0009":
        return found
    # Only a cancellation's Reason is read: finding it walks the ACTION's description.
    return REJECTED if _reason(action).strip().lower().startswith(REJECTED_PREFIXES) else found


# draft -> sent -> received -> accepted | rejected, accepted -> scheduled -> completed;
# cancelled from any status before completed. Rejected, completed and cancelled are final.
# A status recorded by an ACTION may follow itself (a referral re-sent, an appointment re-booked);
# a draft is the absence of an ACTION, so no ACTION leads to draft.
_CANCELLABLE = {DRAFT, SENT, RECEIVED, ACCEPTED, SCHEDULED}
TRANSITIONS = {
    DRAFT: frozenset({SENT, CANCELLED}),
    SENT: frozenset({SENT, RECEIVED, CANCELLED}),
    RECEIVED: frozenset({RECEIVED, ACCEPTED, REJECTED, CANCELLED}),
    ACCEPTED: frozenset({ACCEPTED, SCHEDULED, CANCELLED}),
    SCHEDULED: frozenset({SCHEDULED, COMPLETED, CANCELLED}),
    REJECTED: frozenset(),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
}
assert all(CANCELLED in TRANSITIONS[s] for s in _CANCELLABLE)

WORKFLOW = Workflow(
    name="referral",
    instruction_archetype=INSTRUCTION_ARCHETYPE,
    action_archetype=ACTION_ARCHETYPE,
    initial=DRAFT,
    transitions=TRANSITIONS,
    classify=classify,
    statuses=STATUSES,
    canonical=CANONICAL_STEP,
)

URGENCY_CODES = {"at0136": "emergency", "at0137": "urgent", "at0138": "routine"}
_URGENCY_TEXTS = {
    "akut": "emergency",
    "emergency": "emergency",
    "brådskande": "urgent",
    "urgent": "urgent",
    "rutin": "routine",
    "routine": "routine",
}
_HSA_ID = re.compile(r"^SE\d{10}-\w+$", re.IGNORECASE)


status = WORKFLOW.status  # the status of a composition
check_write = WORKFLOW.check  # (previous or None, new) -> new status, or raises a CareflowError
_instruction = WORKFLOW.instruction


def urgency(composition: Mapping) -> str | None:
    instruction = _instruction(composition)
    value = element_value(instruction, "at0068") if instruction else None
    if value is None:
        return None
    code = code_string(value)
    if code in URGENCY_CODES:
        return URGENCY_CODES[code]
    return _URGENCY_TEXTS.get(str(value.get("value", "")).strip().lower())


def _organisation_hsa_id(cluster: Mapping) -> str | None:
    ids = []
    for element in elements(cluster, "at0003"):
        value = element.get("value") or {}
        text = value.get("id") or value.get("value")  # DV_IDENTIFIER or DV_TEXT
        if not isinstance(text, str) or not text.strip():
            continue
        labels = " ".join(str(value.get(key, "")) for key in ("type", "issuer", "assigner")).upper()
        ids.append((0 if "HSA" in labels or _HSA_ID.match(text.strip()) else 1, text.strip()))
    return min(ids)[1] if ids else None


def direct_organisations(tree: Any) -> list[dict]:
    """CLUSTER.organisation.v1 items directly in a protocol tree (not nested, e.g. in the requester)."""
    items = tree.get("items") if isinstance(tree, Mapping) else None
    return [
        i for i in items or [] if isinstance(i, dict) and i.get("archetype_node_id") == ORGANISATION_CLUSTER
    ]


def receiver(composition: Mapping) -> str | None:
    """HSA-id of the receiving organisation: the Receiver (at0142) in the request's protocol, else the
    Receiver (at0019) recorded on its latest ACTION. The requester's organisation (inside the
    Requester CLUSTER.person.v1) is not the receiver."""
    instruction = _instruction(composition)
    found = _first_hsa_id(direct_organisations(instruction.get("protocol")) if instruction is not None else [])
    if found:
        return found
    # Only then the ACTIONs, the latest first: finding them walks the composition again.
    by_pointer = {pointer: action for action, _, pointer in find_entries(composition, ACTION_ARCHETYPE)}
    for step in reversed(WORKFLOW.steps(composition)):
        found = _first_hsa_id(direct_organisations(by_pointer[step.pointer].get("protocol")))
        if found:
            return found
    return None


def _first_hsa_id(clusters: list[dict]) -> str | None:
    return next((found for cluster in clusters if (found := _organisation_hsa_id(cluster))), None)


def referral_date(composition: Mapping) -> datetime | None:
    return context_start_time(composition)


def index(composition: Mapping) -> dict[str, Any]:
    """The search fields of a referral."""
    return {
        "status": status(composition),
        "receiver": receiver(composition),
        "urgency": urgency(composition),
        "date": referral_date(composition),
    }


def action_for(
    prototype: Mapping,
    new_status: str,
    time: str,
    scheduled_for: str | None = None,
    reason: str | None = None,
) -> dict:
    """A new ACTION.service.v1 recording `new_status` at `time`, built from an existing ACTION.

    The prototype's Scheduled date/time (at0025) and Reason (at0012) are dropped; `scheduled` sets
    the Scheduled date/time to `scheduled_for` (default `time`); `rejected` writes a Reason starting
    with "Avvisad" (that is what tells it from cancelled); `reason` is recorded otherwise.
    """
    if new_status not in CANONICAL_STEP:
        raise ValueError(f"no ACTION records the status {new_status!r}")
    action = WORKFLOW.action(prototype, new_status, time)
    description = action.setdefault(
        "description",
        {"_type": "ITEM_TREE", "archetype_node_id": "at0001", "name": {"_type": "DV_TEXT", "value": "Tree"}},
    )
    items = [
        i for i in description.get("items", []) if i.get("archetype_node_id") not in (SCHEDULED_AT, REASON)
    ]
    if new_status == SCHEDULED:
        items.append(_element(SCHEDULED_AT, "Schemalagd datum/tid", "DV_DATE_TIME", scheduled_for or time))
    if new_status == REJECTED:
        text = reason or "remissen uppfyller inte kriterierna"
        items.append(
            _element(
                REASON,
                "Orsak",
                "DV_TEXT",
                text if text.lower().startswith(REJECTED_PREFIXES) else f"Avvisad: {text}",
            )
        )
    elif reason:
        items.append(_element(REASON, "Orsak", "DV_TEXT", reason))
    description["items"] = items
    return action


def _element(at_code: str, name: str, value_type: str, value: str) -> dict:
    return {
        "_type": "ELEMENT",
        "name": {"_type": "DV_TEXT", "value": name},
        "archetype_node_id": at_code,
        "value": {"_type": value_type, "value": value},
    }
