"""Composition root of the FHIR gateway: `create_app(settings)`.

uvicorn gateway.app:create_app --factory --port 8080
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import bundles
from gateway.compartment import CompartmentSource
from gateway.fhir.capability import capability_statement
from gateway.fhir.direct import DirectFhirRoutes
from gateway.fhir.errors import FhirError, Issue
from gateway.fhir.http import FhirRoute, render
from gateway.fhir.registry import Registry
from gateway.fhir.responses import fhir_base
from gateway.journal import api as journal_api
from gateway.journal.service import JournalService
from gateway.medication import api as medication_api
from gateway.medication.service import MedicationService
from gateway.modules import Modules, build_modules
from gateway.observability import GatewayMetrics
from gateway.observability import install as install_observability
from gateway.openapi import fhir_openapi
from gateway.patient import api as patient_api
from gateway.patient.service import PatientService
from gateway.referrals import api as referrals_api
from gateway.referrals.service import ReferralService
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)
VERSION = "0.1.0"

RESOURCE_APIS = (patient_api, medication_api, journal_api, referrals_api)


def tune_garbage_collection(threshold: int) -> None:
    """Freeze what is alive now (imports, the app) out of later collections, and collect the
    youngest generation after `threshold` allocations (the older ones as before)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(threshold, older, oldest)


def create_app(
    settings: GatewaySettings | None = None,
    transport: httpx.AsyncBaseTransport | Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    settings = settings or GatewaySettings()
    metrics = GatewayMetrics()
    modules = build_modules(settings, transport, on_error=metrics.module_call_failed)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.gc_threshold:
            tune_garbage_collection(settings.gc_threshold)
        yield
        await modules.aclose()

    # FastAPI's native OpenTelemetry is off: the gateway's own metrics and access log observe every request
    # (no OpenTelemetry provider is configured); its check cost every request ~5 us.
    app = FastAPI(
        title="FHIR R4 gateway", version=VERSION, lifespan=lifespan, docs_url=None, redoc_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # FHIR routes served directly (inside the observability middleware, which is added after it).
    app.add_middleware(DirectFhirRoutes, routes=app.router.routes, exception_handlers=app.exception_handlers)
    install_observability(app, metrics)  # request ids, /metrics, access log, offline /docs
    app.state.metrics = metrics
    app.state.settings = settings
    app.state.modules = modules
    app.state.registry = registry = Registry()
    app.state.started = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    app.state.patients = PatientService(modules.demographics, settings.ehr_cache_size)
    app.state.medications = MedicationService(modules.medication, app.state.patients)
    app.state.journal = JournalService(modules.journal, app.state.patients)
    app.state.referrals = ReferralService(modules.referrals, app.state.patients)
    app.state.compartment = [
        CompartmentSource("medication", "MedicationRequest", app.state.medications.for_patients),
        CompartmentSource("journal", "Composition", app.state.journal.for_patients),
        CompartmentSource("referrals", "ServiceRequest", app.state.referrals.for_patients),
    ]

    for api in RESOURCE_APIS:
        for definition in getattr(api, "DEFINITIONS", None) or (api.DEFINITION,):
            registry.register(definition)
        _add_routes(app, api.router)

    _add_routes(app, bundles.router)
    registry.system_interactions += ["batch", "transaction"]
    _install_error_handlers(app)
    _install_operational_routes(app, modules, settings)
    app.openapi = lambda: fhir_openapi(app)

    capabilities = APIRouter(tags=["capabilities"], route_class=FhirRoute)

    @capabilities.get("/fhir/metadata")
    async def metadata(request: Request) -> Response:
        body = capability_statement(registry, fhir_base(request), VERSION, app.state.started)
        return render(request, body)

    _add_routes(app, capabilities)

    return app


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes on the app itself. Its routes are complete already (prefix, tags and
    FhirRoute are given to the APIRouter), and FastAPI's include_router wraps a router so that each
    request is matched twice against all its routes: about 35 µs more per request (bench/gateway_cpu.py)."""
    app.router.routes.extend(router.routes)


def _install_operational_routes(app: FastAPI, modules: Modules, settings: GatewaySettings) -> None:
    @app.get("/health", tags=["operations"])
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"])
    async def ready() -> JSONResponse:
        results = await asyncio.gather(*(client.ready(settings.ready_timeout) for client in modules))
        checks = {
            client.name: {"ready": ok, "detail": detail}
            for client, (ok, detail) in zip(modules, results, strict=True)
        }
        all_ready = all(c["ready"] for name, c in checks.items() if name in settings.ready_modules)
        return JSONResponse(
            {"status": "ready" if all_ready else "unavailable", "modules": checks},
            status_code=200 if all_ready else 503,
        )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FhirError)
    async def fhir_error(request: Request, exc: FhirError) -> Response:
        return render(request, exc.outcome(), exc.status, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        issues = [
            Issue(str(e.get("msg")), "invalid", expression=[".".join(str(p) for p in e.get("loc", ())[1:])])
            for e in exc.errors()
        ]
        return await fhir_error(request, FhirError(400, "Invalid request", issues=issues))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        if status == 404:
            message = f"No such FHIR endpoint: {request.method} {request.url.path}"
        elif status == 405:
            message = f"{request.method} is not supported on {request.url.path}"
        else:
            message = str(exc.detail)
        return await fhir_error(
            request, FhirError(status, message, code="not-supported" if status == 405 else None)
        )

    @app.exception_handler(RecursionError)
    async def nested_too_deep(request: Request, exc: RecursionError) -> Response:
        # JSON parsing, the models and the mappings recurse once per level of the body: a body nested
        # deeper than they reach is the client's, and it was refused before anything was written.
        return await fhir_error(request, FhirError(400, "The body is nested too deep to process", code="structure"))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # The route template, not the raw path: a path may carry an identifier (no personal data in logs).
        route = getattr(request.scope.get("route"), "path", "<unmatched>")
        log.exception("unexpected error on %s %s", request.method, route)
        return await fhir_error(
            request, FhirError(500, f"Internal error ({type(exc).__name__})", code="exception")
        )
