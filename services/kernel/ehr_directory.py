"""Does this EHR exist? Clinical modules ask demographics over HTTP; answers are cached for a while.

Only "exists" is cached for the full TTL; "unknown" is cached briefly too (an EHR created a moment
later should not stay invisible for a minute). Demographics being down or slow is a 503, never a 500.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

import httpx

from services.kernel.errors import NotFound, ServiceUnavailable
from services.kernel.observability import propagate_request_headers

UNKNOWN_TTL_SECONDS = 2.0
# A region has millions of EHRs: the cache keeps the most recently asked ones only.
MAX_CACHED_EHRS = 100_000


class EhrDirectory:
    def __init__(
        self,
        demographics_url: str,
        *,
        timeout_seconds: float = 2.0,
        ttl_seconds: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_cached: int = MAX_CACHED_EHRS,
    ):
        self._client = httpx.AsyncClient(
            base_url=demographics_url.rstrip("/"), timeout=timeout_seconds, transport=transport,
            event_hooks={"request": [propagate_request_headers]},  # the caller's request id goes along
        )
        self._ttl = ttl_seconds
        self._clock = clock
        self._max_cached = max_cached
        self._known: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    async def require(self, ehr_id: str) -> None:
        """Returns if demographics knows the EHR; NotFound if not; ServiceUnavailable if it is down."""
        if not await self.exists(ehr_id):
            raise NotFound(f"EHR {ehr_id} is unknown to demographics", "ehr_not_found")

    async def exists(self, ehr_id: str) -> bool:
        cached = self._known.get(ehr_id)
        if cached and cached[1] > self._clock():
            self._known.move_to_end(ehr_id)
            return cached[0]
        exists = await self._ask(ehr_id)
        self._known[ehr_id] = (
            exists,
            self._clock() + (self._ttl if exists else min(self._ttl, UNKNOWN_TTL_SECONDS)),
        )
        self._known.move_to_end(ehr_id)
        while len(self._known) > self._max_cached:
            self._known.popitem(last=False)
        return exists

    async def _ask(self, ehr_id: str) -> bool:
        try:
            response = await self._client.get(f"/rest/openehr/v1/ehr/{ehr_id}")
        except httpx.TimeoutException as error:
            raise ServiceUnavailable(
                f"Demographics did not answer in time whether EHR {ehr_id} exists", "demographics_timeout"
            ) from error
        except httpx.HTTPError as error:
            raise ServiceUnavailable(
                f"Demographics is unreachable: {error}", "demographics_unavailable"
            ) from error
        if response.status_code == 200:
            return True
        if response.status_code in (400, 404):
            return False
        raise ServiceUnavailable(
            f"Demographics answered {response.status_code} for EHR {ehr_id}", "demographics_unavailable"
        )

    async def ping(self) -> bool:
        try:
            response = await self._client.get("/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        await self._client.aclose()
