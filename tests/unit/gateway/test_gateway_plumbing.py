"""Settings, module error translation, search value parsing and date bounds."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.clinical import date_bounds
from gateway.fhir.errors import FhirError
from gateway.fhir.http import fhir_instant, http_date
from gateway.fhir.routes import version_number
from gateway.fhir.search import parse_date, parse_token, shape
from gateway.journal.mapping import condition_id, split_condition_id
from gateway.modules import module_error
from gateway.settings import GatewaySettings


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("GATEWAY_DEMOGRAPHICS_URL", "http://demographics:8081/")
    monkeypatch.setenv("GATEWAY_PUBLIC_BASE_URL", "https://fhir.vgregion.se")
    monkeypatch.setenv("GATEWAY_READ_TIMEOUT", "3.5")
    settings = GatewaySettings()
    assert settings.module_url("demographics") == "http://demographics:8081"
    assert settings.module_url("referrals") == "http://127.0.0.1:8084"
    assert settings.public_base_url == "https://fhir.vgregion.se" and settings.read_timeout == 3.5


def answer(status: int, body: dict) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("GET", "http://m/x"))


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "deleted", 410),
        (404, "not_found", 404),
        (409, "conflict", 409),
        (412, "stale", 412),
        (400, "bad_parameter", 400),
        (503, "unavailable", 503),
        (500, "error", 502),
        (422, "template", 422),
    ],
)
def test_module_errors_become_fhir_statuses(status, code, expected):
    details = [
        {
            "path": "/content[openEHR-EHR-ACTION.medication.v1]/time",
            "pointer": "/content/1/time",
            "message": "required",
        }
    ]
    error = module_error("medication", answer(status, {"message": "m", "code": code, "details": details}))
    assert isinstance(error, FhirError) and error.status == expected
    if expected == 422:
        assert any("/content[openEHR-EHR-ACTION.medication.v1]/time" in i.diagnostics for i in error.issues)
    if expected in (503, 502):
        assert "medication" in error.issues[0].diagnostics


def test_a_module_answer_that_is_not_json_is_still_an_outcome():
    response = httpx.Response(500, content=b"<html>oops</html>", request=httpx.Request("GET", "http://m/x"))
    assert module_error("journal", response).status == 502


@pytest.mark.parametrize(
    ("text", "prefix", "value"),
    [
        ("1950", "eq", "1950"),
        ("ge1950-01-01", "ge", "1950-01-01"),
        ("lt2026-11", "lt", "2026-11"),
        ("2026-11-24T04:00:00Z", "eq", "2026-11-24T04:00:00Z"),
        ("sa2026-11-24T04:00:00+01:00", "sa", "2026-11-24T04:00:00+01:00"),
    ],
)
def test_date_values(text, prefix, value):
    parsed = parse_date("date", text)
    assert (parsed.prefix, parsed.value) == (prefix, value)


@pytest.mark.parametrize("text", ["19500101", "ge1950-13-01", "xx1950", "1950-02-30", ""])
def test_bad_date_values_are_400(text):
    with pytest.raises(FhirError) as caught:
        parse_date("birthdate", text)
    assert caught.value.status == 400 and caught.value.issues[0].expression == ["birthdate"]


def test_tokens():
    assert parse_token("a|b") == parse_token("a|b")
    assert (parse_token("b").system, parse_token("b").code) == (None, "b")
    assert (parse_token("|b").system, parse_token("a|").code) == ("", "")


def test_date_bounds_are_inclusive():
    low, high = date_bounds("date", [parse_date("date", "2026-11-24")])
    assert (low, high) == ("2026-11-24T00:00:00Z", "2026-11-24T23:59:59.999999Z")
    low, high = date_bounds("date", [parse_date("date", "gt2026"), parse_date("date", "le2027-02")])
    assert (low, high) == ("2027-01-01T00:00:00Z", "2027-02-28T23:59:59.999999Z")
    with pytest.raises(FhirError):
        date_bounds("date", [parse_date("date", "ne2026")])


def test_elements_keep_the_mandatory_ones_and_mark_the_subset():
    patient = {
        "resourceType": "Patient",
        "id": "1",
        "meta": {"versionId": "1"},
        "gender": "male",
        "birthDate": "1950",
    }
    shaped = shape(patient, None, ["gender"])
    assert shaped == {
        "resourceType": "Patient",
        "id": "1",
        "gender": "male",
        "meta": {
            "versionId": "1",
            "tag": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
            ],
        },
    }
    assert shape(patient, None, None) is patient


@pytest.mark.parametrize("version_id", ["¹", "²3", "x", "-1", "1234567890"])
def test_a_version_id_that_is_not_a_small_ascii_number_is_404(version_id):
    """schemathesis: GET /fhir/Task/{id}/_history/¹ answered 500 ('¹'.isdigit() is true, int('¹') fails)."""
    with pytest.raises(FhirError) as raised:
        version_number("Task", "abc", version_id)
    assert raised.value.status == 404
    assert version_number("Task", "abc", "12") == 12


def test_a_condition_id_with_a_non_ascii_index_is_unknown():
    ehr, obj = "5b0c4f0e-3f9e-4c5e-9d59-1a7d1f3b2c11", "9e2d7a61-8c0b-4f1e-a6d3-2b4c5d6e7f80"
    valid = condition_id(ehr, obj, 2)
    assert split_condition_id(valid) == (ehr, obj, 2)
    assert split_condition_id(valid.rsplit("-", 1)[0] + "-²") is None


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("Tue, 24 Nov 2026 06:18:57 GMT", "2026-11-24T06:18:57Z"),  # the form HTTP servers send
        ("Tue, 24 Nov 2026 07:18:57 +0100", "2026-11-24T06:18:57Z"),  # older forms still read
        ("2026-11-24T07:18:57.956790+01:00", "2026-11-24T06:18:57.956Z"),
        ("Tue, 31 Feb 2026 06:18:57 GMT", None),
        ("Tue, 24 Nov 2026 24:18:57 GMT", None),
        ("soon GMT", None),
        ("", None),
    ],
)
def test_module_timestamps_become_fhir_instants(text, instant):
    assert fhir_instant(text) == instant


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        ("2026-11-24T06:18:57Z", "Tue, 24 Nov 2026 06:18:57 GMT"),
        ("2024-02-29T23:59:59.956Z", "Thu, 29 Feb 2024 23:59:59 GMT"),  # whole seconds
        ("2026-01-01T00:30:00+01:00", "Wed, 31 Dec 2025 23:30:00 GMT"),  # other offsets: to UTC
        ("2026-12-03T10:00:00.5+00:00", "Thu, 03 Dec 2026 10:00:00 GMT"),
    ],
)
def test_instants_become_http_dates_and_back(instant, text):
    moment = datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(UTC)
    assert http_date(instant) == text == format_datetime(moment, usegmt=True)  # the library's reading
    assert fhir_instant(text) == moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("threshold", [12_345, 0])
def test_the_lifespan_sets_garbage_collection(threshold: int) -> None:
    before = gc.get_threshold()
    gc.unfreeze()  # another app's lifespan in this process may have frozen objects already
    unanswered = httpx.MockTransport(lambda request: httpx.Response(404))
    app = create_app(GatewaySettings(gc_threshold=threshold), transport=unanswered)
    try:
        with TestClient(app):
            assert gc.get_threshold() == ((threshold, *before[1:]) if threshold else before)
            assert (gc.get_freeze_count() > 0) == bool(threshold)
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
