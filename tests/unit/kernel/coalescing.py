"""What the tests of coalesced statements share."""

from __future__ import annotations

from services.kernel.database import Coalesced


def statements_sent(coalesced: Coalesced | None) -> list[int]:
    """From now on, how many keys each statement of `coalesced` carries (nothing on SQLite: None)."""
    sent: list[int] = []
    if coalesced is not None:
        rows = coalesced._rows

        async def counted(keys):
            sent.append(len(keys))
            return await rows(keys)

        coalesced._rows = counted
    return sent
