"""The gateway's OpenAPI document says what its FHIR routes answer (schemathesis found 404s, 400s and
application/fhir+json answers that FastAPI's generated document did not list)."""

from __future__ import annotations

from gateway.app import create_app
from gateway.openapi import FHIR_MEDIA_TYPES


def document() -> dict:
    return create_app().openapi()


def test_fhir_answers_are_documented_with_fhir_media_types_and_outcome_errors():
    paths = document()["paths"]
    read = paths["/fhir/Patient/{patient_id}"]["get"]["responses"]
    assert sorted(read["200"]["content"]) == sorted(FHIR_MEDIA_TYPES)
    assert {"400", "404", "410", "503"} <= set(read)
    doc = document()
    error = doc["components"]["responses"][read["404"]["$ref"].rsplit("/", 1)[-1]]
    outcome = doc["components"]["schemas"][
        error["content"]["application/fhir+json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    ]
    assert outcome["properties"]["resourceType"] == {"const": "OperationOutcome"}
    assert "422" not in read  # FastAPI's "Validation Error": bad parameters are answered 400


def test_each_interaction_has_its_own_success_status_and_body():
    paths = document()["paths"]
    create = paths["/fhir/MedicationRequest"]["post"]
    assert {"201", "409", "412", "415", "422"} <= set(create["responses"])
    assert create["requestBody"]["content"]["application/fhir+json"]["schema"]["properties"]["resourceType"] == {
        "const": "MedicationRequest"
    }
    assert set(paths["/fhir/Patient/{patient_id}"]["delete"]["responses"]) >= {"204"}
    assert "200" not in paths["/fhir/Patient/{patient_id}"]["delete"]["responses"]
    search = paths["/fhir/Task/_search"]["post"]
    assert "application/x-www-form-urlencoded" in search["requestBody"]["content"]
    assert "415" in search["responses"] and "409" not in search["responses"]


def test_operational_routes_keep_their_plain_json():
    assert "application/json" in document()["paths"]["/health"]["get"]["responses"]["200"]["content"]
