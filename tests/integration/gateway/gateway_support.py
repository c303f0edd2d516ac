"""Shared test data and the strict response check for the gateway tests."""

from __future__ import annotations

import httpx
from fhir.resources.R4B import get_fhir_model_class
from lxml import etree

PNR = "191212121212"  # Tolvan Tolvansson, the Skatteverket test person
PNR_2 = "194910019803"
SAMORDNING = "200101611234"  # 2001-01-01, day + 60
PNR_SYSTEM = "http://electronichealth.se/identifier/personnummer"
SAM_SYSTEM = "http://electronichealth.se/identifier/samordningsnummer"


def strict_check(response: httpx.Response) -> None:
    """Parse every FHIR body with the strict R4B model (raises on anything invalid)."""
    response.read()
    media = response.headers.get("content-type", "")
    if "fhir+json" in media:
        body = response.json()
        get_fhir_model_class(body["resourceType"]).model_validate(body)
    elif "fhir+xml" in media:
        root = etree.fromstring(response.content)
        name = etree.QName(root).localname
        get_fhir_model_class(name).model_validate_xml(response.content)


def patient_body(identifier: str = PNR, system: str = PNR_SYSTEM, **extra) -> dict:
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": system, "value": identifier}],
        "name": [{"use": "official", "family": "Tolvansson", "given": ["Tolvan"]}],
        "gender": "male",
        "birthDate": "1912-12-12",
    }
    body.update(extra)
    return body


HSA = "urn:oid:1.2.752.29.4.19"
ATC = "http://www.whocc.no/atc"
CARE_UNIT = {
    "identifier": {"system": HSA, "value": "SE2321000131-E000000000001"},
    "display": "Vårdcentralen Näset",
}


def order(patient_id: str, atc: str = "N02BE01", name: str = "Paracetamol", **extra) -> dict:
    body = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": ATC, "code": atc, "display": name}],
            "text": name,
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": "2026-03-01T10:00:00Z",
        "requester": CARE_UNIT,
        "dosageInstruction": [{"text": "1 tablett 3 gånger dagligen", "route": {"text": "oral"}}],
        "reasonCode": [{"text": "Huvudvärk"}],
        "substitution": {"allowedBoolean": True},
    }
    body.update(extra)
    return body
