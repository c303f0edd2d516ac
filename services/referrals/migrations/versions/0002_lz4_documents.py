"""PostgreSQL compresses the referrals's stored documents with lz4 (see compress_documents_with_lz4).

Revision ID: referrals_0002
Revises: referrals_0001
"""

from services.kernel.migrations import compress_documents_with_lz4

revision = "referrals_0002"
down_revision = "referrals_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    compress_documents_with_lz4()


def downgrade() -> None:
    pass  # rows written with lz4 stay readable whatever the column's setting
