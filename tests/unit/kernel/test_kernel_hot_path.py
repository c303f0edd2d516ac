"""The store's hot path: stored documents read back as text and sent on with their uid spliced in, the
driver's connection (errors as SQLAlchemy's, all or nothing), and where database work runs."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import sqlite3
import threading
import time
import weakref
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.kernel import jsontext
from services.kernel.database import (
    _CHECKPOINTS,
    create_database_engine,
    driver_cursor,
    run_blocking,
    run_write,
    write_transaction,
)
from services.kernel.errors import NotFound
from services.kernel.migrations import upgrade
from services.kernel.openehr_json import document_with_uid, with_uid
from services.kernel.schema import original_version
from services.kernel.store import VersionedStore
from services.kernel.versioning import ChangeType, Committer, LifecycleState, Version, VersionUid
from tests.unit.kernel.coalescing import statements_sent

MIGRATIONS = Path(__file__).parent / "store_migrations"
NURSE = Committer("Sara Sköterska", "SE2321000131-S000000000001")
UID = VersionUid("8c07d7dd-db6c-43a3-9a79-6aadf71f2e47", "test.vgr.se", 2)


@pytest.fixture
def store(database_url):
    upgrade(MIGRATIONS, database_url)
    engine = create_database_engine(database_url)
    yield VersionedStore(engine, "test.vgr.se")
    engine.dispose()


def version_of(payload) -> Version:
    return Version(UID, "e1", "c1", None, NURSE, ChangeType.MODIFICATION, LifecycleState.COMPLETE, "t", payload)


def test_a_stored_document_has_type_first_and_no_uid_and_reads_back_as_written(store):
    sent = {"name": {"value": "Åsa"}, "uid": {"value": "client-chosen"}, "_type": "COMPOSITION", "n": 1}
    created = store.create(ehr_id="e1", data=sent, template_id="t", committer=NURSE)
    with store.engine.connect() as connection:
        stored = connection.execute(sa.select(original_version.c.data)).scalar_one()
    assert list(stored) == ["_type", "name", "n"]
    read = store.latest(created.uid.object_id, "e1")
    assert isinstance(read.payload, bytes), "a read by uid keeps the stored text"
    assert read.data == {"_type": "COMPOSITION", "name": {"value": "Åsa"}, "n": 1}
    assert json.loads(document_with_uid(read)) == with_uid(read)
    assert json.loads(document_with_uid(read))["uid"] == {"_type": "OBJECT_VERSION_ID", "value": str(created.uid)}


@pytest.mark.parametrize(
    "text",
    [
        b'{"_type":"COMPOSITION","a":[1,{"b":"\\u00e5"}]}',  # the store's own form: spliced
        b'{"a":1,"_type":"COMPOSITION"}',  # _type not first (written before the store kept it first)
        b'{"_type":"COMPOSITION"}',  # nothing after _type
        b'{"_type":"COMP\\"OSITION","a":1}',  # an escaped quote in the type
        b'{"_type": "COMPOSITION", "a": 1}',  # other spacing
    ],
)
def test_document_with_uid_is_with_uid_for_any_stored_text(text):
    from_text = version_of(text)
    assert json.loads(document_with_uid(from_text)) == with_uid(version_of(jsontext.loads(text)))
    assert list(json.loads(document_with_uid(from_text)))[:2] == ["_type", "uid"]


def test_a_deletion_has_no_document():
    assert document_with_uid(version_of(None)) is None


def test_a_failed_write_on_the_driver_connection_leaves_nothing_and_raises_sqlalchemy_errors(store):
    created = store.create(ehr_id="e1", data={"_type": "X"}, template_id="t", committer=NURSE)
    now = store._sql.time(created.time_committed)
    with pytest.raises(sa.exc.IntegrityError), driver_cursor(store.engine, write=True) as cursor:
        cursor.execute(store._sql.insert_object, {"id": "o2", "ehr_id": "e1", "now": now})
        cursor.execute(store._sql.insert_object, {"id": created.uid.object_id, "ehr_id": "e1", "now": now})
    with store.engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT id FROM versioned_object")).scalars().all()
    assert ids == [created.uid.object_id], "the first insert of the failed block was rolled back"
    # The connection went back to the pool in a usable state: Core and the hot path both still work.
    assert store.latest(created.uid.object_id).uid == created.uid
    assert store.history(created.uid.object_id)[0].uid == created.uid


def test_where_database_work_runs_and_that_it_keeps_the_request_context(database_url):
    """SQLite: on the event loop. A server database: on a thread."""
    engine = create_database_engine(database_url)
    marker = contextvars.ContextVar("marker", default=None)

    async def main() -> tuple[int, tuple[int, str | None]]:
        marker.set("request 42")
        return threading.get_ident(), await run_blocking(engine, lambda: (threading.get_ident(), marker.get()))

    loop_thread, (work_thread, seen) = asyncio.run(main())
    assert seen == "request 42"
    assert (work_thread == loop_thread) is (engine.dialect.name == "sqlite")
    engine.dispose()


def test_concurrent_reads_by_key_answer_as_single_reads_and_share_one_statement_on_postgresql(store):
    """Every kind of read by key, all at once: each gets what `latest` or `version` gives it alone
    (NotFound with the same message included); on PostgreSQL as one statement, on the event loop."""
    first = store.create(ehr_id="e1", data={"_type": "X", "n": 1}, template_id="t", committer=NURSE)
    object_id = first.uid.object_id
    second = store.update(expected=first.uid, ehr_id="e1", data={"_type": "X", "n": 2}, template_id="t",
                          committer=NURSE)  # fmt: skip
    other = store.create(ehr_id="e2", data={"_type": "Y"}, template_id="t", committer=NURSE)
    gone = store.delete(expected=other.uid, ehr_id="e2", committer=NURSE)
    missing = "0f6a9a4e-55b5-4c55-8c3c-3f1f3e0f3c2b"
    reads = [
        (object_id, None, None), (object_id, "e1", None), (object_id, "e2", None), (missing, None, None),
        (object_id, "e1", first.uid), (object_id, None, second.uid),
        (object_id, "e1", VersionUid(object_id, "elsewhere", 1)), (object_id, "e2", first.uid),
        (object_id, None, VersionUid(object_id, store.system_id, 3)), (other.uid.object_id, "e2", None),
        (other.uid.object_id, None, gone.uid), (missing, "e1", VersionUid(missing, store.system_id, 1)),
    ]  # fmt: skip

    def alone(object_id, ehr_id, uid):
        try:
            version = store.latest(object_id, ehr_id) if uid is None else store.version(uid, ehr_id)
            return version.uid, bytes(version.payload) if version.payload else None
        except Exception as error:
            return type(error), str(error)

    async def together():
        outcomes = await asyncio.gather(*(store.read(*read) for read in reads), return_exceptions=True)
        return [(type(o), str(o)) if isinstance(o, Exception) else (o.uid, bytes(o.payload) if o.payload else None)
                for o in outcomes]  # fmt: skip

    expected = [alone(*read) for read in reads]
    statements = statements_sent(store._reads)
    assert asyncio.run(together()) == expected
    assert [o[0] for o in expected].count(NotFound) == 6, "the reads cover both answers"
    if store.engine.dialect.name == "postgresql":
        assert statements == [len(reads)], "one statement answered all the reads"


@pytest.mark.postgres
def test_coalesced_reads_come_back_after_postgresql_drops_their_connection(postgres_url):
    upgrade(MIGRATIONS, postgres_url)
    store = VersionedStore(create_database_engine(postgres_url), "test.vgr.se")
    created = store.create(ehr_id="e1", data={"_type": "X"}, template_id="t", committer=NURSE)

    async def read_twice_around_a_dropped_connection():
        await store.read(created.uid.object_id)
        with store.engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                               {"pid": store._reads._connection.info.backend_pid})  # fmt: skip
        with pytest.raises(sa.exc.OperationalError):  # answered as the database being unavailable (503)
            await store.read(created.uid.object_id)
        return await store.read(created.uid.object_id)

    assert asyncio.run(read_twice_around_a_dropped_connection()).uid == created.uid
    store.engine.dispose()
    assert store._reads._connection is None, "disposing the engine closes the reads' connection"


@pytest.mark.parametrize("module", ["demographics", "journal", "medication", "referrals"])
def test_postgresql_stores_documents_with_lz4_after_migrating(database_url, module):
    import importlib

    upgrade(importlib.import_module(f"services.{module}.app").MIGRATIONS, database_url)
    engine = create_database_engine(database_url)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            method = connection.exec_driver_sql(
                "SELECT attcompression FROM pg_attribute WHERE attrelid = 'original_version'::regclass"
                " AND attname = 'data'"
            ).scalar_one()
            assert method == "l"
        assert connection.exec_driver_sql("SELECT count(*) FROM original_version").scalar_one() == 0
    engine.dispose()


def test_sqlite_write_ahead_log_is_copied_back_by_the_background_checkpointer(tmp_path):
    database = tmp_path / "checkpoints.db"
    engine = create_database_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0  # no commit does it
        connection.exec_driver_sql("CREATE TABLE note (text TEXT)")
    for _ in range(200):
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO note VALUES (?)", ("x" * 3000,))
    # Generous: under the parallel test run the thread also checkpoints the other tests' databases, and
    # a checkpoint's fsync waits for the disk (10 s was once not enough there; alone it takes ~0.1 s).
    deadline = time.monotonic() + 60
    while database.stat().st_size < 600_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    wal = database.with_name(database.name + "-wal")
    assert database.stat().st_size >= 600_000, (
        "the 600 KB written are in the database file, not only the log: database "
        f"{database.stat().st_size} bytes, log {wal.stat().st_size if wal.exists() else 0} bytes, checkpointer "
        f"alive: {_CHECKPOINTS.thread is not None and _CHECKPOINTS.thread.is_alive()}"
    )
    engine.dispose()


def test_the_checkpointer_never_creates_a_database_that_is_gone(tmp_path):
    database = tmp_path / "gone.db"
    engine = create_database_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE note (text TEXT)")
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    time.sleep(0.3)
    assert not database.exists()
    del engine


def test_a_sqlite_writer_waits_for_the_write_lock_before_it_takes_a_connection(tmp_path):
    """Core's writers (write_transaction) take the lock, then a connection; the hot path must do the same,
    or a writer holding a connection while it waits could leave the lock's holder without one."""
    from services.kernel.database import _SQLITE_WRITERS

    engine = create_database_engine(f"sqlite:///{tmp_path / 'order.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE note (text TEXT)")
    done = threading.Event()

    def write() -> None:
        with driver_cursor(engine, write=True) as cursor:
            cursor.execute("INSERT INTO note VALUES ('x')")
        done.set()

    with _SQLITE_WRITERS[engine]:
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.2)
        assert engine.pool.checkedout() == 0, "the waiting writer holds no connection"
        assert not done.is_set()
    writer.join(5)
    assert done.is_set()
    engine.dispose()


