"""Composition/Condition <-> journal note COMPOSITION (vgr.journal_note.v1), both ways."""

from __future__ import annotations

import base64
import copy
import random
import uuid

import pytest
from fhir.resources.R4B.composition import Composition
from fhir.resources.R4B.condition import Condition

from gateway.journal.mapping import (
    ICD10SE_SYSTEM,
    composition_id,
    composition_to_fhir,
    condition_id,
    condition_id_prefix,
    condition_to_fhir,
    conditions_to_fhir,
    diagnoses,
    fhir_to_composition,
    narrative_text,
    split_composition_id,
    split_condition_id,
)
from gateway.openehr import MappingError, uuid_hex

EHR = "5b8e3c1a-4a7f-4f43-9a0e-2a9d1c3b7e10"
OBJ = "0c6f5f0e-8d2b-4c57-b3a6-6e1a1e2d9f44"
UID = f"{OBJ}::journal.vgr.se::1"
HSA = "urn:oid:1.2.752.29.4.19"
XHTML = "http://www.w3.org/1999/xhtml"
DOCTOR = {"system": HSA, "value": "SE2321000131-P000000202022"}
CLINIC = {"system": HSA, "value": "SE2321000131-E000000022002"}

NOTE = {
    "resourceType": "Composition",
    "status": "final",
    "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}]},
    "subject": {"reference": "Patient/p1"},
    "date": "2026-11-19T13:15:00+01:00",
    "author": [{"identifier": DOCTOR, "display": "Omar Abdullah"}],
    "custodian": {"identifier": CLINIC, "display": "Medicinmottagningen"},
    "title": "Journalanteckning",
    "contained": [
        {
            "resourceType": "Condition",
            "id": "d1",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": ICD10SE_SYSTEM, "code": "J02.0"}], "text": "Streptokockfaryngit"},
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                    }
                ]
            },
            "onsetDateTime": "2026-11-18T00:00:00+01:00",
            "note": [{"text": "Positivt strep-A-test."}],
        }
    ],
    "section": [
        {
            "title": "Anamnes",
            "text": {
                "status": "generated",
                "div": f'<div xmlns="{XHTML}"><p>Halsont sedan två dagar.</p><p>Feber 38,5.</p></div>',
            },
        },
        {"title": "Diagnos", "entry": [{"reference": "#d1"}]},
        {
            "title": "Åtgärd/Plan",
            "text": {"status": "generated", "div": f'<div xmlns="{XHTML}">PcV i tio dagar</div>'},
        },
    ],
}


def test_ids():
    assert split_composition_id(composition_id(EHR, OBJ)) == (EHR, OBJ)
    cid = condition_id(EHR, OBJ, 3)
    assert len(cid) <= 64 and split_condition_id(cid) == (EHR, OBJ, 3)
    assert split_condition_id("nope-1") is None and split_composition_id("x") is None


def test_note_to_composition_and_back():
    note = fhir_to_composition(NOTE, "2026-11-19T13:20:00+01:00")
    kinds = [c["archetype_node_id"] for c in note["content"]]
    assert kinds == ["openEHR-EHR-OBSERVATION.story.v1", "openEHR-EHR-EVALUATION.problem_diagnosis.v1",
                     "openEHR-EHR-EVALUATION.clinical_synopsis.v1"]  # fmt: skip
    back = composition_to_fhir(note, UID, EHR, "p1", "2026-11-19T12:20:00Z")
    Composition.model_validate(back)
    assert back["type"]["coding"][0]["code"] == "11506-3" and back["status"] == "final"
    assert back["date"] == NOTE["date"] and back["subject"] == {"reference": "Patient/p1"}
    assert back["author"][0]["identifier"] == NOTE["author"][0]["identifier"]
    assert back["custodian"]["identifier"] == NOTE["custodian"]["identifier"]
    titles = [s["title"] for s in back["section"]]
    assert titles == ["Anamnes", "Diagnos", "Åtgärd/Plan"]
    assert narrative_text(back["section"][0]["text"], "s") == "Halsont sedan två dagar.\nFeber 38,5."
    assert narrative_text(back["section"][2]["text"], "s") == "PcV i tio dagar"
    assert back["section"][1]["entry"] == [{"reference": f"Condition/{condition_id(EHR, OBJ, 0)}"}]
    # and the note survives another trip
    assert fhir_to_composition(contained_again(back, note), "later") == note


