"""PostgreSQL compresses the stored PERSON and EHR_STATUS documents with lz4 (see compress_documents_with_lz4).

Revision ID: 0004
Revises: 0003
"""

from services.kernel.migrations import compress_documents_with_lz4

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    compress_documents_with_lz4()


def downgrade() -> None:
    pass  # rows written with lz4 stay readable whatever the column's setting
