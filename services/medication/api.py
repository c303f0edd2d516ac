"""The medication module's HTTP routes: the shared clinical-module routes (composition, template
definitions, `GET /query/compositions` with `status` and `atc_code`) under the openEHR base path."""

from __future__ import annotations

from fastapi import APIRouter

from services.kernel.clinical_app import clinical_router
from services.kernel.compositions import CompositionService


def medication_router(service: CompositionService) -> APIRouter:
    return clinical_router(service)
