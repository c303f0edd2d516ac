"""Person search on a realistic register: `python -m bench.demographics_search [--persons N]`.

Fills a fresh demographics database with N synthetic persons (valid personnummer, Swedish names
with å/ä/ö, birth dates 1930-2012), then times the searches the gateway makes, in-process (no
HTTP), against a primary-key read of one person measured in the same run. Prints a table; asserts
nothing (timings belong here, not in tests).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from services.demographics.app import create_app
from services.demographics.examples import make_person, personnummer
from services.demographics.search import parse_query
from services.demographics.settings import DemographicsSettings
from services.kernel.versioning import Committer

GIVEN = [
    "Anna",
    "Åsa",
    "Örjan",
    "Erik",
    "Lars",
    "Märta",
    "Karin",
    "Olof",
    "Björn",
    "Sofia",
    "Ingrid",
    "Per",
    "Åke",
]
FAMILY = [
    "Andersson",
    "Åkesson",
    "Östlund",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Ängström",
    "Lindqvist",
    "Sjöberg",
]
SEARCHES = [
    {"identifier": None},  # filled with a real number
    {"family": "ostl"},
    {"name": "akes", "birthdate": ["ge1950", "lt1960"]},
    {"name": "asa", "gender": "female"},
    {"birthdate": ["1950-04"]},
    {"gender": "male", "limit": 20},
]


def fill(app, persons: int, rng: random.Random) -> str:
    service = app.state.persons
    number = ""
    for i in range(persons):
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 30_000))
        number = personnummer(born, i % 1000)
        family = rng.choice(FAMILY) + ("" if rng.random() < 0.7 else f"-{rng.choice(FAMILY)}")
        person = make_person(given=rng.choice(GIVEN), family=family, birth_date=born.isoformat(),
                             gender=rng.choice(["male", "female"]), identifiers=[number])  # fmt: skip
        try:
            service.create(person, Committer("bench"))
        except Exception:  # the rare synthetic number drawn twice: skip it
            continue
    return number


def timed(call, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def run(database_url: str, persons: int, repeat: int) -> None:
    app = create_app(DemographicsSettings(database_url=database_url, migrate_on_startup=True))
    rng = random.Random(42)
    start = time.perf_counter()
    number = fill(app, persons, rng)
    print(f"{database_url.split(':')[0]}: {persons} persons committed in {time.perf_counter() - start:.0f} s")
    if app.state.engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
        with app.state.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    service = app.state.persons
    some = service.search(parse_query(limit=1)).items[0].uid.object_id
    base, _ = timed(lambda: service.get(some), repeat)
    print(f"  {'read one person by id (baseline)':<55} p50 {base:6.2f} ms")
    for params in SEARCHES:
        params = {**params, "identifier": number} if "identifier" in params else params
        query = parse_query(**params)
        total = service.search(query).total
        p50, p99 = timed(lambda query=query: service.search(query), repeat)
        print(f"  {str(params):<55} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  x{p50 / base:4.1f}  ({total} hits)")
    app.state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.demographics_search")
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--postgres", help="a server URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{Path(folder) / 'bench.db'}", args.persons, args.repeat)
    if args.postgres:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            run(sa.make_url(args.postgres).set(database=name).render_as_string(hide_password=False),
                args.persons, args.repeat)  # fmt: skip
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
