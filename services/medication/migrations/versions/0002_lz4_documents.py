"""PostgreSQL compresses the medication's stored documents with lz4 (see compress_documents_with_lz4).

Revision ID: medication_0002
Revises: medication_0001
"""

from services.kernel.migrations import compress_documents_with_lz4

revision = "medication_0002"
down_revision = "medication_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    compress_documents_with_lz4()


def downgrade() -> None:
    pass  # rows written with lz4 stay readable whatever the column's setting
