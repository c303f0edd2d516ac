"""MedicationRequest <-> COMPOSITION (vgr.medication_order.v1), both ways, as pure functions."""

from __future__ import annotations

import uuid

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from gateway.medication.mapping import (
    ACTION_ARCHETYPE,
    composition_to_medication_request,
    medication_request_to_composition,
    resource_id,
    split_id,
    status_of,
    with_status,
)
from gateway.openehr import MappingError

EHR = "5b8e3c1a-4a7f-4f43-9a0e-2a9d1c3b7e10"
OBJ = "0c6f5f0e-8d2b-4c57-b3a6-6e1a1e2d9f44"
UID = f"{OBJ}::medication.vgr.se::1"
ATC = "http://www.whocc.no/atc"
HSA = "urn:oid:1.2.752.29.4.19"

ORDER = {
    "resourceType": "MedicationRequest",
    "identifier": [{"system": "urn:vgr:order", "value": "ord-17"}],
    "status": "active",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [{"system": ATC, "code": "N02BE01", "display": "Paracetamol"}],
        "text": "Paracetamol",
    },
    "subject": {"reference": "Patient/p1"},
    "authoredOn": "2026-03-01T10:00:00Z",
    "requester": {
        "type": "Organization",
        "identifier": {"system": HSA, "value": "SE2321000131-E000000000001"},
        "display": "Vårdcentralen Näset",
    },
    "recorder": {
        "type": "Practitioner",
        "identifier": {"system": HSA, "value": "SE2321000131-P000000000007"},
        "display": "Dr Eva Ek",
    },
    "reasonCode": [{"text": "Huvudvärk"}],
    "note": [{"text": "Max 4 g per dygn"}],
    "dosageInstruction": [{"text": "1 tablett 3 gånger dagligen", "route": {"text": "oral"}}],
    "substitution": {"allowedBoolean": False},
}


def test_ids_join_ehr_and_object():
    rid = resource_id(EHR, OBJ)
    assert len(rid) == 64 and split_id(rid) == (EHR, OBJ)
    assert split_id("x" * 64) is None and split_id("abc") is None


def test_order_round_trips():
    composition = medication_request_to_composition(ORDER, "2026-03-01T10:00:00Z")
    assert composition["archetype_details"]["template_id"]["value"] == "vgr.medication_order.v1"
    assert [c["archetype_node_id"] for c in composition["content"]] == [
        "openEHR-EHR-INSTRUCTION.medication_order.v3",
        ACTION_ARCHETYPE,
    ]
    back = composition_to_medication_request(composition, UID, EHR, "p1", "2026-03-01T10:00:01Z")
    MedicationRequest.model_validate(back)
    expected = {
        **ORDER,
        "id": resource_id(EHR, OBJ),
        "meta": {"versionId": "1", "lastUpdated": "2026-03-01T10:00:01Z"},
    }
    assert back == expected
    # and the COMPOSITION survives the trip the other way
    assert medication_request_to_composition(back, "2026-03-01T10:00:00Z") == composition


def test_free_text_medication_and_no_recorder():
    body = {**ORDER, "medicationCodeableConcept": {"text": "Extemporé salva"}}
    del body["recorder"]
    composition = medication_request_to_composition(body, "2026-03-01T10:00:00Z")
    back = composition_to_medication_request(composition, UID, EHR, "p1")
    assert back["medicationCodeableConcept"] == {"text": "Extemporé salva"}
    assert "recorder" not in back


def test_status_changes_append_actions():
    composition = medication_request_to_composition(ORDER, "2026-03-01T10:00:00Z")
    assert status_of(composition) == "active"
    held = with_status(composition, "on-hold", "2026-03-02T10:00:00Z")
    stopped = with_status(held, "stopped", "2026-03-03T10:00:00Z", "Biverkningar")
    assert status_of(held) == "on-hold" and status_of(stopped) == "stopped"
    assert len(stopped["content"]) == 4 and stopped["content"][:3] == held["content"]
    back = composition_to_medication_request(stopped, UID, EHR, "p1")
    assert back["status"] == "stopped" and back["statusReason"] == {"text": "Biverkningar"}
    action = stopped["content"][-1]
    assert action["ism_transition"]["current_state"]["defining_code"]["code_string"] == "531"
    assert action["ism_transition"]["careflow_step"]["defining_code"]["code_string"] == "at0015"


