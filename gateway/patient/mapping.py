"""Patient <-> openEHR PERSON (template vgr.person.v1), as pure functions, both ways.

The template (archetypes/README.md, "vgr.person.v1"):
- details: ITEM_TREE person_details.v0 with the birth data CLUSTER[at0001] (birth date at0010,
  1..1), the administrative gender ELEMENT[at0031] (local at0310..at0313, 0..1) and one or more
  person_identifier.v0 CLUSTERs (DV_IDENTIFIER at0001 of type personnummer, samordningsnummer or
  reservnummer; geographic scope at0002),
- identities: exactly one PARTY_IDENTITY person_name.v0 (given at0002 0..*, family at0003 0..1,
  preferred at0008 1..1),
- contacts: optionally one CONTACT[at0003] with one ADDRESS address.v0 (street at0002/at0028,
  number at0002/at0029, postal code at0006 `[0-9]{3} ?[0-9]{2}`, town at0007). No telecom.

What the template cannot hold is refused with 422 naming the FHIR element, never dropped. The
node ids live in the constants below, so following a new template version is a local change.
"""

from __future__ import annotations

import re

from archetypes.identifiers import (
    PERSONNUMMER,
    PERSONNUMMER_SYSTEM,
    SAMORDNINGSNUMMER,
    SAMORDNINGSNUMMER_SYSTEM,
    InvalidIdentifier,
    PersonIdentifier,
    parse_person_identifier,
)
from gateway.openehr import (
    MappingError,
    VersionUid,
    cluster,
    code_of,
    dv_coded,
    dv_text,
    element,
    first_with,
    items_with,
    value_of,
)

TEMPLATE_ID = "vgr.person.v1"
PERSON_ARCHETYPE = "openEHR-DEMOGRAPHIC-PERSON.person.v0"
DETAILS_ARCHETYPE = "openEHR-DEMOGRAPHIC-ITEM_TREE.person_details.v0"
IDENTIFIER_ARCHETYPE = "openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0"
NAME_ARCHETYPE = "openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0"
ADDRESS_ARCHETYPE = "openEHR-DEMOGRAPHIC-ADDRESS.address.v0"

BIRTH, BIRTH_DATE = "at0001", "at0010"
GENDER = "at0031"
LEGACY_SEX = "at0017"  # inside the birth data cluster in early examples; read, never written
ID_VALUE, ID_SCOPE = "at0001", "at0002"
NATIONAL, REGIONAL = ("at0013", "Nationell"), ("at0011", "Regional")
NAME_TREE, GIVEN, FAMILY, PREFERRED = "at0001", "at0002", "at0003", "at0008"
CONTACT = "at0003"
ADDRESS_TREE, ADDRESS_LINES, STREET, NUMBER, POSTAL_CODE, TOWN = (
    "at0001", "at0002", "at0028", "at0029", "at0006", "at0007",
)  # fmt: skip
POSTAL_CODE_FORM = re.compile(r"^[0-9]{3} ?[0-9]{2}$")
STREET_AND_NUMBER = re.compile(r"^(?P<street>.*\S)\s+(?P<number>\d+\s?[A-Za-z]?)$")

RESERVNUMMER = "reservnummer"
REGION = "Västra Götalandsregionen"
IDENTIFIER_ISSUER = "Skatteverket"

GENDER_TO_CODE = {
    "male": ("at0310", "Man"),
    "female": ("at0311", "Kvinna"),
    "other": ("at0312", "Intersex eller obestämt"),
    "unknown": ("at0313", "Okänt"),
}
CODE_TO_GENDER = {code: gender for gender, (code, _) in GENDER_TO_CODE.items()}

