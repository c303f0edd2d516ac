"""Runs the kit's three steps against one module and collects a `Report`.

Steps 1 and 2 call the project's reusable checks (the Pact verification and the OpenAPI checks) when
they are installed; a step that truly cannot run is one SKIP case saying why. Step 3 is
`archetypes_step`. Tests give httpx transports (the app in-process); the command line gives URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from contracts.kit.archetypes_step import ArchetypeConformance
from contracts.kit.report import FAIL, PASS, SKIP, STEPS, Report

MODULES = ("demographics", "journal", "medication", "referrals")


@dataclass
class KitConfig:
    module: str
    base_url: str
    demographics_url: str | None = None
    base_path: str = "/rest/openehr/v1"
    steps: tuple[str, ...] = STEPS
    allow_skip: bool = False
    max_examples: int = 20
    seed: int | None = 0
    timeout_seconds: float = 30.0
    # In-process runs (tests): transports instead of network; steps needing a real URL are skipped then.
    transport: httpx.AsyncBaseTransport | None = None
    demographics_transport: httpx.AsyncBaseTransport | None = None
    extra_headers: dict[str, str] = field(default_factory=lambda: {"X-Committer-Name": "conformance kit"})


def _optional(module: str, name: str) -> Callable | None:
    """A function of another part of the project, or None when it is not there (yet)."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def run_pacts(config: KitConfig, report: Report) -> None:
    """Every committed pact that names the module, verified against the URL; provider states are set
    up through the module's public API (contracts.pact.public_api_states)."""
    step = "pacts"
    verify = _optional("contracts.pact", "verify")
    pacts_for = _optional("contracts.pact", "pacts_for")
    states = _optional("contracts.pact", "public_api_states")
    if verify is None or pacts_for is None or states is None:
        report.add(step, "pact verification", SKIP,
                   "the Pact verification is not installed in this copy of the kit (contracts.pact), "
                   "so no pact was verified")
        return
    files = pacts_for(config.module)
    if not files:
        report.add(step, "pact verification", SKIP,
                   f"no pact names {config.module} as provider (contracts/pacts/ has none for it), "
                   "so there is nothing to verify")
        return
    if config.transport is not None:
        report.add(step, "pact verification", SKIP, "needs a real base URL (this run is in-process)")
        return
    if config.module != "demographics" and not config.demographics_url:
        report.add(step, "pact verification", FAIL,
                   f"provider states of {config.module} create EHRs in demographics: give --demographics-url")
        return
    base = config.base_url.rstrip("/")
    for path in files:
        started = time.monotonic()
        pact = json.loads(path.read_text(encoding="utf-8"))
        consumer = pact["consumer"]["name"]
        try:
            handler = states(config.module, base, config.demographics_url)
            with _stdout_to_devnull():  # the verifier prints its own log; the report says what matters
                result = verify(config.module, base, state_handler=handler, pacts=[path])
        except Exception as error:  # noqa: BLE001 - a crash of the verifier is this pact's failure, reported
            report.add(step, f"pact {path.stem}", FAIL, f"{type(error).__name__}: {error}",
                       time.monotonic() - started)
            continue
        each = (time.monotonic() - started) / max(len(pact.get("interactions", [])), 1)
        descriptions = [i.get("description", "?") for i in pact.get("interactions", [])]
        owner: dict[str, list[str]] = {d: [] for d in descriptions}
        unexplained = []
        for failure in result.failures:  # each to the interaction it names (the longest name that fits)
            named = [d for d in descriptions if d in failure]
            if named:
                owner[max(named, key=len)].append(failure)
            else:
                unexplained.append(failure)
        for description in descriptions:
            mine = owner[description]
            report.add(step, f"{consumer} -> {config.module}: {description}", FAIL if mine else PASS,
                       "; ".join(mine), each)
        if unexplained or (not result.passed and not result.failures):
            report.add(step, f"{consumer} -> {config.module}: pact {path.name}", FAIL,
                       "; ".join(unexplained) or "verification failed", 0.0)


@contextlib.contextmanager
def _stdout_to_devnull():
    """Silence file descriptor 1 (the Rust verifier writes to it directly, not through sys.stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run_openapi(config: KitConfig, report: Report) -> None:
    """schemathesis from the module's committed OpenAPI document (bounded, seeded) against the URL:
    one case per documented operation, failing with its findings (each with a curl reproduction)."""
    step = "openapi"
    check_api = _optional("contracts.openapi", "check_api")
    committed = _optional("contracts.openapi", "committed_openapi")
    if check_api is None or committed is None:
        report.add(step, "OpenAPI checks", SKIP,
                   "the OpenAPI checks are not installed in this copy of the kit (contracts.openapi), "
                   "so the API was not checked against its OpenAPI")
        return
    if config.transport is not None:
        report.add(step, "OpenAPI checks", SKIP, "needs a real base URL (this run is in-process)")
        return
    started = time.monotonic()
    try:
        document = committed(config.module)
        findings = check_api(config.module, config.base_url.rstrip("/"), max_examples=config.max_examples,
                             seed=config.seed if config.seed is not None else 1)
    except Exception as error:  # noqa: BLE001 - a crash of the checker is this step's failure, reported
        report.add(step, "OpenAPI checks", FAIL, f"{type(error).__name__}: {error}", time.monotonic() - started)
        return
    each = (time.monotonic() - started) / max(len(document.get("paths", {})), 1)
    operations = [f"{method.upper()} {path}" for path, item in document.get("paths", {}).items()
                  for method in item if method in ("get", "put", "post", "delete", "patch", "head", "options")]
    by_operation: dict[str, list] = {}
    for finding in findings:
        by_operation.setdefault(finding.operation, []).append(finding)
    for operation in [*operations, *(o for o in by_operation if o not in operations)]:
        found = by_operation.get(operation, [])
        if found:
            report.add(step, operation, FAIL, "\n".join(str(f) for f in found), each)
        else:
            report.add(step, operation, PASS, f"{config.max_examples} examples, seed {config.seed}", each)


async def run_archetypes(config: KitConfig, report: Report) -> None:
    headers = dict(config.extra_headers)
    timeout = httpx.Timeout(config.timeout_seconds)
    async with httpx.AsyncClient(base_url=config.base_url, transport=config.transport, headers=headers,
                                 timeout=timeout) as client:
        demographics = None
        if config.module == "demographics":
            demographics = client
        elif config.demographics_url or config.demographics_transport:
            demographics = httpx.AsyncClient(base_url=config.demographics_url or "http://demographics.kit",
                                             transport=config.demographics_transport, headers=headers,
                                             timeout=timeout)
        try:
            # Fresh random test personnummer every run (not the seed): a rerun must not collide.
            await ArchetypeConformance(report, config.module, client, demographics, config.base_path).run()
        finally:
            if demographics is not None and demographics is not client:
                await demographics.aclose()


def run_kit(config: KitConfig) -> Report:
    if config.module not in MODULES:
        raise ValueError(f"unknown module {config.module!r}; one of {', '.join(MODULES)}")
    report = Report(config.module, config.base_url, allow_skip=config.allow_skip)
    for step in STEPS:
        if step not in config.steps:
            report.add(step, step, SKIP, "not selected (--steps)")
        elif step == "pacts":
            run_pacts(config, report)
        elif step == "openapi":
            run_openapi(config, report)
        else:
            asyncio.run(run_archetypes(config, report))
    return report
