"""Synthetic patients: a valid personnummer (real date, Luhn check digit, the sex digit matching
the gender), a Swedish name and an address."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from archetypes.identifiers import PERSONNUMMER, SAMORDNINGSNUMMER, luhn_check_digit, parse_person_identifier

from . import data

SAMORDNINGSNUMMER_SHARE = 0.05  # persons not (yet) registered in Sweden


@dataclass(frozen=True)
class Patient:
    personnummer: str  # twelve digits, YYYYMMDDNNNC (a samordningsnummer when `scheme` says so)
    given: str
    family: str
    gender: str  # "male" | "female"
    birth_date: date
    street: str
    postal_code: str
    city: str
    scheme: str = "personnummer"  # or "samordningsnummer" (day of birth + 60)

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}"


def personnummer(birth: date, serial: int, samordningsnummer: bool = False) -> str:
    """The twelve-digit personnummer (or samordningsnummer: day + 60) for a birth date and a
    three-digit serial (its last digit is the sex digit: odd male, even female)."""
    day = birth.day + (60 if samordningsnummer else 0)
    nine = f"{birth:%y%m}{day:02d}{serial:03d}"
    return f"{birth:%Y%m}{day:02d}{serial:03d}{luhn_check_digit(nine)}"


def make_patient(rng: random.Random, used: set[str], today: date) -> Patient:
    while True:
        gender = rng.choice(("female", "male"))
        birth = today - timedelta(days=rng.randint(365, 95 * 365))
        serial = rng.randint(0, 99) * 10 + rng.choice(
            (1, 3, 5, 7, 9) if gender == "male" else (0, 2, 4, 6, 8)
        )
        coordination = rng.random() < SAMORDNINGSNUMMER_SHARE
        number = personnummer(birth, serial, coordination)
        if number not in used:
            used.add(number)
            break
    assert parse_person_identifier(number, today=today).value == number
    city, postal_prefix = rng.choice(data.CITIES)
    return Patient(
        personnummer=number,
        given=rng.choice(data.MALE_GIVEN if gender == "male" else data.FEMALE_GIVEN),
        family=rng.choice(data.FAMILY),
        gender=gender,
        birth_date=birth,
        street=f"{rng.choice(data.STREETS)} {rng.randint(1, 80)}",
        postal_code=f"{postal_prefix}{rng.randint(100, 999)}",
        city=city,
        scheme=SAMORDNINGSNUMMER if coordination else PERSONNUMMER,
    )


def make_patients(count: int, rng: random.Random, today: date) -> list[Patient]:
    used: set[str] = set()
    return [make_patient(rng, used, today) for _ in range(count)]
