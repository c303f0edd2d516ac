"""The HTTP side: If-Match, Prefer, committer headers, and the error body every module answers with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from fastapi import Depends, FastAPI, Query, Request
from fastapi.testclient import TestClient

from services.kernel.errors import (
    BadRequest,
    Conflict,
    ErrorDetail,
    PreconditionFailed,
    UnprocessableEntity,
    install_error_handlers,
)
from services.kernel.http import (
    base_url,
    committer,
    expected_version,
    header_text,
    http_date,
    wants_representation,
)
from services.kernel.versioning import Committer, VersionUid

UID = "8c07d7dd-db6c-43a3-9a79-6aadf71f2e47::journal.vgr.se::3"


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/if-match")
    def if_match(expected: VersionUid = Depends(expected_version)) -> dict:
        return {"uid": str(expected)}

    @app.get("/prefer")
    def prefer(representation: bool = Depends(wants_representation)) -> dict:
        return {"representation": representation}

    @app.get("/who")
    def who(person: Committer = Depends(committer)) -> dict:
        return {"name": person.name, "hsa_id": person.hsa_id}

    @app.get("/raise/{kind}")
    def fail(kind: str, limit: int = Query(10, le=100)) -> dict:
        raise {
            "conflict": Conflict(
                "active → completed is not allowed; allowed: suspended, stopped", "illegal_transition"
            ),
            "stale": PreconditionFailed("stale", f'"{UID}"'),
            "template": UnprocessableEntity("2 issues", [ErrorDetail("/context", "/context", "missing")]),
            "bad": BadRequest("nope"),
        }[kind]

    return TestClient(app)


@pytest.mark.parametrize("header", [UID, f'"{UID}"', f'W/"{UID}"', f" {UID} "])
def test_if_match_accepts_the_version_uid_quoted_or_not(client, header):
    assert client.get("/if-match", headers={"If-Match": header}).json() == {"uid": UID}


@pytest.mark.parametrize("headers", [{}, {"If-Match": ""}])
def test_missing_if_match_is_400(client, headers):
    response = client.get("/if-match", headers=headers)
    assert response.status_code == 400 and response.json()["code"] == "if_match_required"


@pytest.mark.parametrize("header", ["abc", "8c07d7dd-db6c-43a3-9a79-6aadf71f2e47::x::0", "not-a-uuid::x::1"])
def test_an_if_match_that_is_no_version_uid_is_400(client, header):
    assert client.get("/if-match", headers={"If-Match": header}).status_code == 400


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("return=minimal", False),
        ("return=representation", True),
        ("return = representation", True),
    ],
)
def test_prefer(client, header, expected):
    headers = {"Prefer": header} if header else {}
    assert client.get("/prefer", headers=headers).json() == {"representation": expected}


def test_committer_from_the_openehr_audit_header_or_x_headers(client):
    audit = {
        "openEHR-AUDIT_DETAILS.committer": 'name="Dr Berg", external_ref.id="x"',
        "X-Committer-Hsa-Id": "SE2321000131-P1",
    }
    assert client.get("/who", headers=audit).json() == {"name": "Dr Berg", "hsa_id": "SE2321000131-P1"}
    assert client.get("/who", headers={"X-Committer-Name": "Eva"}).json() == {
        "name": "Eva",
        "hsa_id": "unknown",
    }
    assert client.get("/who").json() == {"name": "unknown", "hsa_id": "unknown"}


@pytest.mark.parametrize("raw", ["Åsa Öberg", "%C3%85sa %C3%96berg"])
def test_header_text_keeps_swedish_letters(raw):
    as_received = raw.encode("utf-8").decode("latin-1")  # what the server sees for raw UTF-8 bytes
    assert header_text(as_received) == "Åsa Öberg"


def test_errors_have_the_openehr_body_and_status(client):
    conflict = client.get("/raise/conflict")
    assert conflict.status_code == 409
    assert conflict.json() == {
        "message": "active → completed is not allowed; allowed: suspended, stopped",
        "code": "illegal_transition",
        "details": [],
    }
    stale = client.get("/raise/stale")
    assert stale.status_code == 412 and stale.headers["ETag"] == f'"{UID}"'
    template = client.get("/raise/template")
    assert template.status_code == 422
    assert template.json()["details"] == [{"path": "/context", "pointer": "/context", "message": "missing"}]


def test_bad_parameters_and_unknown_routes_use_the_same_body(client):
    bad = client.get("/raise/bad", params={"limit": 1000})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_request"
    assert bad.json()["details"][0]["pointer"] == "/limit"
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and set(missing.json()) == {"message", "code", "details"}


@pytest.mark.parametrize("offset_hours", [0, 1, -5, 14])
def test_http_date_is_what_the_standard_library_writes(offset_hours):
    zone = timezone(timedelta(hours=offset_hours))
    moment = datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=zone)
    for _ in range(400):  # every weekday and month, a leap day, both ends of a day
        assert http_date(moment) == format_datetime(moment.astimezone(UTC), usegmt=True)
        moment += timedelta(days=3, hours=7, minutes=13, seconds=29)


@pytest.mark.parametrize(
    ("scheme", "headers", "server", "root_path", "expected"),
    [
        ("http", [(b"host", b"journal:8082")], ("10.0.0.1", 8082), "", "http://journal:8082"),
        ("https", [(b"host", b"ehr.vgr.se")], ["10.0.0.1", 443], "/journal", "https://ehr.vgr.se/journal"),
        ("http", [], ("127.0.0.1", 80), "", "http://127.0.0.1"),
        ("http", [], ("127.0.0.1", 8082), "", "http://127.0.0.1:8082"),
        ("http", [(b"host", b"bad host:x")], ("127.0.0.1", 8082), "", None),  # as Starlette has it
    ],
)
def test_base_url_is_starlettes_without_the_final_slash(scheme, headers, server, root_path, expected):
    scope = {"type": "http", "scheme": scheme, "headers": headers, "server": server, "root_path": root_path,
             "path": root_path + "/ehr", "query_string": b""}  # fmt: skip
    request = Request(scope)
    assert base_url(request) == str(request.base_url).rstrip("/")
    if expected is not None:
        assert base_url(request) == expected
