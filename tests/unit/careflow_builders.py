"""Small canonical-JSON builders for the care-flow unit tests (not template-complete on purpose:
the domain functions must work on any composition shape that carries the archetyped nodes)."""

from __future__ import annotations

from services.kernel.careflow import dv_coded_text


def coded(value: str, code: str, terminology: str = "local") -> dict:
    return dv_coded_text(value, code, terminology)


def element(at_code: str, value: dict, name: str = "x") -> dict:
    return {
        "_type": "ELEMENT",
        "name": {"_type": "DV_TEXT", "value": name},
        "archetype_node_id": at_code,
        "value": value,
    }


def action(archetype_id: str, step: str, state: str, time: str, items: list | None = None, **extra) -> dict:
    node = {
        "_type": "ACTION",
        "name": {"_type": "DV_TEXT", "value": "action"},
        "archetype_node_id": archetype_id,
        "time": {"_type": "DV_DATE_TIME", "value": time},
        "ism_transition": {
            "_type": "ISM_TRANSITION",
            "current_state": coded("state", state, "openehr"),
            "careflow_step": coded("step", step),
        },
        "description": {
            "_type": "ITEM_TREE",
            "name": {"_type": "DV_TEXT", "value": "Tree"},
            "archetype_node_id": "at0017",
            "items": items or [],
        },
    }
    node.update(extra)
    return node


def composition(content: list, start_time: str | None = "2026-03-01T09:00:00+01:00") -> dict:
    result = {
        "_type": "COMPOSITION",
        "name": {"_type": "DV_TEXT", "value": "c"},
        "archetype_node_id": "openEHR-EHR-COMPOSITION.x.v1",
        "content": content,
    }
    if start_time:
        result["context"] = {
            "_type": "EVENT_CONTEXT",
            "start_time": {"_type": "DV_DATE_TIME", "value": start_time},
        }
    return result
