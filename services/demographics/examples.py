"""Build PERSON instances of template vgr.person.v1 (for tests, seed data and documentation)."""

from __future__ import annotations

from datetime import date
from typing import Any

from archetypes.identifiers import PERSONNUMMER, InvalidIdentifier, luhn_check_digit, parse_person_identifier

TEMPLATE_ID = "vgr.person.v1"
_GENDER_CODES = {"male": "at0310", "female": "at0311", "other": "at0312", "unknown": "at0313"}
_GENDER_TEXTS = {"male": "Man", "female": "Kvinna", "other": "Intersex eller obestämt", "unknown": "Okänt"}


def personnummer(born: date, serial: int, samordningsnummer: bool = False) -> str:
    """A valid twelve-digit number (YYYYMMDDNNNC) for this birth date and three-digit serial."""
    day = born.day + (60 if samordningsnummer else 0)
    nine = f"{born.year % 100:02d}{born.month:02d}{day:02d}{serial:03d}"
    return f"{born.year:04d}{born.month:02d}{day:02d}{serial:03d}{luhn_check_digit(nine)}"


def _text(value: str) -> dict[str, Any]:
    return {"_type": "DV_TEXT", "value": value}


def _element(node_id: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"_type": "ELEMENT", "archetype_node_id": node_id, "name": _text(name), "value": value}


def _archetyped(archetype_id: str) -> dict[str, Any]:
    return {
        "archetype_id": {"value": archetype_id},
        "template_id": {"value": TEMPLATE_ID},
        "rm_version": "1.0.4",
    }


def _kind(number: str) -> str:
    try:
        return parse_person_identifier(number).kind
    except InvalidIdentifier:  # tests build persons with bad numbers on purpose
        return PERSONNUMMER


def identifier_cluster(number: str, kind: str | None = None) -> dict[str, Any]:
    kind = kind or _kind(number)
    return {
        "_type": "CLUSTER",
        "archetype_node_id": "openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0",
        "name": _text("Personnummer" if kind == PERSONNUMMER else "Samordningsnummer"),
        "archetype_details": {
            "archetype_id": {"value": "openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0"},
            "rm_version": "1.0.4",
        },  # fmt: skip
        "items": [
            _element(
                "at0001",
                "Identifierare",
                {
                    "_type": "DV_IDENTIFIER",
                    "issuer": "Skatteverket",
                    "assigner": "Skatteverket",
                    "id": number,
                    "type": kind,
                },
            ),  # fmt: skip
            _element(
                "at0002",
                "Geografisk omfattning",
                {
                    "_type": "DV_CODED_TEXT",
                    "value": "Nationell",
                    "defining_code": {"terminology_id": {"value": "local"}, "code_string": "at0013"},
                },
            ),  # fmt: skip
        ],
    }


def make_person(
    *,
    given: str | list[str] = "Anna",
    family: str = "Andersson",
    birth_date: str | None = None,
    gender: str | None = "female",
    identifiers: list[str] | None = None,
) -> dict[str, Any]:
    """A PERSON with name, birth date, gender and Swedish identifiers (the first one's date by default)."""
    identifiers = ["19121212-1212"] if identifiers is None else identifiers
    if birth_date is None and identifiers:
        birth_date = parse_person_identifier(identifiers[0]).birth_date.isoformat()
    givens = [given] if isinstance(given, str) else given
    birth_items = [
        _element("at0010", "Födelsedatum", {"_type": "DV_DATE", "value": birth_date or "1970-01-01"})
    ]
    if gender:
        birth_items.append(_element("at0017", "Kön", {
            "_type": "DV_CODED_TEXT", "value": _GENDER_TEXTS[gender],
            "defining_code": {"terminology_id": {"value": "local"}, "code_string": _GENDER_CODES[gender]},
        }))  # fmt: skip
    name_items = [_element("at0002", "Förnamn", _text(name)) for name in givens]
    name_items += [
        _element("at0003", "Efternamn", _text(family)),
        _element("at0008", "Tilltalsnamn", {"_type": "DV_BOOLEAN", "value": True}),
        _element("at0010", "Fullständigt namn", _text(" ".join([*givens, family]))),
    ]
    return {
        "_type": "PERSON",
        "archetype_node_id": "openEHR-DEMOGRAPHIC-PERSON.person.v0",
        "name": _text("Person"),
        "archetype_details": _archetyped("openEHR-DEMOGRAPHIC-PERSON.person.v0"),
        "details": {
            "_type": "ITEM_TREE",
            "archetype_node_id": "openEHR-DEMOGRAPHIC-ITEM_TREE.person_details.v0",
            "name": _text("Personuppgifter"),
            "items": [
                {
                    "_type": "CLUSTER",
                    "archetype_node_id": "at0001",
                    "name": _text("Födelsedata"),
                    "items": birth_items,
                },  # fmt: skip
                *(identifier_cluster(number) for number in identifiers),
            ],
        },
        "identities": [
            {
                "_type": "PARTY_IDENTITY",
                "archetype_node_id": "openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0",
                "name": {
                    "_type": "DV_CODED_TEXT",
                    "value": "Folkbokföringsnamn",
                    "defining_code": {"terminology_id": {"value": "local"}, "code_string": "at0023"},
                },
                "details": {
                    "_type": "ITEM_TREE",
                    "archetype_node_id": "at0001",
                    "name": _text("Namn"),
                    "items": name_items,
                },  # fmt: skip
            }
        ],
    }


def ehr_status(number: str = "19121212-1212", scheme: str | None = None) -> dict[str, Any]:
    """An EHR_STATUS whose subject is the person with this personnummer or samordningsnummer."""
    scheme = scheme or parse_person_identifier(number).kind
    return {
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": _text("EHR Status"),
        "subject": {
            "_type": "PARTY_SELF",
            "external_ref": {
                "_type": "PARTY_REF",
                "id": {"_type": "GENERIC_ID", "value": number, "scheme": scheme},
                "namespace": "vgr.demographics",
                "type": "PERSON",
            },
        },
        "is_queryable": True,
        "is_modifiable": True,
    }
