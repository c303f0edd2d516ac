"""Throwaway databases for tests: a fresh SQLite file or a fresh PostgreSQL database per test.

PostgreSQL comes from testcontainers when a Docker engine is reachable, else from the server named
by OPENEHR_TEST_POSTGRES_URL. With neither, PostgreSQL tests skip with the reason, unless
OPENEHR_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

POSTGRES_URL_VARIABLE = "OPENEHR_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_VARIABLE = "OPENEHR_REQUIRE_POSTGRES"


class PostgresUnavailable(Exception):
    """Neither a Docker engine nor OPENEHR_TEST_POSTGRES_URL: says why, so a skip explains itself."""


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_POSTGRES_VARIABLE) == "1"


def docker_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:  # no client library, no socket, no permission: all mean "no Docker engine"
        return False
    return True


@contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server (an admin database on it) for the duration of the block."""
    if docker_reachable():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
            yield container.get_connection_url()
        return
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url:
        yield url
        return
    raise PostgresUnavailable(
        f"no PostgreSQL: no Docker engine is reachable and {POSTGRES_URL_VARIABLE} is not set "
        f"(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)"
    )


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """CREATE DATABASE with a random name on that server, dropped after the block."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def fresh_sqlite_database(folder: Path) -> str:
    return f"sqlite:///{folder / f'test_{uuid.uuid4().hex[:16]}.db'}"
