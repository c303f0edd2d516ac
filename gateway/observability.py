"""The gateway's request ids, Prometheus metrics and structured access logs, installed once by
`create_app` (never in routes). The modules have the same in `services.kernel.observability`; the
gateway may not import services (import-linter), so this side has its own, plus what only the
gateway does: calling modules.

- `X-Request-Id` from the client (or a new one) on every response and on every module call;
  W3C `traceparent` passed through to the modules when the client sent one.
- `/metrics`: `http_requests_total` and `http_request_duration_seconds` per route template,
  `http_validation_failures_total` (422) per route template, `gateway_module_call_errors_total`
  per module and kind (timeout, unreachable, or the 5xx status a module answered).
- One JSON line per request on the logger `openehr.access` with the route template only: no raw
  path, no query string, no body, so no personnummer and no name is ever logged.
"""

from __future__ import annotations

import logging
import os
import re
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from importlib.resources import files

import orjson
from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

ACCESS_LOGGER = "openehr.access"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_correlation: ContextVar[dict[str, str] | None] = ContextVar("gateway_correlation", default=None)


def _new_request_id() -> str:
    """128 random bits as 32 hex digits, the form uuid4().hex gave at a fifth of its cost."""
    return os.urandom(16).hex()


def correlation_headers() -> dict[str, str]:
    """The headers every module call carries: the served request's id and traceparent."""
    return _correlation.get() or {}


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        labels = ["method", "route"]
        self.requests = Counter("http_requests", "Requests answered, by route template",
                                [*labels, "status"], registry=registry)  # fmt: skip
        self.latency = Histogram("http_request_duration_seconds", "Time to answer, by route template",
                                 labels, registry=registry)  # fmt: skip
        self.validation_failures = Counter("http_validation_failures", "Requests answered 422, by route template",
                                           ["route"], registry=registry)  # fmt: skip
        self.module_errors = Counter("gateway_module_call_errors", "Failed module calls, by module and kind",
                                     ["module", "kind"], registry=registry)  # fmt: skip
        self._series: dict[tuple[str, str, int], tuple] = {}

    def module_call_failed(self, module: str, kind: str) -> None:
        self.module_errors.labels(module, kind).inc()

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request. The labelled series are looked up once per (method, route,
        status): prometheus_client's labels() validates and locks on every call."""
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
                self.validation_failures.labels(route) if status == 422 else None,
            )
        requests, latency, validation_failures = series
        requests.inc()
        latency.observe(seconds)
        if validation_failures is not None:
            validation_failures.inc()


def _template(scope: dict, root_path: str) -> str:
    """The answering route's template; a route with a constant prefix gets the prefix back."""
    route, path = scope.get("route"), scope.get("path", "")
    if route is not None and getattr(route, "path_regex", None) is not None:
        if route.path_regex.match(path):
            return route.path
        cuts = [i for i, char in enumerate(path) if char == "/"]
        prefix = next((path[:i] for i in cuts if route.path_regex.match(path[i:])), "")
        return prefix + route.path
    mounted = scope.get("root_path", "")
    if mounted.startswith(root_path) and mounted != root_path:
        return mounted[len(root_path):] + "/{path}"
    return "<unmatched>"


def _json_line(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
    return orjson.dumps({"time": when, "level": record.levelname.lower(), "message": record.getMessage(),
                         **getattr(record, "fields", {})}).decode()  # fmt: skip


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return _json_line(record)


def access_logger() -> logging.Logger:
    logger = logging.getLogger(ACCESS_LOGGER)
    # Loggers that would write raw URLs (query strings with personnummer, names): uvicorn's access log
    # (this JSON line replaces it) and httpx's request log (INFO) of calls between modules.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not logger.handlers:  # the modules' kernel installs the same when it runs in this process
        handler = logging.StreamHandler()
        handler.setFormatter(JsonLines())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


class GatewayObservability:
    """ASGI middleware: correlation headers in and out, metrics, one access log line."""

    def __init__(self, app, metrics: GatewayMetrics):
        self.app, self.metrics, self.log = app, metrics, access_logger()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = traceparent = ""
        for name, value in scope.get("headers", []):  # only these two are read: no decoding of the others
            name = name.lower()
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name == b"traceparent":
                traceparent = value.decode("latin-1").strip().lower()
        correlation = {"x-request-id": request_id if _REQUEST_ID.match(request_id) else _new_request_id()}
        if _TRACEPARENT.match(traceparent):
            correlation["traceparent"] = traceparent
        token = _correlation.set(correlation)
        answered = {"status": 500}
        root_path, started = scope.get("root_path", ""), time.perf_counter()

        async def send_tagged(message):
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                kept = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message["headers"] = [*kept, (b"x-request-id", correlation["x-request-id"].encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_tagged)
        finally:
            _correlation.reset(token)
            elapsed, route, status = time.perf_counter() - started, _template(scope, root_path), answered["status"]
            self.metrics.answered(scope["method"], route, status, elapsed)
            if self.log.isEnabledFor(logging.INFO):
                fields = {"module": "gateway", "request_id": correlation["x-request-id"], "method": scope["method"],
                          "route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)}  # fmt: skip
                # A record made directly: Logger.info would first search the stack for the caller's
                # file and line (findCaller), which the line does not show.
                record = self.log.makeRecord(self.log.name, logging.INFO, __file__, 0, "request", (), None,
                                             extra={"fields": fields})  # fmt: skip
                self.log.handle(record)


def install(app: FastAPI, metrics: GatewayMetrics) -> None:
    """Middleware, `/metrics` and offline `/docs` (Swagger UI from the fastapi-offline package, no CDN)."""
    app.add_middleware(GatewayObservability, metrics=metrics)
    app.mount("/docs/static", StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-static")

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title} - API", swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css", swagger_favicon_url="/docs/static/favicon.png",
        )  # fmt: skip
