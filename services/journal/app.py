"""Composition root of the journal module: `uvicorn services.journal.app:create_app --factory`."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.journal.api import journal_router
from services.journal.repository import journal_store
from services.journal.service import JOURNAL_TEMPLATE_IDS, journal_service
from services.journal.settings import JournalSettings
from services.kernel.database import create_database_engine
from services.kernel.ehr_directory import EhrDirectory
from services.kernel.service_app import database_check, health_router, new_service_app
from services.kernel.templates import TemplateRegistry, Validator, project_templates

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: JournalSettings | None = None,
    *,
    validator: Validator | None = None,
    templates: TemplateRegistry | None = None,
    demographics_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    settings = settings or JournalSettings()
    engine = create_database_engine(settings.database_url)
    ehrs = EhrDirectory(
        settings.demographics_url,
        timeout_seconds=settings.ehr_lookup_timeout_seconds,
        ttl_seconds=settings.ehr_cache_ttl_seconds,
        transport=demographics_transport,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        await ehrs.aclose()
        engine.dispose()

    app = new_service_app(settings, MIGRATIONS, title="Journal module (openEHR REST)", lifespan=lifespan)
    service = journal_service(
        templates or project_templates(JOURNAL_TEMPLATE_IDS),
        journal_store(engine, settings.system_id),
        validator or _archetype_validator(),
        ehrs,
    )

    async def demographics_ready() -> str | None:
        return None if await ehrs.ping() else f"demographics unreachable at {settings.demographics_url}"

    app.state.service = service
    app.include_router(
        health_router({"database": database_check(service.store.ping), "demographics": demographics_ready})
    )
    app.include_router(journal_router(service), prefix=settings.base_path)
    return app


def _archetype_validator() -> Validator:
    from archetypes import validate

    return validate
