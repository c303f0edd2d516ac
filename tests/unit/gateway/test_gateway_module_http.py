"""The gateway's module calls over real sockets (gateway/module_http.py, Http11Client): what the
gateway relies on — kept-alive connections, what is sent, failures as ConnectionError and
TimeoutError and, through ModuleClient and the app, a 503 naming the module."""

from __future__ import annotations

import asyncio
import socket
import warnings
from collections.abc import Callable

import pytest

from gateway.app import create_app
from gateway.fhir.errors import FhirError
from gateway.module_http import Http11Client, target
from gateway.modules import ModuleClient
from gateway.settings import GatewaySettings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

Answer = bytes | Callable[[bytes], bytes] | tuple[float, bytes] | None


class Scripted:
    """A server that answers each request with the next scripted answer (bytes; a function of the
    request; (seconds, bytes): the bytes after that delay; None: close the connection without
    answering) and remembers the requests and how many connections it accepted."""

    def __init__(self, answers: list[Answer], close_after: bool = False):
        self.answers = answers
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.answers.pop(0)
                if answer is None:
                    break
                if isinstance(answer, tuple):
                    await asyncio.sleep(answer[0])
                    answer = answer[1]
                writer.write(answer(request) if callable(answer) else answer)
                await writer.drain()
                if self.close_after:
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()


