"""Engines for the embedded default (a SQLite file) and for PostgreSQL: the write transaction, the driver
cursor of the store's hot path, where a store call runs (`run_blocking`, `run_write` with SQLite's group
commit), and SQLite's checkpointer."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from services.kernel import jsontext

_WRITE = "openehr_write"
DATABASE_THREADS = 8  # calls to a server database run on this many threads (see run_blocking)
# SQLite has one writer at a time. Writers of this process queue on a lock instead of in SQLite's
# busy handler, which sleeps with back-off (up to 100 ms a try) and turned 16 concurrent commits into
# second-long tail latencies. Other processes on the same file still meet the busy handler.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def _json_from_database(raw: str | bytes | memoryview) -> object:
    return jsontext.loads(raw.encode() if isinstance(raw, str) else bytes(raw))


# Documents in JSON columns: read and written with orjson (see services.kernel.jsontext).
_JSON = {"json_serializer": lambda value: jsontext.dumps(value).decode(), "json_deserializer": _json_from_database}


def create_database_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pool_pre_ping: it costs a round trip on every request; a connection the server dropped is
        # noticed on use, and the pool then discards all of its connections at once. As many kept
        # connections as database threads: a connection beyond pool_size is closed when it is returned,
        # and opening one again (a new server process) put milliseconds into the tail of busy moments.
        return sa.create_engine(url, pool_size=DATABASE_THREADS, max_overflow=DATABASE_THREADS, **_JSON)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **_JSON)
    _SQLITE_WRITERS[engine] = threading.Lock()
    _SQLITE_READERS[engine] = _ThreadReaders(engine)
    _WRITE_BATCHES[engine] = _WriteBatch(engine)
    in_file = bool(parsed.database) and parsed.database != ":memory:"
    if in_file:
        _CHECKPOINTS.watch(engine, parsed.database)

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # The driver's own transaction handling is switched off so that `begin` below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Reads map the file instead of copying pages through SQLite's small (2 MB) per-connection cache:
        # a 426-hit name search on 10,000 persons spent 2.6 ms in SQLite with the cache, 1.4 ms mapped.
        cursor.execute("PRAGMA mmap_size=268435456")
        if in_file:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # the background checkpointer does it (below)
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A write takes SQLite's write lock up front: a deferred transaction that read first could not
        # upgrade to writing once another writer committed, and would fail with "database is locked".
        connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


class _Checkpointer:
    """Copies every watched SQLite database's write-ahead log back into the database file, on one thread
    of its own.

    SQLite does this itself in the commit that fills the log past 1,000 pages, fsync included: with the
    store's calls on the event loop (`run_blocking`), every request waited for it, about 0.2 ms per
    commit on average (wall time over CPU time, 2,100 journal commits in process: 1.15 -> 0.98 ms). A
    PASSIVE checkpoint waits for no reader or writer, and the driver releases the GIL while it runs.
    The thread has a connection of its own per database, opened read-write only if the file exists."""

    INTERVAL_SECONDS = 0.05

    def __init__(self) -> None:
        self.engines: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def watch(self, engine: Engine, path: str) -> None:
        with self.lock:
            self.engines[engine] = str(Path(path).resolve())
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        connections: dict[str, sqlite3.Connection] = {}
        while True:
            time.sleep(self.INTERVAL_SECONDS)
            with self.lock:
                watched = set(self.engines.values())
            for path in set(connections) - watched:
                connections.pop(path).close()
            for path in watched:
                try:
                    if path not in connections:
                        connections[path] = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0)
                    connections[path].execute("PRAGMA wal_checkpoint(PASSIVE)").close()
                except sqlite3.Error:  # gone, or busy: the next round copies what this one did not
                    stale = connections.pop(path, None)
                    if stale is not None:
                        stale.close()


_CHECKPOINTS = _Checkpointer()


class _ThreadReaders:
    """A SQLite connection per thread for the hot path's reads, outside the pool: a checkout and its reset
    (a rollback) cost a read by uid 8 us of its 17 us. Every read is one autocommit statement, closed at
    once, so a kept connection holds no snapshot between reads. Made by the engine's pool (its pragmas
    included) and detached from it; closed when the engine is disposed, or collected with this object."""

    def __init__(self, engine: Engine):
        self._engine = weakref.ref(engine)  # only weakly: the engine is a key of _SQLITE_READERS
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        sa.event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            handle = self._engine().raw_connection()
            connection = handle.dbapi_connection
            handle.detach()  # the handle (which refers to the engine) goes; the connection stays ours
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
            self._local = threading.local()  # every thread opens a new one on its next read
        for connection in opened:
            connection.close()


_SQLITE_READERS: weakref.WeakKeyDictionary[Engine, _ThreadReaders] = weakref.WeakKeyDictionary()


def read_connection(engine: Engine) -> Connection:
    """A connection for reads. On PostgreSQL it runs without BEGIN/ROLLBACK (two round trips fewer per
    request); under READ COMMITTED a transaction would not make several reads consistent anyway."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    return engine.connect()


