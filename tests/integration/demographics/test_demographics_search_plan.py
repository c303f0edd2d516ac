"""Search must start from the index, not read every person: checked on SQLite's query plans.

(No wall-clock assertion: the plan is what makes 10,000+ persons cheap; `EXPLAIN QUERY PLAN`
is deterministic where timings are not.)
"""

from datetime import date

import pytest

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


def plan(engine, query) -> str:
    statement, parameters = PersonSearch(engine, "vgr.person.v1").statement(query)
    with engine.connect() as connection:
        return "\n".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))


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
    found = plan(engine, parse_query(**params))  # one statement: the page, its total and its documents
    assert "COVERING INDEX ix_index_value_field_value_object" in found, found
    for table in ("ie", "index_value", "s", "g", "ov"):  # every table is searched by key, none scanned
        assert f"SCAN {table}\n" not in found + "\n", found
    assert "SEARCH ov USING INDEX sqlite_autoindex_original_version_1 (object_id=? AND version=?)" in found, found
