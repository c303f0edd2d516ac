"""Database fixtures shared by every test: `database_url` runs a test on SQLite and on PostgreSQL.

Each test gets its own fresh database, so tests run in parallel under pytest-xdist.
"""

from __future__ import annotations

import pytest

from services.kernel.testing import (
    PostgresUnavailable,
    fresh_postgres_database,
    fresh_sqlite_database,
    postgres_required,
    postgres_server,
)


@pytest.fixture(scope="session")
def postgres_server_url():
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as reason:
        if postgres_required():
            pytest.fail(f"OPENEHR_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(str(reason))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return fresh_sqlite_database(tmp_path)


@pytest.fixture
def postgres_url(request):
    server = request.getfixturevalue("postgres_server_url")
    with fresh_postgres_database(server) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request) -> str:
    """A fresh, empty database URL: the test runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "postgres_url"}[request.param])