def single_statement_connection(engine: Engine) -> Connection:
    """A connection for a write that is one statement, on PostgreSQL: in autocommit mode the statement is
    its own transaction (all or nothing) without the BEGIN and COMMIT round trips."""
    assert engine.dialect.name == "postgresql"
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One all-or-nothing write: committed when the block ends, rolled back on any exception."""
    if engine in _IN_BATCH.cursors:
        raise RuntimeError("a write of a batch (run_write) writes through driver_cursor(write=True) only")
    with (
        _SQLITE_WRITERS.get(engine) or nullcontext(),
        engine.connect().execution_options(**{_WRITE: True}) as connection,
        connection.begin(),
    ):
        yield connection


# --- the hot path: the driver's own connection --------------------------------------------------------
# A SQLAlchemy Connection costs ~0.1 ms to check out and run one statement; the pooled driver connection
# under it, ~0.02 ms. The store's fixed statements (every commit, every read by uid) use the latter; its
# errors are raised as SQLAlchemy's (IntegrityError, OperationalError), as Core's would be.


@contextmanager
def driver_errors(engine: Engine) -> Iterator[None]:
    """The driver's errors raised as SQLAlchemy's (IntegrityError, OperationalError), as Core raises them."""
    dbapi = engine.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as error:
        raise sa.exc.DBAPIError.instance(None, None, error, dbapi.Error) from error


@contextmanager
def driver_cursor(engine: Engine, *, write: bool = False) -> Iterator[Any]:
    """A driver cursor from the engine's pool: for reads, or for one all-or-nothing write (committed when
    the block ends, rolled back on any exception).

    PostgreSQL runs reads and single-statement writes in autocommit (no BEGIN/COMMIT round trips; under
    READ COMMITTED a transaction would not make several reads consistent anyway); a write block is one
    transaction. SQLite's writers take the write lock up front (BEGIN IMMEDIATE), queued on this process's
    lock as Core's writers are, and like them (`write_transaction`) before a connection: a writer that
    held a connection while it waited for the lock could leave the lock's holder without one (a
    deadlock once the pool ran dry, seen loading 10,000 persons with 32 requests at a time). SQLite's
    readers use their thread's own connection (`_ThreadReaders`)."""
    if not write and engine in _SQLITE_READERS:
        with driver_errors(engine):
            cursor = _SQLITE_READERS[engine].connection().cursor()
            try:
                yield cursor
            finally:
                cursor.close()  # ends the statement, and with it the read's snapshot of the database
        return
    batch_cursor = _IN_BATCH.cursors.get(engine) if write else None
    if batch_cursor is not None:  # a write of a batch: its savepoint and commit are the batch's
        with driver_errors(engine):
            yield batch_cursor
        return
    sqlite_writer = _SQLITE_WRITERS.get(engine) if write else None
    with sqlite_writer or nullcontext():
        with driver_errors(engine):
            pooled = engine.raw_connection()
        driver = pooled.driver_connection
        postgresql = engine.dialect.name == "postgresql"
        try:
            with driver_errors(engine):
                if postgresql:
                    driver.autocommit = True
                    with driver.transaction() if write else nullcontext(), driver.cursor() as cursor:
                        yield cursor
                elif write:
                    cursor = driver.cursor()
                    cursor.execute("BEGIN IMMEDIATE")
                    try:
                        yield cursor
                    except BaseException:
                        driver.rollback()
                        raise
                    cursor.execute("COMMIT")
                else:
                    yield driver.cursor()
        finally:
            if postgresql and not driver.closed:
                driver.autocommit = False  # as Core expects it back from the pool
            pooled.close()


