"""The modules' access log: one JSON line per request, written straight to the log's own handler while it
is the only one, and through the logging module's dispatch whenever someone configured more."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.kernel.observability import ACCESS_LOGGER, AccessLogHandler, JsonLineFormatter, install_observability

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


@pytest.fixture
def access_log():
    """The access logger with only its own handler, writing to a StringIO; restored afterwards.

    pytest adds its capturing handlers to a logger that does not propagate when the test itself starts,
    after the fixtures: each test calls `own_handler_only` first."""
    logger = logging.getLogger(ACCESS_LOGGER)
    saved = logger.handlers[:], logger.filters[:], logger.level, logger.propagate
    stream = io.StringIO()
    logger.handlers[:] = [AccessLogHandler(stream)]
    logger.filters[:] = []
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.handlers[:], logger.filters[:], level, logger.propagate = saved
    logger.setLevel(level)


def own_handler_only(logger: logging.Logger) -> None:
    logger.handlers[:] = [h for h in logger.handlers if type(h) is AccessLogHandler]


@pytest.fixture
def client(access_log) -> TestClient:
    app = FastAPI()
    install_observability(app, "journal")

    @app.get("/ehr/{ehr_id}")
    async def read(ehr_id: str) -> dict:
        return {"ehr_id": ehr_id}

    return TestClient(app)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_own_handler_gets_the_line_the_formatter_would_write(access_log, client):
    logger, stream = access_log
    own_handler_only(logger)
    assert AccessLogHandler.fast_path(logger) is logger.handlers[0]
    assert client.get("/ehr/191212121212?name=Tolvan", headers={"X-Request-Id": "req-1"}).status_code == 200
    [line] = _lines(stream)
    assert TIME.match(line.pop("time"))
    assert 0 <= line.pop("duration_ms") < 10_000
    fields = {"module": "journal", "request_id": "req-1", "method": "GET", "route": "/ehr/{ehr_id}", "status": 200}
    assert line == {"level": "info", "message": "request", **fields}
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 0, "request", (), None)
    record.fields = fields
    expected = json.loads(JsonLineFormatter().format(record))
    assert {k: v for k, v in expected.items() if k != "time"} == line
    assert "191212121212" not in stream.getvalue() and "Tolvan" not in stream.getvalue()


def test_every_handler_gets_the_line_when_there_are_more(access_log, client):
    logger, stream = access_log
    own_handler_only(logger)
    other = io.StringIO()
    extra = logging.StreamHandler(other)
    extra.setFormatter(JsonLineFormatter())
    logger.addHandler(extra)
    assert AccessLogHandler.fast_path(logger) is None
    client.get("/ehr/e1", headers={"X-Request-Id": "req-2"})
    assert [line["request_id"] for line in _lines(stream)] == ["req-2"]
    assert [line["request_id"] for line in _lines(other)] == ["req-2"]


def test_a_filter_on_the_logger_or_the_handler_is_honoured(access_log, client):
    logger, stream = access_log
    own_handler_only(logger)
    logger.addFilter(lambda record: record.fields["route"] != "/ehr/{ehr_id}")
    client.get("/ehr/e1")
    logger.filters.clear()
    logger.handlers[0].addFilter(lambda record: False)
    client.get("/ehr/e1")
    assert stream.getvalue() == ""


def test_no_line_below_the_loggers_level(access_log, client):
    logger, stream = access_log
    own_handler_only(logger)
    logger.setLevel(logging.WARNING)
    client.get("/ehr/e1")
    assert stream.getvalue() == ""


def test_a_broken_log_stream_does_not_fail_the_request(access_log, client, capsys):
    logger, _ = access_log
    own_handler_only(logger)

    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    logger.handlers[0].setStream(Broken())
    assert client.get("/ehr/e1").status_code == 200
    assert "disk full" in capsys.readouterr().err  # reported the way logging reports a failed emit
