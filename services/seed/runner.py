"""Fill the four modules through their HTTP APIs: persons and EHRs in demographics, then journal
notes, medication orders and referrals for each patient, orders and referrals moved through their
workflow one PUT (one added ACTION) at a time.

Deterministic: everything a patient gets is drawn from a random generator seeded by (seed, patient
number), so the data set does not depend on the order in which concurrent requests finish.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import httpx

from services.medication import domain as medication
from services.referrals import domain as referrals

from . import builders, data
from .people import Patient, make_patients

BASE_PATH = "/rest/openehr/v1"
AS_OF = date(2026, 11, 1)

# Target statuses and how often the seed produces them.
MEDICATION_MIX = [
    (medication.ACTIVE, 50),
    (medication.SUSPENDED, 15),
    (medication.STOPPED, 20),
    (medication.COMPLETED, 15),
]
MEDICATION_PATHS = {
    medication.ACTIVE: [medication.ACTIVE],
    medication.SUSPENDED: [medication.ACTIVE, medication.SUSPENDED],
    medication.STOPPED: [medication.ACTIVE, medication.SUSPENDED, medication.STOPPED],
    medication.COMPLETED: [medication.ACTIVE, medication.COMPLETED],
}
REFERRAL_MIX = [
    (referrals.DRAFT, 8),
    (referrals.SENT, 15),
    (referrals.RECEIVED, 12),
    (referrals.ACCEPTED, 10),
    (referrals.REJECTED, 10),
    (referrals.SCHEDULED, 15),
    (referrals.COMPLETED, 20),
    (referrals.CANCELLED, 10),
]
REFERRAL_PATHS = {
    referrals.DRAFT: [],
    referrals.SENT: [referrals.SENT],
    referrals.RECEIVED: [referrals.SENT, referrals.RECEIVED],
    referrals.ACCEPTED: [referrals.SENT, referrals.RECEIVED, referrals.ACCEPTED],
    referrals.REJECTED: [referrals.SENT, referrals.RECEIVED, referrals.REJECTED],
    referrals.SCHEDULED: [referrals.SENT, referrals.RECEIVED, referrals.ACCEPTED, referrals.SCHEDULED],
    referrals.COMPLETED: [
        referrals.SENT,
        referrals.RECEIVED,
        referrals.ACCEPTED,
        referrals.SCHEDULED,
        referrals.COMPLETED,
    ],
    referrals.CANCELLED: [referrals.SENT, referrals.CANCELLED],
}
CLINICIANS = ["Anna Lindberg", "Erik Sandström", "Fatima Karimi", "Johan Ek", "Maria Holm", "Per Ödman"]


class SeedError(RuntimeError):
    pass


@dataclass
class Modules:
    """An httpx client per module, each with its base URL (the module's root, not the API path)."""

    demographics: httpx.AsyncClient
    journal: httpx.AsyncClient
    medication: httpx.AsyncClient
    referrals: httpx.AsyncClient
    base_path: str = BASE_PATH


@dataclass
class SeedReport:
    patients: int = 0
    skipped: int = 0  # patients whose EHR existed already
    ehr_ids: list[str] = field(default_factory=list)
    notes: int = 0
    medication_orders: Counter = field(default_factory=Counter)
    referrals: Counter = field(default_factory=Counter)
    requests: int = 0

    def summary(self) -> str:
        meds = ", ".join(f"{s} {n}" for s, n in sorted(self.medication_orders.items()))
        refs = ", ".join(f"{s} {n}" for s, n in sorted(self.referrals.items()))
        return (
            f"{self.patients} patients, {self.notes} journal notes, "
            f"{sum(self.medication_orders.values())} medication orders ({meds}), "
            f"{sum(self.referrals.values())} referrals ({refs}); {self.requests} requests"
            + (f"; {self.skipped} patients already there, skipped" if self.skipped else "")
        )


def _weighted(rng: random.Random, mix: list[tuple[str, int]]) -> str:
    return rng.choices([s for s, _ in mix], weights=[w for _, w in mix])[0]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _moment(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, time(rng.randint(7, 17), rng.choice((0, 15, 30, 45))), UTC)


class _Seeder:
    def __init__(self, modules: Modules, report: SeedReport, committer: dict[str, str]):
        self.modules = modules
        self.report = report
        self.headers = committer

    async def call(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body,
        *,
        accept: tuple[int, ...] = (),
        **headers,
    ) -> httpx.Response:
        url = f"{self.modules.base_path}{path}"
        response = await client.request(method, url, json=body, headers={**self.headers, **headers})
        self.report.requests += 1
        if response.status_code >= 300 and response.status_code not in accept:
            raise SeedError(
                f"{method} {client.base_url}{url} -> {response.status_code}: {response.text[:500]}"
            )
        return response

    async def patient(self, patient: Patient, rng: random.Random, as_of: date) -> None:
        created = await self.call(
            self.modules.demographics,
            "POST",
            "/ehr",
            builders.ehr_status(patient),
            accept=(409,),
            Prefer="return=representation",
        )
        if created.status_code == 409:  # seeded before (same seed, same data folder): leave it as it is
            self.report.skipped += 1
            return
        await self.call(self.modules.demographics, "POST", "/demographic/person", builders.person(patient))
        ehr_id = created.json()["ehr_id"]["value"]
        self.report.ehr_ids.append(ehr_id)
        start = as_of - timedelta(days=730)
        for _ in range(rng.randint(1, 4)):
            day = start + timedelta(days=rng.randint(0, 720))
            note = builders.journal_note(
                rng, _iso(_moment(rng, day)), rng.choice(data.CARE_UNITS), rng.choice(CLINICIANS)
            )
            await self.call(self.modules.journal, "POST", f"/ehr/{ehr_id}/composition", note)
            self.report.notes += 1
        for _ in range(rng.randint(0, 3)):
            await self.medication_order(ehr_id, rng, start)
        for _ in range(rng.randint(0, 2)):
            await self.referral(ehr_id, rng, start)
        self.report.patients += 1

    async def _workflow(self, client, ehr_id, composition, statuses, rng, when, add_action) -> None:
        path = f"/ehr/{ehr_id}/composition"
        response = await self.call(client, "POST", path, composition)
        etag = response.headers["ETag"]
        location = response.headers["Location"].rsplit("/composition/", 1)[1]
        object_id = location.split("::")[0]
        for status in statuses:
            when += timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 8))
            composition = add_action(composition, status, _iso(when))
            response = await self.call(
                client, "PUT", f"{path}/{object_id}", composition, **{"If-Match": etag}
            )
            etag = response.headers["ETag"]

    async def medication_order(self, ehr_id: str, rng: random.Random, start: date) -> None:
        target = _weighted(rng, MEDICATION_MIX)
        authored = _moment(rng, start + timedelta(days=rng.randint(0, 600)))
        order, prototype = builders.medication_order(
            rng, _iso(authored), rng.choice(data.CARE_UNITS), rng.choice(CLINICIANS)
        )
        path = MEDICATION_PATHS[target]
        if target == medication.STOPPED and rng.random() < 0.5:
            path = [medication.ACTIVE, medication.STOPPED]
        # the order is created with its "started" ACTION; later changes are PUTs adding one ACTION each
        order = builders.add_action(order, medication.action_for(prototype, path[0], _iso(authored)))

        def add(composition, status, moment):
            return builders.add_action(composition, medication.action_for(prototype, status, moment))

        await self._workflow(self.modules.medication, ehr_id, order, path[1:], rng, authored, add)
        self.report.medication_orders[target] += 1

    async def referral(self, ehr_id: str, rng: random.Random, start: date) -> None:
        target = _weighted(rng, REFERRAL_MIX)
        written = _moment(rng, start + timedelta(days=rng.randint(0, 600)))
        referral, prototype = builders.referral(
            rng, _iso(written), rng.choice(data.CARE_UNITS), rng.choice(CLINICIANS)
        )

        def add(composition, status, moment):
            booked = _iso(datetime.fromisoformat(moment) + timedelta(days=rng.randint(7, 60)))
            action = referrals.action_for(
                prototype,
                status,
                moment,
                scheduled_for=booked,
                reason=builders.rejection_reason(rng) if status == referrals.REJECTED else None,
            )
            return builders.add_action(composition, action)

        await self._workflow(
            self.modules.referrals, ehr_id, referral, REFERRAL_PATHS[target], rng, written, add
        )
        self.report.referrals[target] += 1


async def seed(
    modules: Modules,
    patients: int,
    seed: int = 1,
    concurrency: int = 16,
    as_of: date = AS_OF,
    committer: tuple[str, str] = ("Seed", "SE2321000131-E000000000999"),
) -> SeedReport:
    """Create `patients` patients with their notes, orders and referrals; at most `concurrency` at once."""
    people = make_patients(patients, random.Random(f"{seed}:people"), as_of)
    report = SeedReport()
    seeder = _Seeder(modules, report, {"X-Committer-Name": committer[0], "X-Committer-Hsa-Id": committer[1]})
    gate = asyncio.Semaphore(concurrency)

    async def one(number: int, patient: Patient) -> None:
        async with gate:
            await seeder.patient(patient, random.Random(f"{seed}:{number}"), as_of)

    await asyncio.gather(*(one(n, p) for n, p in enumerate(people)))
    report.ehr_ids.sort()
    return report
