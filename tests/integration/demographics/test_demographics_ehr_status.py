"""EHR_STATUS as a versioned object (VERSIONED_EHR_STATUS), on SQLite and PostgreSQL, and what a closed
EHR means to a clinical module (the journal, asking the real demographics app)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from services.demographics.app import MIGRATIONS
from services.demographics.app import create_app as create_demographics
from services.demographics.examples import ehr_status
from services.demographics.settings import DemographicsSettings
from services.journal.app import create_app as create_journal
from services.journal.settings import JournalSettings
from services.kernel.database import create_database_engine
from services.kernel.migrations import upgrade
from services.kernel.schema import UtcDateTime
from services.kernel.testing import fresh_sqlite_database
from tests.integration.demographics.conftest import BASE
from tests.integration.demographics.fakes import FAKE_TEMPLATES as DEMOGRAPHICS_TEMPLATES
from tests.integration.demographics.fakes import fake_validator as demographics_validator
from tests.integration.journal.fakes import FAKE_TEMPLATES, fake_validator, journal_note

pytestmark = pytest.mark.anyio


async def new_ehr(client, number: str = "19121212-1212") -> tuple[str, str]:
    """(ehr_id, ETag of its first EHR_STATUS version)."""
    created = await client.post(f"{BASE}/ehr", json=ehr_status(number), headers={"X-Committer-Name": "%C3%85sa"})
    assert created.status_code == 201, created.text
    ehr_id = created.json()["ehr_id"]["value"]
    return ehr_id, f'"{created.json()["ehr_status"]["uid"]["value"]}"'


def closed(number: str = "19121212-1212", **flags: bool) -> dict:
    return {**ehr_status(number), "is_modifiable": False, "is_queryable": False, **flags}


async def test_get_the_latest_with_version_headers(client):
    ehr_id, etag = await new_ehr(client)
    response = await client.get(f"{BASE}/ehr/{ehr_id}/ehr_status")
    assert response.status_code == 200
    status = response.json()
    assert status["_type"] == "EHR_STATUS" and status["is_modifiable"] is True
    assert response.headers["ETag"] == etag
    assert (
        response.headers["Location"] == f"http://demographics.test{BASE}/ehr/{ehr_id}/ehr_status/{etag.strip(chr(34))}"
    )
    assert response.headers["Last-Modified"].endswith("GMT")
    assert (await client.get(f"{BASE}/ehr/{ehr_id}")).json()["ehr_status"] == status


async def test_put_makes_a_new_version_that_the_ehr_shows(client):
    ehr_id, etag = await new_ehr(client)
    minimal = await client.put(f"{BASE}/ehr/{ehr_id}/ehr_status", json=closed(), headers={"If-Match": etag})
    assert minimal.status_code == 204, minimal.text
    assert minimal.content == b""
    second = minimal.headers["ETag"].strip('"')
    assert second == etag.strip('"').replace("::1", "::2")
    assert minimal.headers["Location"].endswith(f"/ehr/{ehr_id}/ehr_status/{second}")

    ehr = (await client.get(f"{BASE}/ehr/{ehr_id}")).json()
    assert ehr["ehr_status"]["uid"]["value"] == second
    assert ehr["ehr_status"]["is_modifiable"] is False and ehr["ehr_status"]["is_queryable"] is False

    reopened = await client.put(f"{BASE}/ehr/{ehr_id}/ehr_status", json=ehr_status("191212121212"),
                                headers={"If-Match": second, "Prefer": "return=representation"})  # fmt: skip
    assert reopened.status_code == 200
    assert reopened.json()["uid"]["value"].endswith("::3")
    assert reopened.json()["is_modifiable"] is True
    assert reopened.json()["subject"]["external_ref"]["id"]["value"] == "191212121212"


async def test_if_match_missing_is_400_and_stale_is_412_with_the_current_etag(client):
    ehr_id, etag = await new_ehr(client)
    url = f"{BASE}/ehr/{ehr_id}/ehr_status"
    missing = await client.put(url, json=closed())
    assert missing.status_code == 400 and missing.json()["code"] == "if_match_required"
    current = (await client.put(url, json=closed(), headers={"If-Match": etag})).headers["ETag"]
    stale = await client.put(url, json=ehr_status(), headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["ETag"] == current
    # a version of another object is not the current version either
    other = await client.put(url, json=ehr_status(), headers={"If-Match": f"{uuid.uuid4()}::x::1"})
    assert other.status_code == 412 and other.headers["ETag"] == current
    assert len((await client.get(f"{BASE}/ehr/{ehr_id}/versioned_ehr_status/revision_history")).json()) == 2


async def test_concurrent_puts_on_one_version_make_one_new_version(client):
    ehr_id, etag = await new_ehr(client)
    url = f"{BASE}/ehr/{ehr_id}/ehr_status"
    answers = await asyncio.gather(*(client.put(url, json=closed(), headers={"If-Match": etag}) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [204] + [412] * 5


async def test_unknown_ehr_is_404_everywhere(client):
    unknown = uuid.uuid4()
    for path in ("ehr_status", f"ehr_status/{unknown}::demographics.vgr.se::1", "versioned_ehr_status",
                 "versioned_ehr_status/revision_history", "versioned_ehr_status/version"):  # fmt: skip
        response = await client.get(f"{BASE}/ehr/{unknown}/{path}")
        assert response.status_code == 404, path
        assert response.json()["code"] == "ehr_not_found"
    put = await client.put(f"{BASE}/ehr/{unknown}/ehr_status", json=closed(), headers={"If-Match": f"{unknown}::x::1"})
    assert put.status_code == 404
    assert (await client.get(f"{BASE}/ehr/not-a-uuid/ehr_status")).status_code == 400


async def test_the_subject_cannot_change(client):
    ehr_id, etag = await new_ehr(client)
    moved = await client.put(
        f"{BASE}/ehr/{ehr_id}/ehr_status", json=closed("20121212-1212"), headers={"If-Match": etag}
    )
    assert moved.status_code == 422
    body = moved.json()
    assert body["code"] == "subject_changed"
    assert body["details"][0]["path"] == "/subject/external_ref/id/value"
    assert "191212121212" in body["details"][0]["message"]
    assert (await client.get(f"{BASE}/ehr/{ehr_id}/ehr_status")).headers["ETag"] == etag  # nothing saved


@pytest.mark.parametrize(
    ("body", "status", "code", "path"),
    [
        ({"_type": "COMPOSITION"}, 400, "malformed_ehr_status", None),
        ([], 400, "malformed_ehr_status", None),
        ({**ehr_status(), "is_modifiable": "no"}, 422, "invalid_ehr_status", "/is_modifiable"),
        ({**ehr_status(), "is_queryable": None}, 422, "invalid_ehr_status", "/is_queryable"),
        ({k: v for k, v in ehr_status().items() if k != "subject"}, 422, "invalid_ehr_status",
         "/subject/external_ref/id"),
    ],
)  # fmt: skip
async def test_bad_bodies_are_refused_and_nothing_is_saved(client, body, status, code, path):
    ehr_id, etag = await new_ehr(client)
    response = await client.put(f"{BASE}/ehr/{ehr_id}/ehr_status", json=body, headers={"If-Match": etag})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    if path:
        assert response.json()["details"][0]["path"] == path
    assert (await client.get(f"{BASE}/ehr/{ehr_id}/ehr_status")).headers["ETag"] == etag


async def test_revision_history_and_versions(client):
    ehr_id, etag = await new_ehr(client)
    second = (await client.put(f"{BASE}/ehr/{ehr_id}/ehr_status", json=closed(),
                               headers={"If-Match": etag, "X-Committer-Name": "Bo"})).headers["ETag"]  # fmt: skip
    history = (await client.get(f"{BASE}/ehr/{ehr_id}/versioned_ehr_status/revision_history")).json()
    assert [item["version_id"]["value"] for item in history] == [etag.strip('"'), second.strip('"')]
    assert [item["audits"][0]["change_type"]["value"] for item in history] == ["creation", "modification"]
    assert [item["audits"][0]["committer"]["name"] for item in history] == ["Åsa", "Bo"]

    versioned = (await client.get(f"{BASE}/ehr/{ehr_id}/versioned_ehr_status")).json()
    assert versioned["_type"] == "VERSIONED_EHR_STATUS"
    assert versioned["uid"]["value"] == etag.strip('"').split("::")[0]
    assert versioned["owner_id"]["value"] == ehr_id
    assert versioned["time_created"]["value"] == history[0]["audits"][0]["time_committed"]["value"]

    first = await client.get(f"{BASE}/ehr/{ehr_id}/ehr_status/{etag.strip(chr(34))}")
    assert first.status_code == 200 and first.json()["is_modifiable"] is True
    assert first.headers["ETag"] == etag
    version = (await client.get(f"{BASE}/ehr/{ehr_id}/versioned_ehr_status/version/{second.strip(chr(34))}")).json()
    assert version["_type"] == "ORIGINAL_VERSION" and version["data"]["is_modifiable"] is False
    assert version["preceding_version_uid"]["value"] == etag.strip('"')
    latest = (await client.get(f"{BASE}/ehr/{ehr_id}/versioned_ehr_status/version")).json()
    assert latest["uid"]["value"] == second.strip('"')

    other_ehr, other_etag = await new_ehr(client, "20121212-1212")
    mixed = await client.get(f"{BASE}/ehr/{ehr_id}/ehr_status/{other_etag.strip(chr(34))}")
    assert mixed.status_code == 404 and mixed.json()["code"] == "version_not_found"
    assert (await client.get(f"{BASE}/ehr/{ehr_id}/ehr_status/not-a-version")).status_code == 400


async def test_version_at_time(client):
    ehr_id, etag = await new_ehr(client)
    url = f"{BASE}/ehr/{ehr_id}/ehr_status"
    second = await client.put(url, json=closed(), headers={"If-Match": etag})
    history = (await client.get(f"{BASE}/ehr/{ehr_id}/versioned_ehr_status/revision_history")).json()
    first_time, second_time = (datetime.fromisoformat(i["audits"][0]["time_committed"]["value"]) for i in history)

    at_first = await client.get(url, params={"version_at_time": first_time.isoformat()})
    assert at_first.headers["ETag"] == etag and at_first.json()["is_modifiable"] is True
    at_second = await client.get(url, params={"version_at_time": (second_time + timedelta(days=1)).isoformat()})
    assert at_second.headers["ETag"] == second.headers["ETag"]
    before = await client.get(url, params={"version_at_time": (first_time - timedelta(seconds=1)).isoformat()})
    assert before.status_code == 404 and before.json()["code"] == "version_not_found"
    assert (await client.get(url, params={"version_at_time": "yesterday"})).status_code == 400
    version = await client.get(f"{BASE}/ehr/{ehr_id}/versioned_ehr_status/version",
                               params={"version_at_time": first_time.isoformat()})  # fmt: skip
    assert version.json()["uid"]["value"] == etag.strip('"')


async def test_a_closed_ehr_refuses_compositions_in_a_clinical_module(client, demographics_app, tmp_path):
    """The journal asks the real demographics app (kernel EhrDirectory, no cache): 409 and nothing saved
    while the EHR is closed; a new EHR_STATUS version re-opens it."""
    ehr_id, etag = await new_ehr(client)
    settings = JournalSettings(database_url=fresh_sqlite_database(tmp_path), migrate_on_startup=True,
                               ehr_cache_ttl_seconds=0)  # fmt: skip
    journal_app = create_journal(settings, validator=fake_validator, templates=FAKE_TEMPLATES,
                                 demographics_transport=httpx.ASGITransport(demographics_app))  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(journal_app), base_url="http://journal.test") as journal:
        composition = f"{BASE}/ehr/{ehr_id}/composition"
        created = await journal.post(composition, json=journal_note())
        assert created.status_code == 201, created.text

        retired = await client.put(f"{BASE}/ehr/{ehr_id}/ehr_status", json=closed(), headers={"If-Match": etag})
        refused = await journal.post(composition, json=journal_note())
        assert refused.status_code == 409
        assert refused.json()["code"] == "ehr_not_modifiable" and ehr_id in refused.json()["message"]
        note_url = created.headers["Location"].split("/composition/")[0] + "/composition/"
        note = created.headers["ETag"].strip('"')
        deleted = await journal.delete(note_url + note.split("::")[0], headers={"If-Match": created.headers["ETag"]})
        assert deleted.status_code == 409  # deleting is writing too
        found = (await journal.get(f"{BASE}/query/compositions", params={"ehr_id": ehr_id})).json()
        assert found["total"] == 1  # the refused commit saved nothing

        await client.put(f"{BASE}/ehr/{ehr_id}/ehr_status", json=ehr_status(),
                         headers={"If-Match": retired.headers["ETag"]})  # fmt: skip
        assert (await journal.post(composition, json=journal_note())).status_code == 201
    journal_app.state.service.store.engine.dispose()


async def test_ehrs_stored_before_versioning_keep_their_status_as_version_one(database_url):
    """Migration 0003: the EHR_STATUS in the old `ehr` row becomes version 1 with the uid it had."""
    status_id, ehr_id = str(uuid.uuid4()), str(uuid.uuid4())
    upgrade(MIGRATIONS, database_url, "0002")
    engine = create_database_engine(database_url)
    with engine.begin() as connection:
        old_status = {**ehr_status("191212121212"), "uid": {"value": f"{status_id}::demographics.vgr.se::1"}}
        connection.execute(sa.text(
            "INSERT INTO ehr (ehr_id, system_id, subject_namespace, subject_id, subject_scheme, time_created,"
            " ehr_status) VALUES (:ehr_id, 'demographics.vgr.se', 'vgr.demographics', '191212121212',"
            " 'personnummer', :created, :status)"
        ).bindparams(sa.bindparam("created", type_=UtcDateTime()), sa.bindparam("status", type_=sa.JSON())),
            {"ehr_id": ehr_id, "created": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "status": old_status})  # fmt: skip
    engine.dispose()
    app = create_demographics(DemographicsSettings(database_url=database_url, migrate_on_startup=True),
                              validator=demographics_validator, templates=DEMOGRAPHICS_TEMPLATES)  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://demographics.test") as client:
        ehr = (await client.get(f"{BASE}/ehr/{ehr_id}")).json()
        assert ehr["ehr_status"]["uid"]["value"] == f"{status_id}::demographics.vgr.se::1"
        assert ehr["time_created"]["value"] == "2026-01-02T03:04:05+00:00"
        history = (await client.get(f"{BASE}/ehr/{ehr_id}/versioned_ehr_status/revision_history")).json()
        assert history[0]["audits"][0]["time_committed"]["value"] == "2026-01-02T03:04:05+00:00"
        updated = await client.put(f"{BASE}/ehr/{ehr_id}/ehr_status", json=closed(),
                                   headers={"If-Match": f'"{status_id}::demographics.vgr.se::1"'})  # fmt: skip
        assert updated.status_code == 204, updated.text
        assert (await client.get(f"{BASE}/ehr", params={"subject_id": "191212121212"})).json()["ehr_id"][
            "value"
        ] == ehr_id
    app.state.engine.dispose()
