"""HTTP clients for the openEHR modules (the only way the gateway reaches them).

One pooled `httpx.AsyncClient` per module with timeouts; idempotent reads are retried on
connection failures and 502/503/504, writes never. Module errors are translated into
`FhirError`s with the statuses the FHIR spec expects (module error model: services/README.md).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping
from typing import Any

import httpx

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore runs `import sniffio` on every request it sends; without sniffio installed (anyio 4.x
    # no longer needs it) each of those misses searches sys.path again: a fifth of the gateway's
    # CPU under load (py-spy). A None entry makes the miss immediate, and httpcore uses asyncio.
    sys.modules.setdefault("sniffio", None)

from gateway.fhir.errors import FhirError, Issue
from gateway.openehr import VersionUid
from gateway.settings import MODULES, GatewaySettings

log = logging.getLogger(__name__)

API_BASE = "/rest/openehr/v1"
_RETRY_STATUS = {502, 503, 504}
_IDEMPOTENT = {"GET", "HEAD", "OPTIONS"}


class ModuleClient:
    def __init__(self, name: str, http: httpx.AsyncClient, read_retries: int = 2):
        self.name = name
        self.http = http
        self.read_retries = read_retries

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
    ) -> httpx.Response:
        """Send one request; a module that cannot be reached raises a 503 naming it."""
        url = (API_BASE + path) if api else path
        attempts = 1 + (self.read_retries if method in _IDEMPOTENT else 0)
        extra = {"timeout": timeout} if timeout is not None else {}
        for attempt in range(attempts):
            try:
                response = await self.http.request(
                    method, url, params=params, json=json, headers=headers, **extra
                )
            except httpx.TimeoutException as exc:
                failure = f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                failure = f"unreachable ({type(exc).__name__}: {exc})"
            else:
                if response.status_code not in _RETRY_STATUS or attempt == attempts - 1:
                    return response
                failure = f"answered {response.status_code}"
            if attempt < attempts - 1:
                log.warning("module %s %s %s %s; retrying", self.name, method, url, failure)
                await asyncio.sleep(0.05 * (2**attempt))
        raise FhirError(503, f"The {self.name} module is unavailable: {failure}", code="transient")

    async def get(self, path: str, **kw) -> httpx.Response:
        return await self.request("GET", path, **kw)

    async def ready(self, timeout: float) -> tuple[bool, str]:
        try:
            response = await self.http.get("/ready", timeout=timeout)
        except httpx.HTTPError as exc:
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
) -> Modules:
    """One client per module. `transport` (one for all, or one per module name) lets tests use
    `httpx.ASGITransport` on the real apps or an `httpx.MockTransport`."""
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    limits = httpx.Limits(
        max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections
    )
    clients = {}
    for name in MODULES:
        module_transport = transport.get(name) if isinstance(transport, Mapping) else transport
        http = httpx.AsyncClient(
            base_url=settings.module_url(name), timeout=timeout, limits=limits, transport=module_transport
        )
        clients[name] = ModuleClient(name, http, settings.read_retries)
    return Modules(clients)


def module_error(module: str, response: httpx.Response, what: str = "") -> FhirError:
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


def version_uid(module: str, response: httpx.Response, body: dict | None) -> VersionUid:
    """The version uid of a module's answer: its ETag, else the body's uid."""
    etag = response.headers.get("etag", "").removeprefix("W/").strip('"')
    text = etag or (((body or {}).get("uid") or {}).get("value")) or ""
    try:
        return VersionUid.parse(text)
    except ValueError:
        raise FhirError(
            502, f"The {module} module answered without a version uid", code="exception"
        ) from None


def expect(module: str, response: httpx.Response, *ok: int, what: str = "") -> httpx.Response:
    if response.status_code in (ok or (200,)):
        return response
    raise module_error(module, response, what)
