"""The search fields of the template's own example persons, and the builder against the real template."""

import json
from datetime import date
from pathlib import Path

import pytest

from archetypes import validate
from services.demographics.examples import TEMPLATE_ID, make_person, personnummer
from services.demographics.person import extract

EXAMPLES = Path(__file__).resolve().parents[3] / "archetypes" / "examples" / TEMPLATE_ID / "valid"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def test_tolvan_tolvansson():
    fields = extract(example("tolvan_tolvansson.json"))
    assert [(i.kind, i.value) for i in fields.identifiers] == [("personnummer", "191212121212")]
    assert fields.name_tokens == {("given", "tolvan"), ("family", "tolvansson")}
    assert fields.birth_date_low == date(1912, 12, 12)
    assert fields.gender == "male"


def test_samordningsnummer_example():
    fields = extract(example("samordningsnummer.json"))
    assert [(i.kind, i.value) for i in fields.identifiers] == [("samordningsnummer", "195503614025")]
    assert fields.gender == "female"


def test_reservnummer_is_kept_but_not_checked():
    fields = extract(example("personnummer_och_reservnummer.json"))
    assert {(i.kind, i.value, i.swedish) for i in fields.identifiers} == {
        ("personnummer", "198005142388", True),
        ("reservnummer", "VGR-R-2026-000318", False),
    }
    assert extract(example("reservnummer_okand.json")).gender == "unknown"


@pytest.mark.parametrize(
    "person",
    [
        make_person(),
        make_person(given="Märta Lovisa", family="Ängström-Lind", gender=None),
        make_person(identifiers=[personnummer(date(1990, 1, 5), 42, samordningsnummer=True)], gender="other"),
        make_person(identifiers=["19121212-1212", "20121212-1212"], gender="unknown"),
    ],
)
def test_the_builder_makes_valid_persons(person):
    assert validate(person, TEMPLATE_ID) == []
