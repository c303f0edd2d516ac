"""Patient <-> openEHR PERSON (template vgr.person.v1), as pure functions, both ways.

PERSON (openEHR-DEMOGRAPHIC-PERSON.person.v0) holds
- details: ITEM_TREE person_details.v0 with the birth data CLUSTER[at0001] (birth date at0010,
  sex at0017 coded at0310..at0313) and the person_identifier.v0 CLUSTER (DV_IDENTIFIER at0001,
  geographic scope at0002 = national),
- identities: PARTY_IDENTITY person_name.v0 per name (kind coded at0023..at0028; given at0002,
  family at0003, title at0004, suffix at0005, preferred at0008, full name at0010),
- contacts: one CONTACT[at0003] with ADDRESS address.v0 (postal) and
  ADDRESS electronic_communication.v0 (telecom).
The node ids live in the constants below, so that following the template is a local change.
"""

from __future__ import annotations

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
TELECOM_ARCHETYPE = "openEHR-DEMOGRAPHIC-ADDRESS.electronic_communication.v0"

BIRTH = "at0001"
BIRTH_DATE = "at0010"
SEX = "at0017"
ID_VALUE = "at0001"
ID_SCOPE = "at0002"
NAME_TREE = "at0001"
GIVEN, FAMILY, TITLE, SUFFIX, PREFERRED, FULL_NAME = (
    "at0002",
    "at0003",
    "at0004",
    "at0005",
    "at0008",
    "at0010",
)
CONTACT = "at0003"
ADDRESS_TREE = "at0001"
ADDRESS_LINES = "at0002"
ADDRESS_LINE = "at0031"
POSTAL_CODE = "at0006"
TOWN = "at0007"
TELECOM_TREE = "at0001"
TELECOM_VALUE = "at0002"
TELECOM_USE = "at0003"

GENDER_TO_SEX = {
    "male": ("at0310", "Man"),
    "female": ("at0311", "Kvinna"),
    "other": ("at0312", "Intersex eller obestämt"),
    "unknown": ("at0313", "Okänt"),
}
SEX_TO_GENDER = {code: gender for gender, (code, _) in GENDER_TO_SEX.items()}

