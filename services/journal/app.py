"""Composition root of the journal module: `uvicorn services.journal.app:create_app --factory`."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from services.journal.api import journal_router
from services.journal.repository import journal_store
from services.journal.service import JOURNAL_TEMPLATE_IDS, journal_service
from services.journal.settings import JournalSettings
from services.kernel.clinical_app import create_clinical_app
from services.kernel.templates import TemplateRegistry, Validator

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: JournalSettings | None = None,
    *,
    validator: Validator | None = None,
    templates: TemplateRegistry | None = None,
    demographics_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    return create_clinical_app(
        settings or JournalSettings(),
        template_ids=JOURNAL_TEMPLATE_IDS,
        store=journal_store,
        service=journal_service,
        migrations=MIGRATIONS,
        title="Journal module (openEHR REST)",
        router=journal_router,
        validator=validator,
        templates=templates,
        demographics_transport=demographics_transport,
    )
