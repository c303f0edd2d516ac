"""May this EHR be written to? Clinical modules ask demographics over HTTP; answers are cached for a while.

An EHR takes new content only while its latest EHR_STATUS has `is_modifiable` true (openEHR RM, EHR
active status). The one lookup (`GET /ehr/{ehr_id}`) answers both whether the EHR exists and that flag.
Only "exists and is modifiable" is cached for the full TTL, so closing an EHR takes effect in the
clinical modules within that TTL; "unknown" and "not modifiable" are cached briefly (an EHR created or
re-opened a moment later should not stay refused for a minute). Demographics being down or slow is a
503, never a 500.
"""

from __future__ import annotations

import enum
import time
from collections import OrderedDict
from collections.abc import Callable

import httpx

from services.kernel.errors import Conflict, NotFound, ServiceUnavailable
from services.kernel.observability import propagate_request_headers

UNKNOWN_TTL_SECONDS = 2.0
# A region has millions of EHRs: the cache keeps the most recently asked ones only.
MAX_CACHED_EHRS = 100_000


class EhrState(enum.Enum):
    UNKNOWN = "unknown"
    MODIFIABLE = "modifiable"
    NOT_MODIFIABLE = "not modifiable"  # its latest EHR_STATUS has is_modifiable false


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
        self._known: OrderedDict[str, tuple[EhrState, float]] = OrderedDict()

    async def require(self, ehr_id: str) -> None:
        """Returns if the EHR may be written to (a composition created, updated or deleted); NotFound if
        demographics does not know it; Conflict if it is not modifiable; ServiceUnavailable if it is down."""
        state = await self.state(ehr_id)
        if state is EhrState.UNKNOWN:
            raise NotFound(f"EHR {ehr_id} is unknown to demographics", "ehr_not_found")
        if state is EhrState.NOT_MODIFIABLE:
            # 409 as EHRbase answers it: the request conflicts with the EHR's current state, and
            # succeeds once its EHR_STATUS is modifiable again.
            raise Conflict(f"EHR {ehr_id} does not allow modification: its EHR_STATUS has is_modifiable "
                           "false", "ehr_not_modifiable")  # fmt: skip

    async def exists(self, ehr_id: str) -> bool:
        return await self.state(ehr_id) is not EhrState.UNKNOWN

    async def state(self, ehr_id: str) -> EhrState:
        cached = self._known.get(ehr_id)
        if cached and cached[1] > self._clock():
            self._known.move_to_end(ehr_id)
            return cached[0]
        state = await self._ask(ehr_id)
        ttl = self._ttl if state is EhrState.MODIFIABLE else min(self._ttl, UNKNOWN_TTL_SECONDS)
        self._known[ehr_id] = (state, self._clock() + ttl)
        self._known.move_to_end(ehr_id)
        while len(self._known) > self._max_cached:
            self._known.popitem(last=False)
        return state

    async def _ask(self, ehr_id: str) -> EhrState:
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
            return _state_of(response)
        if response.status_code in (400, 404):
            return EhrState.UNKNOWN
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


def _state_of(ehr: httpx.Response) -> EhrState:
    """The state in an EHR answer; without an is_modifiable false it is modifiable (a new EHR's default)."""
    try:
        body = ehr.json()
    except ValueError:
        body = None
    status = body.get("ehr_status") if isinstance(body, dict) else None
    closed = isinstance(status, dict) and status.get("is_modifiable") is False
    return EhrState.NOT_MODIFIABLE if closed else EhrState.MODIFIABLE