# The population register name (folkbokföringsnamn, at0023) is FHIR's official name; the
# archetype's "legal name" (at0027) reads as official too.
NAME_USE_TO_KIND = {
    "official": ("at0023", "Folkbokföringsnamn"),
    "maiden": ("at0026", "Flicknamn"),
    "usual": ("at0028", "Annat namn"),
}
KIND_TO_NAME_USE = {code: use for use, (code, _) in NAME_USE_TO_KIND.items()} | {"at0027": "official"}
NAME_USES = {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"}

ADDRESS_USE_TO_KIND = {
    "home": ("at0464", "Bostadsadress"),
    "work": ("at0461", "Arbetsadress"),
    "temp": ("at0463", "Tillfällig adress"),
}
KIND_TO_ADDRESS_USE = {code: use for use, (code, _) in ADDRESS_USE_TO_KIND.items()}
ADDRESS_USES = {"home", "work", "temp", "old", "billing"}
TELECOM_SYSTEMS = {"phone", "fax", "email", "pager", "url", "sms", "other"}
TELECOM_USES = {"home", "work", "temp", "old", "mobile"}

IDENTIFIER_ISSUER = "Skatteverket"
# Patient elements that carry no information the PERSON needs (ignored on input).
_IGNORED = {"resourceType", "id", "meta", "text", "active"}
_MAPPED = {"identifier", "name", "gender", "birthDate", "address", "telecom"}


# -- PERSON -> Patient -------------------------------------------------------------------------


def person_to_patient(person: dict, version_uid: str, last_updated: str | None = None) -> dict:
    """A Patient (plain FHIR JSON) from a PERSON and its version uid (`object_id::system::n`)."""
    uid = VersionUid.parse(version_uid)
    meta: dict = {"versionId": str(uid.version)}
    if last_updated:
        meta["lastUpdated"] = last_updated
    patient: dict = {"resourceType": "Patient", "id": uid.object_id, "meta": meta}
    details = (person.get("details") or {}).get("items") or []

    identifiers = []
    for ident in items_with(details, IDENTIFIER_ARCHETYPE):
        for el in items_with(ident.get("items"), ID_VALUE):
            identifiers.append(_identifier(el.get("value") or {}))
    if identifiers:
        patient["identifier"] = identifiers

    names = [_name_from_identity(i) for i in person.get("identities") or [] if isinstance(i, dict)]
    if names:
        patient["name"] = names

    telecoms, addresses = [], []
    for contact in person.get("contacts") or []:
        for address in contact.get("addresses") or []:
            if address.get("archetype_node_id") == TELECOM_ARCHETYPE:
                telecoms.append(_telecom_from_address(address))
            else:
                addresses.append(_address_from_address(address))
    if telecoms:
        patient["telecom"] = telecoms

    birth = first_with(details, BIRTH)
    if birth:
        sex = code_of(value_of(birth.get("items"), SEX))
        if sex in SEX_TO_GENDER:
            patient["gender"] = SEX_TO_GENDER[sex]
        born = value_of(birth.get("items"), BIRTH_DATE)
        if born and born.get("value"):
            patient["birthDate"] = born["value"]
    if addresses:
        patient["address"] = addresses
    return patient


def _identifier(dv: dict) -> dict:
    """Swedish numbers in their canonical twelve-digit form under their HL7 Sweden system."""
    number, kind = dv.get("id") or "", dv.get("type")
    try:
        parsed = parse_person_identifier(number)
    except InvalidIdentifier:
        parsed = None
    if parsed is not None and kind in (None, PERSONNUMMER, SAMORDNINGSNUMMER):
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
    full = value_of(items, FULL_NAME)
    if full:
        name["text"] = full["value"]
    family = value_of(items, FAMILY)
    if family:
        name["family"] = family["value"]
    for key, node in (("given", GIVEN), ("prefix", TITLE), ("suffix", SUFFIX)):
        values = [el["value"]["value"] for el in items_with(items, node)]
        if values:
            name[key] = values
    return name


def _address_from_address(address: dict) -> dict:
    out: dict = {}
    code = code_of(address.get("name"))
    if code in KIND_TO_ADDRESS_USE:
        out["use"] = KIND_TO_ADDRESS_USE[code]
    elif (address.get("name") or {}).get("value") in ADDRESS_USES:
        out["use"] = address["name"]["value"]
    items = (address.get("details") or {}).get("items") or []
    lines = [
        el["value"]["value"]
        for group in items_with(items, ADDRESS_LINES)
        for el in items_with(group.get("items"), ADDRESS_LINE)
    ]
    if lines:
        out["line"] = lines
    town = value_of(items, TOWN)
    if town:
        out["city"] = town["value"]
    postal = value_of(items, POSTAL_CODE)
    if postal:
        out["postalCode"] = postal["value"]
    return out


def _telecom_from_address(address: dict) -> dict:
    out: dict = {}
    system = (address.get("name") or {}).get("value")
    if system in TELECOM_SYSTEMS:
        out["system"] = system
    items = (address.get("details") or {}).get("items") or []
    value = value_of(items, TELECOM_VALUE)
    if value:
        out["value"] = value["value"]
    use = value_of(items, TELECOM_USE)
    if use and use.get("value") in TELECOM_USES:
        out["use"] = use["value"]
    return out


# -- Patient -> PERSON -------------------------------------------------------------------------


def check_identifier(identifier: dict, where: str) -> PersonIdentifier:
    """A Swedish person identifier from a FHIR Identifier, checked (date and check digit)."""
    system, value = identifier.get("system"), identifier.get("value")
    if system not in (PERSONNUMMER_SYSTEM, SAMORDNINGSNUMMER_SYSTEM):
        raise MappingError(
            f"Identifier system {system!r} is not supported; "
            f"use {PERSONNUMMER_SYSTEM} or {SAMORDNINGSNUMMER_SYSTEM}",
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


def patient_to_person(patient: dict) -> dict:
    """A PERSON (vgr.person.v1) from a validated Patient (plain FHIR JSON). Raises MappingError
    (with the FHIR element) for what cannot be stored."""
    unsupported = sorted(set(patient) - _IGNORED - _MAPPED)
    if unsupported:
        raise MappingError(
            f"Patient elements not stored by the demographics module: {', '.join(unsupported)}",
            f"Patient.{unsupported[0]}",
            status=422,
        )
    identifiers = patient.get("identifier") or []
    if not identifiers:
        raise MappingError(
            "A Patient needs a personnummer or samordningsnummer identifier", "Patient.identifier", status=422
        )
    details: list[dict] = []
    birth_items: list[dict] = []
    if patient.get("birthDate"):
        birth_items.append(
            element(BIRTH_DATE, "Födelsedatum", {"_type": "DV_DATE", "value": patient["birthDate"]})
        )
    gender = patient.get("gender")
    if gender is not None:
        if gender not in GENDER_TO_SEX:
            raise MappingError(f"gender {gender!r} is not one of {sorted(GENDER_TO_SEX)}", "Patient.gender")
        code, text = GENDER_TO_SEX[gender]
        birth_items.append(element(SEX, "Kön", dv_coded(text, code)))
    if birth_items:
        details.append(cluster(BIRTH, "Födelsedata", birth_items))
    for index, identifier in enumerate(identifiers):
        parsed = check_identifier(identifier, f"Patient.identifier[{index}]")
        dv = {
            "_type": "DV_IDENTIFIER",
            "issuer": IDENTIFIER_ISSUER,
            "assigner": IDENTIFIER_ISSUER,
            "id": parsed.value,
            "type": parsed.kind,
        }
        identifier_cluster = cluster(
            IDENTIFIER_ARCHETYPE,
            "Personnummer" if parsed.kind == PERSONNUMMER else "Samordningsnummer",
            [
                element(ID_VALUE, "Identifierare", dv),
                element(ID_SCOPE, "Geografisk omfattning", dv_coded("Nationell", "at0013")),
            ],
        )
        identifier_cluster["archetype_details"] = {
            "_type": "ARCHETYPED",
            "archetype_id": {"_type": "ARCHETYPE_ID", "value": IDENTIFIER_ARCHETYPE},
            "rm_version": "1.0.4",
        }
        details.append(identifier_cluster)
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
        "identities": [_identity(name, i) for i, name in enumerate(patient.get("name") or [])],
    }
    addresses = [_address(a, i) for i, a in enumerate(patient.get("address") or [])]
    addresses += [_telecom(t, i) for i, t in enumerate(patient.get("telecom") or [])]
    if addresses:
        person["contacts"] = [
            {
                "_type": "CONTACT",
                "archetype_node_id": CONTACT,
                "name": dv_text("Kontaktuppgifter"),
                "addresses": addresses,
            }
        ]
    return person


def _identity(name: dict, index: int) -> dict:
    where = f"Patient.name[{index}]"
    unsupported = sorted(set(name) - {"use", "text", "family", "given", "prefix", "suffix"})
    if unsupported:
        raise MappingError(
            f"HumanName.{unsupported[0]} is not stored", f"{where}.{unsupported[0]}", status=422
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
    items += [element(TITLE, "Titel", dv_text(p)) for p in name.get("prefix") or []]
    items += [element(SUFFIX, "Suffix", dv_text(s)) for s in name.get("suffix") or []]
    items.append(element(PREFERRED, "Tilltalsnamn", {"_type": "DV_BOOLEAN", "value": index == 0}))
    if name.get("text"):
        items.append(element(FULL_NAME, "Fullständigt namn", dv_text(name["text"])))
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


def _address(address: dict, index: int) -> dict:
    where = f"Patient.address[{index}]"
    unsupported = sorted(set(address) - {"use", "line", "city", "postalCode"})
    if unsupported:
        raise MappingError(f"Address.{unsupported[0]} is not stored", f"{where}.{unsupported[0]}", status=422)
    use = address.get("use")
    if use in ADDRESS_USE_TO_KIND:
        code, text = ADDRESS_USE_TO_KIND[use]
        kind = dv_coded(text, code)
    else:
        kind = dv_text(use or "Adress")
    items = []
    if address.get("line"):
        items.append(
            cluster(
                ADDRESS_LINES,
                "Adressrader",
                [element(ADDRESS_LINE, "Adressrad", dv_text(line)) for line in address["line"]],
            )
        )
    if address.get("postalCode"):
        items.append(element(POSTAL_CODE, "Postnummer", dv_text(address["postalCode"])))
    if address.get("city"):
        items.append(element(TOWN, "Postort", dv_text(address["city"])))
    return {
        "_type": "ADDRESS",
        "archetype_node_id": ADDRESS_ARCHETYPE,
        "name": kind,
        "details": {
            "_type": "ITEM_TREE",
            "archetype_node_id": ADDRESS_TREE,
            "name": dv_text("Adressuppgifter"),
            "items": items,
        },
    }


def _telecom(telecom: dict, index: int) -> dict:
    where = f"Patient.telecom[{index}]"
    unsupported = sorted(set(telecom) - {"system", "value", "use"})
    if unsupported:
        raise MappingError(
            f"ContactPoint.{unsupported[0]} is not stored", f"{where}.{unsupported[0]}", status=422
        )
    if not telecom.get("value"):
        raise MappingError("A telecom needs a value", f"{where}.value")
    items = [element(TELECOM_VALUE, "Adress", dv_text(telecom["value"]))]
    if telecom.get("use"):
        items.append(element(TELECOM_USE, "Användning", dv_text(telecom["use"])))
    return {
        "_type": "ADDRESS",
        "archetype_node_id": TELECOM_ARCHETYPE,
        "name": dv_text(telecom.get("system") or "other"),
        "details": {
            "_type": "ITEM_TREE",
            "archetype_node_id": TELECOM_TREE,
            "name": dv_text("Elektronisk kontakt"),
            "items": items,
        },
    }


def person_identifiers(person: dict) -> list[tuple[str, str]]:
    """(kind, twelve-digit number) of every person identifier in a PERSON."""
    out = []
    for ident in items_with((person.get("details") or {}).get("items"), IDENTIFIER_ARCHETYPE):
        for el in items_with(ident.get("items"), ID_VALUE):
            dv = el.get("value") or {}
            if dv.get("id"):
                out.append((dv.get("type") or "personnummer", dv["id"]))
    return out
