"""Patient <-> PERSON mapping, both ways, as pure functions."""

from __future__ import annotations

import copy

import pytest
from fhir.resources.R4B.patient import Patient

from gateway.openehr import MappingError
from gateway.patient.mapping import (
    PERSON_ARCHETYPE,
    TEMPLATE_ID,
    patient_to_person,
    person_identifiers,
    person_to_patient,
)

PNR_SYSTEM = "http://electronichealth.se/identifier/personnummer"
SAM_SYSTEM = "http://electronichealth.se/identifier/samordningsnummer"
UID = "8f2c7a54-1f7e-4b0c-9a55-0d1c4f7e2b11::demographics.vgr.se::3"


def local(value: str, code: str) -> dict:
    return {
        "_type": "DV_CODED_TEXT",
        "value": value,
        "defining_code": {
            "_type": "CODE_PHRASE",
            "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "local"},
            "code_string": code,
        },
    }


def text(value: str) -> dict:
    return {"_type": "DV_TEXT", "value": value}


def el(node: str, name: str, value: dict) -> dict:
    return {"_type": "ELEMENT", "archetype_node_id": node, "name": text(name), "value": value}


# A PERSON written out in canonical openEHR JSON (vgr.person.v1), independent of the mapping code.
PERSON = {
    "_type": "PERSON",
    "archetype_node_id": PERSON_ARCHETYPE,
    "name": text("Person"),
    "archetype_details": {
        "_type": "ARCHETYPED",
        "archetype_id": {"_type": "ARCHETYPE_ID", "value": PERSON_ARCHETYPE},
        "template_id": {"_type": "TEMPLATE_ID", "value": TEMPLATE_ID},
        "rm_version": "1.0.4",
    },
    "details": {
        "_type": "ITEM_TREE",
        "archetype_node_id": "openEHR-DEMOGRAPHIC-ITEM_TREE.person_details.v0",
        "name": text("Personuppgifter"),
        "items": [
            {
                "_type": "CLUSTER",
                "archetype_node_id": "at0001",
                "name": text("Födelsedata"),
                "items": [
                    el("at0010", "Födelsedatum", {"_type": "DV_DATE", "value": "1912-12-12"}),
                    el("at0017", "Kön", local("Kvinna", "at0311")),
                ],
            },
            {
                "_type": "CLUSTER",
                "archetype_node_id": "openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0",
                "name": text("Personnummer"),
                "archetype_details": {
                    "_type": "ARCHETYPED",
                    "archetype_id": {
                        "_type": "ARCHETYPE_ID",
                        "value": "openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0",
                    },
                    "rm_version": "1.0.4",
                },
                "items": [
                    el(
                        "at0001",
                        "Identifierare",
                        {
                            "_type": "DV_IDENTIFIER",
                            "issuer": "Skatteverket",
                            "assigner": "Skatteverket",
                            "id": "191212121212",
                            "type": "personnummer",
                        },
                    ),
                    el("at0002", "Geografisk omfattning", local("Nationell", "at0013")),
                ],
            },
        ],
    },
    "identities": [
        {
            "_type": "PARTY_IDENTITY",
            "archetype_node_id": "openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0",
            "name": local("Folkbokföringsnamn", "at0023"),
            "details": {
                "_type": "ITEM_TREE",
                "archetype_node_id": "at0001",
                "name": text("Namn"),
                "items": [
                    el("at0002", "Förnamn", text("Tolvan")),
                    el("at0002", "Förnamn", text("Maria")),
                    el("at0003", "Efternamn", text("Åkesson")),
                    el("at0008", "Tilltalsnamn", {"_type": "DV_BOOLEAN", "value": True}),
                    el("at0010", "Fullständigt namn", text("Tolvan Maria Åkesson")),
                ],
            },
        },
        {
            "_type": "PARTY_IDENTITY",
            "archetype_node_id": "openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0",
            "name": local("Flicknamn", "at0026"),
            "details": {
                "_type": "ITEM_TREE",
                "archetype_node_id": "at0001",
                "name": text("Namn"),
                "items": [
                    el("at0003", "Efternamn", text("Tolvansson")),
                    el("at0008", "Tilltalsnamn", {"_type": "DV_BOOLEAN", "value": False}),
                ],
            },
        },
    ],
    "contacts": [
        {
            "_type": "CONTACT",
            "archetype_node_id": "at0003",
            "name": text("Kontaktuppgifter"),
            "addresses": [
                {
                    "_type": "ADDRESS",
                    "archetype_node_id": "openEHR-DEMOGRAPHIC-ADDRESS.address.v0",
                    "name": local("Bostadsadress", "at0464"),
                    "details": {
                        "_type": "ITEM_TREE",
                        "archetype_node_id": "at0001",
                        "name": text("Adressuppgifter"),
                        "items": [
                            {
                                "_type": "CLUSTER",
                                "archetype_node_id": "at0002",
                                "name": text("Adressrader"),
                                "items": [
                                    el("at0031", "Adressrad", text("Storgatan 1")),
                                    el("at0031", "Adressrad", text("lgh 1102")),
                                ],
                            },
                            el("at0006", "Postnummer", text("41301")),
                            el("at0007", "Postort", text("Göteborg")),
                        ],
                    },
                },
                {
                    "_type": "ADDRESS",
                    "archetype_node_id": "openEHR-DEMOGRAPHIC-ADDRESS.electronic_communication.v0",
                    "name": text("phone"),
                    "details": {
                        "_type": "ITEM_TREE",
                        "archetype_node_id": "at0001",
                        "name": text("Elektronisk kontakt"),
                        "items": [
                            el("at0002", "Adress", text("+46701234567")),
                            el("at0003", "Användning", text("mobile")),
                        ],
                    },
                },
            ],
        }
    ],
}


