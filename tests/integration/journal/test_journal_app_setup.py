"""The journal's composition root: settings from the environment, schema only from migrations."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
import sqlalchemy as sa

from services.journal.app import create_app
from services.journal.settings import JournalSettings
from tests.integration.journal.fakes import FAKE_TEMPLATES, fake_validator

pytestmark = pytest.mark.anyio


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_settings_come_from_journal_prefixed_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("JOURNAL_DATABASE_URL", f"sqlite:///{tmp_path}/j.db")
    monkeypatch.setenv("JOURNAL_DEMOGRAPHICS_URL", "http://demographics:8081")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.db")
    settings = JournalSettings()
    assert settings.database_url == f"sqlite:///{tmp_path}/j.db"
    assert settings.demographics_url == "http://demographics:8081"
    assert settings.system_id == "journal.vgr.se" and settings.migrate_on_startup is True


def test_defaults_are_the_embedded_sqlite_file_migrated_at_startup(monkeypatch):
    for name in [n for n in os.environ if n.startswith("JOURNAL_")]:
        monkeypatch.delenv(name)
    settings = JournalSettings()
    assert settings.database_url == "sqlite:///data/journal.db" and settings.migrate_on_startup is True
    assert JournalSettings(database_url="postgresql+psycopg://db/journal").migrate_on_startup is False


async def test_without_migrations_there_is_no_schema_and_the_app_is_not_ready(database_url):
    app = create_app(
        JournalSettings(database_url=database_url, migrate_on_startup=False),
        validator=fake_validator,
        templates=FAKE_TEMPLATES,
        demographics_transport=httpx.MockTransport(lambda r: httpx.Response(200)),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://j") as client:
        ready = await client.get("/ready")
    app.state.service.store.engine.dispose()
    assert "original_version" not in tables(database_url)
    assert ready.status_code == 503 and "database" in ready.json()["checks"]


def migrate(database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "JOURNAL_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "services.journal", "migrate"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_migrate_command_creates_the_schema_and_can_run_again(database_url):
    done = migrate(database_url)
    assert done.returncode == 0, done.stderr
    store_tables = {"versioned_object", "original_version", "contribution", "index_entry", "index_value"}
    assert store_tables | {"alembic_version"} <= tables(database_url)
    again = migrate(database_url)
    assert again.returncode == 0, again.stderr


def test_every_route_documents_the_statuses_it_can_return():
    app = create_app(
        JournalSettings(database_url="sqlite://", migrate_on_startup=False),
        validator=fake_validator,
        templates=FAKE_TEMPLATES,
    )
    paths = app.openapi()["paths"]
    base = "/rest/openehr/v1"
    expected = {
        ("post", f"{base}/ehr/{{ehr_id}}/composition"): {"201", "400", "404", "409", "422", "503"},
        ("put", f"{base}/ehr/{{ehr_id}}/composition/{{uid}}"): {
            "200",
            "204",
            "400",
            "404",
            "409",
            "412",
            "422",
            "503",
        },
        ("delete", f"{base}/ehr/{{ehr_id}}/composition/{{uid}}"): {"204", "400", "404", "409", "412", "503"},
        ("get", f"{base}/ehr/{{ehr_id}}/composition/{{uid}}"): {"200", "400", "404"},
        ("get", f"{base}/query/compositions"): {"200", "400"},
        ("get", "/ready"): {"200", "503"},
        ("get", f"{base}/definition/template/adl1.4/{{template_id}}"): {"200", "404"},
    }
    for (method, path), statuses in expected.items():
        assert statuses <= set(paths[path][method]["responses"]), (method, path)
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"] or method in ("post", "put"), (method, path)
    query = {p["name"] for p in paths[f"{base}/query/compositions"]["get"]["parameters"]}
    assert {
        "ehr_id",
        "template_id",
        "date_from",
        "date_to",
        "sort",
        "offset",
        "limit",
        "diagnosis_code",
    } <= query
