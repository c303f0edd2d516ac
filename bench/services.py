"""Issue 3: commits/s and reads/s of each module, on SQLite and PostgreSQL, against a hello-world.

Each module runs as a real uvicorn process pinned to one core; wrk drives it from the other
core with 16 connections. A commit is `POST /ehr/{ehr_id}/composition` (validate + store +
index), a read `GET /ehr/{ehr_id}/composition/{uid}`. The baseline is a FastAPI hello-world
served and driven the same way, measured right before each commit and read load. Costs are
reported as ratios: how many hello-world requests one commit (or read) costs.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

import archetypes
from bench._harness import Results, Row, hello_world, serve, wrk
from services.kernel.testing import fresh_postgres_database, postgres_server

BASE = "/rest/openehr/v1"
CLINICAL = {"journal": "vgr.journal_note.v1", "medication": "vgr.medication_order.v1",
            "referrals": "vgr.referral.v1"}
PERSONNUMMER = {"_type": "GENERIC_ID", "value": "191212121212", "scheme": "personnummer"}
CONNECTIONS = 16
READS = 500


def _examples(template_id: str) -> list[dict]:
    folder = Path(archetypes.__file__).parent / "examples" / template_id / "valid"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def _create_ehr(demographics: str) -> str:
    body = {"_type": "EHR_STATUS", "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
            "name": {"_type": "DV_TEXT", "value": "EHR status"},
            "subject": {"_type": "PARTY_SELF", "external_ref": {
                "_type": "PARTY_REF", "id": PERSONNUMMER, "namespace": "vgr.demographics", "type": "PERSON"}},
            "is_modifiable": True, "is_queryable": True}
    response = httpx.post(f"{demographics}{BASE}/ehr", json=body,
                          headers={"Prefer": "return=representation"}, timeout=10)
    response.raise_for_status()
    return response.json()["ehr_id"]["value"]


def _committable(base: str, path: str, template_id: str) -> str:
    """The first valid example the module accepts as a new composition (workflow rules apply)."""
    for example in _examples(template_id):
        body = json.dumps(example, separators=(",", ":"))
        if httpx.post(base + path, content=body, headers={"Content-Type": "application/json"},
                      timeout=10).status_code == 201:
            return body
    raise RuntimeError(f"no example of {template_id} was accepted by {base}")


def _measure_module(results: Results, label: str, base: str, ehr_id: str, template_id: str,
                    hello: str, seconds: float) -> None:
    path = f"{BASE}/ehr/{ehr_id}/composition"
    body = _committable(base, path, template_id)
    headers = {"Content-Type": "application/json", "Prefer": "return=minimal"}
    hello_before_commits = hello_world(hello, CONNECTIONS, seconds)
    commits = wrk(base, [path], method="POST", bodies=[body], headers=headers,
                  connections=CONNECTIONS, seconds=seconds)
    uids = []
    with httpx.Client(timeout=10) as client:
        for _ in range(READS):
            response = client.post(base + path, content=body, headers=headers)
            uids.append(response.headers["ETag"].strip('"').split("::")[0])
    hello_before_reads = hello_world(hello, CONNECTIONS, seconds)
    reads = wrk(base, [f"{path}/{uid}" for uid in uids], connections=CONNECTIONS, seconds=seconds)
    for what, load, limit, hello_rps in (("commit", commits, 3, hello_before_commits),
                                         ("read", reads, 2, hello_before_reads)):
        cost = hello_rps / load.requests_per_s
        results.add(Row(label, f"{what}s/s at {CONNECTIONS} clients (p50 {load.p50_ms:.1f} ms, "
                        f"p99 {load.p99_ms:.1f} ms, errors {load.errors})", load.requests_per_s, "req/s",
                        "hello-world req/s", hello_rps, cost, f"costs <= {limit}x hello-world", cost <= limit))
        if what == "commit" and "postgresql" in label:
            results.add(Row(label, "commit p99 latency", load.p99_ms, "ms", target="<= 25 ms",
                            met=load.p99_ms <= 25))


def _database_urls(stack: ExitStack, kind: str, folder: Path) -> dict[str, str]:
    modules = ("demographics", *CLINICAL)
    if kind == "sqlite":
        return {name: f"sqlite:///{folder / name}.db" for name in modules}
    server = stack.enter_context(postgres_server())
    return {name: stack.enter_context(fresh_postgres_database(server)) for name in modules}


def run(results: Results, seconds: float = 5.0) -> None:
    # hello-world stays up on the measured core, idle while a module is measured, so that each ratio is
    # taken against a baseline measured right before it (`hello_world`)
    with serve("bench.hello:create_app") as hello:
        for kind in ("sqlite", "postgresql"):
            _measure_kind(results, kind, hello, seconds)


def _measure_kind(results: Results, kind: str, hello: str, seconds: float) -> None:
    with ExitStack() as stack, TemporaryDirectory() as folder:
        urls = _database_urls(stack, kind, Path(folder))
        env = {f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()}
        env |= {f"{name.upper()}_MIGRATE_ON_STARTUP": "true" for name in urls}
        demographics = stack.enter_context(serve("services.demographics.app:create_app", env))
        env |= {f"{name.upper()}_DEMOGRAPHICS_URL": demographics for name in CLINICAL}
        ehr_id = _create_ehr(demographics)
        for module, template_id in CLINICAL.items():
            with serve(f"services.{module}.app:create_app", env) as base:
                _measure_module(results, f"{module} on {kind}", base, ehr_id, template_id, hello, seconds)


if __name__ == "__main__":
    os.environ.setdefault("OPENEHR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    run(Results())
