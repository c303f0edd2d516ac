"""PostgreSQL compresses the journal's stored documents with lz4 (see compress_documents_with_lz4).

Revision ID: journal_0002
Revises: journal_0001
"""

from services.kernel.migrations import compress_documents_with_lz4

revision = "journal_0002"
down_revision = "journal_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    compress_documents_with_lz4()


def downgrade() -> None:
    pass  # rows written with lz4 stay readable whatever the column's setting
