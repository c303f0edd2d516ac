from datetime import date

import pytest

from services.demographics.examples import make_person, personnummer
from services.demographics.folding import fold, prefix_upper_bound, tokens
from services.demographics.person import RuleViolation, extract

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Åkesson", "akesson"),
        ("Östlund", "ostlund"),
        ("ÄNGSTRÖM", "angstrom"),
        ("Müller", "muller"),
        ("Søren Ærø", "soren aero"),
        ("Strauß", "strauss"),
        ("Zoë Chloé", "zoe chloe"),
    ],
)
def test_fold_removes_case_and_diacritics(text, folded):
    assert fold(text) == folded


def test_tokens_split_on_spaces_and_hyphens():
    assert tokens("af Klint-Åkesson") == ["af", "klint", "akesson"]
    assert tokens("  ") == []


def test_prefix_upper_bound_is_the_next_string_after_every_prefixed_one():
    assert prefix_upper_bound("ake") == "akf"
    assert prefix_upper_bound("ake") > "akesson" and prefix_upper_bound("ake") <= "akf"


def test_extract_reads_identifiers_names_birth_date_and_gender():
    number = personnummer(date(1950, 4, 2), 123)
    person = make_person(
        given="Åsa Maria", family="Östlund-Åkesson", identifiers=[number[:8] + "-" + number[8:]]
    )
    fields = extract(person, TODAY)
    assert [(i.kind, i.value) for i in fields.identifiers] == [("personnummer", number)]
    assert ("family", "ostlund") in fields.name_tokens
    assert ("family", "akesson") in fields.name_tokens
    assert ("given", "asa") in fields.name_tokens
    assert ("given", "maria") in fields.name_tokens
    assert fields.birth_date_low == fields.birth_date_high == date(1950, 4, 2)
    assert fields.gender == "female"
    assert fields.sort_name == "ostlund-akesson asa maria"


def test_samordningsnummer_is_recognised_and_canonical():
    number = personnummer(date(1990, 1, 5), 42, samordningsnummer=True)
    fields = extract(
        make_person(identifiers=[number[2:8] + "-" + number[8:]], birth_date="1990-01-05"), TODAY
    )
    assert [(i.kind, i.value) for i in fields.identifiers] == [("samordningsnummer", number)]


def test_a_bad_check_digit_is_reported_with_its_path_and_pointer():
    good = personnummer(date(1950, 4, 2), 123)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    person = make_person(identifiers=[good, bad], birth_date="1950-04-02")
    with pytest.raises(RuleViolation) as caught:
        extract(person, TODAY)
    [issue] = caught.value.issues
    assert issue.pointer == "/details/items/3/items/0/value/id"
    assert issue.path == (
        "/details[openEHR-DEMOGRAPHIC-ITEM_TREE.person_details.v0]"
        "/items[openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0]/items[at0001]/value/id"
    )
    assert "check digit" in issue.message


def test_declared_kind_must_match_the_number():
    number = personnummer(date(1990, 1, 5), 42, samordningsnummer=True)
    person = make_person(identifiers=[number], birth_date="1990-01-05")
    person["details"]["items"][2]["items"][0]["value"]["type"] = "personnummer"
    with pytest.raises(RuleViolation, match="is a samordningsnummer, not a personnummer"):
        extract(person, TODAY)


def test_other_identifiers_are_kept_as_given():
    person = make_person()
    cluster = person["details"]["items"][2]
    cluster["items"][0]["value"] = {"_type": "DV_IDENTIFIER", "id": "X-123", "type": "Reservnummer"}
    [identifier] = extract(person, TODAY).identifiers
    assert (identifier.kind, identifier.value, identifier.swedish) == ("reservnummer", "X-123", False)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("1950", date(1950, 1, 1), date(1950, 12, 31)),
        ("1952-02", date(1952, 2, 1), date(1952, 2, 29)),
        ("1950-04-02", date(1950, 4, 2), date(1950, 4, 2)),
    ],
)
def test_partial_birth_dates_are_ranges(text, low, high):
    fields = extract(make_person(birth_date=text), TODAY)
    assert (fields.birth_date_low, fields.birth_date_high) == (low, high)


def test_a_malformed_birth_date_is_an_issue():
    with pytest.raises(RuleViolation, match="not an ISO 8601 date"):
        extract(make_person(birth_date="2. april 1950"), TODAY)


@pytest.mark.parametrize("gender", ["male", "female", "other", "unknown"])
def test_gender_codes_map_to_fhir(gender):
    assert extract(make_person(gender=gender), TODAY).gender == gender


def test_gender_as_plain_text_and_absent():
    person = make_person()
    person["details"]["items"][1]["value"] = {"_type": "DV_TEXT", "value": "Man"}
    assert extract(person, TODAY).gender == "male"
    assert extract(make_person(gender=None), TODAY).gender is None


def test_nodes_outside_their_archetype_are_ignored():
    person = make_person()
    # an at0002 ELEMENT in person_details is not a given name
    person["details"]["items"][0]["items"].append(
        {"_type": "ELEMENT", "archetype_node_id": "at0002", "value": {"_type": "DV_TEXT", "value": "Ignored"}}
    )
    assert ("given", "ignored") not in extract(person, TODAY).name_tokens
