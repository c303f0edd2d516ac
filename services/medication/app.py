"""Composition root of the medication module: `uvicorn services.medication.app:create_app --factory`."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from services.kernel.clinical_app import create_clinical_app
from services.kernel.templates import TemplateRegistry, Validator
from services.medication.api import medication_router
from services.medication.repository import medication_store
from services.medication.service import MEDICATION_TEMPLATE_IDS, medication_service
from services.medication.settings import MedicationSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: MedicationSettings | None = None,
    *,
    validator: Validator | None = None,
    templates: TemplateRegistry | None = None,
    demographics_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    return create_clinical_app(
        settings or MedicationSettings(),
        template_ids=MEDICATION_TEMPLATE_IDS,
        store=medication_store,
        service=medication_service,
        migrations=MIGRATIONS,
        title="Medication module (openEHR REST)",
        router=medication_router,
        validator=validator,
        templates=templates,
        demographics_transport=demographics_transport,
    )
