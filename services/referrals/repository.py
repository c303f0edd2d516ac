"""The referrals module's storage: the kernel's versioned store over its own database and index."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from services.kernel.store import VersionedStore
from services.referrals.index import REFERRALS_INDEX


def referrals_store(engine: Engine, system_id: str) -> VersionedStore:
    return VersionedStore(engine, system_id, REFERRALS_INDEX)
