"""Alembic environment of the demographics database (its own history)."""

from services.kernel.migrations import run_env

run_env()
