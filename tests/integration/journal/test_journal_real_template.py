"""The journal with its composition root's own validator and templates: archetypes, vgr.journal_note.v1."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import archetypes
from services.journal.app import create_app
from services.journal.settings import JournalSettings
from services.kernel.search import coded_values
from tests.integration.journal.conftest import BASE
from tests.integration.journal.fakes import KNOWN_EHR, TEMPLATE_ID, journal_note

pytestmark = pytest.mark.anyio


@pytest.fixture
async def real_client(sqlite_url, demographics):
    app = create_app(
        JournalSettings(database_url=sqlite_url), demographics_transport=demographics.transport()
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://journal.test"
    ) as client:
        yield client
    app.state.service.store.engine.dispose()


async def test_a_valid_journal_note_is_stored(real_client):
    response = await real_client.post(
        f"{BASE}/ehr/{KNOWN_EHR}/composition", json=journal_note(diagnoses=("I10",))
    )
    assert response.status_code == 201, response.text


async def test_template_violations_are_422_with_openehr_paths(real_client):
    note = journal_note()
    note["content"][1]["data"]["items"][0]["value"]["defining_code"]["terminology_id"]["value"] = "ICD-10"
    del note["context"]["health_care_facility"]
    response = await real_client.post(f"{BASE}/ehr/{KNOWN_EHR}/composition", json=note)
    assert response.status_code == 422, response.text
    details = response.json()["details"]
    paths = {d["path"] for d in details}
    assert "/context" in paths
    assert any(p.startswith("/content[openEHR-EHR-EVALUATION.problem_diagnosis.v1]") for p in paths), paths
    assert all(d["pointer"].startswith("/") and d["message"] for d in details)


async def test_the_template_is_listed_and_served_as_opt_and_as_json_schema(real_client):
    listed = (await real_client.get(f"{BASE}/definition/template/adl1.4")).json()
    assert [t["template_id"] for t in listed] == [TEMPLATE_ID]
    assert listed[0]["archetype_id"] == "openEHR-EHR-COMPOSITION.encounter.v1"
    opt = await real_client.get(f"{BASE}/definition/template/adl1.4/{TEMPLATE_ID}")
    assert opt.status_code == 200 and opt.headers["content-type"].startswith("application/xml")
    assert b"<template_id>" in opt.content or b"template_id" in opt.content
    schema = await real_client.get(
        f"{BASE}/definition/template/adl1.4/{TEMPLATE_ID}", headers={"Accept": "application/schema+json"}
    )
    assert schema.status_code == 200 and schema.headers["content-type"].startswith("application/schema+json")
    assert schema.json()["$schema"].startswith("https://json-schema.org/draft/2020-12")


EXAMPLES = Path(archetypes.__file__).parent / "examples" / TEMPLATE_ID
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text(encoding="utf-8")) if EXAMPLES.is_dir() else {}


@pytest.mark.parametrize("name", sorted(p.name for p in (EXAMPLES / "valid").glob("*.json")))
async def test_every_valid_example_note_is_stored_and_indexed(real_client, name):
    note = json.loads((EXAMPLES / "valid" / name).read_text(encoding="utf-8"))
    created = await real_client.post(f"{BASE}/ehr/{KNOWN_EHR}/composition", json=note)
    assert created.status_code == 201, created.text
    found = (await real_client.get(f"{BASE}/query/compositions")).json()["items"]
    assert found[0]["index"]["date"] is not None
    assert found[0]["index"]["diagnosis_code"] == sorted(set(coded_values("ICD-10-SE")(note)))


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_every_invalid_example_note_is_422_at_its_path(real_client, name):
    note = json.loads((EXAMPLES / "invalid" / name).read_text(encoding="utf-8"))
    response = await real_client.post(f"{BASE}/ehr/{KNOWN_EHR}/composition", json=note)
    assert response.status_code == 422, response.text
    details = response.json()["details"]
    # the issue is reported at the expected node or inside it
    assert any(d["pointer"].startswith(EXPECTED[name]["pointer"]) for d in details), details