def contained_again(resource: dict, note: dict) -> dict:
    """The Composition as a client would send it back, with its Conditions contained."""
    body = copy.deepcopy(resource)
    conditions = [condition_to_fhir(note, UID, EHR, "p1", i) for i in range(len(diagnoses(note)))]
    body["contained"] = [
        {k: v for k, v in c.items() if k not in ("meta", "evidence")} | {"id": f"c{i}"}
        for i, c in enumerate(conditions)
    ]
    for section in body["section"]:
        if section["title"] == "Diagnos":
            section["entry"] = [{"reference": f"#c{i}"} for i in range(len(conditions))]
    return body


def test_condition_from_the_note():
    note = fhir_to_composition(NOTE, "2026-11-19T13:20:00+01:00")
    condition = condition_to_fhir(note, UID, EHR, "p1", 0)
    Condition.model_validate(condition)
    assert condition["code"]["coding"] == [{"system": ICD10SE_SYSTEM, "code": "J02.0",
                                            "display": "Streptokockfaryngit"}]  # fmt: skip
    assert condition["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert condition["onsetDateTime"] == "2026-11-18T00:00:00+01:00"
    assert condition["recordedDate"] == NOTE["date"]
    assert condition["note"] == [{"text": "Positivt strep-A-test."}]
    assert condition["evidence"][0]["detail"][0]["reference"] == f"Composition/{composition_id(EHR, OBJ)}"


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        ({"type": {"coding": [{"system": "http://loinc.org", "code": "34133-9"}]}}, "Composition.type"),
        ({"custodian": {"display": "utan HSA-id"}}, "Composition.custodian.identifier"),
        (
            {"section": [{"title": "Övrigt", "text": NOTE["section"][0]["text"]}]},
            "Composition.section[0].title",
        ),
        (
            {"section": [{"title": "Diagnos", "entry": [{"reference": "Condition/x"}]}]},
            "Composition.section[0].entry[0]",
        ),
        ({"section": []}, "Composition.section"),
    ],
)
def test_what_cannot_be_a_journal_note(change, expression):
    with pytest.raises(MappingError) as caught:
        fhir_to_composition({**NOTE, **change}, "now")
    assert caught.value.expression == expression


def _reference_condition_id(ehr_id: str, object_id: str, index: int) -> str:
    """Condition ids as first written (base64.b32encode): ids are in URLs clients keep."""
    raw = uuid.UUID(ehr_id).bytes + uuid.UUID(object_id).bytes
    return base64.b32encode(raw).decode().rstrip("=").lower() + f"-{index}"


def test_condition_ids_are_the_ones_base64_b32encode_gave() -> None:
    randomness = random.Random(20261124)
    edges = [uuid.UUID(int=0), uuid.UUID(int=(1 << 128) - 1), uuid.UUID(int=1), uuid.UUID(int=1 << 127)]
    pairs = [(a, b) for a in edges for b in edges]
    pairs += [(uuid.UUID(int=randomness.getrandbits(128)), uuid.UUID(int=randomness.getrandbits(128)))
              for _ in range(5000)]  # fmt: skip
    for n, (a, b) in enumerate(pairs):
        # the modules' canonical form, and the other spellings uuid.UUID reads
        for ehr_id, object_id in ((str(a), str(b)), (a.hex, str(b).upper()), (f"{{{a}}}", f"urn:uuid:{b}")):
            expected = _reference_condition_id(ehr_id, object_id, n)
            assert condition_id(ehr_id, object_id, n) == expected
            assert condition_id_prefix(ehr_id, object_id) == expected.rpartition("-")[0]
            assert uuid_hex(ehr_id) == uuid.UUID(ehr_id).hex
    with pytest.raises(ValueError):
        condition_id("not-a-uuid", OBJ, 0)


def test_conditions_to_fhir_is_condition_to_fhir_of_each_diagnosis() -> None:
    resource = copy.deepcopy(NOTE)
    second = {**resource["contained"][0], "id": "d2", "note": [{"text": "Beskrivning"}, {"text": "Kommentar"}],
              "verificationStatus": {"coding": [{"code": "provisional"}]}}  # fmt: skip
    resource["contained"].append(second)
    resource["section"][1]["entry"].append({"reference": "#d2"})
    note = fhir_to_composition(resource, "2024-05-02T10:00:00Z")
    uid = f"{OBJ}::node::2"
    together = conditions_to_fhir(note, uid, EHR, "p1", "2024-05-02T10:00:01Z")
    assert together == [condition_to_fhir(note, uid, EHR, "p1", i, "2024-05-02T10:00:01Z")
                        for i in range(len(together))]  # fmt: skip
    assert len(together) == 2 and together[1]["id"].endswith("-1")