# --- where database work runs ---------------------------------------------------------------------
_T = TypeVar("_T")
_NETWORK_DATABASE_THREADS = ThreadPoolExecutor(max_workers=DATABASE_THREADS, thread_name_prefix="database")


async def run_blocking(engine: Engine, work: Callable[[], _T]) -> _T:
    """Runs a store call for an async route.

    SQLite is in this process and answers in microseconds: every call runs right here, as a thread hop
    (~0.1 ms of CPU) would cost more than it saves. A server database answers over the network: a call
    runs on a thread, so that the event loop serves others while the server works and flushes a commit
    (waiting out each flush here cut commits from ~700/s to as few as 180/s). Reads by key do not come
    here on PostgreSQL: see `Coalesced`."""
    if engine.dialect.name == "sqlite":
        return work()
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_NETWORK_DATABASE_THREADS, context.run, work)


_Key = TypeVar("_Key")


class Coalesced(Generic[_Key, _T]):
    """Statements on PostgreSQL that requests on the event loop reach at the same time, as one: reads by
    key (a version by uid) and creates, on a connection of the event loop's own.

    Each is one round trip (a create also a flush). On threads, the hops and GIL handoffs put a tail on
    them (reads, 16 clients, same run: p99 60-68 ms, against 14-19 ms on the loop); run on the loop with a
    blocking driver, every round trip stalled the loop while the server's core idled. Here the loop serves
    other requests while a statement is out, and what they reach meanwhile goes out together as the next
    statement: one round trip, one flush and the driver's work shared. One statement is out at a time.
    `statement(keys)` gives the SQL and its parameters; `answer(keys, rows)` answers the keys in order,
    each with its result or the exception to raise. When a statement for several keys fails other than
    by the connection, each key runs alone, so that only the one at fault fails."""

    def __init__(
        self,
        engine: Engine,
        statement: Callable[[list[_Key]], tuple[str, dict[str, Any]]],
        answer: Callable[[list[_Key], list[tuple]], list[_T | Exception]],
    ):
        self._engine = weakref.ref(engine)
        self._statement = statement
        self._answer = answer
        self._waiting: list[tuple[_Key, asyncio.Future]] = []
        self._task: asyncio.Task | None = None
        self._connection: Any = None  # psycopg's AsyncConnection, opened on first use on the loop
        sa.event.listen(engine, "engine_disposed", lambda _engine: self._close())

    def run(self, key: _Key) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((key, future))
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:  # (a loop of a test ended)
            # Its first step runs after the requests already ready on this turn of the loop: they add theirs.
            self._task = loop.create_task(self._run())
        return future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            waiting = [(key, future) for key, future in self._waiting if future.get_loop() is loop]
            self._waiting = []
            if not waiting:
                continue
            keys = [key for key, _ in waiting]
            outcomes = await self._outcomes(keys)
            failed = outcomes[0] if isinstance(outcomes[0], sa.exc.DBAPIError) else None
            if len(keys) > 1 and failed is not None and not isinstance(failed, sa.exc.OperationalError):
                outcomes = [(await self._outcomes([key]))[0] for key in keys]
            _settle([future for _, future in waiting], outcomes)

    async def _outcomes(self, keys: list[_Key]) -> list[_T | Exception]:
        try:
            return self._answer(keys, await self._rows(keys))
        except Exception as error:  # the statement failed: every key gets its error
            return [error] * len(keys)

    async def _rows(self, keys: list[_Key]) -> list[tuple]:
        engine = self._engine()
        sql, parameters = self._statement(keys)
        with driver_errors(engine):
            if self._connection is None or self._connection.closed:
                arguments, options = engine.dialect.create_connect_args(engine.url)
                self._connection = await engine.dialect.loaded_dbapi.AsyncConnection.connect(
                    *arguments, **options, autocommit=True
                )
            try:
                cursor = await self._connection.execute(sql, parameters)
                return await cursor.fetchall() if cursor.description else []
            except engine.dialect.loaded_dbapi.OperationalError:
                self._close()  # the next statement opens a new connection
                raise

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.pgconn.finish()  # what AsyncConnection.close does, without a loop to await on
            self._connection = None


