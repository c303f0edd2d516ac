"""The gateway's HTTP/1.1 client for module calls (gateway/http11.py) against a scripted server:
body framings, interim answers, kept-alive connections, failures."""

from __future__ import annotations

import asyncio

import pytest

from gateway.http11 import ConnectionPool, target


class Scripted:
    """A server that answers each request with the next scripted bytes (None: close the connection
    without answering) and remembers the requests and how many connections it accepted."""

    def __init__(self, answers: list[bytes | None], close_after: bool = False):
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
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.pop(0)
                if answer is None:
                    break
                for piece in answer.split(b"|"):  # "|" splits an answer into separate writes
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.005)
                if self.close_after:
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()


async def serving(script: Scripted) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(script.handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/base"


def pool(url: str) -> ConnectionPool:
    return ConnectionPool(url, max_connections=2, connect_timeout=1, read_timeout=1)


OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nETag: "a::b::1"\r\n\r\n{"a": "b"}\n'


def test_content_length_answers_reuse_one_connection():
    async def scenario():
        script = Scripted([OK, OK])
        server, url = await serving(script)
        async with server:
            modules = pool(url)
            first = await modules.request("GET", "/x?y=1", {"X-Request-Id": "r1"}, None, None)
            second = await modules.request("POST", "/x", {}, b'{"c":1}', None)
            await modules.aclose()
        assert first.status_code == 200 and first.reason_phrase == "OK"
        assert first.json() == {"a": "b"} and first.headers["etag"] == '"a::b::1"'
        assert second.content == b'{"a": "b"}\n'
        assert script.connections == 1
        assert script.requests[0].startswith(b"GET /base/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:")
        assert b"X-Request-Id: r1\r\n" in script.requests[0]
        assert script.requests[1].endswith(b'Content-Length: 7\r\n\r\n{"c":1}')

    asyncio.run(scenario())


def test_chunked_close_delimited_and_interim_answers():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab|cd\r\n3;x=y\r\nefg\r\n0\r\nT: 1\r\n|\r\n"
    interim = b"HTTP/1.1 100 Continue\r\n\r\n|HTTP/1.1 204 No Content\r\n\r\n"
    until_close = b"HTTP/1.0 200 OK\r\n\r\nall of| it"

    async def scenario():
        script = Scripted([chunked, interim, until_close])
        server, url = await serving(script)
        async with server:
            modules = pool(url)
            answers = [await modules.request("GET", "/x", {}, None, None) for _ in range(3)]
            await modules.aclose()
        assert [a.content for a in answers] == [b"abcdefg", b"", b"all of it"]
        assert answers[1].status_code == 204
        assert script.connections == 1  # the close-delimited answer was the last on it

    asyncio.run(scenario())


def test_a_connection_the_module_closed_is_not_reused():
    async def scenario():
        script = Scripted([OK, OK], close_after=True)
        server, url = await serving(script)
        async with server:
            modules = pool(url)
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
            modules = pool(url)
            with pytest.raises(ConnectionError):  # closed without answering
                await modules.request("GET", "/x", {}, None, None)
            with pytest.raises(TimeoutError):  # the body never completes
                await modules.request("GET", "/x", {}, None, 0.2)
            with pytest.raises(ConnectionError):
                await modules.request("GET", "/x", {}, None, None)
            assert not modules.idle
        server_port = url.rsplit(":", 1)[1]
        with pytest.raises(OSError):  # nobody listens any more
            await pool(f"http://127.0.0.1:{server_port}").request("GET", "/x", {}, None, None)

    asyncio.run(scenario())


def test_target_encodes_path_and_query():
    assert target("/ehr/a b/composition", None) == "/ehr/a%20b/composition"
    assert target("/q", [("date_from", "2026-01-01T00:00:00Z"), ("limit", 1)]) == (
        "/q?date_from=2026-01-01T00%3A00%3A00Z&limit=1"
    )
    assert target("/v/x::y::1", {}) == "/v/x::y::1"
