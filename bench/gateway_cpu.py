"""The FHIR gateway's own CPU per request, with the modules answering from a recording.

Under wrk (bench/gateway.py) the gateway shares the machine with the modules and the load
generator, so what the gateway itself spends is hard to see. Here:

1. the four module apps run in this process once (SQLite, the same documents as bench/gateway.py:
   a few patients, 3 medication orders each, and the $everything patient with its 50 resources),
   and the gateway answers every measured request once while each module call it makes is
   recorded (status, headers, body);
2. one replay server (uvicorn, pinned to core 1) stands in for the four modules, answering each
   recorded call with its recorded answer (a call not recorded is a 404, which stops the run);
3. a fresh gateway app in this process, its lifespan started as uvicorn would (on uvloop, its garbage
   collection settings), is called directly as an ASGI app, one request at a time,
   after one warm-up round (the EHR cache filled, as it is in steady state). `time.process_time()`
   then counts what the gateway spends: middleware, routing, dependencies, the module calls
   through gateway/module_http.py (a real TCP round trip), mapping and JSON; not
   uvicorn's own HTTP parsing, which hello-world pays alike.

The baseline is the hello-world app (bench/hello.py) called the same way in the same run; the
ratio says how many hello-world requests one gateway request costs in CPU.

`python -m bench.gateway_cpu --profile "Patient read"` also writes a cProfile of that case's
measured requests to bench/results/ and prints its top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
import uvloop

from bench._harness import RESULTS_DIR, Results, Row, access_log_to_file, serve
from bench.gateway import BASE, EVERYTHING_RESOURCES, everything_resources, load_clinical, load_people
from bench.hello import create_app as create_hello
from gateway.app import create_app as create_gateway
from gateway.settings import MODULES, GatewaySettings
from services.demographics.app import create_app as create_demographics
from services.demographics.settings import DemographicsSettings
from services.journal.app import create_app as create_journal
from services.journal.settings import JournalSettings
from services.medication.app import create_app as create_medication
from services.medication.settings import MedicationSettings
from services.referrals.app import create_app as create_referrals
from services.referrals.settings import ReferralsSettings

PATIENTS = 20  # the first is the $everything patient, the others have 3 orders each
SECONDS = 3.0  # CPU time measured per case
REPLAY_FILE = "BENCH_REPLAY_FILE"  # environment variable naming the recording the replay server answers from
CLINICAL = {
    "journal": (create_journal, JournalSettings),
    "medication": (create_medication, MedicationSettings),
    "referrals": (create_referrals, ReferralsSettings),
}
# Headers the replay server must not send as recorded: it frames its own answers.
_FRAMING = {"content-length", "transfer-encoding", "connection", "date", "server"}

Asgi = Callable[..., Awaitable[None]]


class Recorder(httpx.AsyncBaseTransport):
    """A module's transport that keeps every answer by the request's method and path (with query)."""

    def __init__(self, module: str, inner: httpx.AsyncBaseTransport, answers: dict[str, dict]):
        self.module, self.inner, self.answers = module, inner, answers

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _FRAMING]
        key = f"{request.method} /{self.module}{request.url.raw_path.decode('ascii')}"
        self.answers[key] = {"status": response.status_code, "headers": headers, "body": body.decode("utf-8")}
        return httpx.Response(response.status_code, headers=response.headers, content=body)


def replay_app() -> Asgi:
    """The replay server (uvicorn factory): the recorded answer of each call, from $BENCH_REPLAY_FILE."""
    answers = json.loads(Path(os.environ[REPLAY_FILE]).read_text())
    prepared = {
        key: (a["status"], [(k.encode("latin-1"), v.encode("latin-1")) for k, v in a["headers"]], a["body"].encode())
        for key, a in answers.items()
    }

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        target = scope["raw_path"].decode("ascii") + (f"?{scope['query_string'].decode('ascii')}"
                                                     if scope["query_string"] else "")  # fmt: skip
        status, headers, body = prepared.get(f"{scope['method']} {target}", (404, [], b"not recorded"))
        if scope["path"] == "/health":
            status, headers, body = 200, [], b"ok"
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def call(app: Asgi, target: str) -> tuple[int, bytes]:
    """GET `target` (path and query) from an ASGI app, as uvicorn would hand it over."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(), "headers": [(b"host", b"127.0.0.1:8080"), (b"accept", b"*/*")],
        "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 50000), "state": {},
    }  # fmt: skip
    answer = {"status": 0, "body": b""}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


async def ok(app: Asgi, target: str) -> dict:
    status, body = await call(app, target)
    if status != 200:
        raise RuntimeError(f"GET {target.split('?')[0]} answered {status}: {body[:300]!r}")
    return json.loads(body)


async def _record(folder: Path) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """Load the modules in this process, ask the gateway each measured request once, and return
    (the module answers it got, the measured cases: name -> request targets)."""
    demographics = create_demographics(
        DemographicsSettings(database_url=f"sqlite:///{folder / 'demographics'}.db", migrate_on_startup=True)
    )
    apps = {"demographics": demographics}
    for name, (factory, settings_class) in CLINICAL.items():
        settings = settings_class(database_url=f"sqlite:///{folder / name}.db", migrate_on_startup=True)
        apps[name] = factory(settings, demographics_transport=httpx.ASGITransport(app=demographics))
    module_clients = {name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}{BASE}")
                      for name, app in apps.items()}  # fmt: skip
    identifiers, ehr_ids = await load_people(module_clients["demographics"], PATIENTS)
    await load_clinical(module_clients, ehr_ids[0], ehr_ids[1:])
    for client in module_clients.values():
        await client.aclose()

    answers: dict[str, dict] = {}
    recorders = {name: Recorder(name, httpx.ASGITransport(app=app), answers) for name, app in apps.items()}
    gateway = create_gateway(GatewaySettings(read_retries=0), transport=recorders)
    found = [await ok(gateway, f"/fhir/Patient?identifier={i}") for i in identifiers]
    patient_ids = [bundle["entry"][0]["resource"]["id"] for bundle in found]
    everything = f"/fhir/Patient/{patient_ids[0]}/$everything"
    cases = {
        "Patient read": [f"/fhir/Patient/{p}" for p in patient_ids[1:]],
        "Patient search by identifier": [f"/fhir/Patient?identifier={i}" for i in identifiers[1:]],
        "MedicationRequest search by patient": [f"/fhir/MedicationRequest?patient={p}" for p in patient_ids[1:]],
        f"Patient/$everything (Patient + {EVERYTHING_RESOURCES} resources)": [everything],
    }
    everything_resources(await ok(gateway, everything))
    for targets in cases.values():
        for target in targets:
            await ok(gateway, target)
    await gateway.state.modules.aclose()
    demographics.state.engine.dispose()
    for name in CLINICAL:
        apps[name].state.service.store.engine.dispose()
    return answers, cases


async def cpu_per_request(app: Asgi, targets: list[str], seconds: float, profile: cProfile.Profile | None = None):
    """(CPU µs, wall µs) per request over `seconds` of CPU, after one warm-up round of `targets`."""
    for target in targets:
        await ok(app, target)
    count, cpu_start, wall_start = 0, time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    while time.process_time() - cpu_start < seconds:
        for target in targets:
            status, body = await call(app, target)
            if status != 200:
                raise RuntimeError(f"GET {target.split('?')[0]} answered {status}: {body[:300]!r}")
        count += len(targets)
    if profile:
        profile.disable()
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    return cpu / count * 1e6, wall / count * 1e6


async def _measure(replay: str, cases: dict[str, list[str]], seconds: float, profiled: str | None):
    hello_us, _ = await cpu_per_request(create_hello(), ["/hello"], seconds)
    settings = GatewaySettings(read_retries=0, **{f"{m}_url": f"{replay}/{m}" for m in MODULES})
    gateway = create_gateway(settings)
    measured = {}
    async with gateway.router.lifespan_context(gateway):  # as uvicorn runs it (GC settings, closing)
        for name, targets in cases.items():
            profile = cProfile.Profile() if name == profiled else None
            measured[name] = (*await cpu_per_request(gateway, targets, seconds, profile), profile)
    return hello_us, measured


def run(results: Results, seconds: float = SECONDS, profiled: str | None = None) -> None:
    with access_log_to_file("gateway_cpu"), TemporaryDirectory() as folder:
        answers, cases = asyncio.run(_record(Path(folder)))
        if profiled is not None and profiled not in cases:
            raise SystemExit(f"no case {profiled!r}; the cases: {', '.join(cases)}")
        recording = Path(folder) / "answers.json"
        recording.write_text(json.dumps(answers))
        with serve("bench.gateway_cpu:replay_app", {REPLAY_FILE: str(recording)}, core=1) as replay:
            # on uvloop, the event loop uvicorn runs every app on (the module calls' sockets included)
            hello_us, measured = uvloop.run(_measure(replay, cases, seconds, profiled))
    results.add(Row("gateway CPU: hello-world (baseline)", "in-process ASGI call, CPU per request", hello_us, "µs"))
    for name, (cpu_us, wall_us, profile) in measured.items():
        results.add(Row(f"gateway CPU: {name}", f"in-process, modules replayed over TCP (wall {wall_us:,.0f} µs)",
                        cpu_us, "µs", "hello-world µs", hello_us, cpu_us / hello_us))  # fmt: skip
        if profile is not None:
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            path = RESULTS_DIR / "gateway_cpu.prof"
            profile.dump_stats(path)
            print(f"\ncProfile of {name!r} written to {path}")
            pstats.Stats(profile).sort_stats("tottime").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS, help="CPU seconds measured per case")
    parser.add_argument("--profile", metavar="CASE", help="write a cProfile of this case (its name as printed)")
    args = parser.parse_args()
    run(Results(), args.seconds, args.profile)


if __name__ == "__main__":
    main()
