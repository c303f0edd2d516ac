"""The composition root every clinical module shares, given the module's own parts.

A clinical module's app differs from another's only by its settings, its templates, its store (with
its search index), its service (with its workflow rule), its migrations and its title; this wires
the rest the same way the journal does: the module's database, the EHR lookup in demographics, the
archetype validator, `/health` and `/ready`, and the shared routes under the openEHR base path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy.engine import Engine

from services.kernel.compositions import CompositionService, composition_router, query_router
from services.kernel.database import create_database_engine
from services.kernel.ehr_directory import EhrDirectory
from services.kernel.service_app import database_check, new_service_app, one_level, template_router
from services.kernel.settings import ClinicalSettings
from services.kernel.store import VersionedStore
from services.kernel.templates import TemplateRegistry, Validator, archetype_validator, project_templates


def clinical_router(service: CompositionService) -> APIRouter:
    """Composition, template definition and query routes of a clinical module."""
    return one_level(composition_router(service), template_router(service.module.templates), query_router(service))


def create_clinical_app(
    settings: ClinicalSettings,
    *,
    template_ids: Iterable[str],
    store: Callable[[Engine, str], VersionedStore],
    service: Callable[[TemplateRegistry, VersionedStore, Validator, EhrDirectory], CompositionService],
    migrations: Path,
    title: str,
    router: Callable[[CompositionService], APIRouter] = clinical_router,
    validator: Validator | None = None,
    templates: TemplateRegistry | None = None,
    demographics_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
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

    composition_service = service(
        templates or project_templates(template_ids),
        store(engine, settings.system_id),
        validator or archetype_validator,
        ehrs,
    )

    async def demographics_ready() -> str | None:
        return None if await ehrs.ping() else f"demographics unreachable at {settings.demographics_url}"

    checks = {"database": database_check(composition_service.store.ping), "demographics": demographics_ready}
    app = new_service_app(
        settings, migrations, title=title, api=router(composition_service), checks=checks, lifespan=lifespan
    )
    app.state.service = composition_service
    return app

