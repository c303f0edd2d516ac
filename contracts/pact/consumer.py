"""Consumer side: builds each consumer's pact against pact-python's mock server, driving the
consumer's REAL client code (the gateway's module clients, the kernel's EhrDirectory) against it,
so a pact records what the consumer really sends and reads. `write_pacts(dir)` writes them all.

Every interaction is (state, description, request, response) plus a `drive` coroutine that makes
the consumer do that call through the mock server and checks what it understood.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from pact import Pact, generate, match
from pact.match.matcher import GenericMatcher

API = "/rest/openehr/v1"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
VERSION_UID_RE = r"^[0-9a-f-]{36}::[^:]+::\d+$"
ETAG_RE = r'^"[0-9a-f-]{36}::[^:]+::\d+"$'
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
HTTP_DATE_RE = r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$"

# Example values the mock server answers with (the provider answers its own, matched by the rules).
EHR_ID = "7d44b88c-4199-4bad-97dc-d78268e01398"
OBJECT_ID = "3f0a3e3c-5a4f-4a53-9a52-0c4f5f3c2a11"
PERSON_ID = "c2c6a3c4-4d8e-4b51-8e2b-1e5f7f3a9b20"
UNKNOWN_EHR = "00000000-0000-4000-8000-000000000000"
PERSONNUMMER = "191212121212"  # Tolvan Tolvansson, the test person of Skatteverket
NEW_PERSONNUMMER = "198005142388"


def version_uid_example(object_id: str, system: str, n: int = 1) -> str:
    return f"{object_id}::{system}.vgr.se::{n}"


def uuid(example: str = EHR_ID):
    return match.regex(example, regex=f"^{UUID_RE}$")


def version_uid(example: str):
    return match.regex(example, regex=VERSION_UID_RE)


def datetime_value(example: str = "2026-11-01T10:00:00.000000Z"):
    return match.regex(example, regex=DATETIME_RE)


def etag(example: str):
    return match.regex(f'"{example}"', regex=ETAG_RE)


def from_state(example: str, expression: str) -> GenericMatcher:
    """A value (path or header) the verifier takes from the provider state's values. The mock
    server expects the example exactly (the consumer code is driven with the example ids)."""
    return GenericMatcher("equality", value=example, generator=generate.provider_state(expression))


def state_path(example: str, expression: str) -> GenericMatcher:
    return from_state(example, expression)


def if_match_from_state(example: str) -> GenericMatcher:
    return from_state(f'"{example}"', '"${version_uid}"')


def reply(interaction, status: int, body=None, headers: dict | None = None) -> None:
    """The response part of an interaction: status, headers (matchers allowed), JSON body."""
    interaction.will_respond_with(status)
    for name, value in (headers or {}).items():
        interaction.with_header(name, value, "Response")
    if body is not None:
        interaction.with_body(body, content_type="application/json", part="Response")


async def expect_status(status: int, call: Awaitable) -> None:
    """The gateway code must fail with this FHIR status (a module's error translated)."""
    from gateway.fhir.errors import FhirError

    try:
        await call
    except FhirError as exc:
        assert exc.status == status, f"FHIR status {exc.status}, expected {status}"
    else:
        raise AssertionError(f"expected a {status}, the call succeeded")


Drive = Callable[[str], Awaitable[None]]


@dataclass
class Interaction:
    description: str
    state: str
    build: Callable  # (interaction) -> None: request and response on a pact interaction
    drive: Drive  # async (mock server URL) -> None: the consumer's real code makes the call


class ConsumerContractError(AssertionError):
    pass


def run_pact(consumer: str, provider: str, interactions: list[Interaction], out_dir: Path) -> Path:
    """Record the interactions, drive the consumer code against the mock server, write the pact."""
    pact = Pact(consumer, provider).with_specification("V4")
    for item in interactions:
        builder = pact.upon_receiving(item.description).given(item.state)
        item.build(builder)
    with pact.serve(raises=False) as server:
        base = str(server.url).rstrip("/")
        for item in interactions:
            try:
                asyncio.run(item.drive(base))
            except Exception as exc:
                raise ConsumerContractError(
                    f"{consumer} -> {provider}: {item.description}: the consumer code failed: {exc!r}"
                ) from exc
        problems = server.mismatches
        if problems:
            raise ConsumerContractError(f"{consumer} -> {provider}: mismatches: {json.dumps(problems)[:3000]}")
    pact.write_file(out_dir, overwrite=True)
    return out_dir / f"{consumer}-{provider}.json"


def normalised(path: Path) -> dict:
    """A pact without what varies between runs of the same contract (the writer's versions)."""
    pact = json.loads(path.read_text(encoding="utf-8"))
    pact.get("metadata", {}).pop("pactRust", None)
    pact["interactions"] = sorted(pact["interactions"], key=lambda i: i["description"])
    return pact


def write_pacts(out_dir: Path) -> list[Path]:
    """Build every consumer's pact into `out_dir` (one file per consumer-provider pair)."""
    from contracts.pact import ehr_lookup, gateway_clinical, gateway_demographics

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pairs = [
            *((consumer, "demographics", ehr_lookup.interactions()) for consumer in ehr_lookup.CONSUMERS),
            ("gateway", "demographics", gateway_demographics.interactions()),
            *(("gateway", m, gateway_clinical.interactions(m)) for m in gateway_clinical.MODULES),
        ]
        for consumer, provider, interactions in pairs:
            path = run_pact(consumer, provider, interactions, work)
            target = out_dir / path.name
            pact = json.loads(path.read_text(encoding="utf-8"))
            pact["interactions"] = sorted(pact["interactions"], key=lambda i: i["description"])
            target.write_text(json.dumps(pact, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            written.append(target)
    return written


def client(base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, timeout=5.0)
