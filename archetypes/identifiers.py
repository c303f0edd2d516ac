"""Swedish person identifiers: personnummer and samordningsnummer.

Both are ten digits YYMMDD-NNNC (or twelve, YYYYMMDDNNNC) where C is a Luhn check digit over
the ten-digit form. A samordningsnummer adds 60 to the day of birth. The separator is '-' or,
from the year a person turns 100, '+'. Shared by demographics (which stores them) and the
gateway (which receives them as FHIR identifiers), so both reject the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

PERSONNUMMER_SYSTEM = "http://electronichealth.se/identifier/personnummer"
SAMORDNINGSNUMMER_SYSTEM = "http://electronichealth.se/identifier/samordningsnummer"
HSA_ID_SYSTEM = "urn:oid:1.2.752.29.4.19"

PERSONNUMMER = "personnummer"
SAMORDNINGSNUMMER = "samordningsnummer"

_FORM = re.compile(r"^(?P<century>\d{2})?(?P<yymmdd>\d{6})(?P<sep>[-+]?)(?P<serial>\d{3})(?P<check>\d)$")


class InvalidIdentifier(ValueError):
    """The text is not a well-formed personnummer or samordningsnummer; the message says why."""


@dataclass(frozen=True)
class PersonIdentifier:
    kind: str  # PERSONNUMMER or SAMORDNINGSNUMMER
    value: str  # canonical twelve-digit form, YYYYMMDDNNNC
    birth_date: date

    @property
    def system(self) -> str:
        return PERSONNUMMER_SYSTEM if self.kind == PERSONNUMMER else SAMORDNINGSNUMMER_SYSTEM


# Luhn doubles every other digit, from the first, and adds the digits of the products.
_DOUBLED = {str(n): 2 * n // 10 + 2 * n % 10 for n in range(10)}
_DIGIT = {str(n): n for n in range(10)}


def luhn_check_digit(nine_digits: str) -> int:
    # map over dict lookups: a quarter of the cost of a Python loop (the gateway checks several per search)
    total = sum(map(_DOUBLED.__getitem__, nine_digits[0::2])) + sum(map(_DIGIT.__getitem__, nine_digits[1::2]))
    return (10 - total % 10) % 10


def parse_person_identifier(text: str, today: date | None = None) -> PersonIdentifier:
    """Parse and check a personnummer or samordningsnummer (date and check digit).

    Accepts 'YYYYMMDD-NNNC', 'YYYYMMDDNNNC', 'YYMMDD-NNNC' and 'YYMMDD+NNNC'. A ten-digit
    form is resolved to the century that makes the person at most 99 years old ('-') or at
    least 100 ('+').
    """
    match = _FORM.match(text.strip())
    if not match:
        raise InvalidIdentifier(f"{text!r} is not of the form YYYYMMDD-NNNC or YYMMDD-NNNC")
    yymmdd, serial, check = match["yymmdd"], match["serial"], match["check"]
    if luhn_check_digit(yymmdd + serial) != int(check):
        raise InvalidIdentifier(f"{text!r} has a wrong check digit")
    year_2, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    kind = PERSONNUMMER
    if day > 60:
        kind, day = SAMORDNINGSNUMMER, day - 60
    today = today or date.today()
    if match["century"]:
        year = int(match["century"]) * 100 + year_2
    else:
        year = (today.year // 100) * 100 + year_2
        if year > today.year:
            year -= 100
        if match["sep"] == "+":
            year -= 100
    try:
        born = date(year, month, day)
    except ValueError:
        raise InvalidIdentifier(f"{text!r} does not hold a valid date of birth") from None
    if born > today:
        raise InvalidIdentifier(f"{text!r} has a date of birth in the future")
    return PersonIdentifier(kind, f"{year:04d}{month:02d}{int(yymmdd[4:6]):02d}{serial}{check}", born)
