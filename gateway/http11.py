"""A small HTTP/1.1 client for the gateway's module calls: kept-alive connections per module.

Why not httpx for these calls: one module read through `httpx.AsyncClient` (client, httpcore's
pool, anyio, h11) cost the gateway about 0.9 ms of CPU, more than half of a Patient read
(bench/gateway_cpu.py). Here a request is written in one piece and the answer is parsed as it
arrives (in the protocol's `data_received`), so a call costs one wake-up of the waiting request.
httpx stays the way to plug in other transports (`HttpxClient`: the tests' MockTransport and
ASGITransport, the pact consumer tests).

It speaks what an HTTP/1.1 server may answer: Content-Length, chunked or close-delimited bodies,
interim 1xx answers, keep-alive or `Connection: close`. Failures are the built-in ones:
`TimeoutError`, and `ConnectionError` (any `OSError`) when a module cannot be reached or breaks
the connection.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import orjson

# What a path may carry unescaped (RFC 3986 pchar and "/"); anything else is percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


class ModuleResponse:
    """A module's answer; header names are lower case."""

    __slots__ = ("status_code", "reason_phrase", "headers", "content")

    def __init__(self, status_code: int, reason_phrase: str, headers: dict[str, str], content: bytes):
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.content = content

    def json(self) -> Any:
        return orjson.loads(self.content)


def target(path: str, params: Any = None) -> str:
    """The request target: the path percent-encoded where it must be, and the query."""
    path = quote(path, safe=_PATH_SAFE)
    return f"{path}?{urlencode(params)}" if params else path


class _Connection(asyncio.Protocol):
    """One kept-alive connection; it carries one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answer: asyncio.Future[ModuleResponse] | None = None
        self.method = "GET"
        self.head: tuple[int, str, dict[str, str]] | None = None
        self.length: int | None = None  # body length; -1: chunked; None: until the server closes
        self.keep_alive = True
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answer is None or self.answer.done():
            return
        if self.head is not None and self.length is None:
            self._answer(bytes(self.buffer))  # a close-delimited body ends here
        else:
            self.answer.set_exception(ConnectionError(f"the module closed the connection ({exc or 'EOF'})"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.answer is None or self.answer.done():
            self.keep_alive = False  # bytes nobody asked for: this connection is not to be trusted
            return
        try:
            self._parse()
        except (ValueError, IndexError) as exc:
            self.keep_alive = False
            self.answer.set_exception(ConnectionError(f"the module's answer is not HTTP/1.1: {exc}"))

    def send(self, data: bytes, method: str) -> asyncio.Future[ModuleResponse]:
        self.answer = asyncio.get_running_loop().create_future()
        self.method, self.head, self.length = method, None, None
        self.transport.write(data)
        return self.answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _parse(self) -> None:
        while self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            del self.buffer[: end + 4]
            version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
            code = int(status)
            if code < 200:
                continue  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name, value = name.strip().lower(), value.strip()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            connection = headers.get("connection", "").lower()
            self.keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
            if self.method == "HEAD" or code in (204, 304):
                self.length = 0
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                self.length = -1
            elif "content-length" in headers:
                self.length = int(headers["content-length"])
            else:
                self.keep_alive = False  # the body ends when the server closes
            self.head = (code, reason, headers)
        if self.length is None:
            return
        if self.length >= 0:
            if len(self.buffer) >= self.length:
                body = bytes(self.buffer[: self.length])
                del self.buffer[: self.length]
                self._answer(body)
            return
        body = self._chunked_body()
        if body is not None:
            self._answer(body)

    def _chunked_body(self) -> bytes | None:
        """The whole chunked body once it has arrived (then taken from the buffer), else None."""
        buffer, at, chunks = self.buffer, 0, []
        while True:
            end = buffer.find(b"\r\n", at)
            if end < 0:
                return None
            size = int(bytes(buffer[at:end]).split(b";", 1)[0], 16)
            if size == 0:
                if buffer[end + 2 : end + 4] == b"\r\n":
                    done = end + 4
                else:  # trailer fields, up to an empty line
                    trailers = buffer.find(b"\r\n\r\n", end + 2)
                    if trailers < 0:
                        return None
                    done = trailers + 4
                del buffer[:done]
                return b"".join(chunks)
            start = end + 2
            if len(buffer) < start + size + 2:
                return None
            chunks.append(bytes(buffer[start : start + size]))
            at = start + size + 2

    def _answer(self, body: bytes) -> None:
        code, reason, headers = self.head
        if self.buffer:
            self.keep_alive = False  # more than the answer arrived
        self.answer.set_result(ModuleResponse(code, reason, headers, body))


class ConnectionPool:
    """The connections to one module (base URL, http or https): at most `max_connections` open,
    idle ones kept for the next call; a call waits for a free connection within its timeout."""

    def __init__(self, base_url: str, max_connections: int, connect_timeout: float, read_timeout: float):
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"a module URL must be http(s)://host[:port][/path], not {base_url!r}")
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.tls = ssl.create_default_context() if url.scheme == "https" else None
        self.prefix = url.path.rstrip("/")
        self.host_header = f"Host: {url.netloc}\r\n"
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.free = asyncio.Semaphore(max_connections)
        self.idle: list[_Connection] = []

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float | None
    ) -> ModuleResponse:
        """Send one request (`target`: path and query under the base URL); `timeout` (default: the read
        timeout) bounds the whole call, waiting for a free connection included."""
        head = f"{method} {self.prefix}{target} HTTP/1.1\r\n{self.host_header}"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        if body is not None:
            head += f"Content-Length: {len(body)}\r\n"
        data = (head + "\r\n").encode("latin-1") + (body or b"")
        async with asyncio.timeout(timeout or self.read_timeout), self.free:
            connection = self._idle() or await self._connect()
            try:
                response = await connection.send(data, method)
            except BaseException:
                connection.close()  # timed out or cancelled mid-answer: not reusable
                raise
        if connection.keep_alive and not connection.closed:
            self.idle.append(connection)
        else:
            connection.close()
        return response

    def _idle(self) -> _Connection | None:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed and connection.keep_alive:
                return connection
            connection.close()  # the module closed it while it was idle
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.connect_timeout):
            _, connection = await loop.create_connection(
                _Connection, self.host, self.port, ssl=self.tls, server_hostname=self.host if self.tls else None
            )
        return connection

    async def aclose(self) -> None:
        while self.idle:
            self.idle.pop().close()


class HttpxClient:
    """Module calls through an `httpx.AsyncClient` instead: how tests plug in httpx transports
    (MockTransport, ASGITransport). httpx's failures become the built-in ones ConnectionPool raises."""

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
        # httpx gives the names lower case and joins repeated fields, as ConnectionPool does
        return ModuleResponse(response.status_code, response.reason_phrase, dict(response.headers.items()),
                              response.content)  # fmt: skip

    async def aclose(self) -> None:
        await self.client.aclose()
