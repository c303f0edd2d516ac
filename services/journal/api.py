"""The journal's HTTP routes: the shared clinical-module routes under the openEHR base path."""

from __future__ import annotations

from fastapi import APIRouter

from services.kernel.compositions import CompositionService, composition_router, query_router
from services.kernel.service_app import template_router


def journal_router(service: CompositionService) -> APIRouter:
    router = APIRouter()
    router.include_router(composition_router(service))
    router.include_router(template_router(service.module.templates))
    router.include_router(query_router(service))
    return router