def test_a_sqlite_read_keeps_no_snapshot_and_each_thread_reads_on_its_own_connection(tmp_path):
    """Reads use their thread's kept connection, outside the pool: a read left unfinished (one row fetched
    of many) must not pin the write-ahead log, and a later read must see what was committed meanwhile."""
    database = tmp_path / "readers.db"
    engine = create_database_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE note (n INTEGER)")
        connection.exec_driver_sql("INSERT INTO note VALUES (1), (2), (3)")
    with driver_cursor(engine) as cursor:
        cursor.execute("SELECT n FROM note")
        assert cursor.fetchone() == (1,)
        first = cursor.connection
    assert engine.pool.checkedout() == 0
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO note VALUES (4)")
    checkpoint = sqlite3.connect(database)
    for _ in range(50):  # busy a moment while the background checkpointer runs; for ever behind a snapshot
        busy, _, _ = checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            break
        time.sleep(0.02)
    checkpoint.close()
    assert busy == 0, "no reader holds an old snapshot"
    with driver_cursor(engine) as cursor:
        assert cursor.execute("SELECT count(*) FROM note").fetchone() == (4,)
        assert cursor.connection is first, "the thread's connection is kept"
    others = []

    def read_elsewhere() -> None:
        with driver_cursor(engine) as cursor:
            others.append((cursor.connection, cursor.execute("PRAGMA journal_mode").fetchone()))

    reader = threading.Thread(target=read_elsewhere)
    reader.start()
    reader.join(5)
    assert others[0][0] is not first and others[0][1] == ("wal",), "another thread: its own, configured"
    engine.dispose()
    with driver_cursor(engine) as cursor:  # after a dispose, a new connection
        assert cursor.connection is not first
        assert cursor.execute("SELECT count(*) FROM note").fetchone() == (4,)
    engine.dispose()


