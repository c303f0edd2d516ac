"""The EHR lookup in demographics: cached, with a timeout; unknown is 404, down or slow is 503."""

from __future__ import annotations

import httpx
import pytest

from services.kernel.ehr_directory import EhrDirectory
from services.kernel.errors import Conflict, NotFound, ServiceUnavailable

pytestmark = pytest.mark.anyio
KNOWN = "7d44b88c-4199-4bad-97dc-d78268e01398"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def directory(handler, clock=None, ttl=60.0, max_cached=100) -> tuple[EhrDirectory, list[str]]:
    asked: list[str] = []

    def recording(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return handler(request)

    ehrs = EhrDirectory(
        "http://demographics.test/",
        ttl_seconds=ttl,
        transport=httpx.MockTransport(recording),
        clock=clock or Clock(),
        max_cached=max_cached,
    )
    return ehrs, asked


def knows_only_known(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200 if request.url.path.endswith(KNOWN) else 404, json={})


async def test_asks_demographics_at_the_openehr_path():
    ehrs, asked = directory(knows_only_known)
    await ehrs.require(KNOWN)
    assert asked == [f"/rest/openehr/v1/ehr/{KNOWN}"]


async def test_a_known_ehr_is_cached_until_the_ttl_runs_out():
    clock = Clock()
    ehrs, asked = directory(knows_only_known, clock)
    await ehrs.require(KNOWN)
    clock.now += 59
    await ehrs.require(KNOWN)
    assert len(asked) == 1
    clock.now += 2
    await ehrs.require(KNOWN)
    assert len(asked) == 2


async def test_an_unknown_ehr_is_404_and_asked_again_soon():
    clock = Clock()
    ehrs, asked = directory(knows_only_known, clock)
    with pytest.raises(NotFound) as unknown:
        await ehrs.require("other")
    assert unknown.value.code == "ehr_not_found"
    clock.now += 5
    with pytest.raises(NotFound):
        await ehrs.require("other")
    assert len(asked) == 2


async def test_an_ehr_that_is_not_modifiable_refuses_writes_with_409_and_is_asked_again_soon():
    """One lookup answers both questions: the EHR's latest EHR_STATUS comes with it."""
    clock = Clock()
    modifiable = iter([False, True])

    def ehr(request):
        return httpx.Response(200, json={"ehr_id": {"value": KNOWN},
                                         "ehr_status": {"is_modifiable": next(modifiable)}})  # fmt: skip

    ehrs, asked = directory(ehr, clock)
    with pytest.raises(Conflict) as closed:
        await ehrs.require(KNOWN)
    assert closed.value.code == "ehr_not_modifiable" and KNOWN in closed.value.message
    assert await ehrs.exists(KNOWN) is True  # it exists all the same; the answer came from the cache
    assert len(asked) == 1
    clock.now += 5  # re-opened meanwhile: not refused for a whole TTL
    await ehrs.require(KNOWN)
    assert len(asked) == 2


async def test_demographics_down_is_503():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    ehrs, _ = directory(refuse)
    with pytest.raises(ServiceUnavailable) as down:
        await ehrs.require(KNOWN)
    assert down.value.status == 503 and down.value.code == "demographics_unavailable"
    assert await ehrs.ping() is False


async def test_demographics_too_slow_is_503_timeout():
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    ehrs, _ = directory(slow)
    with pytest.raises(ServiceUnavailable) as timeout:
        await ehrs.require(KNOWN)
    assert timeout.value.code == "demographics_timeout"


async def test_demographics_failing_is_503_and_not_cached():
    answers = iter([500, 200])
    ehrs, asked = directory(lambda request: httpx.Response(next(answers), json={}))
    with pytest.raises(ServiceUnavailable):
        await ehrs.require(KNOWN)
    await ehrs.require(KNOWN)
    assert len(asked) == 2


async def test_a_real_timeout_against_a_silent_server_is_503():
    import asyncio
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        ehrs = EhrDirectory(f"http://127.0.0.1:{port}", timeout_seconds=0.2)
        with pytest.raises(ServiceUnavailable):
            await asyncio.wait_for(ehrs.require(KNOWN), timeout=5)
        await ehrs.aclose()
    finally:
        listener.close()


async def test_the_cache_keeps_only_the_most_recently_asked_ehrs():
    ehrs, asked = directory(lambda request: httpx.Response(200, json={}), max_cached=2)
    for ehr_id in ["a", "b", "a", "c"]:  # "b" is the least recently asked when "c" arrives
        await ehrs.require(ehr_id)
    await ehrs.require("a")
    await ehrs.require("b")
    assert [path.rsplit("/", 1)[1] for path in asked] == ["a", "b", "c", "b"]
