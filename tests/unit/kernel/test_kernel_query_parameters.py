"""Every declared index field becomes a documented query parameter; `allowed` values are enforced."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.kernel.compositions import ClinicalModule, CompositionService, query_router
from services.kernel.database import create_database_engine
from services.kernel.ehr_directory import EhrDirectory
from services.kernel.errors import install_error_handlers
from services.kernel.migrations import upgrade
from services.kernel.search import IndexField, SearchIndex, text_at, time_at
from services.kernel.store import VersionedStore
from services.kernel.templates import TemplateRegistry
from services.kernel.versioning import Committer

MIGRATIONS = Path(__file__).parent / "store_migrations"
INDEX = SearchIndex(
    clinical_time=time_at("time"),
    fields={
        "status": IndexField(text_at("status"), "Order status", allowed=("active", "stopped")),
        "atc_code": text_at("atc"),
    },
)


@pytest.fixture
def client(sqlite_url):
    upgrade(MIGRATIONS, sqlite_url)
    engine = create_database_engine(sqlite_url)
    store = VersionedStore(engine, "test.vgr.se", INDEX)
    for status, atc in [("active", "C09AA05"), ("stopped", "C09AA05"), ("active", "A10BA02")]:
        store.create(
            ehr_id="e1",
            data={"status": status, "atc": atc, "time": "2026-11-01T00:00:00Z"},
            template_id="t",
            committer=Committer(),
        )
    module = ClinicalModule("medication-like", TemplateRegistry([]), INDEX)
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(
        query_router(CompositionService(module, store, lambda c, t: [], EhrDirectory("http://x")))
    )
    yield TestClient(app)
    engine.dispose()


def test_declared_fields_filter_together(client):
    assert client.get("/query/compositions", params={"status": "active"}).json()["total"] == 2
    both = client.get("/query/compositions", params={"status": "active", "atc_code": "C09AA05"}).json()
    assert both["total"] == 1 and both["items"][0]["index"]["atc_code"] == ["C09AA05"]


def test_a_value_outside_the_allowed_ones_is_400(client):
    response = client.get("/query/compositions", params={"status": "paused"})
    assert response.status_code == 400 and "active, stopped" in response.json()["message"]


def test_the_fields_are_documented_with_their_allowed_values(client):
    parameters = {
        p["name"]: p for p in client.app.openapi()["paths"]["/query/compositions"]["get"]["parameters"]
    }
    assert parameters["status"]["description"] == "Order status"
    assert parameters["status"]["schema"]["enum"] == ["active", "stopped"]
    assert "atc_code" in parameters
