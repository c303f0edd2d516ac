"""Search must start from the index, not read every person: checked on SQLite's query plans.

(No wall-clock assertion: the plan is what makes 10,000+ persons cheap; `EXPLAIN QUERY PLAN`
is deterministic where timings are not.)
"""

from datetime import date

import pytest
import sqlalchemy as sa

from services.demographics.app import create_app
from services.demographics.examples import make_person, personnummer
from services.demographics.repository import PersonSearch
from services.demographics.search import parse_query
from services.demographics.settings import DemographicsSettings
from services.kernel.versioning import Committer
from tests.integration.demographics.fakes import FAKE_TEMPLATES, fake_validator


@pytest.fixture
def engine(sqlite_url):
    app = create_app(
        DemographicsSettings(database_url=sqlite_url), validator=fake_validator, templates=FAKE_TEMPLATES
    )
    persons = app.state.persons
    persons.create(make_person(given="Åsa", family="Åkesson", birth_date="1955-03-01",
                               identifiers=[personnummer(date(1955, 3, 1), 1)]), Committer())  # fmt: skip
    persons.create(make_person(given="Örjan", family="Östlund", birth_date="1950-06-01", gender="male",
                               identifiers=["19121212-1212"]), Committer())  # fmt: skip
    yield app.state.engine
    app.state.engine.dispose()


def plans(engine, query) -> list[str]:
    statements = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        PersonSearch(engine, "vgr.person.v1").search(query)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    with engine.connect() as connection:
        return [
            "\n".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in statements
        ]


@pytest.mark.parametrize(
    "params",
    [
        {"identifier": "19121212-1212"},
        {"name": "akes"},
        {"family": "ostl", "given": "or"},
        {"name": "akes", "gender": "female", "birthdate": ["ge1950", "lt1960"]},
        {"birthdate": ["ge1950-01-01", "le1950-12-31"]},
    ],
)
def test_selective_searches_use_the_value_index_and_never_scan_everyone(engine, params):
    assert PersonSearch(engine, "vgr.person.v1").search(parse_query(**params))[0] == 1
    count, page, documents = plans(engine, parse_query(**params))
    for plan in (count, page):
        assert "COVERING INDEX ix_index_value_field_value_object" in plan, plan
        assert "SCAN index_entry" not in plan and "SCAN index_value" not in plan, plan
    assert "SCAN" not in documents, documents  # only the page's documents, by key
