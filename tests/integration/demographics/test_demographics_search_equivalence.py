"""The person search's SQL agrees with the search's definition, evaluated in Python over every live person's
index values (`index_values(extract(person))`): the same persons, the same order, the same total, on
SQLite and on PostgreSQL, for each query shape (identifier, name words, birthdate prefixes, gender and
their combinations, paging and a page past the end)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from services.demographics.app import create_app
from services.demographics.examples import identifier_cluster, make_person, personnummer
from services.demographics.folding import prefix_upper_bound
from services.demographics.person import extract
from services.demographics.repository import (
    BIRTHDATE,
    GENDER,
    IDENTIFIER,
    NAME,
    SORT,
    SWEDISH_IDENTIFIER,
    index_values,
)
from services.demographics.search import PersonQuery, parse_query
from services.demographics.settings import DemographicsSettings
from services.kernel.versioning import Committer
from tests.integration.demographics.fakes import FAKE_TEMPLATES, fake_validator

GIVEN = ["Åsa", "Anna", "Örjan", "Märta Lovisa", "Åke", "Ben", "Erik", ""]
FAMILY = ["Åkesson", "Akesson", "Östlund", "Ängström-Lind", "Müller", "Lind", "Andersson", ""]
BIRTH = ["1950-04-02", "1950-12-31", "1962-07-15", "1988-02-29", "2001-01-01", "1950", "1962-07"]
GENDERS = ["female", "male", "other", "unknown", None]

QUERIES = [
    {},
    {"name": "akes"},
    {"name": "a"},
    {"family": "lind"},
    {"given": "marta lov"},
    {"name": "asa akes"},
    {"name": "zzz"},
    {"gender": "female"},
    {"gender": "other", "name": "a"},
    {"birthdate": ["1950"]},
    {"birthdate": ["eq1962-07"]},
    {"birthdate": ["ne1950"]},
    {"birthdate": ["ge1950-06", "lt1988"]},
    {"birthdate": ["gt1950"], "gender": "male"},
    {"birthdate": ["sa1950-04-02", "eb2001-01-01"]},
    {"birthdate": ["le1962-07-15"], "family": "a"},
    {"identifier": "reservnummer-7"},
    {"identifier": "reservnummer-7", "gender": "female"},
    {"name": "a", "offset": 3, "limit": 4},
    {"offset": 5, "limit": 7},
    {"offset": 1000},
    {"name": "a", "offset": 1000},
    {"limit": 1},
    # everyone, or a gender most have: the page read in name order, then the persons without a name
    {"offset": 30, "limit": 20},
    {"offset": 33, "limit": 2},
    {"gender": "male", "offset": 2, "limit": 50},
    {"gender": "female", "offset": 1000},
]


@pytest.fixture
def register(database_url):
    """~40 persons (some without a name, one with a partial birth date, a shared non-Swedish identifier),
    one renamed and one deleted; with the Swedish numbers of a few of them."""
    app = create_app(DemographicsSettings(database_url=database_url, migrate_on_startup=True),
                     validator=fake_validator, templates=FAKE_TEMPLATES)  # fmt: skip
    persons, rng, numbers, object_ids = app.state.persons, random.Random(5), [], []
    for serial in range(40):
        born = date(1930, 1, 1).toordinal() + rng.randrange(0, 25_000)
        number = personnummer(date.fromordinal(born), serial, samordningsnummer=serial % 9 == 0)
        person = make_person(given=rng.choice(GIVEN), family=rng.choice(FAMILY), birth_date=rng.choice(BIRTH),
                             gender=rng.choice(GENDERS), identifiers=[number])  # fmt: skip
        if serial % 6 == 0:  # a reservnummer several persons share: matched as given
            person["details"]["items"].append(identifier_cluster("reservnummer-7", "reservnummer"))
        numbers.append(number)
        version = persons.create(person, Committer())
        object_ids.append(version.uid.object_id)
        if serial == 3:
            renamed = make_person(given="Zelda", family="Östlund", identifiers=[number])
            persons.update(version.uid.object_id, version.uid, renamed, Committer())
        if serial == 4:
            persons.delete(version.uid.object_id, version.uid, Committer())
    yield persons, numbers, object_ids
    app.state.engine.dispose()


def _matches(query: PersonQuery, values: dict[str, list[str]]) -> bool:
    if query.identifier is not None:
        field = SWEDISH_IDENTIFIER if query.identifier.kind else IDENTIFIER
        if not set(query.identifier.values) & set(values.get(field, ())):
            return False
    for part, token in query.words:
        if not any(token <= value < prefix_upper_bound(token) for value in values.get(part or NAME, ())):
            return False
    for condition in query.birthdate:
        born = values.get(BIRTHDATE)
        if not born:
            return False
        low, high = condition.low.isoformat(), condition.high.isoformat()
        if not {"eq": low <= born[0] <= high, "ne": born[0] < low or born[0] > high, "gt": born[0] > high,
                "lt": born[0] < low, "ge": born[0] >= low, "le": born[0] <= high}[condition.prefix]:  # fmt: skip
            return False
    return query.gender is None or query.gender in values.get(GENDER, ())


def expected(persons, object_ids: list[str], query: PersonQuery) -> tuple[int, list[str]]:
    """The search by its definition: the latest versions of live persons that meet every condition, by
    name (persons without one last), then object id."""
    found = []
    for object_id in object_ids:
        version = persons.store.latest(object_id)
        if version.is_deleted:
            continue
        values = index_values(extract(version.data))
        if _matches(query, values):
            sort = values.get(SORT, [None])[0]
            found.append(((sort is None, sort or "", version.uid.object_id), str(version.uid)))
    found.sort()
    return len(found), [uid for _, uid in found][query.offset : query.offset + query.limit]


def test_every_query_shape_agrees_with_the_definition(register):
    persons, numbers, object_ids = register
    assert persons.search(parse_query(limit=1000)).total == 39  # the deleted person is gone
    queries = [*QUERIES, {"identifier": numbers[0]}, {"identifier": f"{numbers[9][2:8]}-{numbers[9][8:]}"},
               {"identifier": numbers[4]}, {"identifier": numbers[3], "name": "zelda"}]  # fmt: skip
    for params in queries:
        query = parse_query(**params, today=date(2026, 11, 24))
        page = persons.search(query)
        assert (page.total, [str(v.uid) for v in page.items]) == expected(persons, object_ids, query), params
