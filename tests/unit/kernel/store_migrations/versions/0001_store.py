"""A history holding only the kernel's store tables, as every module's first revision does.

Revision ID: kernel_test_0001
Revises:
"""

from services.kernel.migrations import create_store_tables

revision = "kernel_test_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_store_tables()
