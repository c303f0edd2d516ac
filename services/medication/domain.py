"""Medication orders: status from ACTION.medication.v1, the status rule, and the search index.

A medication order is a `vgr.medication_order.v1` composition (COMPOSITION.medication_list.v1)
holding one INSTRUCTION.medication_order.v3 and the ACTION.medication.v1 entries recorded
against it. The order's status is that of the latest ACTION by time; an order with no ACTION
yet is active (an order is in force from when it is issued).

Careflow steps of ACTION.medication.v1 (at-code, ISM state) and the status each means:

    active     at0004 Medication course commenced (245), and every other step whose ISM state is
               planned 526, scheduled 529 or active 245: at0109, at0145, at0016, at0153, at0002,
               at0003, at0106, at0010, at0148, at0157, at0041, at0005, at0006, at0018, at0044,
               at0158
    suspended  at0009 Administrations suspended (530); at0008, at0011 (530), at0013 postponed (527)
    stopped    at0015 Medication course stopped (531); at0039, at0151 (531), at0012, at0150
               cancelled (528)
    completed  at0007 Medication course completed (532); at0152 Prescription fulfilled (532)

When the careflow step is not one of these, the ISM current_state decides (same grouping).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.kernel.careflow import (
    Workflow,
    classify_by_codes,
    code_string,
    context_start_time,
    element_value,
    find_archetyped,
    parse_datetime,
    terminology,
)

TEMPLATE_ID = "vgr.medication_order.v1"
INSTRUCTION_ARCHETYPE = "openEHR-EHR-INSTRUCTION.medication_order.v3"
ACTION_ARCHETYPE = "openEHR-EHR-ACTION.medication.v1"
MEDICATION_CLUSTER = "openEHR-EHR-CLUSTER.medication.v2"

ACTIVE, SUSPENDED, STOPPED, COMPLETED = "active", "suspended", "stopped", "completed"
STATUSES = (ACTIVE, SUSPENDED, STOPPED, COMPLETED)

STATE_STATUS = {
    "526": ACTIVE,  # planned
    "529": ACTIVE,  # scheduled
    "245": ACTIVE,  # active
    "527": SUSPENDED,  # postponed
    "530": SUSPENDED,  # suspended
    "528": STOPPED,  # cancelled
    "531": STOPPED,  # aborted
    "533": STOPPED,  # expired
    "532": COMPLETED,  # completed
}

STEP_STATUS = {
    **dict.fromkeys(
        [
            "at0109",
            "at0145",
            "at0016",
            "at0153",
            "at0002",
            "at0003",
            "at0106",
            "at0010",
            "at0148",
            "at0157",
            "at0004",
            "at0041",
            "at0005",
            "at0006",
            "at0018",
            "at0044",
            "at0158",
        ],
        ACTIVE,
    ),
    **dict.fromkeys(["at0013", "at0008", "at0009", "at0011"], SUSPENDED),
    **dict.fromkeys(["at0012", "at0150", "at0015", "at0039", "at0151"], STOPPED),
    **dict.fromkeys(["at0007", "at0152"], COMPLETED),
}

# The step recorded for each status when this module (or the seed) writes an ACTION.
CANONICAL_STEP = {
    ACTIVE: (("at0004", "Påbörjad läkemedelsbehandling"), "245"),
    SUSPENDED: (("at0009", "Indragen administrering"), "530"),
    STOPPED: (("at0015", "Avbruten läkemedelsbehandling"), "531"),
    COMPLETED: (("at0007", "Fullföljd läkemedelsbehandling"), "532"),
}

# active -> suspended <-> active -> stopped | completed; nothing after stopped or completed.
# A suspended order may also be stopped without being resumed first (a paused drug is discontinued).
# active -> active: ACTIONs that record progress (dose administered, prescription issued, ...).
TRANSITIONS = {
    ACTIVE: frozenset({ACTIVE, SUSPENDED, STOPPED, COMPLETED}),
    SUSPENDED: frozenset({SUSPENDED, ACTIVE, STOPPED}),
    STOPPED: frozenset(),
    COMPLETED: frozenset(),
}


def _atc(value: Mapping | None) -> str | None:
    if (terminology(value) or "").upper() == "ATC" and code_string(value):
        return code_string(value).strip().upper()
    return None


def acts_on_the_order(action: Mapping, order: Mapping | None) -> bool:
    """An ACTION belongs to the composition's order unless both name an ATC code and the codes differ
    (a composition may stop one order and start another: the stop is about the other order)."""
    ordered = _atc(element_value(order, "at0070")) if order is not None else None
    acted_on = _atc(element_value(action.get("description"), "at0020"))
    return ordered is None or acted_on is None or ordered == acted_on


WORKFLOW = Workflow(
    name="medication order",
    instruction_archetype=INSTRUCTION_ARCHETYPE,
    action_archetype=ACTION_ARCHETYPE,
    initial=ACTIVE,
    transitions=TRANSITIONS,
    classify=classify_by_codes(STEP_STATUS, STATE_STATUS),
    statuses=STATUSES,
    canonical=CANONICAL_STEP,
    belongs=acts_on_the_order,
)


status = WORKFLOW.status  # the status of a composition
check_write = WORKFLOW.check  # (previous or None, new) -> new status, or raises a CareflowError
_instruction = WORKFLOW.instruction


def atc_code(composition: Mapping) -> str | None:
    """ATC code of the ordered medication: the coded Medication item (at0070) of the order, else the
    coded Name (at0132) of its CLUSTER.medication.v2, when the terminology is ATC."""
    instruction = _instruction(composition)
    if instruction is None:
        return None
    ordered = _atc(element_value(instruction, "at0070"))
    if ordered:
        return ordered
    # Only then the clusters: finding them walks the whole order.
    clusters = find_archetyped(instruction, MEDICATION_CLUSTER)
    return next((code for cluster, _, _ in clusters if (code := _atc(element_value(cluster, "at0132")))), None)


def medication_name(composition: Mapping) -> str | None:
    instruction = _instruction(composition)
    value = element_value(instruction, "at0070") if instruction else None
    return value.get("value") if value else None


def order_date(composition: Mapping) -> datetime | None:
    """When the order was authored: the composition's context start_time, else the order start (at0012)."""
    authored = context_start_time(composition)
    if authored is not None:
        return authored
    instruction = _instruction(composition)
    start = element_value(instruction, "at0012") if instruction else None
    return parse_datetime(start.get("value")) if start else None


def index(composition: Mapping) -> dict[str, Any]:
    """The search fields of a medication order."""
    return {
        "status": status(composition),
        "atc_code": atc_code(composition),
        "date": order_date(composition),
    }


def action_for(prototype: Mapping, new_status: str, time: str) -> dict:
    """A new ACTION.medication.v1 recording `new_status` at `time`, built from an existing ACTION."""
    return WORKFLOW.action(prototype, new_status, time)
