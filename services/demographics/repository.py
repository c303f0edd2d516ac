"""Demographics storage: the EHR registry (its own table, EHR_STATUS versions in the kernel's store) and the
person search (over the kernel's index).

Persons are versioned objects in the kernel's store; their search fields are extracted at commit
time into the kernel's index (`index_value` rows, see `PersonSearchIndex`). The queries here read
that index with what the kernel's equality-only search lacks: prefix ranges on folded name tokens,
date ranges, and an order by name. Every condition is an indexed `(field, value)` lookup.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.demographics.ehr_status import Subject
from services.demographics.folding import prefix_upper_bound
from services.demographics.person import FAMILY, GIVEN, PersonFields, extract
from services.demographics.search import DateCondition, PersonQuery
from services.kernel.database import driver_cursor, read_connection, write_transaction
from services.kernel.schema import UtcDateTime, index_value, original_version
from services.kernel.search import IndexedValues, SearchIndex
from services.kernel.store import VersionedStore, version_from_row
from services.kernel.versioning import ChangeType, Committer, LifecycleState, Version, VersionUid

metadata = sa.MetaData()

# One row per EHR; the unique subject is what makes two concurrent POST /ehr for one person
# end in one EHR and one 409, on SQLite and on PostgreSQL alike. Its EHR_STATUS is a versioned
# object in the kernel's store (VERSIONED_EHR_STATUS), `ehr_status_id` its object id.
ehr = sa.Table(
    "ehr",
    metadata,
    sa.Column("ehr_id", sa.String(36), primary_key=True),
    sa.Column("system_id", sa.String(128), nullable=False),
    sa.Column("subject_namespace", sa.String(128), nullable=False),
    sa.Column("subject_id", sa.String(32), nullable=False),
    sa.Column("subject_scheme", sa.String(32), nullable=False),
    sa.Column("time_created", UtcDateTime(), nullable=False),
    sa.Column("ehr_status_id", sa.String(36), nullable=False),
    sa.UniqueConstraint("subject_namespace", "subject_id", name="uq_ehr_subject"),
)

# Index fields (kernel `index_value.field`) of a person.
IDENTIFIER = "identifier"  # every identifier value (Swedish ones canonical)
SWEDISH_IDENTIFIER = "swedish_identifier"  # personnummer/samordningsnummer: unique among live persons
NAME = "name"  # folded tokens of every name part
BIRTHDATE = "birthdate"  # ISO date (the first day of a partial one): it sorts as it compares
GENDER = "gender"
SORT = "sort"  # folded "family given"


class PersonSearchIndex(SearchIndex):
    """The kernel's declarative index for PERSON: extracts once, fills every field."""

    def __init__(self) -> None:
        super().__init__(clinical_time=lambda _person: None)

    def extract(self, composition: dict) -> IndexedValues:
        return IndexedValues(None, index_values(extract(composition)))


def index_values(fields: PersonFields) -> dict[str, list[str]]:
    values: dict[str, set[str]] = {IDENTIFIER: set(), SWEDISH_IDENTIFIER: set(), NAME: set(), GIVEN: set(),
                                   FAMILY: set()}  # fmt: skip
    for identifier in fields.identifiers:
        values[IDENTIFIER].add(identifier.value[:200])
        if identifier.swedish:
            values[SWEDISH_IDENTIFIER].add(identifier.value)
    for part, token in fields.name_tokens:
        values[NAME].add(token[:200])
        if part in (GIVEN, FAMILY):
            values[part].add(token[:200])
    if fields.birth_date_low:
        values[BIRTHDATE] = {fields.birth_date_low.isoformat()}
    if fields.gender:
        values[GENDER] = {fields.gender}
    if fields.sort_name:
        values[SORT] = {fields.sort_name}
    return {name: sorted(found) for name, found in values.items() if found}


@dataclass(frozen=True)
class EhrRecord:
    ehr_id: str
    system_id: str
    subject_namespace: str
    subject_id: str
    subject_scheme: str
    time_created: datetime
    status: Version  # the latest EHR_STATUS version

    @property
    def status_id(self) -> str:
        """The object id of the EHR's VERSIONED_EHR_STATUS."""
        return self.status.uid.object_id


class EhrAlreadyExists(Exception):
    def __init__(self, field: str, existing: EhrRecord | None):
        super().__init__(field)
        self.field = field  # "ehr_id" or "subject"
        self.existing = existing


# An EHR with its latest EHR_STATUS version, in one query (the clinical modules ask for it before writes).
_WITH_LATEST_STATUS = (
    sa.select(
        *original_version.c,
        ehr.c.ehr_id,
        ehr.c.system_id.label("ehr_system_id"),
        ehr.c.subject_namespace,
        ehr.c.subject_id,
        ehr.c.subject_scheme,
        ehr.c.time_created,
    )
    .join_from(ehr, original_version, original_version.c.object_id == ehr.c.ehr_status_id)
    .order_by(original_version.c.version.desc())
    .limit(1)
)


