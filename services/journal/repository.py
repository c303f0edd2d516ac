"""The journal's storage: the kernel's versioned store over the journal's own database and index."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from services.journal.index import JOURNAL_INDEX
from services.kernel.store import VersionedStore


def journal_store(engine: Engine, system_id: str) -> VersionedStore:
    return VersionedStore(engine, system_id, JOURNAL_INDEX)
