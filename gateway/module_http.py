"""The HTTP clients behind the gateway's module calls.

`AiohttpClient` (the default): one `aiohttp.ClientSession` per module, its `TCPConnector` keeping
connections alive, at most `max_connections` of them; a call's timeout bounds the whole call,
waiting for a free connection included. aiohttp parses the answers (its C parser) and frames the
requests; httpx, the alternative, cost the gateway about 0.9 ms of CPU per module call (client,
httpcore's pool, anyio, h11), more than half of a Patient read (bench/gateway_cpu.py).

`HttpxClient`: the calls through an `httpx.AsyncClient` instead, how tests plug in httpx
transports (MockTransport, ASGITransport) and the pact consumer tests their mock server.

Both answer a `ModuleResponse` and fail with the built-in exceptions `ModuleClient` maps:
`TimeoutError`, and `ConnectionError` when a module cannot be reached, breaks the connection or
answers something that is not HTTP.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import httpx
import orjson
from yarl import URL

# What a path may carry unescaped (RFC 3986 pchar and "/"); anything else is percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
# Headers aiohttp would add on its own: the module calls send only Host, the framing and their own.
_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


class ModuleResponse:
    """A module's answer; header names are lower case, repeated fields joined with ", "."""

    __slots__ = ("status_code", "reason_phrase", "headers", "content")

    def __init__(self, status_code: int, reason_phrase: str, headers: dict[str, str], content: bytes):
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.content = content

    def json(self) -> Any:
        return orjson.loads(self.content)


def target(path: str, params: Any = None) -> str:
    """The request target: the path percent-encoded where it must be (non-ASCII as UTF-8), and the query."""
    path = quote(path, safe=_PATH_SAFE)
    return f"{path}?{urlencode(params)}" if params else path


class AiohttpClient:
    """The calls to one module (base URL, http or https) through aiohttp. The session is made on the
    first call, in the event loop that makes it (a session belongs to one loop)."""

    def __init__(self, base_url: str, max_connections: int, connect_timeout: float, read_timeout: float):
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"a module URL must be http(s)://host[:port][/path], not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self.read_timeout = self._timeout(read_timeout)
        self.session: aiohttp.ClientSession | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        """`seconds` for the whole call; opening a connection at most the connect timeout of it."""
        timeout = self.timeouts.get(seconds)
        if timeout is None:
            timeout = self.timeouts[seconds] = aiohttp.ClientTimeout(total=seconds, sock_connect=self.connect_timeout)
        return timeout

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self.session is None or self.loop is not loop:
            connector = aiohttp.TCPConnector(limit=self.max_connections)
            self.session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # the modules set no cookies; none are sent back
                skip_auto_headers=_NO_AUTO_HEADERS,
                auto_decompress=False,  # nothing asks for compressed answers (no Accept-Encoding)
            )
            # aiohttp sends a GET, HEAD, PUT or DELETE once more by itself when the server closes the
            # connection without answering; ModuleClient alone decides what is retried (reads, never
            # writes: a module's PUT is an update under If-Match). No public setting; aiohttp's own
            # test client turns it off the same way (tests/unit/gateway/test_gateway_module_http.py).
            self.session._retry_connection = False
            self.loop = loop
        return self.session

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float | None
    ) -> ModuleResponse:
        """Send one request (`target`: path and query under the base URL, already encoded); `timeout`
        (default: the read timeout) bounds the whole call, waiting for a free connection included."""
        try:
            async with self._session().request(
                method,
                URL(self.base_url + target, encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=self._timeout(timeout) if timeout else self.read_timeout,
            ) as response:
                content = await response.read()
        except TimeoutError:  # aiohttp's own timeouts (ServerTimeoutError, ...) are TimeoutErrors too
            raise
        except aiohttp.ClientError as exc:
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
        fields: dict[str, str] = {}
        for raw_name, raw_value in response.raw_headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            fields[name] = f"{fields[name]}, {value}" if name in fields else value
        return ModuleResponse(response.status, response.reason or "", fields, content)

    async def aclose(self) -> None:
        if self.session is not None and self.loop is asyncio.get_running_loop():
            await self.session.close()
        self.session = None


class HttpxClient:
    """Module calls through an `httpx.AsyncClient` instead: how tests plug in httpx transports
    (MockTransport, ASGITransport). httpx's failures become the built-in ones AiohttpClient raises."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float | None
    ) -> ModuleResponse:
        extra = {"timeout": timeout} if timeout is not None else {}  # else the client's own timeouts
        try:
            response = await self.client.request(method, target, headers=headers, content=body, **extra)
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"{type(exc).__name__}: {exc}") from exc
        except httpx.TransportError as exc:
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
        # httpx gives the names lower case and joins repeated fields, as AiohttpClient does
        return ModuleResponse(response.status_code, response.reason_phrase, dict(response.headers.items()),
                              response.content)  # fmt: skip

    async def aclose(self) -> None:
        await self.client.aclose()
