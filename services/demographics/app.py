"""Composition root of demographics: `uvicorn services.demographics.app:create_app --factory`."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from services.demographics import api
from services.demographics.repository import EhrRepository, PersonSearch, PersonSearchIndex
from services.demographics.service import EhrService, PersonService
from services.demographics.settings import DemographicsSettings
from services.kernel.database import create_database_engine
from services.kernel.service_app import database_check, new_service_app, one_level, template_router
from services.kernel.store import VersionedStore
from services.kernel.templates import TemplateRegistry, Validator, project_templates

MIGRATIONS = Path(__file__).parent / "migrations"


def archetype_validator() -> Validator:
    from archetypes import validate

    return validate


def create_app(
    settings: DemographicsSettings | None = None,
    *,
    validator: Validator | None = None,
    templates: TemplateRegistry | None = None,
) -> FastAPI:
    settings = settings or DemographicsSettings()
    engine = create_database_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        engine.dispose()

    templates = templates or project_templates([settings.person_template_id])
    store = VersionedStore(engine, settings.system_id, PersonSearchIndex())
    # EHR_STATUS versions share the store's tables with persons but not the person search index.
    statuses = VersionedStore(engine, settings.system_id)
    ehrs = EhrService(EhrRepository(engine, statuses), statuses, settings.system_id, settings.subject_namespace)
    persons = PersonService(store, PersonSearch(engine, settings.person_template_id), templates,
                            validator or archetype_validator())  # fmt: skip
    app = new_service_app(
        settings,
        MIGRATIONS,
        title="Demographics module (openEHR REST)",
        api=one_level(api.router(ehrs, persons, settings.base_path), template_router(templates)),
        checks={"database": database_check(ehrs.ping)},
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.ehrs, app.state.persons = ehrs, persons
    return app