async def run_write(engine: Engine, work: Callable[[], _T]) -> _T:
    """Runs a store write for an async route: all or nothing, like `driver_cursor(engine, write=True)`.

    With SQLite, the writes that requests on the event loop reach at the same time are committed together
    (group commit): one transaction with a savepoint per write, so a write that fails leaves nothing and
    the others stand. A commit writes every page it touched to the write-ahead log; writes that share
    pages share that cost (a 9 KB journal note: 21 pages and 71 us alone, 11 pages and 36 us each in
    groups of 8). Each request still gets its answer only once its write is committed. `work` writes
    through `driver_cursor(engine, write=True)` only (which then yields the batch's cursor). A server
    database runs a write on a thread, as `run_blocking` does; the server groups its own flushes."""
    batch = _WRITE_BATCHES.get(engine)
    if batch is None:
        return await run_blocking(engine, work)
    return await batch.add(work)


class _WriteBatch:
    """The SQLite writes of one engine waiting for the next group commit on the event loop."""

    def __init__(self, engine: Engine):
        self._engine = weakref.ref(engine)
        self._waiting: list[tuple[Callable[[], Any], asyncio.Future, contextvars.Context]] = []

    def add(self, work: Callable[[], _T]) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._waiting:
            # After the requests already ready to run on this turn of the loop, which may add theirs.
            loop.call_soon(self._commit)
        # The caller's context (e.g. the care-flow steps derived once per write) goes with its work.
        self._waiting.append((work, future, contextvars.copy_context()))
        return future

    def _commit(self) -> None:
        waiting, self._waiting = self._waiting, []
        engine = self._engine()
        outcomes: list[Any] = []
        try:
            with driver_cursor(engine, write=True) as cursor:
                _IN_BATCH.cursors[engine] = cursor
                try:
                    for work, _, context in waiting:
                        cursor.execute("SAVEPOINT write")
                        try:
                            outcomes.append(context.run(work))
                        except Exception as error:  # this write's failure, answered to its caller
                            cursor.execute("ROLLBACK TO write")
                            outcomes.append(error)
                        cursor.execute("RELEASE write")
                finally:
                    del _IN_BATCH.cursors[engine]
        except Exception as error:  # the commit itself failed: no write of the batch stands
            outcomes = [error] * len(waiting)
        _settle([future for _, future, _ in waiting], outcomes)


def _settle(futures: list[asyncio.Future], outcomes: list[Any]) -> None:
    """Each waiting request gets its outcome: a result, or an exception to raise (unless it gave up)."""
    for future, outcome in zip(futures, outcomes, strict=True):
        if future.cancelled():
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class _InBatch(threading.local):
    def __init__(self) -> None:
        self.cursors: dict[Engine, Any] = {}


_IN_BATCH = _InBatch()  # the cursor of the batch being committed on this thread, per engine
_WRITE_BATCHES: weakref.WeakKeyDictionary[Engine, _WriteBatch] = weakref.WeakKeyDictionary()
