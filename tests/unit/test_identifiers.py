from datetime import date

import pytest

from archetypes.identifiers import (
    PERSONNUMMER,
    SAMORDNINGSNUMMER,
    InvalidIdentifier,
    luhn_check_digit,
    parse_person_identifier,
)

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    "text",
    ["19121212-1212", "191212121212", "121212+1212"],
)
def test_skatteverket_test_number_in_every_form(text):
    parsed = parse_person_identifier(text, TODAY)
    assert parsed.kind == PERSONNUMMER
    assert parsed.value == "191212121212"
    assert parsed.birth_date == date(1912, 12, 12)


def test_ten_digits_with_minus_is_the_most_recent_century():
    assert parse_person_identifier("121212-1212", TODAY).birth_date == date(2012, 12, 12)
    assert parse_person_identifier("010101-0007", TODAY).birth_date == date(2001, 1, 1)


def test_samordningsnummer_adds_sixty_to_the_day():
    parsed = parse_person_identifier("19701063-2391", TODAY)
    assert parsed.kind == SAMORDNINGSNUMMER
    assert parsed.birth_date == date(1970, 10, 3)
    assert parsed.value == "197010632391"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("19121212-1213", "check digit"),
        ("19121312-1211", "date of birth"),  # month 13, right check digit
        ("20991212-1212", "check digit"),
        ("1912121212", "check digit"),  # 1912-12-12 read as ten digits is 121212-12|12: wrong check
        ("abc", "form"),
        ("19121212-12123", "form"),
    ],
)
def test_rejects_with_reason(text, reason):
    with pytest.raises(InvalidIdentifier, match=reason):
        parse_person_identifier(text, TODAY)


def test_future_birth_date_is_rejected():
    check = luhn_check_digit("271224" + "123")
    with pytest.raises(InvalidIdentifier, match="future"):
        parse_person_identifier(f"20271224-123{check}", TODAY)


def test_luhn_matches_known_numbers():
    assert luhn_check_digit("811218987") == 6  # 811218-9876, Skatteverket's documented example