def test_the_kept_sqlite_readers_do_not_keep_their_engine_alive(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'collected.db'}")
    with driver_cursor(engine) as cursor:
        cursor.execute("SELECT 1")
    collected = weakref.ref(engine)
    del engine, cursor
    gc.collect()
    assert collected() is None


# --- group commit (run_write) -------------------------------------------------------------------------


def _commits_seen(engine) -> list[str]:
    """The COMMIT statements that the engine's connections run from now on (SQLite's trace callback)."""
    seen: list[str] = []

    @sa.event.listens_for(engine, "connect")
    def trace(dbapi_connection, _record) -> None:
        dbapi_connection.set_trace_callback(lambda sql: seen.append(sql) if sql.startswith("COMMIT") else None)

    engine.dispose()  # connections opened from now on are traced
    return seen


def test_sqlite_writes_that_arrive_together_are_committed_together_and_each_stands_alone(tmp_path):
    """Ten writes reached at once: one transaction on SQLite (each in a savepoint), and the one that fails
    leaves nothing while the other nine stand; each caller gets its own outcome and keeps its context."""
    database_url = f"sqlite:///{tmp_path / 'group.db'}"
    upgrade(MIGRATIONS, database_url)
    store = VersionedStore(create_database_engine(database_url), "test.vgr.se")
    commits = _commits_seen(store.engine)
    marker = contextvars.ContextVar("marker", default=None)

    def create(n: int) -> Version:
        assert marker.get() == f"request {n}", "the work runs in its caller's context"
        created = store.create(ehr_id="e1", data={"_type": "X", "n": n}, template_id="t", committer=NURSE)
        if n == 4:
            raise RuntimeError("the fourth write fails after its statements")
        return created

    async def request(n: int) -> Version:
        marker.set(f"request {n}")
        return await run_write(store.engine, lambda: create(n))

    async def main() -> list:
        return await asyncio.gather(*(request(n) for n in range(10)), return_exceptions=True)

    outcomes = asyncio.run(main())
    assert [type(o).__name__ for o in outcomes] == ["Version"] * 4 + ["RuntimeError"] + ["Version"] * 5
    with store.engine.connect() as connection:
        stored = sorted(d["n"] for d in connection.execute(sa.select(original_version.c.data)).scalars())
    assert stored == [0, 1, 2, 3, 5, 6, 7, 8, 9], "nothing of the failed write, everything of the others"
    for outcome in outcomes:
        if isinstance(outcome, Version):
            assert store.latest(outcome.uid.object_id).data["n"] == outcome.data["n"]
    assert len(commits) == 1, "one transaction for the ten"
    store.engine.dispose()


