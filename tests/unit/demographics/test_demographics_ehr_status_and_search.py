from datetime import date

import pytest

from services.demographics.ehr_status import EhrStatusViolation, MalformedEhrStatus, check_ehr_status
from services.demographics.examples import ehr_status, personnummer
from services.demographics.search import BadParameter, parse_birthdate, parse_identifier, parse_query

TODAY = date(2026, 11, 24)
NAMESPACE = "vgr.demographics"


def test_ehr_status_subject_is_made_canonical():
    subject, status = check_ehr_status(ehr_status("121212-1212"), NAMESPACE, TODAY)
    assert (subject.value, subject.scheme, subject.namespace) == ("201212121212", "personnummer", NAMESPACE)
    assert status["subject"]["external_ref"]["id"]["value"] == "201212121212"
    assert status["is_queryable"] is True


def test_ehr_status_defaults_are_filled_in():
    body = {"subject": ehr_status()["subject"]}
    _, status = check_ehr_status(body, NAMESPACE, TODAY)
    assert status["_type"] == "EHR_STATUS"
    assert status["is_modifiable"] is True and status["archetype_node_id"]


def test_samordningsnummer_subject():
    number = personnummer(date(1990, 1, 5), 42, samordningsnummer=True)
    subject, _ = check_ehr_status(ehr_status(number), NAMESPACE, TODAY)
    assert subject.scheme == "samordningsnummer"


@pytest.mark.parametrize("body", [[], "x", {"_type": "COMPOSITION"}])
def test_not_an_ehr_status_is_malformed(body):
    with pytest.raises(MalformedEhrStatus):
        check_ehr_status(body, NAMESPACE, TODAY)


def test_bad_check_digit_names_the_path():
    with pytest.raises(EhrStatusViolation) as caught:
        check_ehr_status(ehr_status("19121212-1213", "personnummer"), NAMESPACE, TODAY)
    assert [issue.path for issue in caught.value.issues] == ["/subject/external_ref/id/value"]


def test_scheme_namespace_and_kind_are_checked():
    body = ehr_status("19121212-1212", "passport")
    body["subject"]["external_ref"]["namespace"] = "elsewhere"
    with pytest.raises(EhrStatusViolation) as caught:
        check_ehr_status(body, NAMESPACE, TODAY)
    assert {issue.path for issue in caught.value.issues} == {
        "/subject/external_ref/id/scheme",
        "/subject/external_ref/namespace",
    }
    with pytest.raises(EhrStatusViolation, match="not a samordningsnummer"):
        check_ehr_status(ehr_status("19121212-1212", "samordningsnummer"), NAMESPACE, TODAY)


def test_missing_subject():
    with pytest.raises(EhrStatusViolation) as caught:
        check_ehr_status({"_type": "EHR_STATUS"}, NAMESPACE, TODAY)
    assert caught.value.issues[0].pointer == "/subject/external_ref/id"


@pytest.mark.parametrize(
    "text",
    [
        "19121212-1212",
        "191212121212",
        "121212+1212",
        "http://electronichealth.se/identifier/personnummer|191212121212",
    ],
)
def test_identifier_any_form_is_canonical(text):
    assert parse_identifier(text, TODAY).values == ("191212121212",)


def test_identifier_not_swedish_is_matched_as_given_unless_the_system_says_so():
    assert parse_identifier("X-123", TODAY).values == ("X-123",)
    with pytest.raises(BadParameter):
        parse_identifier("http://electronichealth.se/identifier/personnummer|19121212-1213", TODAY)


@pytest.mark.parametrize(
    ("text", "prefix", "low", "high"),
    [
        ("1950", "eq", date(1950, 1, 1), date(1950, 12, 31)),
        ("ge1950-01-01", "ge", date(1950, 1, 1), date(1950, 1, 1)),
        ("lt1960-02", "lt", date(1960, 2, 1), date(1960, 2, 29)),
        ("sa1950-01-01", "gt", date(1950, 1, 1), date(1950, 1, 1)),
        ("eb1950", "lt", date(1950, 1, 1), date(1950, 12, 31)),
        ("1950-04-02T00:00:00Z", "eq", date(1950, 4, 2), date(1950, 4, 2)),
    ],
)
def test_birthdate_prefixes(text, prefix, low, high):
    condition = parse_birthdate(text)
    assert (condition.prefix, condition.low, condition.high) == (prefix, low, high)


@pytest.mark.parametrize("text", ["xx1950", "1950-13-01", "19500101", "ge", "ap1950", "1950-04-02Tnoon"])
def test_bad_birthdate(text):
    with pytest.raises(BadParameter):
        parse_birthdate(text)


def test_query_folds_name_words():
    query = parse_query(name="Åke Öst", family="Lind", limit=5)
    assert query.words == ((None, "ake"), (None, "ost"), ("family", "lind"))
    assert query.limit == 5


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"gender": "x"}, {"name": "--"}]
)
def test_bad_query_parameters(kwargs):
    with pytest.raises(BadParameter):
        parse_query(**kwargs)
