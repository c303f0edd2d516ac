"""HTTP clients for the openEHR modules (the only way the gateway reaches them).

Kept-alive HTTP/1.1 connections to each module (gateway/module_http.py) with timeouts, or an
`httpx.AsyncClient` over a transport the caller gives (tests); idempotent reads are retried on
connection failures and 502/503/504, writes never. Module errors are translated into
`FhirError`s with the statuses the FHIR spec expects (module error model: services/README.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from gateway.fhir.errors import FhirError, Issue
from gateway.module_http import Http11Client, HttpxClient, ModuleResponse, target
from gateway.observability import correlation_headers
from gateway.openehr import VersionUid
from gateway.settings import MODULES, GatewaySettings

log = logging.getLogger(__name__)

API_BASE = "/rest/openehr/v1"
_RETRY_STATUS = {502, 503, 504}
_IDEMPOTENT = {"GET", "HEAD", "OPTIONS"}
_JSON = {"Content-Type": "application/json"}


class ModuleClient:
    def __init__(
        self,
        name: str,
        http: Http11Client | HttpxClient,
        read_retries: int = 2,
        on_error: Callable[[str, str], None] | None = None,
    ):
        self.name = name
        self.http = http
        self.read_retries = read_retries
        # Told (module, kind) of every failed call: "timeout", "unreachable" or the 5xx status answered.
        self.on_error = on_error or (lambda module, kind: None)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        api: bool = True,
        timeout: float | None = None,
    ) -> ModuleResponse:
        """Send one request (`json` as its body); a module that cannot be reached raises a 503 naming it.
        Every call carries the served request's `X-Request-Id` (and `traceparent`)."""
        url = target((API_BASE + path) if api else path, params)
        sent = {**correlation_headers(), **(headers or {})}
        body = None
        if json is not None:
            body = orjson.dumps(json)
            sent |= _JSON
        attempts = 1 + (self.read_retries if method in _IDEMPOTENT else 0)
        for attempt in range(attempts):
            try:
                response = await self.http.request(method, url, sent, body, timeout)
            except TimeoutError as exc:
                failure = f"timed out ({exc or type(exc).__name__})"
                self.on_error(self.name, "timeout")
            except OSError as exc:  # ConnectionError and the other socket failures
                failure = f"unreachable ({type(exc).__name__}: {exc})"
                self.on_error(self.name, "unreachable")
            else:
                if response.status_code >= 500:
                    self.on_error(self.name, str(response.status_code))
                if response.status_code not in _RETRY_STATUS or attempt == attempts - 1:
                    return response
                failure = f"answered {response.status_code}"
            if attempt < attempts - 1:
                log.warning("module %s %s %s %s; retrying", self.name, method, url, failure)
                await asyncio.sleep(0.05 * (2**attempt))
        raise FhirError(503, f"The {self.name} module is unavailable: {failure}", code="transient")

    async def get(self, path: str, **kw) -> ModuleResponse:
        return await self.request("GET", path, **kw)

    async def ready(self, timeout: float) -> tuple[bool, str]:
        try:
            response = await self.http.request("GET", "/ready", correlation_headers(), None, timeout)
        except OSError as exc:  # TimeoutError and ConnectionError included
            return False, f"unreachable ({type(exc).__name__})"
        return response.status_code == 200, f"{response.status_code}"

    async def aclose(self) -> None:
        await self.http.aclose()


class Modules:
    """The module clients, by name (demographics, journal, medication, referrals)."""

    def __init__(self, clients: Mapping[str, ModuleClient]):
        self.clients = dict(clients)

    def __getattr__(self, name: str) -> ModuleClient:
        try:
            return self.__dict__["clients"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self):
        return iter(self.clients.values())

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def build_modules(
    settings: GatewaySettings,
    transport: httpx.AsyncBaseTransport | Mapping[str, httpx.AsyncBaseTransport] | None = None,
    on_error: Callable[[str, str], None] | None = None,
) -> Modules:
    """One client per module. `transport` (one for all, or one per module name) lets tests use
    `httpx.ASGITransport` on the real apps or an `httpx.MockTransport` (through httpx); without one a
    module is called over its own kept-alive connections (Http11Client). `on_error(module, kind)`
    counts failed calls."""
    clients = {}
    for name in MODULES:
        url = settings.module_url(name)
        module_transport = transport.get(name) if isinstance(transport, Mapping) else transport
        if module_transport is None:
            http = Http11Client(url, settings.max_connections, settings.connect_timeout, settings.read_timeout)
        else:
            timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
            http = HttpxClient(httpx.AsyncClient(base_url=url, timeout=timeout, transport=module_transport))
        clients[name] = ModuleClient(name, http, settings.read_retries, on_error)
    return Modules(clients)


def module_error(module: str, response: ModuleResponse, what: str = "") -> FhirError:
    """Translate a module's error answer (README error model) into an OperationOutcome error."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = str(body.get("message") or response.reason_phrase or "error")
    code = str(body.get("code") or "")
    details = body.get("details") if isinstance(body.get("details"), list) else []
    status = response.status_code
    prefix = f"{what}: " if what else ""
    if status == 404 and code == "deleted":
        return FhirError(410, f"{prefix}deleted", code="deleted")
    if status == 404:
        return FhirError(404, f"{prefix}not found ({module}: {message})", code="not-found")
    if status == 422:
        issues = [
            Issue(
                f"{d.get('path', '')}: {d.get('message', '')}".strip(": "),
                code="processing",
                expression=[],
            )
            for d in details
            if isinstance(d, dict)
        ] or [Issue(f"{module}: {message}", code="processing")]
        issues.insert(
            0, Issue(f"{prefix}{module} rejected the content (template violation): {message}", "processing")
        )
        return FhirError(422, message, issues=issues)
    if status == 409:
        return FhirError(409, f"{prefix}{message}", code="conflict")
    if status == 412:
        return FhirError(412, f"{prefix}version conflict: {message}", code="conflict")
    if status == 400:
        return FhirError(400, f"{prefix}{module} rejected the request: {message}", code="invalid")
    if status == 503:
        return FhirError(503, f"The {module} module is unavailable: {message}", code="transient")
    return FhirError(502, f"The {module} module failed ({status}): {message}", code="exception")


def version_uid(module: str, response: ModuleResponse, body: dict | None) -> VersionUid:
    """The version uid of a module's answer: its ETag, else the body's uid."""
    etag = response.headers.get("etag", "").removeprefix("W/").strip('"')
    text = etag or (((body or {}).get("uid") or {}).get("value")) or ""
    try:
        return VersionUid.parse(text)
    except ValueError:
        raise FhirError(
            502, f"The {module} module answered without a version uid", code="exception"
        ) from None


def replaced_version(what: str, current: VersionUid, if_match: int | None) -> VersionUid:
    """The version a FHIR update or delete replaces: the current one, which If-Match (a FHIR version
    number), when sent, must name (else 412 with the current ETag)."""
    if if_match is not None and if_match != current.version:
        raise FhirError(412, f"{what} is at version {current.version}, not {if_match}", code="conflict",
                        headers={"ETag": f'W/"{current.version}"'})  # fmt: skip
    return current


def expect(module: str, response: ModuleResponse, *ok: int, what: str = "") -> ModuleResponse:
    if response.status_code in (ok or (200,)):
        return response
    raise module_error(module, response, what)
