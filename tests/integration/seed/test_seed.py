"""The seed command against the journal, medication and referrals apps in process (real templates and
validator, SQLite) and a demographics stand-in that checks persons and EHR_STATUS like demographics."""

from __future__ import annotations

import json
from collections import Counter
from contextlib import AsyncExitStack
from datetime import date

import httpx
import pytest

from archetypes.identifiers import parse_person_identifier
from services.journal.app import create_app as journal_app
from services.journal.settings import JournalSettings
from services.kernel.templates import archetype_validator
from services.medication.app import create_app as medication_app
from services.medication.settings import MedicationSettings
from services.referrals.app import create_app as referrals_app
from services.referrals.settings import ReferralsSettings
from services.seed.__main__ import main, parse_args
from services.seed.runner import Modules, seed
from tests.integration.clinical_support import BASE

pytestmark = pytest.mark.anyio
AS_OF = date(2026, 11, 1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Demographics:
    """Accepts valid vgr.person.v1 PERSONs and EHR_STATUS with a valid personnummer; knows its EHRs."""

    def __init__(self):
        self.persons: list[dict] = []
        self.ehrs: dict[str, str] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        if request.method == "POST" and path == f"{BASE}/demographic/person":
            person = json.loads(request.content)
            issues = archetype_validator(person, "vgr.person.v1")
            if issues:
                return httpx.Response(422, json={"message": str(issues[:3]), "code": "template_violation"})
            self.persons.append(person)
            return httpx.Response(201, headers={"ETag": f'"p{len(self.persons)}::demographics::1"'})
        if request.method == "POST" and path == f"{BASE}/ehr":
            subject = json.loads(request.content)["subject"]["external_ref"]["id"]["value"]
            parse_person_identifier(subject)  # raises on a bad number: the test fails loudly
            if subject in self.ehrs.values():
                return httpx.Response(409, json={"message": "EHR exists", "code": "conflict"})
            ehr_id = f"00000000-0000-4000-8000-{len(self.ehrs) + 1:012d}"
            self.ehrs[ehr_id] = subject
            return httpx.Response(
                201, json={"ehr_id": {"value": ehr_id}, "system_id": {"value": "demographics"}}
            )
        if request.method == "GET" and path.startswith(f"{BASE}/ehr/"):
            return httpx.Response(200 if path.rsplit("/", 1)[1] in self.ehrs else 404, json={})
        return httpx.Response(404, json={"message": f"{request.method} {path}"})


async def seeded_modules(stack: AsyncExitStack, tmp_path, demographics: Demographics) -> Modules:
    transport = httpx.MockTransport(demographics.handler)

    async def client(name: str, create_app, settings_class) -> httpx.AsyncClient:
        settings = settings_class(database_url=f"sqlite:///{tmp_path / name}.db", ehr_cache_ttl_seconds=0)
        app = create_app(settings, demographics_transport=transport)
        stack.callback(app.state.service.store.engine.dispose)
        return await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=f"http://{name}.test")
        )

    return Modules(
        demographics=await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://demographics.test")
        ),
        journal=await client("journal", journal_app, JournalSettings),
        medication=await client("medication", medication_app, MedicationSettings),
        referrals=await client("referrals", referrals_app, ReferralsSettings),
    )


async def all_items(client: httpx.AsyncClient, **params) -> list[dict]:
    response = await client.get(f"{BASE}/query/compositions", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_seed_fills_every_module_through_its_api(tmp_path):
    demographics = Demographics()
    async with AsyncExitStack() as stack:
        modules = await seeded_modules(stack, tmp_path, demographics)
        report = await seed(modules, patients=12, seed=7, concurrency=4, as_of=AS_OF)

        assert report.patients == 12 and len(demographics.persons) == 12 and len(demographics.ehrs) == 12
        numbers = list(demographics.ehrs.values())
        assert len(set(numbers)) == 12
        for number in numbers:
            assert parse_person_identifier(number, today=AS_OF).value == number

        notes = await all_items(modules.journal)
        assert len(notes) == report.notes >= 12
        assert all(n["index"]["diagnosis_code"] for n in notes)

        orders = await all_items(modules.medication)
        assert Counter(o["index"]["status"][0] for o in orders) == report.medication_orders
        assert all(o["index"]["atc_code"] for o in orders)
        changed = [o for o in orders if o["index"]["status"] != ["active"]]
        assert all(int(o["uid"].rsplit("::", 1)[1]) >= 2 for o in changed)  # changes are new versions

        referrals = await all_items(modules.referrals)
        assert Counter(r["index"]["status"][0] for r in referrals) == report.referrals
        assert all(r["index"]["receiver"] and r["index"]["urgency"] for r in referrals)
        assert len(report.medication_orders) >= 3 and len(report.referrals) >= 4  # a mix of statuses
        assert {r["ehr_id"] for r in referrals} <= set(demographics.ehrs)


async def test_seeding_again_skips_the_patients_already_there(tmp_path):
    demographics = Demographics()
    async with AsyncExitStack() as stack:
        modules = await seeded_modules(stack, tmp_path, demographics)
        first = await seed(modules, patients=3, seed=5, as_of=AS_OF)
        again = await seed(modules, patients=4, seed=5, as_of=AS_OF)
        assert (again.patients, again.skipped) == (1, 3)
        assert len(demographics.persons) == 4
        assert len(await all_items(modules.journal)) == first.notes + again.notes
        assert "3 patients already there, skipped" in again.summary()


async def test_same_seed_same_data(tmp_path):
    reports = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        demographics = Demographics()
        async with AsyncExitStack() as stack:
            modules = await seeded_modules(stack, folder, demographics)
            report = await seed(modules, patients=5, seed=3, concurrency=5, as_of=AS_OF)
            orders = await all_items(modules.medication, sort="date")
            reports.append(
                (
                    sorted(demographics.ehrs.values()),
                    report.summary(),
                    [(o["index"], o["composition"]["content"][0]["name"]) for o in orders],
                )
            )
    assert reports[0] == reports[1]


def test_command_line_defaults_and_failure_exit_code():
    args = parse_args(["--patients", "3"])
    assert (args.patients, args.seed, args.medication) == (3, 1, "http://127.0.0.1:8083")
    # nothing listens on port 9 (discard): the seed fails with a message, exit code 1
    assert main(["--patients", "1", "--demographics", "http://127.0.0.1:9", "--timeout", "1"]) == 1