def test_when_the_group_commit_fails_no_write_of_it_stands(tmp_path):
    """A failure at COMMIT (here a deferred foreign key check) fails every write of the group."""
    database_url = f"sqlite:///{tmp_path / 'group.db'}"
    upgrade(MIGRATIONS, database_url)
    engine = create_database_engine(database_url)
    store = VersionedStore(engine, "test.vgr.se")

    def create(n: int) -> Version:
        return store.create(ehr_id="e1", data={"_type": "X", "n": n}, template_id="t", committer=NURSE)

    def dangling() -> None:
        with driver_cursor(engine, write=True) as cursor:
            cursor.execute("PRAGMA defer_foreign_keys = ON")
            cursor.execute(store._sql.insert_entry, {"id": "nobody", "ehr_id": "e1", "template_id": "t", "version": 1,
                                                    "now": "2026-01-01 00:00:00.000000", "clinical_time": None,
                                                    "lifecycle_state": "complete"})  # fmt: skip

    async def main() -> list:
        writes = [run_write(engine, lambda n=n: create(n)) for n in range(3)]
        return await asyncio.gather(*writes, run_write(engine, dangling), return_exceptions=True)

    outcomes = asyncio.run(main())
    assert all(isinstance(o, sa.exc.IntegrityError) for o in outcomes), outcomes
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM original_version").scalar_one() == 0
    assert asyncio.run(run_write(engine, lambda: create(7))).data["n"] == 7, "the next group commits"
    engine.dispose()


def test_a_write_of_a_group_cannot_open_a_transaction_of_its_own(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'nested.db'}")

    def nested() -> None:
        with write_transaction(engine) as connection:
            connection.exec_driver_sql("SELECT 1")

    with pytest.raises(RuntimeError, match="driver_cursor"):
        asyncio.run(run_write(engine, nested))
    engine.dispose()
