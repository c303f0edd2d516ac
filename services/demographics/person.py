"""PERSON (template vgr.person.v1) -> the fields demographics searches on.

Pure functions over the canonical openEHR JSON of a DEMOGRAPHIC PERSON built from the CKM
archetypes the template uses:

- identifiers: DV_IDENTIFIER values inside `openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0`
  clusters (slot at0005 of person_details). Swedish personnummer and samordningsnummer are
  checked (date and check digit) and indexed in their canonical twelve-digit form;
- names: given (at0002), family (at0003) and full name (at0010) of every
  `openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0` identity, folded into tokens;
- birth date: at0010 of the birth data cluster of `openEHR-DEMOGRAPHIC-ITEM_TREE.person_details.v0`
  (a partial DV_DATE such as "1950" or "1950-04" is kept as the range it stands for);
- gender: at0017 of the same cluster, the local codes at0310..at0313 (or the FHIR codes) as
  FHIR administrative gender.

Nodes are found by archetype id and node id, not by position, so a template may order,
repeat or add nodes freely. Every issue names the openEHR path and the JSON pointer.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from archetypes.identifiers import (
    PERSONNUMMER,
    PERSONNUMMER_SYSTEM,
    SAMORDNINGSNUMMER,
    SAMORDNINGSNUMMER_SYSTEM,
    InvalidIdentifier,
    parse_person_identifier,
)
from services.demographics.folding import fold, tokens

PERSON_IDENTIFIER_ARCHETYPE = "openEHR-DEMOGRAPHIC-CLUSTER.person_identifier"
PERSON_NAME_ARCHETYPE = "openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name"
PERSON_DETAILS_ARCHETYPE = "openEHR-DEMOGRAPHIC-ITEM_TREE.person_details"

GIVEN, FAMILY, TEXT = "given", "family", "text"
_NAME_PARTS = {"at0002": GIVEN, "at0003": FAMILY, "at0010": TEXT}
_BIRTH_DATE, _SEX = "at0010", "at0017"

GENDERS = ("male", "female", "other", "unknown")
_GENDER_CODES = {
    "at0310": "male",
    "at0311": "female",
    "at0312": "other",
    "at0313": "unknown",
    **{code: code for code in GENDERS},
}
_GENDER_TEXTS = {
    "man": "male", "male": "male", "m": "male",
    "kvinna": "female", "female": "female", "k": "female", "f": "female",
    "annat": "other", "other": "other", "intersex": "other",
    "okänt": "unknown", "okand": "unknown", "unknown": "unknown",
}  # fmt: skip

_SWEDISH_SYSTEMS = {PERSONNUMMER_SYSTEM: PERSONNUMMER, SAMORDNINGSNUMMER_SYSTEM: SAMORDNINGSNUMMER}
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass(frozen=True)
class Issue:
    path: str  # openEHR path
    pointer: str  # JSON pointer
    message: str


class PersonRuleViolation(ValueError):
    """The PERSON breaks a demographics rule (e.g. a personnummer with a wrong check digit)."""

    def __init__(self, issues: list[Issue]):
        super().__init__("; ".join(f"{issue.path}: {issue.message}" for issue in issues))
        self.issues = issues


@dataclass(frozen=True)
class Identifier:
    kind: str  # "personnummer", "samordningsnummer" or the DV_IDENTIFIER type (folded) otherwise
    value: str  # canonical twelve digits for Swedish numbers, the id as given otherwise
    issuer: str | None = None

    @property
    def swedish(self) -> bool:
        return self.kind in (PERSONNUMMER, SAMORDNINGSNUMMER)


@dataclass(frozen=True)
class PersonFields:
    """What the search index holds for one PERSON version."""

    identifiers: tuple[Identifier, ...] = ()
    name_tokens: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (part, token)
    birth_date_low: date | None = None
    birth_date_high: date | None = None
    gender: str | None = None
    sort_name: str = ""  # folded "family given", for a stable, human ordering of results


@dataclass(frozen=True)
class Node:
    value: dict[str, Any]
    path: str  # openEHR path
    pointer: str  # JSON pointer
    archetype: str | None  # the nearest enclosing archetype id (without the version), if any
    node_id: str | None


def walk(obj: dict[str, Any]) -> Iterator[Node]:
    """Every object in a canonical openEHR JSON tree with its openEHR path and JSON pointer."""
    yield from _walk(obj, "", "", None)


def _walk(obj: dict[str, Any], path: str, pointer: str, archetype: str | None) -> Iterator[Node]:
    node_id = obj.get("archetype_node_id")
    if isinstance(node_id, str) and node_id.startswith("openEHR-"):
        archetype = node_id.rsplit(".v", 1)[0]
    yield Node(obj, path or "/", pointer, archetype, node_id if isinstance(node_id, str) else None)
    for attribute, child in obj.items():
        children = child if isinstance(child, list) else [child]
        for index, item in enumerate(children):
            if not isinstance(item, dict):
                continue
            item_id = item.get("archetype_node_id")
            segment = f"{attribute}[{item_id}]" if isinstance(item_id, str) else attribute
            item_pointer = f"{pointer}/{attribute}" + (f"/{index}" if isinstance(child, list) else "")
            yield from _walk(item, f"{path}/{segment}", item_pointer, archetype)


def _text(element: dict[str, Any]) -> str | None:
    value = element.get("value")
    if isinstance(value, dict) and isinstance(value.get("value"), str):
        return value["value"]
    return None


def _classify(dv_identifier: dict[str, Any]) -> str | None:
    """personnummer / samordningsnummer when the DV_IDENTIFIER says so (type, issuer or assigner)."""
    for attribute in ("type", "issuer", "assigner"):
        said = dv_identifier.get(attribute)
        if not isinstance(said, str):
            continue
        if said in _SWEDISH_SYSTEMS:
            return _SWEDISH_SYSTEMS[said]
        folded = fold(said)
        if folded.startswith(SAMORDNINGSNUMMER) or folded == "sam":
            return SAMORDNINGSNUMMER
        if folded.startswith(PERSONNUMMER) or folded == "pnr":
            return PERSONNUMMER
    return None


def swedish_identifier(text: str, declared_kind: str | None, today: date | None = None) -> Identifier:
    """Check a personnummer or samordningsnummer; the declared kind, if any, must match the number."""
    parsed = parse_person_identifier(text, today)
    if declared_kind and declared_kind != parsed.kind:
        raise InvalidIdentifier(f"{text!r} is a {parsed.kind}, not a {declared_kind}")
    return Identifier(parsed.kind, parsed.value)


def date_range(text: str) -> tuple[date, date] | None:
    """'1950' -> (1950-01-01, 1950-12-31); '1950-04' -> April; '1950-04-02' -> that day."""
    match = _PARTIAL_DATE.match(text)
    if not match:
        return None
    year, month, day = int(match[1]), match[2], match[3]
    try:
        if day:
            exact = date(year, int(month), int(day))
            return exact, exact
        if month:
            last = calendar.monthrange(year, int(month))[1]
            return date(year, int(month), 1), date(year, int(month), last)
        return date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        return None


def _gender(element: dict[str, Any]) -> str | None:
    value = element.get("value")
    if not isinstance(value, dict):
        return None
    code = (value.get("defining_code") or {}).get("code_string")
    if isinstance(code, str) and code in _GENDER_CODES:
        return _GENDER_CODES[code]
    text = value.get("value")
    return _GENDER_TEXTS.get(text.strip().casefold()) if isinstance(text, str) else None


def extract(person: dict[str, Any], today: date | None = None) -> PersonFields:
    """The search fields of a PERSON; PersonRuleViolation lists every bad Swedish identifier."""
    issues: list[Issue] = []
    identifiers: dict[tuple[str, str], Identifier] = {}
    name_tokens: set[tuple[str, str]] = set()
    family: list[str] = []
    given: list[str] = []
    birth: tuple[date, date] | None = None
    gender: str | None = None

    for node in walk(person):
        obj, archetype = node.value, node.archetype or ""
        if obj.get("_type") == "DV_IDENTIFIER" and archetype.startswith(PERSON_IDENTIFIER_ARCHETYPE):
            identifier = _identifier(obj, node, today, issues)
            if identifier:
                identifiers.setdefault((identifier.kind, identifier.value), identifier)
        elif archetype.startswith(PERSON_NAME_ARCHETYPE) and node.node_id in _NAME_PARTS:
            text = _text(obj)
            if text:
                part = _NAME_PARTS[node.node_id]
                name_tokens.update((part, token) for token in tokens(text))
                if part == FAMILY:
                    family.append(text)
                elif part == GIVEN:
                    given.append(text)
        elif archetype.startswith(PERSON_DETAILS_ARCHETYPE) and node.node_id == _BIRTH_DATE:
            text = _text(obj)
            if birth is None and text:
                birth = date_range(text)
                if birth is None:
                    issues.append(Issue(f"{node.path}/value", f"{node.pointer}/value/value",
                                        f"{text!r} is not an ISO 8601 date"))  # fmt: skip
        elif archetype.startswith(PERSON_DETAILS_ARCHETYPE) and node.node_id == _SEX:
            gender = gender or _gender(obj)

    if issues:
        raise PersonRuleViolation(issues)
    return PersonFields(
        identifiers=tuple(identifiers.values()),
        name_tokens=frozenset(name_tokens),
        birth_date_low=birth[0] if birth else None,
        birth_date_high=birth[1] if birth else None,
        gender=gender,
        sort_name=fold(" ".join(family + given))[:200],
    )


def _identifier(
    obj: dict[str, Any], node: Node, today: date | None, issues: list[Issue]
) -> Identifier | None:
    text = obj.get("id")
    if not isinstance(text, str) or not text.strip():
        issues.append(Issue(f"{node.path}/id", f"{node.pointer}/id", "DV_IDENTIFIER.id is missing"))
        return None
    kind = _classify(obj)
    if kind is None:
        other = obj.get("type") if isinstance(obj.get("type"), str) else "identifier"
        issuer = obj.get("issuer") if isinstance(obj.get("issuer"), str) else None
        return Identifier(fold(other), text.strip(), issuer)
    try:
        return swedish_identifier(text, kind, today)
    except InvalidIdentifier as error:
        issues.append(Issue(f"{node.path}/id", f"{node.pointer}/id", str(error)))
        return None
