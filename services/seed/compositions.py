"""Seed documents built from the templates' own example compositions (archetypes/examples/<id>/valid/),
with varied values written into nodes the example already has, so what the seed sends stays valid.

Only values are changed (texts, codes, dates, identifiers); the structure is the example's, apart from
ACTIONs, which are removed from orders and referrals and added back one status change at a time.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from services.kernel.careflow import iter_locatables

EXAMPLES = Path(__file__).resolve().parents[2] / "archetypes" / "examples"

PERSON_TEMPLATE = "vgr.person.v1"
JOURNAL_TEMPLATE = "vgr.journal_note.v1"
MEDICATION_TEMPLATE = "vgr.medication_order.v1"
REFERRAL_TEMPLATE = "vgr.referral.v1"


class MissingExample(RuntimeError):
    pass


@cache
def _examples(template_id: str) -> tuple[str, ...]:
    folder = EXAMPLES / template_id / "valid"
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise MissingExample(f"no example composition for {template_id} in {folder}")
    return tuple(path.read_text(encoding="utf-8") for path in files)


def example(template_id: str, containing: str | None = None) -> dict:
    """A fresh copy of the template's first valid example (the first holding a node `containing`)."""
    for text in _examples(template_id):
        document = json.loads(text)
        if containing is None or any(
            n.get("archetype_node_id") == containing for n, _, _ in iter_locatables(document)
        ):
            return document
    raise MissingExample(f"no example of {template_id} contains {containing}")


# --- editing values in place ------------------------------------------------------------------


def nodes(node: Any, node_id: str) -> Iterator[dict]:
    for found, _, _ in iter_locatables(node):
        if found.get("archetype_node_id") == node_id:
            yield found


def first(node: Any, node_id: str) -> dict | None:
    return next(nodes(node, node_id), None)


def set_text(node: Any, at_code: str, text: str) -> None:
    """Set the text of every ELEMENT `at_code` holding a DV_TEXT (a DV_CODED_TEXT keeps its code)."""
    for element in nodes(node, at_code):
        value = element.get("value")
        if isinstance(value, dict) and value.get("_type", "DV_TEXT") == "DV_TEXT":
            value["value"] = text


def set_value(node: Any, at_code: str, value: dict) -> None:
    for element in nodes(node, at_code):
        if "value" in element:
            element["value"] = copy.deepcopy(value)


def set_date_time(node: Any, at_code: str, moment: str) -> None:
    for element in nodes(node, at_code):
        value = element.get("value")
        if isinstance(value, dict) and value.get("_type") in ("DV_DATE_TIME", None):
            value["value"] = moment


def set_context(composition: dict, start_time: str, care_unit: tuple[str, str], composer: str) -> None:
    context = composition.setdefault("context", {})
    context["start_time"] = {"_type": "DV_DATE_TIME", "value": start_time}
    facility = context.get("health_care_facility")
    if isinstance(facility, dict):
        hsa_id, name = care_unit
        facility["name"] = name
        for identifier in facility.get("identifiers") or []:
            identifier["id"] = hsa_id
    if isinstance(composition.get("composer"), dict) and "name" in composition["composer"]:
        composition["composer"]["name"] = composer


def set_identifier(node: Any, at_code: str, identifier: str) -> None:
    for element in nodes(node, at_code):
        value = element.get("value")
        if isinstance(value, dict) and value.get("_type") == "DV_IDENTIFIER":
            value["id"] = identifier


def without_entries(composition: dict, archetype_id: str) -> tuple[dict, list[dict]]:
    """The composition without its top-level entries of an archetype, and those entries."""
    kept, removed = [], []
    for entry in composition.get("content", []):
        (removed if entry.get("archetype_node_id") == archetype_id else kept).append(entry)
    return {**composition, "content": kept}, removed
