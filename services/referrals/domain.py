"""Referrals (remisser): status from ACTION.service.v1, the workflow rule, and the search index.

A referral is a `vgr.referral.v1` composition (COMPOSITION.request.v1) holding one
INSTRUCTION.service_request.v1 and the ACTION.service.v1 entries recorded against it. The status
is that of the latest ACTION by time; a referral with no ACTION yet is a draft.

ACTION.service.v1 has no careflow steps named "accepted" or "rejected"; the mapping used here
(at-code, ISM state):

    draft      at0002 Service planned (526 planned)
    sent       at0026 Service request sent (526 planned)
    received   at0035 Service request received (526 planned)
    accepted   at0003 Service scheduled (529 scheduled) without a Scheduled date/time (at0025):
               the receiver has committed to perform the service, no time booked yet
    scheduled  at0003 Service scheduled (529 scheduled) with a Scheduled date/time (at0025)
    rejected   at0006 Service abandoned (531 aborted)
    completed  at0005 Service activity complete (532 completed)
    cancelled  at0009 Service cancelled (528 cancelled)

Any other step falls back to its ISM state only for cancelled (528) and completed (532); the rest
(at0004 carried out, at0008 postponed, at0010 suspended, at0023 expired) map to no status and are
refused.
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
    find_archetyped,
)

TEMPLATE_ID = "vgr.referral.v1"
INSTRUCTION_ARCHETYPE = "openEHR-EHR-INSTRUCTION.service_request.v1"
ACTION_ARCHETYPE = "openEHR-EHR-ACTION.service.v1"
ORGANISATION_CLUSTER = "openEHR-EHR-CLUSTER.organisation.v1"

DRAFT, SENT, RECEIVED, ACCEPTED, REJECTED = "draft", "sent", "received", "accepted", "rejected"
SCHEDULED, COMPLETED, CANCELLED = "scheduled", "completed", "cancelled"
STATUSES = (DRAFT, SENT, RECEIVED, ACCEPTED, REJECTED, SCHEDULED, COMPLETED, CANCELLED)

SCHEDULED_AT = "at0025"  # ACTION.service.v1 Scheduled date/time
SERVICE_SCHEDULED = "at0003"

STEP_STATUS = {
    "at0002": DRAFT,
    "at0026": SENT,
    "at0035": RECEIVED,
    SERVICE_SCHEDULED: ACCEPTED,  # SCHEDULED when a Scheduled date/time is recorded
    "at0006": REJECTED,
    "at0005": COMPLETED,
    "at0009": CANCELLED,
}
STATE_STATUS = {"528": CANCELLED, "532": COMPLETED}

CANONICAL_STEP = {
    DRAFT: (("at0002", "Tjänst planerad"), "526"),
    SENT: (("at0026", "Begäran om tjänst skickad"), "526"),
    RECEIVED: (("at0035", "Begäran om tjänst mottagen"), "526"),
    ACCEPTED: ((SERVICE_SCHEDULED, "Tjänst bokad"), "529"),
    SCHEDULED: ((SERVICE_SCHEDULED, "Tjänst bokad"), "529"),
    REJECTED: (("at0006", "Tjänst avslutad utan slutförande / Tjänst avslutad i förtid"), "531"),
    COMPLETED: (("at0005", "Tjänst slutförd"), "532"),
    CANCELLED: (("at0009", "Tjänst avbokad"), "528"),
}

_by_codes = classify_by_codes(STEP_STATUS, STATE_STATUS)


def classify(action: Mapping) -> str | None:
    found = _by_codes(action)
    if found == ACCEPTED and element_value(action.get("description"), SCHEDULED_AT) is not None:
        return SCHEDULED
    return found


# draft -> sent -> received -> accepted | rejected, accepted -> scheduled -> completed;
# cancelled from any status before completed. Rejected, completed and cancelled are final.
# A status may follow itself (a draft edited, a referral re-sent, an appointment re-booked).
_CANCELLABLE = {DRAFT, SENT, RECEIVED, ACCEPTED, SCHEDULED}
TRANSITIONS = {
    DRAFT: frozenset({DRAFT, SENT, CANCELLED}),
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


def status(composition: Mapping) -> str:
    return WORKFLOW.status(composition)


def check_write(previous: Mapping | None, new: Mapping) -> str:
    """Raise a CareflowError when `new` is not an allowed successor of `previous`; the new status."""
    return WORKFLOW.check(previous, new)


def _instruction(composition: Mapping) -> dict | None:
    hits = find_archetyped(composition, INSTRUCTION_ARCHETYPE)
    return hits[0][0] if hits else None


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


def receiver(composition: Mapping) -> str | None:
    """HSA-id of the receiving organisation: the Receiver (at0142) of the request, else the Receiver
    (at0019) recorded on its latest ACTION."""
    instruction = _instruction(composition)
    clusters = []
    if instruction is not None:
        protocol = instruction.get("protocol")
        clusters += [c for c, _, _ in find_archetyped(protocol or {}, ORGANISATION_CLUSTER)]
    for action, _, _ in reversed(find_archetyped(composition, ACTION_ARCHETYPE)):
        clusters += [c for c, _, _ in find_archetyped(action.get("protocol") or {}, ORGANISATION_CLUSTER)]
    for cluster in clusters:
        found = _organisation_hsa_id(cluster)
        if found:
            return found
    return None


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


def action_for(prototype: Mapping, new_status: str, time: str, scheduled_for: str | None = None) -> dict:
    """A new ACTION.service.v1 recording `new_status` at `time`, built from an existing ACTION.

    For `scheduled` the Scheduled date/time (at0025) is set to `scheduled_for` (default `time`);
    for every other status it is removed, since its presence is what tells scheduled from accepted.
    """
    action = WORKFLOW.action(prototype, new_status, time)
    description = action.setdefault(
        "description",
        {"_type": "ITEM_TREE", "archetype_node_id": "at0001", "name": {"_type": "DV_TEXT", "value": "Tree"}},
    )
    items = [i for i in description.get("items", []) if i.get("archetype_node_id") != SCHEDULED_AT]
    if new_status == SCHEDULED:
        items.append(
            {
                "_type": "ELEMENT",
                "name": {"_type": "DV_TEXT", "value": "Schemalagd datum/tid"},
                "archetype_node_id": SCHEDULED_AT,
                "value": {"_type": "DV_DATE_TIME", "value": scheduled_for or time},
            }
        )
    description["items"] = items
    return action
