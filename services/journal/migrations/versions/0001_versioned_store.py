"""The versioned store and the search index of the journal.

Revision ID: journal_0001
Revises:
"""

from services.kernel.migrations import create_store_tables

revision = "journal_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_store_tables()


def downgrade() -> None:
    raise NotImplementedError("the journal's history is never dropped")