class EhrRepository:
    def __init__(self, engine: Engine, statuses: VersionedStore):
        self.engine = engine
        self.statuses = statuses

    def add(
        self, ehr_id: str, system_id: str, subject: Subject, status: dict, committer: Committer
    ) -> EhrRecord:
        """The EHR and the first version of its EHR_STATUS, in one transaction; EhrAlreadyExists when the id
        or the subject is taken (decided by the database), and then neither is written."""
        try:
            with write_transaction(self.engine) as connection:
                first = self.statuses.create_in(connection, object_id=str(uuid.uuid4()), ehr_id=ehr_id,
                                                data=status, template_id=None, committer=committer)  # fmt: skip
                connection.execute(ehr.insert().values(
                    ehr_id=ehr_id, system_id=system_id, subject_namespace=subject.namespace,
                    subject_id=subject.value, subject_scheme=subject.scheme, time_created=first.time_committed,
                    ehr_status_id=first.uid.object_id,
                ))  # fmt: skip
        except sa.exc.IntegrityError as error:
            same_id = self.get(ehr_id)
            if same_id is not None:
                raise EhrAlreadyExists("ehr_id", same_id) from error
            raise EhrAlreadyExists("subject", self.by_subject(subject.namespace, subject.value)) from error
        return EhrRecord(ehr_id, system_id, subject.namespace, subject.value, subject.scheme,
                         first.time_committed, first)  # fmt: skip

    def get(self, ehr_id: str) -> EhrRecord | None:
        return self._one(ehr.c.ehr_id == ehr_id)

    def by_subject(self, namespace: str, subject_id: str) -> EhrRecord | None:
        return self._one(sa.and_(ehr.c.subject_namespace == namespace, ehr.c.subject_id == subject_id))

    def _one(self, condition: sa.ColumnElement[bool]) -> EhrRecord | None:
        with read_connection(self.engine) as connection:
            row = connection.execute(_WITH_LATEST_STATUS.where(condition)).first()
        if row is None:
            return None
        return EhrRecord(row.ehr_id, row.ehr_system_id, row.subject_namespace, row.subject_id,
                         row.subject_scheme, row.time_created, version_from_row(row))  # fmt: skip

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.select(sa.func.count()).select_from(ehr).limit(1))


def selective(query: PersonQuery) -> bool:
    """Whether the query has a condition few persons meet: an identifier, a name word or a birthdate."""
    return query.identifier is not None or bool(query.words) or bool(query.birthdate)


