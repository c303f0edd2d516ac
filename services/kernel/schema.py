"""The tables of the versioned store, the same in every module's own database.

Only migrations create them (see `services.kernel.migrations`); this module is the mapping the
store queries through.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB


class UtcDateTime(sa.TypeDecorator):
    """Stores UTC without zone (SQLite has none) and always hands back aware UTC datetimes."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; use aware ones")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


Document = sa.JSON().with_variant(JSONB(), "postgresql")

metadata = sa.MetaData()

contribution = sa.Table(
    "contribution",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("time_committed", UtcDateTime(), nullable=False),
    sa.Column("committer_name", sa.String(200), nullable=False),
    sa.Column("committer_hsa_id", sa.String(64), nullable=False),
    sa.Column("change_type", sa.String(16), nullable=False),
)

versioned_object = sa.Table(
    "versioned_object",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("ehr_id", sa.String(64), nullable=True, index=True),
    sa.Column("time_created", UtcDateTime(), nullable=False),
)

original_version = sa.Table(
    "original_version",
    metadata,
    sa.Column("object_id", sa.String(36), sa.ForeignKey("versioned_object.id"), primary_key=True),
    # (object_id, version) is the primary key: of two writers of the same next version, the database
    # lets exactly one commit. That is the optimistic lock.
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("system_id", sa.String(128), nullable=False),
    sa.Column("contribution_id", sa.String(36), sa.ForeignKey("contribution.id"), nullable=False),
    sa.Column("time_committed", UtcDateTime(), nullable=False),
    sa.Column("committer_name", sa.String(200), nullable=False),
    sa.Column("committer_hsa_id", sa.String(64), nullable=False),
    sa.Column("change_type", sa.String(16), nullable=False),
    sa.Column("lifecycle_state", sa.String(16), nullable=False),
    sa.Column("template_id", sa.String(200), nullable=True),
    sa.Column("data", Document, nullable=True),
)

# The search index is a projection of each object's latest version, rewritten on every commit in the
# same transaction; the versions themselves stay untouched.
index_entry = sa.Table(
    "index_entry",
    metadata,
    sa.Column("object_id", sa.String(36), sa.ForeignKey("versioned_object.id"), primary_key=True),
    sa.Column("ehr_id", sa.String(64), nullable=True, index=True),
    sa.Column("template_id", sa.String(200), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("time_committed", UtcDateTime(), nullable=False),
    sa.Column("clinical_time", UtcDateTime(), nullable=True, index=True),
    sa.Column("lifecycle_state", sa.String(16), nullable=False),
)

index_value = sa.Table(
    "index_value",
    metadata,
    sa.Column("object_id", sa.String(36), sa.ForeignKey("index_entry.object_id"), primary_key=True),
    sa.Column("field", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), primary_key=True),
    sa.Index("ix_index_value_field_value", "field", "value"),
)
