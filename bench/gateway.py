"""Issue 4: the FHIR gateway with 10,000 patients loaded, against a FastAPI hello-world.

Setup (2 cores): the gateway is a real uvicorn process pinned to core 0 (`serve()`); the four
modules (demographics, journal, medication, referrals, SQLite) are real uvicorn processes pinned
to core 1, and wrk drives the gateway from core 1 too, so the modules and the load generator
share a core. The hello-world baseline is served on core 0 and driven from core 1, measured right
before each measurement. Measured at 32 concurrent clients: Patient read, Patient search by
identifier, MedicationRequest search by patient, and `Patient/$everything` for a patient with 50
resources.
The same reads straight from demographics are measured too, to show what the gateway adds to the
module it calls.

The $everything patient has exactly 50 resources besides its Patient (`EVERYTHING`): 10
MedicationRequests, 10 journal notes with 2 diagnoses each (10 Compositions + 20 Conditions) and 5
referrals (5 ServiceRequests + 5 Tasks); its Bundle has 51 entries, the Patient and those 50. The
run stops when the gateway answers another number.

Loading: 10,000 persons with their EHRs go through the demographics API with the app in this
process (httpx.ASGITransport: the same routes, validation and store without the HTTP round trips;
bounded concurrency; the seed's builders make the documents), then 3 medication orders for each
of 200 of them and the $everything patient's documents, over HTTP to the module processes. The
loading time is a row of the results (about 4-5 minutes on a busy 2-core machine, most of it
demographics' own validation and storage). For quicker runs while working on the gateway,
`BENCH_GATEWAY_PATIENTS=1000 python -m bench gateway` loads fewer (the default is 10,000).

What the gateway spends itself is measured without the modules by bench/gateway_cpu.py (CPU per
request, in process, the module answers replayed). What profiling found there and under wrk (py-spy)
and cut: module calls through httpx (about 0.9 ms of CPU each) and then aiohttp (about 110 µs; now
gateway/module_http.py's own pool with httptools parsing the answers, about 30 µs; under wrk a Patient
read went from about 480-550 to about 400 µs of gateway CPU), HTTP dates through datetime and
email.utils, the FHIR format check as a FastAPI dependency, include_router's double route matching, and
the access log's stack search and metric label lookups. Output is plain dicts and orjson (no model
serialization), and $everything asks the modules concurrently.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

from archetypes.identifiers import PERSONNUMMER_SYSTEM, SAMORDNINGSNUMMER_SYSTEM
from bench._harness import Results, Row, access_log_to_file, hello_world, serve, wrk
from services.demographics.app import create_app as create_demographics
from services.demographics.settings import DemographicsSettings
from services.medication import domain as medication
from services.seed import builders
from services.seed.people import make_patients
from services.seed.runner import AS_OF

BASE = "/rest/openehr/v1"
CONNECTIONS = 32
PATIENTS = int(os.environ.get("BENCH_GATEWAY_PATIENTS", "10000"))
WITH_ORDERS = min(200, PATIENTS - 1)
# The $everything patient's documents: 10 orders + 10 notes x (1 Composition + 2 Conditions)
# + 5 referrals x (ServiceRequest + Task) = 50 resources besides the Patient.
EVERYTHING = {"medication": 10, "journal": 10, "referrals": 5}
EVERYTHING_RESOURCES = 50
CONCURRENCY = 32
MODULES = ("demographics", "journal", "medication", "referrals")
UNIT = ("SE2321000131-E000000000001", "Vårdcentralen Näset")


async def load_people(client: httpx.AsyncClient, count: int) -> tuple[list[str], list[str]]:
    """`count` persons and their EHRs through a demographics client: (their identifiers as FHIR
    tokens system|value, their EHR ids)."""
    people = make_patients(count, random.Random("gateway-bench"), AS_OF)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(person) -> str:
        async with gate:
            ehr = await client.post("/ehr", json=builders.ehr_status(person),
                                    headers={"Prefer": "return=representation"})  # fmt: skip
            created = await client.post("/demographic/person", json=builders.person(person))
        if ehr.status_code != 201 or created.status_code != 201:
            raise RuntimeError(f"demographics: {ehr.status_code} {created.status_code} {created.text[:300]}")
        return ehr.json()["ehr_id"]["value"]

    ehr_ids = await asyncio.gather(*(one(p) for p in people))
    systems = {"personnummer": PERSONNUMMER_SYSTEM, "samordningsnummer": SAMORDNINGSNUMMER_SYSTEM}
    return [f"{systems[p.scheme]}|{p.personnummer}" for p in people], ehr_ids


async def _load_demographics(database_url: str) -> tuple[list[str], list[str]]:
    """The persons and their EHRs, with the demographics app in this process (httpx.ASGITransport:
    the same routes, validation and store, without the HTTP round trips)."""
    app = create_demographics(DemographicsSettings(database_url=database_url, migrate_on_startup=True))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demographics" + BASE) as client:
        loaded = await load_people(client, PATIENTS)
    app.state.engine.dispose()
    return loaded


async def load_clinical(clients: dict[str, httpx.AsyncClient], everything: str, with_orders: list[str]) -> None:
    """3 medication orders for each EHR of `with_orders`, and the documents of the $everything EHR
    (`EVERYTHING`), through clients of the clinical modules."""
    rng = random.Random(4)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def call(module: str, ehr_id: str, body: dict) -> None:
        async with gate:
            response = await clients[module].post(f"/ehr/{ehr_id}/composition", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"{module}: {response.status_code} {response.text[:300]}")

    def order(moment: str) -> dict:
        composition, prototype = builders.medication_order(rng, moment, UNIT, "Anna Lindberg")
        return builders.add_action(composition, medication.action_for(prototype, medication.ACTIVE, moment))

    def moment(i: int) -> str:
        return f"{date(2026, 1, 1) + timedelta(days=i % 300)}T10:00:00+00:00"

    document = {
        "medication": lambda i: order(moment(i)),
        "journal": lambda i: builders.journal_note(rng, moment(i), UNIT, "Johan Ek"),
        "referrals": lambda i: builders.referral(rng, moment(i), UNIT, "Johan Ek")[0],
    }
    writes = [call("medication", e, order(moment(i))) for e in with_orders for i in range(3)]
    writes += [call(module, everything, document[module](i)) for module, n in EVERYTHING.items() for i in range(n)]
    await asyncio.gather(*writes)


async def _load_clinical(urls: dict[str, str], ehr_ids: list[str]) -> None:
    clients = {name: httpx.AsyncClient(base_url=url + BASE, timeout=60) for name, url in urls.items()}
    try:
        await load_clinical(clients, ehr_ids[0], ehr_ids[1 : WITH_ORDERS + 1])
    finally:
        for client in clients.values():
            await client.aclose()


def everything_resources(bundle: dict) -> int:
    """The resources of a $everything Bundle besides the Patient; stops the run unless there are 50."""
    count = sum(1 for e in bundle.get("entry", []) if e["resource"]["resourceType"] != "Patient")
    if count != EVERYTHING_RESOURCES:
        raise RuntimeError(f"the $everything patient has {count} resources, not {EVERYTHING_RESOURCES}")
    return count


def _patient_ids(gateway: str, identifiers: list[str]) -> list[str]:
    """The Patient ids of some patients, found through the gateway's identifier search."""
    with httpx.Client(base_url=gateway, timeout=30) as client:
        return [client.get("/fhir/Patient", params={"identifier": i}).json()["entry"][0]["resource"]["id"]
                for i in identifiers]  # fmt: skip