class _SearchSql:
    """The person search as SQL text, run on the driver's cursor (see `services.kernel.database.driver_cursor`).

    A search is one statement: the page, chosen on the index alone, with the total of matches (a window
    count) and the page's documents as text, which the route sends on without parsing them. Only a page
    past the end (no row to carry the total) costs a second, counting statement. The text depends only
    on which conditions a query has (its shape), so the drivers' statement caches (sqlite3) and
    prepared statements (psycopg) serve every query of a shape; values are always parameters.
    Building it costs microseconds where SQLAlchemy Core's expression, cache key and compilation cost
    about a millisecond per search.
    """

    def __init__(self, dialect: sa.Dialect, template_id: str):
        self.sqlite = dialect.name == "sqlite"
        self.template_id = template_id
        self.data = "ov.data" if self.sqlite else "CAST(ov.data AS text)"

    def _sql(self, text: str) -> str:
        """`:name` placeholders (sqlite3's style) as psycopg's `%(name)s` on PostgreSQL."""
        return text if self.sqlite else re.sub(r":(\w+)", r"%(\1)s", text)

    def conditions(self, query: PersonQuery, *, filter_only: bool = False) -> tuple[str, dict[str, object]]:
        """The WHERE clause over `index_entry ie` and its parameters. Every condition is an indexed
        `(field, value)` lookup: an IN over a range scan of the value index, so the database starts from
        the few matching values, not from every person."""
        params: dict[str, object] = {"state": LifecycleState.COMPLETE.value, "template_id": self.template_id}
        where = [self.everyone]

        def has(field: str, condition: str) -> str:
            return f"ie.object_id IN (SELECT object_id FROM index_value WHERE field = '{field}' AND {condition})"

        if query.identifier is not None:
            names = []
            for i, value in enumerate(query.identifier.values):
                params[f"id{i}"] = value
                names.append(f":id{i}")
            field = SWEDISH_IDENTIFIER if query.identifier.kind else IDENTIFIER
            where.append(has(field, f"value IN ({', '.join(names)})"))
        for i, (part, token) in enumerate(query.words):
            params[f"low{i}"], params[f"high{i}"] = token, prefix_upper_bound(token)
            where.append(has(part or NAME, f"value >= :low{i} AND value < :high{i}"))
        if query.birthdate:
            where.append(has(BIRTHDATE, self._birthdate(query.birthdate, params)))
        if query.gender is not None:
            params["gender"] = query.gender
            # Most persons have a gender: a filter on the candidates the other conditions found (checked
            # per candidate by primary key), or, alone, the driving condition.
            if filter_only or selective(query):
                where.append("EXISTS (SELECT 1 FROM index_value g WHERE g.object_id = ie.object_id"
                             f" AND g.field = '{GENDER}' AND g.value = :gender)")  # fmt: skip
            else:
                where.append(has(GENDER, "value = :gender"))
        return " AND ".join(where), params

    @staticmethod
    def _birthdate(conditions: tuple[DateCondition, ...], params: dict[str, object]) -> str:
        """All birthdate conditions on the one indexed value: a single range scan.

        The index holds the first day of the birth date (a partial DV_DATE such as "1950" counts from
        1950-01-01); a search value stands for its whole range: ge1950 means from 1950-01-01, gt1950
        after 1950-12-31, eq1950-04 within April 1950.
        """
        bounds = []
        for i, condition in enumerate(conditions):
            params[f"born_low{i}"], params[f"born_high{i}"] = condition.low.isoformat(), condition.high.isoformat()
            low, high = f":born_low{i}", f":born_high{i}"
            bounds.append({
                "eq": f"value >= {low} AND value <= {high}",
                "ne": f"(value < {low} OR value > {high})",
                "gt": f"value > {high}",
                "lt": f"value < {low}",
                "ge": f"value >= {low}",
                "le": f"value <= {high}",
            }[condition.prefix])  # fmt: skip
        return " AND ".join(bounds)

    _VERSION = (
        "ov.object_id, ov.version, ov.system_id, ov.contribution_id, ov.time_committed, ov.committer_name,"
        " ov.committer_hsa_id, ov.change_type, ov.lifecycle_state, ov.template_id, {data}"
    )
    _DOCUMENT = " JOIN original_version ov ON ov.object_id = {source}.object_id AND ov.version = {source}.version"
    everyone = "ie.lifecycle_state = :state AND ie.template_id = :template_id"

    def page(self, where: str) -> str:
        """The page in name order (persons without a name last), each row with the total and its document."""
        return self._sql(
            f"SELECT p.total, {self._VERSION.format(data=self.data)} FROM (SELECT ie.object_id, ie.version,"
            " s.value AS sort_value, count(*) OVER () AS total FROM index_entry ie LEFT JOIN index_value s"
            f" ON s.object_id = ie.object_id AND s.field = '{SORT}' WHERE {where}"
            " ORDER BY s.value NULLS LAST, ie.object_id LIMIT :limit OFFSET :offset) p"
            + self._DOCUMENT.format(source="p")
            + " ORDER BY p.sort_value NULLS LAST, p.object_id"
        )

    def count(self, where: str) -> str:
        return self._sql(f"SELECT count(*) FROM index_entry ie WHERE {where}")

    def counts(self, where: str) -> str:
        """The matches of a query without a selective condition, and every person (to judge its selectivity)."""
        return self._sql(
            f"SELECT count(*), (SELECT count(*) FROM index_entry ie WHERE {self.everyone}) FROM index_entry ie"
            f" WHERE {where}"
        )

    def named_page(self, filters: str) -> str:
        """A page of the persons with a name, read in name order from the value index (field, value, object_id)
        and stopped at the page's end, each candidate checked against `filters`: for a query that most
        persons meet, where the general statement would sort them all."""
        return self._sql(
            f"SELECT NULL, {self._VERSION.format(data=self.data)} FROM index_value s JOIN index_entry ie"
            f" ON ie.object_id = s.object_id{self._DOCUMENT.format(source='ie')} WHERE s.field = '{SORT}'"
            f" AND {filters} ORDER BY s.value, s.object_id LIMIT :limit OFFSET :offset"
        )

    def named_count(self, filters: str) -> str:
        return self._sql(
            f"SELECT count(*) FROM index_value s JOIN index_entry ie ON ie.object_id = s.object_id"
            f" WHERE s.field = '{SORT}' AND {filters}"
        )

    def unnamed_page(self, filters: str) -> str:
        """Persons without a name (after everyone with one), by object id."""
        return self._sql(
            f"SELECT NULL, {self._VERSION.format(data=self.data)} FROM index_entry ie"
            f"{self._DOCUMENT.format(source='ie')} WHERE {filters} AND NOT EXISTS (SELECT 1 FROM index_value s"
            f" WHERE s.object_id = ie.object_id AND s.field = '{SORT}')"
            " ORDER BY ie.object_id LIMIT :limit OFFSET :offset"
        )

    def version(self, row: tuple) -> Version:
        _, object_id, number, system_id, contribution_id, time_committed, name, hsa_id, change, state, template_id, data = row  # noqa: E501  # fmt: skip
        if isinstance(time_committed, str):  # SQLite: the text SQLAlchemy's DateTime writes, UTC
            time_committed = datetime.fromisoformat(time_committed)
        return Version(
            uid=VersionUid(object_id, system_id, number),
            ehr_id=None,
            contribution_id=contribution_id,
            time_committed=time_committed.replace(tzinfo=UTC),
            committer=Committer(name, hsa_id),
            change_type=ChangeType(change),
            lifecycle_state=LifecycleState(state),
            template_id=template_id,
            payload=data.encode() if isinstance(data, str) else data,
        )


