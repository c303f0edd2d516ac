"""The parts of every module's FastAPI app that are the same everywhere: errors, health, readiness,
template definitions, and migrating the embedded database at startup."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from services.kernel.direct_routes import DirectRoutes, direct_routes
from services.kernel.errors import error_responses, install_error_handlers
from services.kernel.migrations import upgrade
from services.kernel.observability import install_observability, install_offline_docs
from services.kernel.settings import ServiceSettings
from services.kernel.templates import TemplateRegistry

ReadinessCheck = Callable[[], Awaitable[str | None]]  # None when fine, else what is not ready


def new_service_app(
    settings: ServiceSettings,
    migrations: Path,
    *,
    title: str,
    api: APIRouter,
    checks: dict[str, ReadinessCheck],
    lifespan=None,
) -> FastAPI:
    """A FastAPI app with the module's API under the openEHR base path, `/health` and `/ready` (with these
    readiness checks), the error model, request ids, metrics, access logs and offline `/docs`, and the
    schema migrated when the settings ask. The API's direct routes are served by `DirectRoutes`."""
    if settings.migrate_on_startup:
        upgrade(migrations, settings.database_url)

    @asynccontextmanager
    async def with_garbage_collection_tuned(app: FastAPI):
        if settings.gc_threshold:
            tune_garbage_collection(settings.gc_threshold)
        if lifespan is None:
            yield
        else:
            async with lifespan(app):
                yield

    # FastAPI's native OpenTelemetry is off: the module's own metrics and access log observe every request
    # (and no OpenTelemetry provider is configured here); its check per request cost ~5 us.
    app = FastAPI(title=title, version="1.0.0", lifespan=with_garbage_collection_tuned, docs_url=None, redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False})  # fmt: skip
    # FastAPI tries routes in the order they were added: the API, which answers nearly every request,
    # comes before operations and docs.
    app.include_router(api, prefix=settings.base_path)
    app.include_router(health_router(checks))
    install_error_handlers(app)
    app.add_middleware(
        DirectRoutes, routes=direct_routes(api, settings.base_path), exception_handlers=app.exception_handlers
    )
    install_observability(app, settings.module_name)
    install_offline_docs(app)
    app.state.settings = settings
    app.openapi = lambda: _openapi_as_answered(app)
    return app


def tune_garbage_collection(threshold: int) -> None:
    """Freeze what is alive at startup (imports, the app, compiled schemas) out of later collections, and
    collect the youngest generation after `threshold` allocations instead of Python's 700 (the older ones
    as before). The gateway does the same (it may not import the kernel)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(threshold, older, oldest)


def one_level(*routers: APIRouter) -> APIRouter:
    """One router with the routes of all of these. FastAPI matches included routers level by level, and
    each level costs every request ~0.01 ms; a module's API is one level."""
    joined = APIRouter()
    for router in routers:
        joined.routes.extend(router.routes)
    return joined


def _openapi_as_answered(app: FastAPI) -> dict:
    """FastAPI documents a 422 "Validation Error" on every route with parameters, but bad parameters are
    answered 400 here (422 is only a template violation); and every API route that uses the database may
    answer 503 when it is unavailable (the templates come from files): the document says what the module
    really does."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        base_path = app.state.settings.base_path
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.get("422", {}).get("description") == "Validation Error":
                    del responses["422"]
                    responses.setdefault("400", error_responses(400)[400])
                if path.startswith(base_path) and not path.startswith(f"{base_path}/definition/"):
                    responses.setdefault("503", error_responses(503)[503])
        components = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", responses={200: {"description": "The process is alive"}})
    async def health() -> dict:  # async: a sync route would take a thread-pool hop per probe
        return {"status": "ok"}

    @router.get(
        "/ready",
        responses={200: {"description": "Ready"}, 503: {"description": "A dependency is not reachable"}},
    )
    async def ready() -> JSONResponse:
        problems = {name: problem for name, check in checks.items() if (problem := await check())}
        if problems:
            return JSONResponse({"status": "unavailable", "checks": problems}, status_code=503)
        return JSONResponse({"status": "ok", "checks": {name: "ok" for name in checks}})

    return router


def database_check(ping: Callable[[], None]) -> ReadinessCheck:
    async def check() -> str | None:
        try:
            await run_in_threadpool(ping)
        except Exception as error:  # any failure means "not ready"; the probe reports it, never raises
            return f"database unreachable: {type(error).__name__}"
        return None

    return check


def template_router(registry: TemplateRegistry) -> APIRouter:
    router = APIRouter(tags=["definition"])

    @router.get(
        "/definition/template/adl1.4", responses={200: {"description": "The templates this module accepts"}}
    )
    async def list_templates() -> list[dict]:  # async: in memory, no thread-pool hop (the OPT read below is I/O)
        return [t.summary() for t in registry.all()]

    @router.get(
        "/definition/template/adl1.4/{template_id}",
        responses={
            200: {
                "description": "The OPT (application/xml), or its JSON Schema ("
                "with Accept: application/schema+json)",
                "content": {"application/xml": {}, "application/schema+json": {}},
            },
            **error_responses(404),
        },
    )
    def get_template(request: Request, template_id: str) -> Response:
        template = registry.get(template_id)
        if "application/schema+json" in request.headers.get("accept", ""):
            return JSONResponse(template.json_schema(), media_type="application/schema+json")
        return Response(template.opt_xml(), media_type="application/xml")

    return router
