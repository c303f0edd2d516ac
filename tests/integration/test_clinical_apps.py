"""Medication and referrals as deployable apps: settings from their own environment prefix, the
migrate command, health and readiness, and an OpenAPI document that says what they can answer."""

from __future__ import annotations

import runpy
import sys

import httpx
import pytest
import sqlalchemy as sa

from services.medication.app import create_app as medication_app
from services.medication.settings import MedicationSettings
from services.referrals.app import create_app as referrals_app
from services.referrals.settings import ReferralsSettings
from tests.integration.clinical_support import BASE, KNOWN_EHR, example, module_client

pytestmark = pytest.mark.anyio

MODULES = {
    "medication": (medication_app, MedicationSettings, {"status", "atc_code"}),
    "referrals": (referrals_app, ReferralsSettings, {"status", "receiver", "urgency"}),
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    ("settings_class", "prefix", "name"),
    [(MedicationSettings, "MEDICATION_", "medication"), (ReferralsSettings, "REFERRALS_", "referrals")],
)
def test_settings_come_from_the_modules_own_environment_prefix(monkeypatch, settings_class, prefix, name):
    monkeypatch.setenv(f"{prefix}DATABASE_URL", "postgresql+psycopg://db.example/x")
    monkeypatch.setenv(f"{prefix}DEMOGRAPHICS_URL", "http://demographics:8081")
    monkeypatch.setenv(f"{prefix}PORT", "tcp://10.0.0.1:8083")  # a Kubernetes service link: ignored
    monkeypatch.setenv("JOURNAL_DATABASE_URL", "sqlite:///not-mine.db")
    settings = settings_class()
    assert settings.database_url == "postgresql+psycopg://db.example/x"
    assert settings.demographics_url == "http://demographics:8081"
    assert settings.system_id == f"{name}.vgr.se"
    assert settings.migrate_on_startup is False  # PostgreSQL is migrated by the command, not at startup
    monkeypatch.delenv(f"{prefix}DATABASE_URL")
    assert settings_class().database_url == f"sqlite:///data/{name}.db"


@pytest.mark.parametrize("name", MODULES)
def test_migrate_command_creates_the_schema_with_its_own_history(monkeypatch, tmp_path, capsys, name):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", url)
    monkeypatch.setattr(sys, "argv", [f"python -m services.{name}", "migrate"])
    runpy.run_module(f"services.{name}", run_name="__main__")
    assert "latest schema" in capsys.readouterr().out
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
    assert {"original_version", "contribution", "index_entry", "index_value"} <= tables
    assert revision == f"{name}_0002"  # its own history: the revision ids carry the module name


@pytest.mark.parametrize("name", MODULES)
async def test_health_ready_and_openapi(tmp_path, name):
    create_app, settings_class, fields = MODULES[name]
    async with module_client(create_app, settings_class, f"sqlite:///{tmp_path / 'x.db'}") as client:
        assert (await client.get("/health")).status_code == 200
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "demographics": "ok"}
        document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    put = paths[f"{BASE}/ehr/{{ehr_id}}/composition/{{uid}}"]["put"]["responses"]
    assert {"400", "404", "409", "412", "422", "503"} <= set(put)
    post = paths[f"{BASE}/ehr/{{ehr_id}}/composition"]["post"]["responses"]
    assert {"201", "409", "422"} <= set(post)
    query = paths[f"{BASE}/query/compositions"]["get"]["parameters"]
    assert fields <= {p["name"] for p in query}
    status = next(p for p in query if p["name"] == "status")
    enum = status["schema"].get("enum") or next(s["enum"] for s in status["schema"]["anyOf"] if "enum" in s)
    assert "active" in enum if name == "medication" else "rejected" in enum


def _down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def _app_and_order(tmp_path, name: str, demographics) -> tuple:
    """The module's app on a fresh SQLite file with `demographics` as its EHR lookup, and a valid example."""
    create_app, settings_class, _ = MODULES[name]
    settings = settings_class(database_url=f"sqlite:///{tmp_path / 'x.db'}", migrate_on_startup=True)
    app = create_app(settings, demographics_transport=httpx.MockTransport(demographics))
    template = {"medication": "vgr.medication_order.v1", "referrals": "vgr.referral.v1"}[name]
    return app, example(template, "metformin_new_order" if name == "medication" else "ekg_remiss_skickad")


@pytest.mark.parametrize("name", MODULES)
async def test_demographics_down_is_503_never_500(tmp_path, name):
    app, body = _app_and_order(tmp_path, name, _down)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://m.test") as client:
        created = await client.post(f"{BASE}/ehr/{KNOWN_EHR}/composition", json=body)
        assert created.status_code == 503, created.text
        assert created.json()["code"] == "demographics_unavailable"
        ready = await client.get("/ready")
        assert ready.status_code == 503 and "demographics" in ready.json()["checks"]
        assert (await client.get("/health")).status_code == 200
    app.state.service.store.engine.dispose()


@pytest.mark.parametrize("name", MODULES)
async def test_a_malformed_ehr_id_is_400_and_never_reaches_demographics_or_the_store(tmp_path, name):
    """schemathesis sent non-UUID ehr_ids: they were passed on to demographics (in its URL path) and,
    had it said yes, stored. Like demographics, a clinical module now answers 400 for them."""
    asked = []

    def every_ehr_exists(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, json={"ehr_id": {"value": request.url.path.rsplit("/", 1)[-1]}})

    app, body = _app_and_order(tmp_path, name, every_ehr_exists)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://m.test") as client:
        for ehr_id in ("not-an-ehr", "%3Fsubject_id=1", "5b0c4f0e"):
            created = await client.post(f"{BASE}/ehr/{ehr_id}/composition", json=body)
            assert created.status_code == 400, (ehr_id, created.text)
            assert created.json()["details"][0]["path"].endswith("ehr_id")
        read = await client.get(f"{BASE}/ehr/not-an-ehr/composition/{KNOWN_EHR}")
        assert read.status_code == 400
        assert asked == []
        assert (await client.post(f"{BASE}/ehr/{KNOWN_EHR}/composition", json=body)).status_code == 201
    app.state.service.store.engine.dispose()


@pytest.mark.parametrize("name", MODULES)
async def test_a_version_number_too_large_for_the_database_is_400_not_500(tmp_path, name):
    create_app, settings_class, _ = MODULES[name]
    async with module_client(create_app, settings_class, f"sqlite:///{tmp_path / 'x.db'}") as client:
        huge = f"{KNOWN_EHR}::{name}.vgr.se::18097864406417107017"
        read = await client.get(f"{BASE}/ehr/{KNOWN_EHR}/composition/{huge}")
        assert read.status_code == 400 and read.json()["code"] == "bad_version_uid"