class PersonSearch:
    """Reads persons through the kernel's index tables, latest versions only, deleted ones excluded."""

    def __init__(self, engine: Engine, template_id: str):
        self.engine = engine
        self.template_id = template_id
        self._sql = _SearchSql(engine.dialect, template_id)

    def statement(self, query: PersonQuery) -> tuple[str, dict[str, object]]:
        """The search's statement and its parameters (what `search` runs; tests read its query plan)."""
        where, params = self._sql.conditions(query)
        return self._sql.page(where), {**params, "limit": query.limit, "offset": query.offset}

    def search(self, query: PersonQuery) -> tuple[int, list[Version]]:
        with driver_cursor(self.engine) as cursor:
            if not selective(query):
                found = self._unselective(cursor, query)
                if found is not None:
                    return found
            statement, params = self.statement(query)
            cursor.execute(statement, params)
            rows = cursor.fetchall()
            if rows:
                total = rows[0][0]
            elif query.offset == 0:
                total = 0
            else:  # past the end: no row carries the total
                where, params = self._sql.conditions(query)
                cursor.execute(self._sql.count(where), params)
                total = cursor.fetchone()[0]
        return total, [self._sql.version(row) for row in rows]

    # A query that at least 1/8 of the persons meet reads its page in name order from the index: the scan
    # passes about 1/share candidates per row of the page (male or female: 2) instead of sorting all matches.
    _UNSELECTIVE_SHARE = 8

    def _unselective(self, cursor: Any, query: PersonQuery) -> tuple[int, list[Version]] | None:
        """Everyone, or everyone of a gender: counted, then the page read in name order from the value index
        (stopping at the page's end) instead of sorting every match. None when the query turns out to be
        selective after all (a rare gender code): the general statement then serves it."""
        where, params = self._sql.conditions(query)
        self._unprepared(cursor, self._sql.counts(where), params)
        total, everyone = cursor.fetchone()
        if total * self._UNSELECTIVE_SHARE < everyone:
            return None
        filters, params = self._sql.conditions(query, filter_only=True)
        rows: list[tuple] = []
        if total > query.offset:
            page = {**params, "limit": query.limit, "offset": query.offset}
            self._unprepared(cursor, self._sql.named_page(filters), page)
            rows = cursor.fetchall()
        missing = min(query.limit - len(rows), total - query.offset - len(rows))
        if missing > 0:  # the page reaches the persons without a name, who come last
            self._unprepared(cursor, self._sql.named_count(filters), params)
            skip = max(0, query.offset - cursor.fetchone()[0])
            self._unprepared(cursor, self._sql.unnamed_page(filters), {**params, "limit": missing, "offset": skip})
            rows += cursor.fetchall()
        return total, [self._sql.version(row) for row in rows]

    def _unprepared(self, cursor: Any, statement: str, params: dict[str, object]) -> None:
        """PostgreSQL plans these statements for their values each time (psycopg would prepare them after
        five runs): a generic plan, blind to how common the gender is, sorted every match (60 ms, not 3)."""
        if self._sql.sqlite:
            cursor.execute(statement, params)
        else:
            cursor.execute(statement, params, prepare=False)

    def holders(self, identifiers: list[str], other_than: str | None = None) -> dict[str, str]:
        """Which live persons hold these Swedish identifiers: {identifier: object_id}."""
        if not identifiers:
            return {}
        query = sa.select(index_value.c.value, index_value.c.object_id).where(
            index_value.c.field == SWEDISH_IDENTIFIER, index_value.c.value.in_(identifiers)
        )
        if other_than is not None:
            query = query.where(index_value.c.object_id != other_than)
        with self.engine.connect() as connection:
            return {row.value: row.object_id for row in connection.execute(query)}