# The population register name (folkbokfört namn, at0023 "reporting name") is FHIR's official
# name; the archetype's "legal name" (at0027) reads as official too.
NAME_USE_TO_KIND = {
    "official": ("at0023", "Folkbokfört namn"),
    "maiden": ("at0026", "Flicknamn"),
    "usual": ("at0028", "Annat namn"),
}
KIND_TO_NAME_USE = {code: use for use, (code, _) in NAME_USE_TO_KIND.items()} | {"at0027": "official"}
NAME_USES = {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"}
ADDRESS_NAME = "Folkbokföringsadress"
ADDRESS_USES = {"home", "work", "temp", "old", "billing"}

# Patient elements that carry nothing the PERSON needs (ignored on input).
_IGNORED = {"resourceType", "id", "meta", "text", "active"}
_MAPPED = {"identifier", "name", "gender", "birthDate", "address"}


# -- PERSON -> Patient -------------------------------------------------------------------------


def person_to_patient(person: dict, version_uid: str, last_updated: str | None = None) -> dict:
    """A Patient (plain FHIR JSON) from a PERSON and its version uid (`object_id::system::n`)."""
    uid = VersionUid.parse(version_uid)
    meta: dict = {"versionId": str(uid.version)}
    if last_updated:
        meta["lastUpdated"] = last_updated
    patient: dict = {"resourceType": "Patient", "id": uid.object_id, "meta": meta}
    details = (person.get("details") or {}).get("items") or []

    identifiers = [
        _identifier(el.get("value") or {})
        for ident in items_with(details, IDENTIFIER_ARCHETYPE)
        for el in items_with(ident.get("items"), ID_VALUE)
    ]
    if identifiers:
        patient["identifier"] = identifiers
    names = [_name_from_identity(i) for i in person.get("identities") or [] if isinstance(i, dict)]
    names = [n for n in names if set(n) - {"use"}]  # a HumanName needs content
    if names:
        patient["name"] = names

    birth = first_with(details, BIRTH) or {}
    gender_code = code_of(value_of(details, GENDER)) or code_of(value_of(birth.get("items"), LEGACY_SEX))
    if gender_code in CODE_TO_GENDER:
        patient["gender"] = CODE_TO_GENDER[gender_code]
    born = value_of(birth.get("items"), BIRTH_DATE)
    if born and born.get("value"):
        patient["birthDate"] = born["value"]

    addresses = [
        _address_from_address(address)
        for contact in person.get("contacts") or []
        for address in contact.get("addresses") or []
        if address.get("archetype_node_id") == ADDRESS_ARCHETYPE
    ]
    if addresses:
        patient["address"] = addresses
    return patient


def _identifier(dv: dict) -> dict:
    """Swedish numbers in their canonical twelve-digit form under their HL7 Sweden system;
    other kinds (reservnummer) with their type as text."""
    number, kind = dv.get("id") or "", dv.get("type")
    if kind in (None, PERSONNUMMER, SAMORDNINGSNUMMER):
        try:
            parsed = parse_person_identifier(number)
        except InvalidIdentifier:
            parsed = None
        if parsed is not None:
            return {"use": "official", "system": parsed.system, "value": parsed.value}
    identifier: dict = {"value": number}
    if kind:
        identifier["type"] = {"text": kind}
    return identifier


def _name_from_identity(identity: dict) -> dict:
    name: dict = {}
    kind = identity.get("name") or {}
    code = code_of(kind)
    if code in KIND_TO_NAME_USE:
        name["use"] = KIND_TO_NAME_USE[code]
    elif kind.get("value") in NAME_USES:
        name["use"] = kind["value"]
    items = (identity.get("details") or {}).get("items") or []
    family = value_of(items, FAMILY)
    if family:
        name["family"] = family["value"]
    given = [el["value"]["value"] for el in items_with(items, GIVEN)]
    if given:
        name["given"] = given
    return name


def _address_from_address(address: dict) -> dict:
    out: dict = {}
    kind = (address.get("name") or {}).get("value")
    if kind in ADDRESS_USES:
        out["use"] = kind
    items = (address.get("details") or {}).get("items") or []
    lines = first_with(items, ADDRESS_LINES)
    if lines:
        parts = [(value_of(lines.get("items"), node) or {}).get("value") for node in (STREET, NUMBER)]
        line = " ".join(p for p in parts if p)
        if line:
            out["line"] = [line]
    town = value_of(items, TOWN)
    if town:
        out["city"] = town["value"]
    postal = value_of(items, POSTAL_CODE)
    if postal:
        out["postalCode"] = postal["value"]
    return out


# -- Patient -> PERSON -------------------------------------------------------------------------


def check_identifier(identifier: dict, where: str) -> PersonIdentifier:
    """A Swedish person identifier from a FHIR Identifier, checked (date and check digit)."""
    system, value = identifier.get("system"), identifier.get("value")
    if system not in (PERSONNUMMER_SYSTEM, SAMORDNINGSNUMMER_SYSTEM):
        raise MappingError(
            f"Identifier system {system!r} is not supported; "
            f"use {PERSONNUMMER_SYSTEM} or {SAMORDNINGSNUMMER_SYSTEM} (or type.text reservnummer)",
            f"{where}.system",
        )
    if not value:
        raise MappingError("The identifier has no value", f"{where}.value")
    try:
        parsed = parse_person_identifier(value)
    except InvalidIdentifier as exc:
        raise MappingError(str(exc), f"{where}.value") from None
    if parsed.system != system:
        raise MappingError(f"{value!r} is a {parsed.kind}, not of system {system}", f"{where}.system")
    return parsed


def _identifier_cluster(identifier: dict, index: int) -> tuple[dict, PersonIdentifier | None]:
    where = f"Patient.identifier[{index}]"
    if not identifier.get("system") and (identifier.get("type") or {}).get("text") == RESERVNUMMER:
        if not identifier.get("value"):
            raise MappingError("The identifier has no value", f"{where}.value")
        dv = {"_type": "DV_IDENTIFIER", "issuer": REGION, "assigner": REGION, "id": identifier["value"],
              "type": RESERVNUMMER}  # fmt: skip
        scope, parsed = REGIONAL, None
    else:
        parsed = check_identifier(identifier, where)
        number = f"{parsed.value[:8]}-{parsed.value[8:]}"  # YYYYMMDD-NNNC, the template's convention
        dv = {"_type": "DV_IDENTIFIER", "issuer": IDENTIFIER_ISSUER, "assigner": IDENTIFIER_ISSUER,
              "id": number, "type": parsed.kind}  # fmt: skip
        scope = NATIONAL
    items = [
        element(ID_VALUE, "Identifierare", dv),
        element(ID_SCOPE, "Geografisk omfattning", dv_coded(*scope[::-1])),
    ]
    return cluster(IDENTIFIER_ARCHETYPE, "Personidentifierare", items), parsed


def patient_to_person(patient: dict) -> dict:
    """A PERSON (vgr.person.v1) from a validated Patient (plain FHIR JSON). Raises MappingError
    (with the FHIR element) for what the template cannot hold."""
    unsupported = sorted(set(patient) - _IGNORED - _MAPPED)
    if unsupported:
        raise MappingError(
            f"Patient elements the template vgr.person.v1 cannot hold: {', '.join(unsupported)}",
            f"Patient.{unsupported[0]}",
            status=422,
        )
    identifiers = patient.get("identifier") or []
    if not identifiers:
        raise MappingError(
            "A Patient needs a personnummer or samordningsnummer identifier", "Patient.identifier", status=422
        )
    clusters, swedish = [], []
    for index, identifier in enumerate(identifiers):
        made, parsed = _identifier_cluster(identifier, index)
        clusters.append(made)
        if parsed:
            swedish.append(parsed)
    if not swedish:
        raise MappingError(
            "A Patient needs a personnummer or samordningsnummer identifier", "Patient.identifier", status=422
        )
    birth_date = patient.get("birthDate") or swedish[0].birth_date.isoformat()
    details: list[dict] = [
        cluster(
            BIRTH,
            "Födelsedata",
            [element(BIRTH_DATE, "Födelsedatum", {"_type": "DV_DATE", "value": birth_date})],
        )
    ]
    gender = patient.get("gender")
    if gender is not None:
        if gender not in GENDER_TO_CODE:
            raise MappingError(f"gender {gender!r} is not one of {sorted(GENDER_TO_CODE)}", "Patient.gender")
        code, text = GENDER_TO_CODE[gender]
        details.append(element(GENDER, "Administrativt kön", dv_coded(text, code)))
    details += clusters
    names = patient.get("name") or []
    if len(names) != 1:
        raise MappingError(
            "The demographics template holds exactly one name",
            "Patient.name" if not names else "Patient.name[1]",
            status=422,
        )
    person: dict = {
        "_type": "PERSON",
        "archetype_node_id": PERSON_ARCHETYPE,
        "name": dv_text("Person"),
        "archetype_details": {
            "_type": "ARCHETYPED",
            "archetype_id": {"_type": "ARCHETYPE_ID", "value": PERSON_ARCHETYPE},
            "template_id": {"_type": "TEMPLATE_ID", "value": TEMPLATE_ID},
            "rm_version": "1.0.4",
        },
        "details": {
            "_type": "ITEM_TREE",
            "archetype_node_id": DETAILS_ARCHETYPE,
            "name": dv_text("Personuppgifter"),
            "items": details,
        },
        "identities": [_identity(names[0])],
    }
    addresses = patient.get("address") or []
    if len(addresses) > 1:
        raise MappingError("The demographics template holds one address", "Patient.address[1]", status=422)
    if addresses:
        person["contacts"] = [
            {
                "_type": "CONTACT",
                "archetype_node_id": CONTACT,
                "name": dv_text("Kontaktuppgifter"),
                "addresses": [_address(addresses[0])],
            }
        ]
    return person


def _identity(name: dict) -> dict:
    where = "Patient.name[0]"
    unsupported = sorted(set(name) - {"use", "text", "family", "given"})
    if unsupported:
        raise MappingError(
            f"HumanName.{unsupported[0]} is not in the template", f"{where}.{unsupported[0]}", status=422
        )
    composed = " ".join([*(name.get("given") or []), *([name["family"]] if name.get("family") else [])])
    if name.get("text") and name["text"] != composed:
        raise MappingError(
            f"HumanName.text must be the given and family names ({composed!r}); the template has no text",
            f"{where}.text",
            status=422,
        )
    use = name.get("use")
    if use in NAME_USE_TO_KIND:
        code, text = NAME_USE_TO_KIND[use]
        kind = dv_coded(text, code)
    else:
        kind = dv_text(use or "Namn")
    items = [element(GIVEN, "Förnamn", dv_text(g)) for g in name.get("given") or []]
    if name.get("family"):
        items.append(element(FAMILY, "Efternamn", dv_text(name["family"])))
    items.append(element(PREFERRED, "Tilltalsnamn", {"_type": "DV_BOOLEAN", "value": True}))
    return {
        "_type": "PARTY_IDENTITY",
        "archetype_node_id": NAME_ARCHETYPE,
        "name": kind,
        "details": {
            "_type": "ITEM_TREE",
            "archetype_node_id": NAME_TREE,
            "name": dv_text("Namn"),
            "items": items,
        },
    }


def _address(address: dict) -> dict:
    where = "Patient.address[0]"
    unsupported = sorted(set(address) - {"use", "line", "city", "postalCode"})
    if unsupported:
        raise MappingError(
            f"Address.{unsupported[0]} is not in the template", f"{where}.{unsupported[0]}", status=422
        )
    lines = address.get("line") or []
    if len(lines) > 1:
        raise MappingError("The template holds one address line (street and number)", f"{where}.line[1]", 422)
    items = []
    if lines:
        match = STREET_AND_NUMBER.match(lines[0].strip())
        parts = [element(STREET, "Gatunamn", dv_text(match["street"] if match else lines[0].strip()))]
        if match:
            parts.append(element(NUMBER, "Gatunummer", dv_text(match["number"])))
        items.append(cluster(ADDRESS_LINES, "Adressrader", parts))
    if address.get("postalCode"):
        if not POSTAL_CODE_FORM.match(address["postalCode"]):
            raise MappingError(
                f"postalCode {address['postalCode']!r} is not a Swedish postal code (NNN NN)",
                f"{where}.postalCode",
            )
        items.append(element(POSTAL_CODE, "Postnummer", dv_text(address["postalCode"])))
    if address.get("city"):
        items.append(element(TOWN, "Postort", dv_text(address["city"])))
    use = address.get("use")
    return {
        "_type": "ADDRESS",
        "archetype_node_id": ADDRESS_ARCHETYPE,
        "name": dv_text(use if use in ADDRESS_USES else ADDRESS_NAME),
        "details": {
            "_type": "ITEM_TREE",
            "archetype_node_id": ADDRESS_TREE,
            "name": dv_text("Adressuppgifter"),
            "items": items,
        },
    }


def person_identifiers(person: dict) -> list[tuple[str, str]]:
    """(kind, twelve-digit number) of every Swedish person identifier in a PERSON."""
    out = []
    for ident in items_with((person.get("details") or {}).get("items"), IDENTIFIER_ARCHETYPE):
        for el in items_with(ident.get("items"), ID_VALUE):
            dv = el.get("value") or {}
            if dv.get("type") in (None, PERSONNUMMER, SAMORDNINGSNUMMER) and dv.get("id"):
                try:
                    parsed = parse_person_identifier(dv["id"])
                except InvalidIdentifier:
                    continue
                out.append((parsed.kind, parsed.value))
    return out
