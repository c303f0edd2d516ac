"""A journal note as the journal receives it, a small fake validator and a fake demographics."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import httpx

from services.kernel.templates import Template, TemplateRegistry

TEMPLATE_ID = "vgr.journal_note.v1"
KNOWN_EHR = "7d44b88c-4199-4bad-97dc-d78268e01398"
OTHER_EHR = "2a8f0b3e-5c1d-4e6f-9a7b-3c2d1e0f4a5b"
UNKNOWN_EHR = "00000000-0000-4000-8000-000000000000"


def _code(terminology: str, code: str) -> dict:
    return {
        "_type": "CODE_PHRASE",
        "terminology_id": {"_type": "TERMINOLOGY_ID", "value": terminology},
        "code_string": code,
    }


def _coded(value: str, terminology: str, code: str) -> dict:
    return {"_type": "DV_CODED_TEXT", "value": value, "defining_code": _code(terminology, code)}


def _entry(rm_type: str, archetype_id: str, name: str, data: dict) -> dict:
    return {
        "_type": rm_type,
        "name": {"_type": "DV_TEXT", "value": name},
        "archetype_node_id": archetype_id,
        "archetype_details": {
            "_type": "ARCHETYPED",
            "archetype_id": {"_type": "ARCHETYPE_ID", "value": archetype_id},
            "rm_version": "1.0.4",
        },
        "language": _code("ISO_639-1", "sv"),
        "encoding": _code("IANA_character-sets", "UTF-8"),
        "subject": {"_type": "PARTY_SELF"},
        "data": data,
    }


def _tree(node_id: str, *items: tuple[str, str, dict]) -> dict:
    return {
        "_type": "ITEM_TREE",
        "name": {"_type": "DV_TEXT", "value": "Tree"},
        "archetype_node_id": node_id,
        "items": [
            {
                "_type": "ELEMENT",
                "name": {"_type": "DV_TEXT", "value": name},
                "archetype_node_id": at,
                "value": value,
            }
            for at, name, value in items
        ],
    }


def journal_note(
    start_time: str = "2026-11-20T10:15:00+01:00",
    diagnoses: tuple[str, ...] = ("J06.9",),
    text: str = "Halsont sedan tre dagar.",
) -> dict:
    """A vgr.journal_note.v1 composition: Anamnes and one Diagnos entry per ICD-10-SE code."""
    story = _entry(
        "OBSERVATION",
        "openEHR-EHR-OBSERVATION.story.v1",
        "Anamnes",
        {
            "_type": "HISTORY",
            "name": {"_type": "DV_TEXT", "value": "Event Series"},
            "archetype_node_id": "at0001",
            "origin": {"_type": "DV_DATE_TIME", "value": start_time},
            "events": [
                {
                    "_type": "POINT_EVENT",
                    "name": {"_type": "DV_TEXT", "value": "Any event"},
                    "archetype_node_id": "at0002",
                    "time": {"_type": "DV_DATE_TIME", "value": start_time},
                    "data": _tree("at0003", ("at0004", "Story", {"_type": "DV_TEXT", "value": text})),
                }
            ],
        },
    )
    diagnosis_entries = [
        _entry(
            "EVALUATION",
            "openEHR-EHR-EVALUATION.problem_diagnosis.v1",
            "Diagnos",
            _tree("at0001", ("at0002", "Problem/Diagnos", _coded(code, "ICD-10-SE", code))),
        )
        for code in diagnoses
    ]
    return {
        "_type": "COMPOSITION",
        "name": {"_type": "DV_TEXT", "value": "Journalanteckning"},
        "archetype_node_id": "openEHR-EHR-COMPOSITION.encounter.v1",
        "archetype_details": {
            "_type": "ARCHETYPED",
            "archetype_id": {"_type": "ARCHETYPE_ID", "value": "openEHR-EHR-COMPOSITION.encounter.v1"},
            "template_id": {"_type": "TEMPLATE_ID", "value": TEMPLATE_ID},
            "rm_version": "1.0.4",
        },
        "language": _code("ISO_639-1", "sv"),
        "territory": _code("ISO_3166-1", "SE"),
        "category": _coded("event", "openehr", "433"),
        "composer": {"_type": "PARTY_IDENTIFIED", "name": "Anna Läkare"},
        "context": {
            "_type": "EVENT_CONTEXT",
            "start_time": {"_type": "DV_DATE_TIME", "value": start_time},
            "setting": _coded("primary medical care", "openehr", "228"),
            "health_care_facility": {
                "_type": "PARTY_IDENTIFIED",
                "name": "Vårdcentral Centrum",
                "identifiers": [
                    {
                        "_type": "DV_IDENTIFIER",
                        "issuer": "Inera",
                        "assigner": "Inera",
                        "id": "SE2321000131-E000000000001",
                        "type": "HSA-id",
                    }
                ],
            },
        },
        "content": [story, *diagnosis_entries],
    }


@dataclass(frozen=True)
class Issue:
    path: str
    pointer: str
    message: str
    keyword: str


def fake_validator(composition: dict, template_id: str) -> list[Issue]:
    """Stands in for archetypes.validate: a start time and a language are mandatory."""
    issues = []
    if not isinstance(composition.get("context", {}).get("start_time", {}).get("value"), str):
        issues.append(
            Issue("/context/start_time", "/context/start_time", "start_time is required", "required")
        )
    if "language" not in composition:
        issues.append(Issue("/language", "/language", "language is required", "required"))
    return issues


FAKE_TEMPLATES = TemplateRegistry(
    [Template(TEMPLATE_ID, "Journalanteckning", "openEHR-EHR-COMPOSITION.encounter.v1", "2026-11-24")]
)


class FakeDemographics:
    """Knows KNOWN_EHR and OTHER_EHR; `down = True` makes every call fail like a dead server."""

    def __init__(self):
        self.down = False
        self.calls = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        ehr_id = request.url.path.rsplit("/", 1)[-1]
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        if ehr_id in (KNOWN_EHR, OTHER_EHR):
            return httpx.Response(200, json={"ehr_id": {"value": ehr_id}})
        return httpx.Response(404, json={"message": "no such EHR", "code": "not_found", "details": []})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def changed(note: dict, **kwargs) -> dict:
    new = copy.deepcopy(note)
    new.update(kwargs)
    return new