async def serving(script: Scripted) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(script.handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/base"


def client(url: str) -> Http11Client:
    return Http11Client(url, max_connections=2, connect_timeout=1, read_timeout=1)


def free_port() -> int:
    """A port nobody listens on (any more)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nETag: "a::b::1"\r\n\r\n{"a": "b"}\n'


def echo(request: bytes) -> bytes:
    """The request's body back, as JSON."""
    body = request.split(b"\r\n\r\n", 1)[1]
    return b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def test_answers_reuse_one_kept_alive_connection():
    async def scenario():
        script = Scripted([OK, OK])
        server, url = await serving(script)
        async with server:
            modules = client(url)
            first = await modules.request("GET", "/x?y=1", {"X-Request-Id": "r1"}, None, None)
            second = await modules.request("POST", "/x", {"Content-Type": "application/json"}, b'{"c":1}', None)
            await modules.aclose()
        assert first.status_code == 200 and first.reason_phrase == "OK"
        assert first.json() == {"a": "b"} and first.headers["etag"] == '"a::b::1"'
        assert first.headers["content-type"] == "application/json"
        assert second.content == b'{"a": "b"}\n'
        assert script.connections == 1
        assert script.requests[0].startswith(b"GET /base/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:")
        assert b"X-Request-Id: r1\r\n" in script.requests[0]
        # only what the gateway sends: no User-Agent, Accept-Encoding or Content-Type of a client's own
        assert b"user-agent" not in script.requests[0].lower() and b"accept-encoding" not in script.requests[0].lower()
        assert b"Content-Type: application/json\r\n" in script.requests[1]
        assert b"Content-Length: 7\r\n" in script.requests[1] and script.requests[1].endswith(b'\r\n\r\n{"c":1}')

    asyncio.run(scenario())


def test_repeated_header_fields_are_joined_and_names_lower_case():
    answer = b"HTTP/1.1 204 No Content\r\nX-A: 1\r\nX-a: 2\r\nLocation: /y\r\n\r\n"

    async def scenario():
        script = Scripted([answer])
        server, url = await serving(script)
        async with server:
            modules = client(url)
            response = await modules.request("GET", "/x", {}, None, None)
            await modules.aclose()
        assert response.status_code == 204 and response.content == b""
        assert response.headers["x-a"] == "1, 2" and response.headers["location"] == "/y"

    asyncio.run(scenario())


def test_a_connection_the_module_closed_is_not_reused():
    async def scenario():
        script = Scripted([OK, OK], close_after=True)
        server, url = await serving(script)
        async with server:
            modules = client(url)
            await modules.request("GET", "/x", {}, None, None)
            await asyncio.sleep(0.05)  # the server's FIN arrives while the connection is idle
            second = await modules.request("GET", "/x", {}, None, None)
            await modules.aclose()
        assert second.status_code == 200 and script.connections == 2

    asyncio.run(scenario())


def test_failures_are_connection_errors_and_timeouts():
    async def scenario():
        script = Scripted([None, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", b"not http\r\n\r\n"])
        server, url = await serving(script)
        async with server:
            modules = client(url)
            with pytest.raises(ConnectionError):  # closed without answering
                await modules.request("GET", "/x", {}, None, None)
            with pytest.raises(TimeoutError):  # the body never completes
                await modules.request("GET", "/x", {}, None, 0.2)
            with pytest.raises(ConnectionError):
                await modules.request("GET", "/x", {}, None, None)
            await modules.aclose()
        assert len(script.requests) == 3  # each sent once: ModuleClient alone retries (reads only)
        with pytest.raises(ConnectionError):  # nobody listens
            await client(f"http://127.0.0.1:{free_port()}").request("GET", "/x", {}, None, None)

    asyncio.run(scenario())


def test_chunked_interim_and_close_delimited_answers():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n5\r\n: 1}\n\r\n0\r\n\r\n"
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + OK

    async def scenario():
        script = Scripted([chunked, interim, OK])
        server, url = await serving(script)
        async with server:
            modules = client(url)
            answers = [await modules.request("GET", "/x", {}, None, None) for _ in range(3)]
            await modules.aclose()
        assert [a.json() for a in answers] == [{"a": 1}, {"a": "b"}, {"a": "b"}]
        assert answers[1].status_code == 200 and script.connections == 1

    async def until_close():  # no Content-Length, not chunked: the end of the connection ends the body
        script = Scripted([b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[1, 2]", OK], close_after=True)
        server, url = await serving(script)
        async with server:
            modules = client(url)
            first = await modules.request("GET", "/x", {}, None, None)
            second = await modules.request("GET", "/x", {}, None, None)
            await modules.aclose()
        assert first.json() == [1, 2] and second.json() == {"a": "b"} and script.connections == 2

    asyncio.run(scenario())
    asyncio.run(until_close())


def test_at_most_max_connections_and_the_wait_counts_against_the_timeout():
    slow = (0.2, OK)

    async def scenario():
        script = Scripted([slow] * 6)
        server, url = await serving(script)
        async with server:
            modules = client(url)  # at most 2 connections
            answers = await asyncio.gather(*(modules.request("GET", "/x", {}, None, None) for _ in range(3)))
            assert [a.status_code for a in answers] == [200] * 3 and script.connections == 2
            # two calls hold both connections for 0.2 s: the third's 0.1 s end while it waits for one
            busy = [asyncio.ensure_future(modules.request("GET", "/x", {}, None, None)) for _ in range(2)]
            await asyncio.sleep(0.01)
            with pytest.raises(TimeoutError):
                await modules.request("GET", "/x", {}, None, 0.1)
            assert [a.status_code for a in await asyncio.gather(*busy)] == [200, 200]
            await modules.aclose()
        assert script.connections == 2 and len(script.requests) == 5

    asyncio.run(scenario())


def test_a_timed_out_call_does_not_leave_its_late_answer_to_the_next():
    late = (0.3, b'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n"late"')

    async def scenario():
        script = Scripted([late, OK])
        server, url = await serving(script)
        async with server:
            modules = client(url)
            with pytest.raises(TimeoutError):
                await modules.request("GET", "/x", {}, None, 0.1)
            second = await modules.request("GET", "/x", {}, None, None)
            await modules.aclose()
        assert second.json() == {"a": "b"} and script.connections == 2

    asyncio.run(scenario())


def test_a_header_with_a_line_break_is_refused_before_anything_is_sent():
    async def scenario():
        script = Scripted([OK])
        server, url = await serving(script)
        async with server:
            modules = client(url)
            with pytest.raises(ValueError, match="line break"):
                await modules.request("GET", "/x", {"X-Request-Id": "a\r\nX-Admin: 1"}, None, None)
            await modules.aclose()
        assert script.requests == []

    asyncio.run(scenario())


def test_a_write_the_module_dropped_is_not_sent_again():
    async def scenario():
        script = Scripted([None, OK])
        server, url = await serving(script)
        async with server:
            module = ModuleClient("journal", client(url), read_retries=2)
            with pytest.raises(FhirError) as dropped:
                await module.request("PUT", "/ehr/e/composition/c", json={"a": 1}, headers={"If-Match": "c::n::1"})
            await module.aclose()
        assert dropped.value.status == 503 and "The journal module is unavailable" in str(dropped.value)
        assert len(script.requests) == 1 and script.requests[0].startswith(b"PUT ")

    asyncio.run(scenario())


def test_module_client_json_round_trip_and_encoded_targets():
    async def scenario():
        script = Scripted([echo])
        server, url = await serving(script)
        async with server:
            module = ModuleClient("journal", client(url), read_retries=0)
            sent = {"name": "Åsa Öberg", "items": [1, 2.5, None, True]}
            response = await module.request("POST", "/ehr/å b/composition", params={"q": "Ö&x"}, json=sent)
            await module.aclose()
        assert response.status_code == 201 and response.json() == sent
        request_line = script.requests[0].split(b"\r\n", 1)[0]
        assert request_line == b"POST /base/rest/openehr/v1/ehr/%C3%A5%20b/composition?q=%C3%96%26x HTTP/1.1"
        assert b"Content-Type: application/json\r\n" in script.requests[0]

    asyncio.run(scenario())


def test_module_client_down_or_closing_is_503_naming_the_module():
    async def scenario():
        script = Scripted([None, None])
        server, url = await serving(script)
        errors: list[tuple[str, str]] = []
        async with server:
            closing = ModuleClient("medication", client(url), read_retries=1, on_error=lambda *e: errors.append(e))
            with pytest.raises(FhirError) as closed:
                await closing.get("/ehr")
            await closing.aclose()
        down = ModuleClient("demographics", client(f"http://127.0.0.1:{free_port()}"), read_retries=0)
        with pytest.raises(FhirError) as refused:
            await down.get("/ehr")
        await down.aclose()
        assert closed.value.status == 503 and "The medication module is unavailable" in str(closed.value)
        assert errors == [("medication", "unreachable")] * 2  # the GET was tried again once
        assert refused.value.status == 503 and "The demographics module is unavailable" in str(refused.value)

    asyncio.run(scenario())


def test_gateway_over_real_sockets_answers_503_for_a_module_down_or_timing_out():
    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        settings = GatewaySettings(
            read_retries=0,
            read_timeout=0.3,
            demographics_url=f"http://127.0.0.1:{free_port()}",
            medication_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
        )
        with TestClient(create_app(settings)) as gateway:
            down = gateway.get("/fhir/Patient/5b8e3c1a-4a7f-4f43-9a0e-2a9d1c3b7e10")
            slow = gateway.get("/fhir/MedicationRequest/" + "ab" * 32)
    finally:
        silent.close()
    assert down.status_code == 503
    assert down.json()["issue"][0]["code"] == "transient"
    assert "The demographics module is unavailable: unreachable" in down.json()["issue"][0]["diagnostics"]
    assert slow.status_code == 503
    assert "The medication module is unavailable: timed out" in slow.json()["issue"][0]["diagnostics"]


def test_target_encodes_path_and_query():
    assert target("/ehr/a b/composition", None) == "/ehr/a%20b/composition"
    assert target("/q", [("date_from", "2026-01-01T00:00:00Z"), ("limit", 1)]) == (
        "/q?date_from=2026-01-01T00%3A00%3A00Z&limit=1"
    )
    assert target("/v/x::y::1", {}) == "/v/x::y::1"
    assert target("/person/Ö", {"name": "Åsa"}) == "/person/%C3%96?name=%C3%85sa"