def test_person_to_patient_reads_every_element():
    patient = person_to_patient(PERSON, UID, "2026-01-02T03:04:05Z")
    Patient.model_validate(patient)
    assert patient["id"] == "8f2c7a54-1f7e-4b0c-9a55-0d1c4f7e2b11"
    assert patient["meta"] == {"versionId": "3", "lastUpdated": "2026-01-02T03:04:05Z"}
    assert patient["identifier"] == [{"use": "official", "system": PNR_SYSTEM, "value": "191212121212"}]
    assert patient["gender"] == "female"
    assert patient["birthDate"] == "1912-12-12"
    assert patient["name"][0] == {
        "use": "official",
        "text": "Tolvan Maria Åkesson",
        "family": "Åkesson",
        "given": ["Tolvan", "Maria"],
    }
    assert patient["name"][1] == {"use": "maiden", "family": "Tolvansson"}
    assert patient["address"] == [
        {"use": "home", "line": ["Storgatan 1", "lgh 1102"], "city": "Göteborg", "postalCode": "41301"}
    ]
    assert patient["telecom"] == [{"system": "phone", "value": "+46701234567", "use": "mobile"}]


def test_person_round_trips_through_patient():
    patient = person_to_patient(PERSON, UID)
    assert patient_to_person(patient) == {k: v for k, v in PERSON.items()}


def test_patient_round_trips_through_person():
    patient = person_to_patient(PERSON, UID)
    again = person_to_patient(patient_to_person(patient), UID)
    assert again == patient


def test_ten_digit_and_samordningsnummer_are_canonicalised():
    patient = {"resourceType": "Patient", "identifier": [{"system": SAM_SYSTEM, "value": "010161-1234"}]}
    person = patient_to_person(patient)
    assert person_identifiers(person) == [("samordningsnummer", "200101611234")]
    back = person_to_patient(person, UID)
    assert back["identifier"][0]["system"] == SAM_SYSTEM


@pytest.mark.parametrize(
    ("change", "expression", "status"),
    [
        (
            {"identifier": [{"system": PNR_SYSTEM, "value": "191212121213"}]},
            "Patient.identifier[0].value",
            400,
        ),
        (
            {"identifier": [{"system": SAM_SYSTEM, "value": "191212121212"}]},
            "Patient.identifier[0].system",
            400,
        ),
        ({"identifier": [{"system": "urn:other", "value": "1"}]}, "Patient.identifier[0].system", 400),
        ({"identifier": []}, "Patient.identifier", 422),
        ({"gender": "mal"}, "Patient.gender", 400),
        ({"maritalStatus": {"text": "gift"}}, "Patient.maritalStatus", 422),
        ({"name": [{"family": "A", "period": {"start": "2000"}}]}, "Patient.name[0].period", 422),
    ],
)
def test_what_cannot_be_stored_names_the_element(change, expression, status):
    patient = {"resourceType": "Patient", "identifier": [{"system": PNR_SYSTEM, "value": "191212121212"}]}
    patient.update(change)
    with pytest.raises(MappingError) as caught:
        patient_to_person(copy.deepcopy(patient))
    assert caught.value.expression == expression
    assert caught.value.status == status


def test_reads_the_demographics_module_style_person():
    """Identifiers as written by people ('19121212-1212'), the legal name code, other id types."""
    person = copy.deepcopy(PERSON)
    ident = person["details"]["items"][1]["items"][0]["value"]
    ident["id"] = "19121212-1212"
    person["identities"][0]["name"] = local("Juridiskt namn", "at0027")
    other = copy.deepcopy(person["details"]["items"][1])
    other["items"][0]["value"] = {"_type": "DV_IDENTIFIER", "id": "A-17", "type": "reservnummer"}
    person["details"]["items"].append(other)
    patient = person_to_patient(person, UID)
    Patient.model_validate(patient)
    assert patient["identifier"] == [
        {"use": "official", "system": PNR_SYSTEM, "value": "191212121212"},
        {"value": "A-17", "type": {"text": "reservnummer"}},
    ]
    assert patient["name"][0]["use"] == "official"
