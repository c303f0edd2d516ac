"""Composition root of the referrals module: `uvicorn services.referrals.app:create_app --factory`."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from services.kernel.clinical_app import create_clinical_app
from services.kernel.templates import TemplateRegistry, Validator
from services.referrals.api import referrals_router
from services.referrals.repository import referrals_store
from services.referrals.service import REFERRALS_TEMPLATE_IDS, referrals_service
from services.referrals.settings import ReferralsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: ReferralsSettings | None = None,
    *,
    validator: Validator | None = None,
    templates: TemplateRegistry | None = None,
    demographics_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    return create_clinical_app(
        settings or ReferralsSettings(),
        template_ids=REFERRALS_TEMPLATE_IDS,
        store=referrals_store,
        service=referrals_service,
        migrations=MIGRATIONS,
        title="Referrals module (openEHR REST)",
        router=referrals_router,
        validator=validator,
        templates=templates,
        demographics_transport=demographics_transport,
    )