@pytest.mark.parametrize(
    ("change", "expression", "status"),
    [
        ({"status": "stopped"}, "MedicationRequest.status", 422),
        ({"status": "bogus"}, "MedicationRequest.status", 400),
        ({"intent": "plan"}, "MedicationRequest.intent", 422),
        ({"requester": {"display": "Någon"}}, "MedicationRequest.requester.identifier", 422),
        (
            {"medicationCodeableConcept": {"coding": [{"system": "urn:x", "code": "1"}]}},
            "MedicationRequest.medicationCodeableConcept",
            422,
        ),
        (
            {"dosageInstruction": [{"text": "x", "timing": {"code": {"text": "BID"}}}]},
            "MedicationRequest.dosageInstruction[0].timing",
            422,
        ),
        ({"priority": "urgent"}, "MedicationRequest.priority", 422),
    ],
)
def test_what_cannot_be_stored_names_the_element(change, expression, status):
    with pytest.raises(MappingError) as caught:
        medication_request_to_composition({**ORDER, **change}, "2026-03-01T10:00:00Z")
    assert (caught.value.expression, caught.value.status) == (expression, status)


def test_unknown_status_cannot_be_set():
    composition = medication_request_to_composition(ORDER, "2026-03-01T10:00:00Z")
    with pytest.raises(MappingError):
        with_status(composition, "draft", "2026-03-02T10:00:00Z")
    assert uuid.UUID(split_id(resource_id(EHR, OBJ))[1]) == uuid.UUID(OBJ)


UCUM = "http://unitsofmeasure.org"


@pytest.mark.parametrize(
    "dosage",
    [
        {
            "text": "750 mg 3 gånger dagligen i 7 dagar",
            "route": {"text": "Oral"},
            "patientInstruction": "1 tablett à 750 mg",
            "timing": {
                "repeat": {
                    "boundsPeriod": {
                        "start": "2026-11-20T16:00:00+01:00",
                        "end": "2026-11-27T16:00:00+01:00",
                    },
                    "frequency": 3,
                    "period": 1,
                    "periodUnit": "d",
                }
            },
            "doseAndRate": [{"doseQuantity": {"value": 750, "unit": "mg", "system": UCUM, "code": "mg"}}],
        },
        {
            "asNeededCodeableConcept": {"text": "Vid smärta"},
            "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "ml", "system": UCUM, "code": "mL"}}],
        },
        {"asNeededBoolean": False, "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "h"}}},
    ],
)
def test_structured_dosage_round_trips(dosage):
    composition = medication_request_to_composition(
        {**ORDER, "dosageInstruction": [dosage]}, "2026-03-01T10:00:00Z"
    )
    back = composition_to_medication_request(composition, UID, EHR, "p1")
    MedicationRequest.model_validate(back)
    assert back["dosageInstruction"] == [dosage]


@pytest.mark.parametrize(
    ("dosage", "where"),
    [
        (
            {"doseAndRate": [{"doseQuantity": {"value": 1, "system": UCUM, "code": "kg"}}]},
            "doseAndRate[0].doseQuantity",
        ),
        ({"doseAndRate": [{"rateQuantity": {"value": 1}}]}, "doseAndRate"),
        ({"timing": {"repeat": {"frequency": 1, "period": 2, "periodUnit": "d"}}}, "timing.repeat"),
        ({"timing": {"event": ["2026-01-01"]}}, "timing"),
        ({"maxDosePerPeriod": {"numerator": {"value": 4}}}, "maxDosePerPeriod"),
    ],
)
def test_dosage_the_template_cannot_hold(dosage, where):
    with pytest.raises(MappingError) as caught:
        medication_request_to_composition({**ORDER, "dosageInstruction": [dosage]}, "2026-03-01T10:00:00Z")
    assert caught.value.expression == f"MedicationRequest.dosageInstruction[0].{where}"
