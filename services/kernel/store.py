"""The append-only versioned store: VERSIONED_OBJECT, ORIGINAL_VERSION, CONTRIBUTION and the search index.

Every write is one transaction that adds a contribution, a version and the index projection, or
nothing at all. Versions are only ever inserted. Concurrency is optimistic and enforced by the
database: the version number is part of the primary key, so of two writers that read the same
latest version exactly one can insert the next one; the other gets `PreconditionFailed`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from services.kernel import jsontext
from services.kernel.database import Coalesced, driver_cursor, driver_errors, read_connection, run_write
from services.kernel.errors import Conflict, Deleted, ErrorDetail, NotFound, PreconditionFailed, UnprocessableEntity
from services.kernel.schema import index_value, original_version, versioned_object
from services.kernel.search import IndexedValues, SearchIndex
from services.kernel.versioning import ChangeType, Committer, LifecycleState, Version, VersionUid, new_object_id

# Called inside the write transaction with the latest version and the new data; raises to refuse.
ChangeCheck = Callable[[Version, dict | None], None]


@dataclass(frozen=True)
class SearchQuery:
    ehr_ids: list[str] = field(default_factory=list)
    template_id: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    fields: dict[str, str] = field(default_factory=dict)
    newest_first: bool = True
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True)
class SearchHit:
    version: Version
    clinical_time: datetime | None
    index: dict[str, list[str]]


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: list[SearchHit]


def _now() -> datetime:
    return datetime.now(UTC)


# The longest value `index_value.value` holds: PostgreSQL refuses a longer one in the driver, SQLite
# would keep it, so a longer one is refused before either sees it (`_indexed`).
INDEX_VALUE_LENGTH = index_value.c.value.type.length


def _indexed(indexed: IndexedValues) -> IndexedValues:
    for name, values in indexed.values.items():
        for value in values:
            if len(value) > INDEX_VALUE_LENGTH:
                message = (f"The {name} of this document is {len(value)} characters long; the module's index holds"
                           f" at most {INDEX_VALUE_LENGTH}: {value[:40]}...")  # fmt: skip
                raise UnprocessableEntity(message, [ErrorDetail("", "", message)], "index_value_too_long")
    return indexed


# The columns of a new object's row that PostgreSQL's creates statement reads as JSON (`_creates_statement`).
_CREATE_COLUMNS = ("id", "ehr_id", "contribution_id", "now", "committer_name", "committer_hsa_id", "template_id",
                   "clinical_time")  # fmt: skip


def _version_from_row(row: sa.Row, ehr_id: str | None) -> Version:
    return Version(
        uid=VersionUid(row.object_id, row.system_id, row.version),
        ehr_id=ehr_id,
        contribution_id=row.contribution_id,
        time_committed=row.time_committed,
        committer=Committer(row.committer_name, row.committer_hsa_id),
        change_type=ChangeType(row.change_type),
        lifecycle_state=LifecycleState(row.lifecycle_state),
        template_id=row.template_id,
        payload=row.data.encode() if isinstance(row.data, str) else row.data,
    )


def version_from_row(row: sa.Row) -> Version:
    """A Version from a row with original_version's columns (and `ehr_id` if selected), for a module's
    own queries over the store's tables (e.g. demographics' person search)."""
    return _version_from_row(row, row._mapping.get("ehr_id"))


_VERSION_COLUMNS = (*original_version.c, versioned_object.c.ehr_id)
_joined = original_version.join(versioned_object, versioned_object.c.id == original_version.c.object_id)


class _HotPath:
    """The statements of every commit and every read by uid, as fixed SQL run on the driver's cursor.

    That skips SQLAlchemy's per-execute work (cache key, compiled-statement lookup, bind and result
    processing: ~0.1 ms a statement), so this class does the type conversions those would:
    UTC datetimes without zone (on SQLite as the text SQLAlchemy writes, on PostgreSQL as timestamps)
    and documents as JSON text. Everything else (searches, a module's own queries) stays on Core.
    """

    # The document is read as JSON text, which a read by uid sends on without parsing it; as bytes on SQLite
    # (the column's UTF-8 as stored, not decoded into a str and encoded again).
    _COLUMNS = (
        "ov.object_id, ov.version, ov.system_id, ov.contribution_id, ov.time_committed, ov.committer_name,"
        " ov.committer_hsa_id, ov.change_type, ov.lifecycle_state, ov.template_id, {data}, {ehr_id}"
    )
    _FROM = "FROM original_version ov JOIN versioned_object vo ON vo.id = ov.object_id"

    def __init__(self, dialect: sa.Dialect):
        self.sqlite = dialect.name == "sqlite"
        data = "CAST(ov.data AS BLOB)" if self.sqlite else "CAST(ov.data AS text)"
        columns = self._COLUMNS.format(data=data, ehr_id="vo.ehr_id")
        # Written with :name placeholders, the style sqlite3 takes; psycopg's is %(name)s.
        sql = (lambda text: text) if self.sqlite else (lambda text: re.sub(r":(\w+)", r"%(\1)s", text))
        self.sql = sql
        # A search reads the projection's latest versions (index_entry knows the EHR: no versioned_object).
        self.search_columns = self._COLUMNS.format(data=data, ehr_id="p.ehr_id") + ", p.clinical_time"
        self.insert_object = sql("INSERT INTO versioned_object (id, ehr_id, time_created) VALUES (:id, :ehr_id, :now)")
        self.insert_contribution = sql(
            "INSERT INTO contribution (id, time_committed, committer_name, committer_hsa_id, change_type)"
            " VALUES (:contribution_id, :now, :committer_name, :committer_hsa_id, :change_type)"
        )
        self.insert_version = sql(
            "INSERT INTO original_version (object_id, version, system_id, contribution_id, time_committed,"
            " committer_name, committer_hsa_id, change_type, lifecycle_state, template_id, data) VALUES (:id,"
            " :version, :system_id, :contribution_id, :now, :committer_name, :committer_hsa_id, :change_type,"
            " :lifecycle_state, :template_id, " + (":data)" if self.sqlite else "CAST(:data AS json))")
        )
        self.insert_entry = sql(
            "INSERT INTO index_entry (object_id, ehr_id, template_id, version, time_committed, clinical_time,"
            " lifecycle_state) VALUES (:id, :ehr_id, :template_id, :version, :now, :clinical_time,"
            " :lifecycle_state)"
        )
        self.insert_value = sql("INSERT INTO index_value (object_id, field, value) VALUES (:id, :field, :value)")
        self.delete_values = sql("DELETE FROM index_value WHERE object_id = :id")
        self.delete_entry = sql("DELETE FROM index_entry WHERE object_id = :id")
        # PostgreSQL: new objects, one or many, in one statement (data-modifying CTEs over the rows; foreign
        # keys are checked at its end), which needs no BEGIN and COMMIT either: one round trip and one flush
        # instead of seven round trips an object, and as atomic. The documents go as one array in binary form
        # (in text form the driver escaped every quote of every document with a regular expression: 16
        # journal notes, 24 ms against 1 ms); the other columns and the index values as JSON, which orjson
        # writes in C, where the driver dumped an array a column in Python (~45 us less CPU a statement).
        # All documents as JSON too parsed each twice on the server, and was no faster overall.
        self.creates = None
        if not self.sqlite:
            self.creates = (
                "WITH d AS (SELECT * FROM unnest(CAST(%(documents)b AS text[])) WITH ORDINALITY AS d(data, n)),"
                " k AS (SELECT r.*, CAST(d.data AS json) AS data FROM json_to_recordset(CAST(%(rows)s AS json))"
                " AS r(n bigint, id text, ehr_id text, contribution_id text, now timestamp, committer_name text,"
                " committer_hsa_id text, template_id text, clinical_time timestamp) JOIN d USING (n)),"
                " o AS (INSERT INTO versioned_object (id, ehr_id, time_created) SELECT id, ehr_id, now FROM k),"
                " c AS (INSERT INTO contribution (id, time_committed, committer_name, committer_hsa_id,"
                " change_type) SELECT contribution_id, now, committer_name, committer_hsa_id, %(change_type)s FROM k),"
                " ov AS (INSERT INTO original_version (object_id, version, system_id, contribution_id, time_committed,"
                " committer_name, committer_hsa_id, change_type, lifecycle_state, template_id, data) SELECT id, 1,"
                " %(system_id)s, contribution_id, now, committer_name, committer_hsa_id, %(change_type)s,"
                " %(lifecycle_state)s, template_id, data FROM k),"
                " ie AS (INSERT INTO index_entry (object_id, ehr_id, template_id, version, time_committed,"
                " clinical_time, lifecycle_state) SELECT id, ehr_id, template_id, 1, now, clinical_time,"
                " %(lifecycle_state)s FROM k WHERE %(indexed)s)"
                " INSERT INTO index_value (object_id, field, value) SELECT * FROM"
                " json_to_recordset(CAST(%(values)s AS json)) AS v(object_id text, field text, value text)"
            )  # fmt: skip
        self.by_uid = sql(
            f"SELECT {columns} {self._FROM} WHERE ov.object_id = :object_id AND ov.version = :version"
            " AND ov.system_id = :system_id"
        )
        self.by_uid_in_ehr = self.by_uid + sql(" AND vo.ehr_id = :ehr_id")
        latest = f"SELECT {columns} {self._FROM} WHERE ov.object_id = :object_id"
        self.latest = sql(latest + " ORDER BY ov.version DESC LIMIT 1")
        self.latest_in_ehr = sql(latest + " AND vo.ehr_id = :ehr_id ORDER BY ov.version DESC LIMIT 1")
        # PostgreSQL: reads by key, many in one statement (see VersionedStore.read); the number of each
        # read's row, and a given version or (none given) the latest.
        self.by_keys = None if self.sqlite else (
            f"SELECT k.n, v.* FROM unnest(CAST(%(ids)s AS text[]), CAST(%(versions)s AS int[]))"
            f" WITH ORDINALITY AS k(object_id, version, n) CROSS JOIN LATERAL (SELECT {columns} {self._FROM}"
            " WHERE ov.object_id = k.object_id AND (k.version IS NULL OR ov.version = k.version)"
            " ORDER BY ov.version DESC LIMIT 1) AS v"
        )  # fmt: skip

    def search_conditions(self, query: SearchQuery) -> tuple[str, dict[str, object]]:
        """The WHERE clause of a search over index_entry `ie` (:name placeholders, made the driver's by the
        statement that takes it), and its parameters."""
        conditions, params = ["ie.lifecycle_state = :complete"], {"complete": LifecycleState.COMPLETE.value}
        if query.ehr_ids:
            names = [f"e{i}" for i in range(len(query.ehr_ids))]
            conditions.append(f"ie.ehr_id IN ({', '.join(':' + n for n in names)})")
            params |= dict(zip(names, query.ehr_ids, strict=True))
        if query.template_id:
            conditions.append("ie.template_id = :template_id")
            params["template_id"] = query.template_id
        if query.date_from:
            conditions.append("ie.clinical_time >= :date_from")
            params["date_from"] = self.time(query.date_from)
        if query.date_to:
            conditions.append("ie.clinical_time <= :date_to")
            params["date_to"] = self.time(query.date_to)
        for i, (name, value) in enumerate(query.fields.items()):
            conditions.append(f"EXISTS (SELECT 1 FROM index_value iv WHERE iv.object_id = ie.object_id"
                              f" AND iv.field = :f{i} AND iv.value = :v{i})")  # fmt: skip
            params |= {f"f{i}": name, f"v{i}": value}
        return " AND ".join(conditions), params

    def search_page(self, where: str, newest_first: bool) -> str:
        """A page of hits, each row with the search's total (a window count) last, in no particular order
        (`in_page_order` puts them back). The page is chosen, counted and sorted on index_entry alone and
        only then joined to its documents: sorting rows that carry the documents made SQLite copy them
        through its sorter, 160 µs against 40 µs for a page of 10 medication orders (74 KB)."""
        order = "DESC" if newest_first else "ASC"
        return self.sql(
            f"SELECT {self.search_columns}, p.total FROM (SELECT ie.object_id, ie.version, ie.ehr_id,"
            f" ie.clinical_time, count(*) OVER () AS total FROM index_entry ie WHERE {where}"
            f" ORDER BY ie.clinical_time {order} NULLS LAST, ie.object_id LIMIT :limit OFFSET :offset) p"
            " JOIN original_version ov ON ov.object_id = p.object_id AND ov.version = p.version"
        )

    @staticmethod
    def in_page_order(rows: list[tuple], newest_first: bool) -> list[tuple]:
        """`search_page`'s rows in the search's order: clinical time (newest or oldest first, rows without
        one last), then object id. Two stable sorts; `reverse` keeps equal times in object id order."""
        rows = sorted(rows, key=itemgetter(0))
        dated = [row for row in rows if row[12] is not None]
        dated.sort(key=itemgetter(12), reverse=newest_first)
        return dated + [row for row in rows if row[12] is None]

    def search_count(self, where: str) -> str:
        return self.sql(f"SELECT count(*) FROM index_entry ie WHERE {where}")

    def index_values(self, objects: int) -> str:
        names = ", ".join(f":o{i}" for i in range(objects))
        return self.sql(f"SELECT object_id, field, value FROM index_value WHERE object_id IN ({names})"
                        " ORDER BY field, value")  # fmt: skip

    def time(self, moment: datetime | None) -> datetime | str | None:
        if moment is None:
            return None
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        return naive.isoformat(" ", "microseconds") if self.sqlite else naive

    @staticmethod
    def moment(value: datetime | str) -> datetime:
        return (datetime.fromisoformat(value) if isinstance(value, str) else value).replace(tzinfo=UTC)

    def version(self, row: tuple) -> Version:
        object_id, number, system_id, contribution_id, time_committed, name, hsa_id, change, state, template_id, data, ehr_id = row  # noqa: E501
        return Version(
            uid=VersionUid(object_id, system_id, number),
            ehr_id=ehr_id,
            contribution_id=contribution_id,
            time_committed=self.moment(time_committed),
            committer=Committer(name, hsa_id),
            change_type=ChangeType(change),
            lifecycle_state=LifecycleState(state),
            template_id=template_id,
            payload=data.encode() if isinstance(data, str) else data,
        )


def _no_object(object_id: str, ehr_id: str | None) -> NotFound:
    return NotFound(f"No object {object_id}" + (f" in EHR {ehr_id}" if ehr_id else ""))


def _no_version(uid: VersionUid, ehr_id: str | None) -> NotFound:
    return NotFound(f"No version {uid}" + (f" in EHR {ehr_id}" if ehr_id else ""), "version_not_found")


@dataclass(frozen=True)
class _ReadKey:
    object_id: str
    uid: VersionUid | None  # None: the latest version
    ehr_id: str | None


class VersionedStore:
    def __init__(self, engine: Engine, system_id: str, index: SearchIndex | None = None):
        self.engine = engine
        self.system_id = system_id
        self.index = index
        self._sql = _HotPath(engine.dialect)
        self._reads = None if self._sql.sqlite else Coalesced(engine, self._read_statement, self._read_answers)
        self._creates = None if self._sql.sqlite else Coalesced(
            engine, self._creates_statement, lambda creations, _rows: [version for version, _, _ in creations])

    # --- writes -------------------------------------------------------------------------------

    def create(
        self,
        *,
        ehr_id: str | None,
        data: dict,
        template_id: str | None,
        committer: Committer,
        object_id: str | None = None,
    ) -> Version:
        chosen, object_id = object_id is not None, object_id or new_object_id()
        try:
            if self._sql.creates is not None:
                creation = self._creation(object_id, ehr_id, data, template_id, committer)
                with driver_cursor(self.engine) as cursor:  # autocommit: the one statement is its own transaction
                    cursor.execute(*self._creates_statement([creation]))
                return creation[0]
            with driver_cursor(self.engine, write=True) as cursor:
                now = _now()
                cursor.execute(self._sql.insert_object, {"id": object_id, "ehr_id": ehr_id, "now": self._sql.time(now)})
                uid = VersionUid(object_id, self.system_id, 1)
                return self._append(cursor, uid, ehr_id, data, template_id, committer, ChangeType.CREATION, now)
        except sa.exc.IntegrityError as error:
            if not chosen:  # a random UUID does not collide: another constraint refused
                raise
            raise Conflict(f"An object with id {object_id} already exists", "already_exists") from error

    async def add(self, *, ehr_id: str | None, data: dict, template_id: str | None, committer: Committer) -> Version:
        """`create`, for an async route. On SQLite with the other writes of this turn of the event loop
        (`run_write`'s group commit); on PostgreSQL with the other creates that requests reach meanwhile,
        as one statement on a connection of the loop's own (`Coalesced`)."""
        if self._creates is None:
            return await run_write(self.engine, lambda: self.create(
                ehr_id=ehr_id, data=data, template_id=template_id, committer=committer))  # fmt: skip
        # The version and its index projection are made here, in the caller's context (care-flow steps).
        return await self._creates.run(self._creation(new_object_id(), ehr_id, data, template_id, committer))

    def _creation(
        self, object_id: str, ehr_id: str | None, data: dict, template_id: str | None, committer: Committer
    ) -> tuple[Version, dict, IndexedValues | None]:
        uid = VersionUid(object_id, self.system_id, 1)
        return self._new_version(uid, ehr_id, data, template_id, committer, ChangeType.CREATION, _now())

    def _creates_statement(self, creations: list[tuple[Version, dict, IndexedValues | None]]) -> tuple[str, dict]:
        """The statement that creates these objects, with its parameters (PostgreSQL)."""
        rows = [{"n": n, **{column: row[column] for column in _CREATE_COLUMNS}}
                for n, (_, row, _) in enumerate(creations, 1)]  # fmt: skip
        values = [{"object_id": row["id"], "field": name, "value": value} for _, row, indexed in creations
                  if indexed is not None for name, values in indexed.values.items() for value in values]  # fmt: skip
        return self._sql.creates, {
            "rows": jsontext.dumps(rows).decode(),
            "documents": [row["data"] for _, row, _ in creations],
            "values": jsontext.dumps(values).decode(),
            "system_id": self.system_id,
            "change_type": ChangeType.CREATION.value,
            "lifecycle_state": LifecycleState.COMPLETE.value,
            "indexed": self.index is not None,
        }

    def update(
        self,
        *,
        expected: VersionUid,
        ehr_id: str | None,
        data: dict,
        template_id: str | None,
        committer: Committer,
        check: ChangeCheck | None = None,
    ) -> Version:
        return self._change(expected, ehr_id, data, template_id, committer, ChangeType.MODIFICATION, check)

    def delete(
        self,
        *,
        expected: VersionUid,
        ehr_id: str | None,
        committer: Committer,
        check: ChangeCheck | None = None,
    ) -> Version:
        return self._change(expected, ehr_id, None, None, committer, ChangeType.DELETED, check)

    def create_in(
        self,
        connection: Connection,
        *,
        object_id: str,
        ehr_id: str | None,
        data: dict,
        template_id: str | None,
        committer: Committer,
    ) -> Version:
        """The first version of a new object inside the caller's write transaction, for a module that
        writes rows of its own with it, all or nothing (demographics: an EHR and its first EHR_STATUS)."""
        now = _now()
        cursor = connection.connection.cursor()  # the driver's, in the caller's transaction
        with driver_errors(self.engine):
            cursor.execute(self._sql.insert_object, {"id": object_id, "ehr_id": ehr_id, "now": self._sql.time(now)})
            uid = VersionUid(object_id, self.system_id, 1)
            return self._append(cursor, uid, ehr_id, data, template_id, committer, ChangeType.CREATION, now)

    def _change(
        self,
        expected: VersionUid,
        ehr_id: str | None,
        data: dict | None,
        template_id: str | None,
        committer: Committer,
        change_type: ChangeType,
        check: ChangeCheck | None,
    ) -> Version:
        try:
            with driver_cursor(self.engine, write=True) as cursor:
                latest = self._latest(cursor, expected.object_id, ehr_id)
                if latest.is_deleted:
                    raise Deleted(f"{expected.object_id} was deleted in version {latest.uid}")
                if latest.uid != expected:
                    raise PreconditionFailed(
                        f"If-Match {expected} is not the latest version {latest.uid}", latest.uid.etag
                    )
                if check is not None:
                    check(latest, data)
                return self._append(
                    cursor,
                    VersionUid(expected.object_id, self.system_id, expected.version + 1),
                    ehr_id,
                    data,
                    template_id or latest.template_id,
                    committer,
                    change_type,
                    # Hosts' clocks may disagree; a version is never older than the one it follows,
                    # so version_at_time stays unambiguous.
                    max(_now(), latest.time_committed),
                )
        except sa.exc.IntegrityError as error:
            # Another writer inserted the same next version first: the database picked the winner.
            current = self.latest(expected.object_id, ehr_id)
            if current.uid == expected:
                raise  # nobody else committed: another constraint (e.g. a module's unique index) refused
            raise PreconditionFailed(
                f"{expected} was changed concurrently; the latest version is {current.uid}", current.uid.etag
            ) from error

    def _append(
        self,
        cursor: Any,
        uid: VersionUid,
        ehr_id: str | None,
        data: dict | None,
        template_id: str | None,
        committer: Committer,
        change_type: ChangeType,
        now: datetime,
    ) -> Version:
        version, row, indexed = self._new_version(uid, ehr_id, data, template_id, committer, change_type, now)
        sql = self._sql
        cursor.execute(sql.insert_contribution, row)
        cursor.execute(sql.insert_version, row)
        if self.index is not None:
            self._project(cursor, version, row, indexed)
        return version

    def _new_version(
        self,
        uid: VersionUid,
        ehr_id: str | None,
        data: dict | None,
        template_id: str | None,
        committer: Committer,
        change_type: ChangeType,
        now: datetime,
    ) -> tuple[Version, dict, IndexedValues | None]:
        """The new version, the parameters of its statements and its index projection."""
        contribution_id = new_object_id()
        state = LifecycleState.DELETED if change_type is ChangeType.DELETED else LifecycleState.COMPLETE
        if data is not None and ("uid" in data or next(iter(data), "_type") != "_type"):
            # The store gives every version its uid, so a document never holds one; `_type` comes first.
            # Both let a read splice the uid into the stored text (`document_with_uid`).
            data = {"_type": data.get("_type"), **{k: v for k, v in data.items() if k != "uid"}}
            if data["_type"] is None:
                del data["_type"]
        version = Version(uid, ehr_id, contribution_id, now, committer, change_type, state, template_id, data)
        indexed = _indexed(self.index.extract(data)) if self.index is not None and data is not None else None
        row = {
            "id": uid.object_id,
            "version": uid.version,
            "system_id": uid.system_id,
            "ehr_id": ehr_id,
            "contribution_id": contribution_id,
            "now": self._sql.time(now),
            "committer_name": committer.name,
            "committer_hsa_id": committer.hsa_id,
            "change_type": change_type.value,
            "lifecycle_state": state.value,
            "template_id": template_id,
            "data": None if data is None else jsontext.dumps(data).decode(),
            "clinical_time": self._sql.time(indexed.clinical_time if indexed else None),
        }
        return version, row, indexed

    def _project(self, cursor: Any, version: Version, row: dict, indexed: IndexedValues | None) -> None:
        """Rewrites the object's index projection from its new latest version (same transaction)."""
        object_id = version.uid.object_id
        if version.uid.version > 1:  # a new object has no projection yet: two statements saved
            cursor.execute(self._sql.delete_values, {"id": object_id})
            cursor.execute(self._sql.delete_entry, {"id": object_id})
        cursor.execute(self._sql.insert_entry, row)
        values = [
            {"id": object_id, "field": name, "value": value}
            for name, values in (indexed.values.items() if indexed else ())
            for value in values
        ]
        if values:
            cursor.executemany(self._sql.insert_value, values)

    # --- reads --------------------------------------------------------------------------------

    def _latest(self, cursor: Any, object_id: str, ehr_id: str | None) -> Version:
        if ehr_id is None:
            cursor.execute(self._sql.latest, {"object_id": object_id})
        else:
            cursor.execute(self._sql.latest_in_ehr, {"object_id": object_id, "ehr_id": ehr_id})
        row = cursor.fetchone()
        if row is None:
            raise _no_object(object_id, ehr_id)
        return self._sql.version(row)

    def latest(self, object_id: str, ehr_id: str | None = None) -> Version:
        """The latest version, deleted or not; NotFound when the object does not exist (in that EHR)."""
        with driver_cursor(self.engine) as cursor:
            return self._latest(cursor, object_id, ehr_id)

    def version(self, uid: VersionUid, ehr_id: str | None = None) -> Version:
        key = {"object_id": uid.object_id, "version": uid.version, "system_id": uid.system_id}
        with driver_cursor(self.engine) as cursor:
            if ehr_id is None:
                cursor.execute(self._sql.by_uid, key)
            else:
                cursor.execute(self._sql.by_uid_in_ehr, {**key, "ehr_id": ehr_id})
            row = cursor.fetchone()
        if row is None:
            raise _no_version(uid, ehr_id)
        return self._sql.version(row)

    async def read(self, object_id: str, ehr_id: str | None = None, uid: VersionUid | None = None) -> Version:
        """`version(uid)` if a uid is given, else `latest(object_id)`, for an async route: on SQLite right
        here, on PostgreSQL with the other reads of this turn of the event loop (`Coalesced`)."""
        if self._reads is None:
            return self.latest(object_id, ehr_id) if uid is None else self.version(uid, ehr_id)
        return await self._reads.run(_ReadKey(object_id, uid, ehr_id))

    def _read_statement(self, keys: list[_ReadKey]) -> tuple[str, dict[str, list]]:
        return self._sql.by_keys, {
            "ids": [key.object_id for key in keys],
            "versions": [None if key.uid is None else key.uid.version for key in keys],
        }

    def _read_answers(self, keys: list[_ReadKey], rows: list[tuple]) -> list[Version | NotFound]:
        """Many reads by key from one statement's rows, each answered as `latest` or `version` would."""
        by_number = {row[0]: row[1:] for row in rows}
        answers: list[Version | NotFound] = []
        for n, key in enumerate(keys, start=1):
            row = by_number.get(n)
            version = None if row is None else self._sql.version(row)
            if version is not None and key.ehr_id is not None and version.ehr_id != key.ehr_id:
                version = None
            if key.uid is None:
                answers.append(version or _no_object(key.object_id, key.ehr_id))
            elif version is None or version.uid.system_id != key.uid.system_id:
                answers.append(_no_version(key.uid, key.ehr_id))
            else:
                answers.append(version)
        return answers

    def history(self, object_id: str, ehr_id: str | None = None) -> list[Version]:
        query = (
            sa.select(*_VERSION_COLUMNS)
            .select_from(_joined)
            .where(original_version.c.object_id == object_id)
            .order_by(original_version.c.version)
        )
        if ehr_id is not None:
            query = query.where(versioned_object.c.ehr_id == ehr_id)
        with read_connection(self.engine) as connection:
            rows = connection.execute(query).all()
        if not rows:
            raise _no_object(object_id, ehr_id)
        return [_version_from_row(row, row.ehr_id) for row in rows]

    def at_time(self, object_id: str, moment: datetime, ehr_id: str | None = None) -> Version:
        """The version that was the latest at `moment`."""
        candidates = [v for v in self.history(object_id, ehr_id) if v.time_committed <= moment]
        if not candidates:
            raise NotFound(f"{object_id} had no version at {moment.isoformat()}", "version_not_found")
        return candidates[-1]

    def search(self, query: SearchQuery) -> SearchPage:
        """The latest versions the query selects, a page of them, on the driver's cursor (documents as
        stored text; a journal query of 10 notes cost ~1 ms through Core's statement building)."""
        sql = self._sql
        where, params = sql.search_conditions(query)
        with driver_cursor(self.engine) as cursor:
            cursor.execute(sql.search_page(where, query.newest_first), {**params, "limit": query.limit,
                                                                         "offset": query.offset})  # fmt: skip
            rows = sql.in_page_order(cursor.fetchall(), query.newest_first)
            if rows:
                total = rows[0][-1]
            elif query.offset == 0:
                total = 0
            else:  # past the end: no row carries the total
                cursor.execute(sql.search_count(where), params)
                total = cursor.fetchone()[0]
            values: dict[str, dict[str, list[str]]] = {row[0]: {} for row in rows}
            if rows:
                cursor.execute(sql.index_values(len(rows)), {f"o{i}": row[0] for i, row in enumerate(rows)})
                for object_id, name, value in cursor.fetchall():
                    values[object_id].setdefault(name, []).append(value)
        return SearchPage(total, [
            SearchHit(sql.version(row[:12]), None if row[12] is None else sql.moment(row[12]), values[row[0]])
            for row in rows
        ])  # fmt: skip

    def ping(self) -> None:
        with read_connection(self.engine) as connection:
            connection.execute(sa.select(sa.func.count()).select_from(versioned_object).limit(1))
