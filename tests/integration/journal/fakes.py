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


def journal_note(
    start_time: str = "2026-11-20T10:15:00+01:00",
    diagnoses: tuple[str, ...] = ("J06.9",),
    text: str = "Halsont sedan tre dagar.",
) -> dict:
    return {
        "_type": "COMPOSITION",
        "name": {"_type": "DV_TEXT", "value": "Journalanteckning"},
        "archetype_node_id": "openEHR-EHR-COMPOSITION.encounter.v1",
        "archetype_details": {
            "archetype_id": {"value": "openEHR-EHR-COMPOSITION.encounter.v1"},
            "template_id": {"value": TEMPLATE_ID},
            "rm_version": "1.0.4",
        },
        "language": {"terminology_id": {"value": "ISO_639-1"}, "code_string": "sv"},
        "territory": {"terminology_id": {"value": "ISO_3166-1"}, "code_string": "SE"},
        "category": {
            "value": "event",
            "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "433"},
        },
        "composer": {"_type": "PARTY_IDENTIFIED", "name": "Anna Läkare"},
        "context": {
            "start_time": {"_type": "DV_DATE_TIME", "value": start_time},
            "setting": {
                "value": "primary medical care",
                "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "228"},
            },
        },
        "content": [
            {
                "_type": "OBSERVATION",
                "archetype_node_id": "openEHR-EHR-OBSERVATION.story.v1",
                "archetype_details": {"archetype_id": {"value": "openEHR-EHR-OBSERVATION.story.v1"}},
                "data": {
                    "events": [
                        {
                            "data": {
                                "items": [
                                    {
                                        "archetype_node_id": "at0004",
                                        "value": {"_type": "DV_TEXT", "value": text},
                                    }
                                ]
                            }
                        }
                    ]
                },
            },
            *[
                {
                    "_type": "EVALUATION",
                    "archetype_node_id": "openEHR-EHR-EVALUATION.problem_diagnosis.v1",
                    "archetype_details": {
                        "archetype_id": {"value": "openEHR-EHR-EVALUATION.problem_diagnosis.v1"}
                    },
                    "data": {
                        "items": [
                            {
                                "archetype_node_id": "at0002",
                                "value": {
                                    "_type": "DV_CODED_TEXT",
                                    "value": code,
                                    "defining_code": {
                                        "terminology_id": {"value": "ICD-10-SE"},
                                        "code_string": code,
                                    },
                                },
                            }
                        ]
                    },
                }
                for code in diagnoses
            ],
        ],
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
