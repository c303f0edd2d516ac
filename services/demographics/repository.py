"""Demographics storage: the EHR registry (its own table, EHR_STATUS versions in the kernel's store) and the
person search (over the kernel's index).

Persons are versioned objects in the kernel's store; their search fields are extracted at commit
time into the kernel's index (`index_value` rows, see `PersonSearchIndex`). The queries here read
that index with what the kernel's equality-only search lacks: prefix ranges on folded name tokens,
date ranges, and an order by name. Every condition is an indexed `(field, value)` lookup.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.demographics.ehr_status import Subject
from services.demographics.folding import prefix_upper_bound
from services.demographics.person import FAMILY, GIVEN, PersonFields, extract
from services.demographics.search import DateCondition, PersonQuery
from services.kernel.database import read_connection, write_transaction
from services.kernel.schema import UtcDateTime, index_entry, index_value, original_version
from services.kernel.search import IndexedValues, SearchIndex
from services.kernel.store import VersionedStore, version_from_row
from services.kernel.versioning import Committer, LifecycleState, Version

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


def _has(field: str, condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """Objects with a value of `field` meeting `condition`: an IN over a range scan of the (field, value)
    index, so the database starts from the few matching values, not from every person."""
    matching = sa.select(index_value.c.object_id).where(index_value.c.field == field, condition)
    return index_entry.c.object_id.in_(matching)


def _birthdate(conditions: tuple[DateCondition, ...]) -> sa.ColumnElement[bool]:
    """All birthdate conditions on the one indexed value: a single range scan.

    The index holds the first day of the birth date (a partial DV_DATE such as "1950" counts from
    1950-01-01); a search value stands for its whole range: ge1950 means from 1950-01-01, gt1950
    after 1950-12-31, eq1950-04 within April 1950.
    """
    value = index_value.c.value
    bounds: list[sa.ColumnElement[bool]] = []
    for condition in conditions:
        low, high = condition.low.isoformat(), condition.high.isoformat()
        bounds.append({
            "eq": sa.and_(value >= low, value <= high),
            "ne": sa.or_(value < low, value > high),
            "gt": value > high,
            "lt": value < low,
            "ge": value >= low,
            "le": value <= high,
        }[condition.prefix])  # fmt: skip
    return _has(BIRTHDATE, sa.and_(*bounds))


def _where(field: str, condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """A filter on a value most persons have (gender): checked per candidate by primary key."""
    return sa.exists().where(
        index_value.c.object_id == index_entry.c.object_id, index_value.c.field == field, condition
    )


def _conditions(query: PersonQuery, template_id: str) -> list[sa.ColumnElement[bool]]:
    value = index_value.c.value
    conditions = [
        index_entry.c.lifecycle_state == LifecycleState.COMPLETE.value,
        index_entry.c.template_id == template_id,
    ]
    if query.identifier is not None:
        field = SWEDISH_IDENTIFIER if query.identifier.kind else IDENTIFIER
        conditions.append(_has(field, value.in_(query.identifier.values)))
    for part, token in query.words:
        conditions.append(_has(part or NAME, sa.and_(value >= token, value < prefix_upper_bound(token))))
    if query.birthdate:
        conditions.append(_birthdate(query.birthdate))
    if query.gender is not None:
        # Most persons have a gender: a filter on the candidates the other conditions found, or,
        # alone, the driving condition.
        selective = query.identifier is not None or query.words or query.birthdate
        conditions.append((_where if selective else _has)(GENDER, value == query.gender))
    return conditions


class PersonSearch:
    """Reads persons through the kernel's index tables, latest versions only, deleted ones excluded."""

    def __init__(self, engine: Engine, template_id: str):
        self.engine = engine
        self.template_id = template_id

    def search(self, query: PersonQuery) -> tuple[int, list[Version]]:
        conditions = _conditions(query, self.template_id)
        sort = index_value.alias("sort_value")
        # The page is chosen on the index alone; only its versions' documents are read afterwards.
        page = (
            sa.select(index_entry.c.object_id, index_entry.c.version)
            .select_from(
                index_entry.outerjoin(
                    sort, sa.and_(sort.c.object_id == index_entry.c.object_id, sort.c.field == SORT)
                )
            )
            .where(*conditions)
            .order_by(sort.c.value.nulls_last(), index_entry.c.object_id)
            .offset(query.offset)
            .limit(query.limit)
        )
        with self.engine.connect() as connection:
            total = connection.execute(
                sa.select(sa.func.count()).select_from(index_entry).where(*conditions)
            ).scalar_one()
            keys = [tuple(row) for row in connection.execute(page)] if total > query.offset else []
            latest = original_version.join(index_entry, sa.and_(
                index_entry.c.object_id == original_version.c.object_id,
                index_entry.c.version == original_version.c.version,
            ))  # fmt: skip
            ids = [object_id for object_id, _ in keys]
            rows = connection.execute(
                sa.select(original_version).select_from(latest).where(index_entry.c.object_id.in_(ids))
            ).all() if ids else []  # fmt: skip
        by_key = {(row.object_id, row.version): version_from_row(row) for row in rows}
        return total, [by_key[key] for key in keys if key in by_key]

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
