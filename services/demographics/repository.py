"""Demographics storage: the EHR registry (its own table) and the person search (over the kernel's index).

Persons are versioned objects in the kernel's store; their search fields are extracted at commit
time into the kernel's index (`index_value` rows, see `PersonSearchIndex`). The queries here read
that index with what the kernel's equality-only search lacks: prefix ranges on folded name tokens,
date ranges, and an order by name. Every condition is an indexed `(field, value)` lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.demographics.folding import prefix_upper_bound
from services.demographics.person import FAMILY, GIVEN, PersonFields, extract
from services.demographics.search import DateCondition, PersonQuery
from services.kernel.database import write_transaction
from services.kernel.schema import Document, UtcDateTime, index_entry, index_value, original_version
from services.kernel.search import IndexedValues, SearchIndex
from services.kernel.versioning import ChangeType, Committer, LifecycleState, Version, VersionUid

metadata = sa.MetaData()

# One row per EHR; the unique subject is what makes two concurrent POST /ehr for one person
# end in one EHR and one 409, on SQLite and on PostgreSQL alike.
ehr = sa.Table(
    "ehr",
    metadata,
    sa.Column("ehr_id", sa.String(36), primary_key=True),
    sa.Column("system_id", sa.String(128), nullable=False),
    sa.Column("subject_namespace", sa.String(128), nullable=False),
    sa.Column("subject_id", sa.String(32), nullable=False),
    sa.Column("subject_scheme", sa.String(32), nullable=False),
    sa.Column("time_created", UtcDateTime(), nullable=False),
    sa.Column("ehr_status", Document, nullable=False),
    sa.UniqueConstraint("subject_namespace", "subject_id", name="uq_ehr_subject"),
)

# Index fields (kernel `index_value.field`) of a person.
IDENTIFIER = "identifier"  # every identifier value (Swedish ones canonical)
SWEDISH_IDENTIFIER = "swedish_identifier"  # personnummer/samordningsnummer: unique among live persons
NAME = "name"  # folded tokens of every name part
BIRTHDATE_LOW, BIRTHDATE_HIGH = "birthdate_low", "birthdate_high"  # ISO dates: they sort as they compare
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
    if fields.birth_date_low and fields.birth_date_high:
        values[BIRTHDATE_LOW] = {fields.birth_date_low.isoformat()}
        values[BIRTHDATE_HIGH] = {fields.birth_date_high.isoformat()}
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
    ehr_status: dict[str, Any]


class EhrAlreadyExists(Exception):
    def __init__(self, field: str, existing: EhrRecord | None):
        super().__init__(field)
        self.field = field  # "ehr_id" or "subject"
        self.existing = existing


class EhrRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, record: EhrRecord) -> None:
        """Inserts the EHR; EhrAlreadyExists when the id or the subject is taken (decided by the database)."""
        try:
            with write_transaction(self.engine) as connection:
                connection.execute(ehr.insert().values(**record.__dict__))
        except sa.exc.IntegrityError as error:
            same_id = self.get(record.ehr_id)
            if same_id is not None:
                raise EhrAlreadyExists("ehr_id", same_id) from error
            raise EhrAlreadyExists(
                "subject", self.by_subject(record.subject_namespace, record.subject_id)
            ) from error

    def get(self, ehr_id: str) -> EhrRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(ehr).where(ehr.c.ehr_id == ehr_id)).first()
        return EhrRecord(**row._mapping) if row else None

    def by_subject(self, namespace: str, subject_id: str) -> EhrRecord | None:
        query = sa.select(ehr).where(ehr.c.subject_namespace == namespace, ehr.c.subject_id == subject_id)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return EhrRecord(**row._mapping) if row else None

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.select(sa.func.count()).select_from(ehr).limit(1))


def _has(field: str, condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        index_value.c.object_id == index_entry.c.object_id, index_value.c.field == field, condition
    )


def _birthdate(condition: DateCondition) -> sa.ColumnElement[bool]:
    low, high = condition.low.isoformat(), condition.high.isoformat()
    value = index_value.c.value
    within = sa.and_(_has(BIRTHDATE_LOW, value >= low), _has(BIRTHDATE_HIGH, value <= high))
    return {
        "eq": within,
        "ne": sa.and_(_has(BIRTHDATE_LOW, sa.true()), sa.not_(within)),
        "gt": _has(BIRTHDATE_HIGH, value > high),
        "lt": _has(BIRTHDATE_LOW, value < low),
        "ge": _has(BIRTHDATE_HIGH, value >= low),
        "le": _has(BIRTHDATE_LOW, value <= high),
    }[condition.prefix]


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
    conditions.extend(_birthdate(condition) for condition in query.birthdate)
    if query.gender is not None:
        conditions.append(_has(GENDER, value == query.gender))
    return conditions


class PersonSearch:
    """Reads persons through the kernel's index tables, latest versions only, deleted ones excluded."""

    def __init__(self, engine: Engine, template_id: str):
        self.engine = engine
        self.template_id = template_id

    def search(self, query: PersonQuery) -> tuple[int, list[Version]]:
        conditions = _conditions(query, self.template_id)
        sort = index_value.alias("sort_value")
        page = (
            sa.select(original_version)
            .select_from(
                index_entry.join(
                    original_version,
                    sa.and_(
                        original_version.c.object_id == index_entry.c.object_id,
                        original_version.c.version == index_entry.c.version,
                    ),
                ).outerjoin(sort, sa.and_(sort.c.object_id == index_entry.c.object_id, sort.c.field == SORT))
            )
            .where(*conditions)
            .order_by(sort.c.value, index_entry.c.object_id)
            .offset(query.offset)
            .limit(query.limit)
        )
        with self.engine.connect() as connection:
            total = connection.execute(
                sa.select(sa.func.count()).select_from(index_entry).where(*conditions)
            ).scalar_one()
            rows = connection.execute(page).all() if total > query.offset else []
        return total, [_version(row) for row in rows]

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


def _version(row: sa.Row) -> Version:
    return Version(
        uid=VersionUid(row.object_id, row.system_id, row.version),
        ehr_id=None,
        contribution_id=row.contribution_id,
        time_committed=row.time_committed,
        committer=Committer(row.committer_name, row.committer_hsa_id),
        change_type=ChangeType(row.change_type),
        lifecycle_state=LifecycleState(row.lifecycle_state),
        template_id=row.template_id,
        data=row.data,
    )
