"""Person search parameters, parsed and normalised the same way the index was written.

- identifier: any accepted form of a personnummer or samordningsnummer ("19121212-1212",
  "191212121212", "121212-1212", "121212+1212"), optionally as a FHIR token `system|value`;
  anything else is matched as given against the other identifiers;
- name, family, given: words, each a prefix of a name token, folded ("akesson" finds "Åkesson");
- birthdate: YYYY, YYYY-MM or YYYY-MM-DD with an optional prefix eq, ne, gt, lt, ge, le
  (FHIR date semantics: a partial date is the range it stands for); repeatable, all must hold;
- gender: male, female, other, unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from archetypes.identifiers import PERSONNUMMER_SYSTEM, SAMORDNINGSNUMMER_SYSTEM, InvalidIdentifier
from services.demographics.folding import tokens
from services.demographics.person import GENDERS, date_range, swedish_identifier
from services.kernel.search import LARGEST_OFFSET

MAX_LIMIT = 1000
DEFAULT_LIMIT = 20
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
# A birth date is a day: FHIR's "starts after" / "ends before" are then "after" / "before".
_SAME_FOR_A_DAY = {"sa": "gt", "eb": "lt"}
# YYYY, YYYY-MM, YYYY-MM-DD; a time after the day (FHIR clients send dateTimes) is ignored.
_DATE = re.compile(r"^(\d{4}(?:-\d{2}(?:-\d{2})?)?)(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")
_SYSTEMS = {PERSONNUMMER_SYSTEM: "personnummer", SAMORDNINGSNUMMER_SYSTEM: "samordningsnummer"}


class BadParameter(ValueError):
    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class DateCondition:
    prefix: str
    low: date
    high: date


@dataclass(frozen=True)
class IdentifierCondition:
    values: tuple[str, ...]  # one of these values (canonical form first)
    kind: str | None = None  # when the system named a Swedish kind


@dataclass(frozen=True)
class PersonQuery:
    identifier: IdentifierCondition | None = None
    words: tuple[tuple[str | None, str], ...] = ()  # (part or None for any, folded prefix)
    birthdate: tuple[DateCondition, ...] = ()
    gender: str | None = None
    offset: int = 0
    limit: int = DEFAULT_LIMIT


def parse_identifier(text: str, today: date | None = None) -> IdentifierCondition:
    system, _, value = text.rpartition("|") if "|" in text else ("", "", text)
    value = value.strip()
    if not value:
        raise BadParameter("identifier", "a value is required")
    kind = _SYSTEMS.get(system)
    try:
        parsed = swedish_identifier(value, kind, today)
    except InvalidIdentifier as error:
        if kind:  # the caller said it is a personnummer/samordningsnummer: then it must be one
            raise BadParameter("identifier", str(error)) from None
        return IdentifierCondition((value,))
    return IdentifierCondition((parsed.value,), parsed.kind)


def parse_birthdate(text: str) -> DateCondition:
    prefix, value = ("eq", text)
    if text[:2] in _PREFIXES or text[:2] in _SAME_FOR_A_DAY:
        prefix, value = _SAME_FOR_A_DAY.get(text[:2], text[:2]), text[2:]
    match = _DATE.match(value)
    span = date_range(match[1]) if match else None
    if span is None:
        raise BadParameter("birthdate", f"{text!r} is not [eq|ne|gt|lt|ge|le|sa|eb]YYYY[-MM[-DD]]")
    return DateCondition(prefix, *span)


def parse_gender(text: str) -> str:
    gender = text.strip().lower()
    if gender not in GENDERS:
        raise BadParameter("gender", f"must be one of {', '.join(GENDERS)}")
    return gender


def parse_query(
    *,
    identifier: str | None = None,
    name: str | None = None,
    family: str | None = None,
    given: str | None = None,
    birthdate: list[str] | None = None,
    gender: str | None = None,
    offset: int = 0,
    limit: int = DEFAULT_LIMIT,
    today: date | None = None,
) -> PersonQuery:
    if not 0 <= offset <= LARGEST_OFFSET:
        raise BadParameter("offset", f"must be between 0 and {LARGEST_OFFSET}")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadParameter("limit", f"must be between 1 and {MAX_LIMIT}")
    words: list[tuple[str | None, str]] = []
    for part, text in (("name", name), ("family", family), ("given", given)):
        if text is None:
            continue
        folded = tokens(text)
        if not folded:
            raise BadParameter(part, "must contain a letter or a digit")
        words.extend((None if part == "name" else part, token) for token in folded)
    return PersonQuery(
        identifier=parse_identifier(identifier, today) if identifier is not None else None,
        words=tuple(words),
        birthdate=tuple(parse_birthdate(text) for text in birthdate or ()),
        gender=parse_gender(gender) if gender is not None else None,
        offset=offset,
        limit=limit,
    )
