"""Demographics: the versioned store (persons), the EHR registry, one live person per Swedish identifier.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrations import create_store_tables
from services.kernel.schema import Document, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_store_tables()
    op.create_table(
        "ehr",
        sa.Column("ehr_id", sa.String(36), primary_key=True),
        sa.Column("system_id", sa.String(128), nullable=False),
        sa.Column("subject_namespace", sa.String(128), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("subject_scheme", sa.String(32), nullable=False),
        sa.Column("time_created", UtcDateTime(), nullable=False),
        sa.Column("ehr_status", Document, nullable=False),
        sa.UniqueConstraint("subject_namespace", "subject_id", name="uq_ehr_subject"),
    )
    # A personnummer or samordningsnummer belongs to one live person: the search index row of a
    # second person with the same number cannot be written, so its commit fails as a whole.
    op.create_index(
        "ux_index_value_swedish_identifier",
        "index_value",
        ["value"],
        unique=True,
        sqlite_where=sa.text("field = 'swedish_identifier'"),
        postgresql_where=sa.text("field = 'swedish_identifier'"),
    )


def downgrade() -> None:
    op.drop_index("ux_index_value_swedish_identifier", table_name="index_value")
    op.drop_table("ehr")
