"""The HTTP clients behind the gateway's module calls.

`Http11Client` (the default): at most `max_connections` kept-alive HTTP/1.1 connections per module
(asyncio protocols, answers parsed by httptools); a call's timeout bounds the whole call, waiting for
a free connection included. It replaced aiohttp (about 110 µs of the gateway's CPU per call against
about 30 µs, bench/gateway_cpu.py), which had replaced httpx (about 0.9 ms per call).

`HttpxClient`: the calls through an `httpx.AsyncClient` instead, how tests plug in httpx
transports (MockTransport, ASGITransport) and the pact consumer tests their mock server.

Both answer a `ModuleResponse` and fail with the built-in exceptions `ModuleClient` maps:
`TimeoutError`, and `ConnectionError` when a module cannot be reached, breaks the connection or
answers something that is not HTTP.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httptools
import httpx
import orjson

# What a path may carry unescaped (RFC 3986 pchar and "/"); anything else is percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
# What no header field may hold: a line break would end it and start another (header injection).
_FORBIDDEN = re.compile(r"[\r\n\x00]")
# Methods whose request always says how long its body is (Content-Length: 0 when there is none).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


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


class _Connection(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection to a module: sends a request, and httptools (uvicorn's
    parser, llhttp) parses the answer: Content-Length, chunked and close-delimited bodies, keep-alive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future[ModuleResponse] | None = None
        self.closed = False
        self.reusable = False
        self._start()

    def _start(self) -> None:
        self.reason = b""
        self.fields: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.framed = True

    def send(self, request: bytes) -> asyncio.Future[ModuleResponse]:
        self._start()
        self.reusable = False
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.answer

    def close(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()  # whatever is still in flight on it is of no use any more

    # asyncio.Protocol

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"the module answered something that is not HTTP/1.1 ({exc})"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if not self.framed:  # a body the end of the connection delimits
            self._answer()
        self._fail(ConnectionError("the module closed the connection before it answered in full"))
        self.parser = None  # the parser calls back into this protocol: a cycle only the collector would free

    # httptools' callbacks

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        field, text = name.decode("latin-1").lower(), value.decode("latin-1")
        self.fields[field] = f"{self.fields[field]}, {text}" if field in self.fields else text

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        self.framed = (status < 200 or status in (204, 304) or "content-length" in self.fields
                       or "transfer-encoding" in self.fields)  # fmt: skip

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.parser.get_status_code() < 200:
            self._start()  # an interim answer (100 Continue): the final one follows on the same connection
            return
        self.reusable = self.parser.should_keep_alive()
        self._answer()
        if not self.reusable:
            self.close()

    def _answer(self) -> None:
        self.framed = True
        if self.answer is None or self.answer.done():
            self.close()  # an answer nobody asked for (or waits for any more): the connection is out of step
            return
        response = ModuleResponse(self.parser.get_status_code(), self.reason.decode("latin-1"), self.fields,
                                  b"".join(self.chunks))  # fmt: skip
        self.answer.set_result(response)

    def _fail(self, error: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(error)


class Http11Client:
    """The calls to one module (base URL, http or https) over at most `max_connections` kept-alive
    HTTP/1.1 connections; a call's timeout bounds the whole call, waiting for a free connection included.
    httptools parses the answers; what is ours is the framing of the request and the pool. The pool
    belongs to the event loop that uses it (another loop starts a new pool). HEAD is not sent: its
    answer's Content-Length announces a body that never comes, which httptools cannot be told."""

    def __init__(self, base_url: str, max_connections: int, connect_timeout: float, read_timeout: float):
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"a module URL must be http(s)://host[:port][/path], not {base_url!r}")
        self.host, self.port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
        self.ssl = url.scheme == "https"
        self.host_field = f"Host: {url.netloc.rpartition('@')[2]}\r\n"
        self.base_path = url.path.rstrip("/")
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        # made by the first call, in its event loop (see `request`)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.slots: asyncio.Semaphore | None = None
        self.idle: list[_Connection] = []

    def _head(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> bytes:
        if method == "HEAD":
            raise ValueError("HEAD is not sent to modules (use GET)")
        lines = [f"{method} {self.base_path}{target} HTTP/1.1\r\n", self.host_field]
        for name, value in headers.items():
            if _FORBIDDEN.search(name) or _FORBIDDEN.search(value):
                raise ValueError(f"header {name!r} holds a line break or control character")
            lines.append(f"{name}: {value}\r\n")
        if body is not None or method in _BODY_METHODS:
            lines.append(f"Content-Length: {len(body or b'')}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float | None
    ) -> ModuleResponse:
        """Send one request (`target`: path and query under the base URL, already encoded); `timeout`
        (default: the read timeout) bounds the whole call, waiting for a free connection included."""
        request = self._head(method, target, headers, body) + (body or b"")
        loop = asyncio.get_running_loop()
        if self.loop is not loop:  # connections and the semaphore belong to one loop
            self.loop, self.slots, self.idle = loop, asyncio.Semaphore(self.max_connections), []
        async with asyncio.timeout(timeout or self.read_timeout), self.slots:
            connection = await self._connection()
            try:
                response = await connection.send(request)
            except BaseException:  # timed out, cancelled or failed: what it would still receive is of no use
                connection.close()
                raise
            if connection.reusable:
                self.idle.append(connection)
            return response

    async def _connection(self) -> _Connection:
        while self.idle:
            connection = self.idle.pop()  # the most recently used: the least likely to be closed by now
            if not connection.closed:
                return connection
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await self.loop.create_connection(_Connection, self.host, self.port,
                                                                  ssl=self.ssl or None)  # fmt: skip
        except (ConnectionError, TimeoutError):
            raise
        except OSError as exc:  # no such host, no route, ...
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
        return connection

    async def aclose(self) -> None:
        if self.loop is asyncio.get_running_loop():
            for connection in self.idle:
                connection.close()
        self.idle = []


class HttpxClient:
    """Module calls through an `httpx.AsyncClient` instead: how tests plug in httpx transports
    (MockTransport, ASGITransport). httpx's failures become the built-in ones Http11Client raises."""

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
        # httpx gives the names lower case and joins repeated fields, as Http11Client does
        return ModuleResponse(response.status_code, response.reason_phrase, dict(response.headers.items()),
                              response.content)  # fmt: skip

    async def aclose(self) -> None:
        await self.client.aclose()
