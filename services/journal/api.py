"""The journal's HTTP routes: the shared clinical-module routes (composition, template definitions,
`GET /query/compositions` with `diagnosis_code`) under the openEHR base path."""

from __future__ import annotations

from fastapi import APIRouter

from services.kernel.clinical_app import clinical_router
from services.kernel.compositions import CompositionService


def journal_router(service: CompositionService) -> APIRouter:
    return clinical_router(service)
