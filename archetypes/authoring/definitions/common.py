"""Pieces every project COMPOSITION template shares."""

from __future__ import annotations

from ..opt import Attr, Obj, attr, coded, identifier, multi

HSA_ID_PATTERN = r"SE[0-9]{10}-[0-9A-Za-z]{1,31}"


def event_category() -> Attr:
    """COMPOSITION.category: openehr::433 (event), as in the archetypes."""
    return attr("category", coded("openehr", "433"), existence=(1, 1))


def care_unit_context(*other: Attr) -> Attr:
    """COMPOSITION.context, required: the care unit (vårdenhet) is
    ``health_care_facility``, a PARTY_IDENTIFIED with its HSA-id as a DV_IDENTIFIER
    (type "HSA-id"). RM-level constraints only; no archetype node is added. ``other``: further
    EVENT_CONTEXT attributes, written first (RM order: start_time, setting, ...)."""
    facility = Obj("PARTY_IDENTIFIED", "", (
        multi("identifiers", identifier(HSA_ID_PATTERN, types=("HSA-id",)), existence=(1, 1),
              cardinality=(1, None)),
    ))
    return attr("context", Obj("EVENT_CONTEXT", "", (
        *other,
        attr("health_care_facility", facility, existence=(1, 1)),
    )), existence=(1, 1))