def run(results: Results, seconds: float = 10.0) -> None:
    with ExitStack() as stack, TemporaryDirectory() as folder:
        # hello-world stays up on the gateway's core, idle while the gateway is measured: each ratio is
        # taken against a baseline measured right before it (`hello_world`)
        hello = stack.enter_context(serve("bench.hello:create_app"))
        env = {f"{m.upper()}_DATABASE_URL": f"sqlite:///{Path(folder) / m}.db" for m in MODULES}
        env |= {f"{m.upper()}_MIGRATE_ON_STARTUP": "true" for m in MODULES}
        started = time.perf_counter()
        with access_log_to_file("gateway-loading"):
            identifiers, ehr_ids = asyncio.run(_load_demographics(env["DEMOGRAPHICS_DATABASE_URL"]))
        print(f"  {PATIENTS:,} persons and EHRs in {time.perf_counter() - started:.1f} s", flush=True)
        urls = {"demographics": stack.enter_context(serve("services.demographics.app:create_app", env, core=1))}
        env |= {f"{m.upper()}_DEMOGRAPHICS_URL": urls["demographics"] for m in MODULES[1:]}
        urls |= {m: stack.enter_context(serve(f"services.{m}.app:create_app", env, core=1)) for m in MODULES[1:]}
        asyncio.run(_load_clinical(urls, ehr_ids))
        loading = time.perf_counter() - started
        compositions = WITH_ORDERS * 3 + sum(EVERYTHING.values())
        results.add(Row("gateway", f"loading {PATIENTS:,} patients (+{compositions} compositions)", loading, "s"))
        gateway_env = {f"GATEWAY_{m.upper()}_URL": url for m, url in urls.items()}
        gateway = stack.enter_context(serve("gateway.app:create_app", gateway_env))
        sample = random.Random(7).sample(range(1, PATIENTS), min(500, PATIENTS - 1))
        sample_identifiers = [identifiers[i] for i in sample]
        patient_ids = _patient_ids(gateway, sample_identifiers[:300])
        with_orders = _patient_ids(gateway, identifiers[1 : WITH_ORDERS + 1])
        everything = _patient_ids(gateway, identifiers[:1])[0]
        count = everything_resources(httpx.get(f"{gateway}/fhir/Patient/{everything}/$everything", timeout=30).json())
        cases = [
            ("Patient read", [f"/fhir/Patient/{p}" for p in patient_ids], ("throughput", 0.40)),
            ("Patient search by identifier", [f"/fhir/Patient?identifier={i}" for i in sample_identifiers],
             ("p99", 30.0)),
            ("MedicationRequest search by patient", [f"/fhir/MedicationRequest?patient={p}" for p in with_orders],
             None),
            (f"Patient/$everything (Patient + {count} resources)", [f"/fhir/Patient/{everything}/$everything"],
             ("p99", 150.0)),
        ]  # fmt: skip
        # the same reads straight from demographics (core 1, shared with wrk): what the gateway adds to
        direct = [
            ("demographics person read (direct, no gateway)", [f"{BASE}/demographic/person/{p}" for p in patient_ids]),
            ("demographics search by identifier (direct)", [f"{BASE}/demographic/person?identifier={i.split('|')[1]}"
                                                            for i in sample_identifiers]),
        ]  # fmt: skip
        for name, paths in direct:
            hello_rps = hello_world(hello, CONNECTIONS, seconds)
            load = wrk(urls["demographics"], paths, connections=CONNECTIONS, seconds=seconds)
            results.add(Row(name, f"req/s at {CONNECTIONS} clients (p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} "
                            f"ms, errors {load.errors})", load.requests_per_s, "req/s", "hello-world req/s",
                            hello_rps, load.requests_per_s / hello_rps))  # fmt: skip
        for name, paths, target in cases:
            hello_rps = hello_world(hello, CONNECTIONS, seconds)
            load = wrk(gateway, paths, connections=CONNECTIONS, seconds=seconds)
            ratio = load.requests_per_s / hello_rps
            measure = (f"req/s at {CONNECTIONS} clients (p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, "
                       f"errors {load.errors})")  # fmt: skip
            text, met = "", None
            if target and target[0] == "throughput":
                text, met = f">= {target[1]:.0%} of hello-world", ratio >= target[1]
            results.add(Row(name, measure, load.requests_per_s, "req/s", "hello-world req/s", hello_rps, ratio,
                            text, met))  # fmt: skip
            if target and target[0] == "p99":
                results.add(Row(name, "p99 latency", load.p99_ms, "ms", target=f"<= {target[1]:.0f} ms",
                                met=load.p99_ms <= target[1]))  # fmt: skip


if __name__ == "__main__":
    run(Results())
