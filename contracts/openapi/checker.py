"""schemathesis against a module, from the module's COMMITTED OpenAPI document.

`check_api("medication", "http://vendor:8083", max_examples=20, seed=1)` runs schemathesis' examples,
coverage (positive and negative values at the schema's edges) and fuzzing phases against any
implementation of the module and returns what failed as `Finding`s, each with a curl command that
reproduces it. Pass `app=` to run in-process against an ASGI app instead of over the network.

Checks: no 5xx, only documented status codes, documented content types, responses that match their
schemas, and (negative phase) malformed requests are rejected. What schemathesis would flag that the
openEHR REST API does on purpose is configured in `_CONFIG` with the reason next to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from contracts.openapi.documents import committed_openapi

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)


@dataclass(frozen=True)
class Finding:
    operation: str  # "POST /rest/openehr/v1/ehr/{ehr_id}/composition"
    check: str  # the schemathesis check ("not_a_server_error", ...) or "error" when the run itself failed
    status: int | None  # the response's status code, when there was a response
    message: str
    reproduction: str  # a curl command

    def __str__(self) -> str:
        status = f" -> {self.status}" if self.status is not None else ""
        return f"{self.operation}{status} [{self.check}] {self.message}\n    {self.reproduction}"

    def as_dict(self) -> dict:
        return asdict(self)


def schemathesis_config(*, max_examples: int, seed: int, base_url: str | None = None):
    import schemathesis

    config: dict[str, Any] = {
        "seed": seed,
        "color": False,
        "generation": {"max-examples": max_examples, "mode": "all", "deterministic": True, "database": "none"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        # The stateful phase follows links the documents do not declare; the other three are bounded.
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },  # fmt: skip
        "workers": 1,
        "request-timeout": 30,
    }
    if base_url is not None:
        config["base-url"] = base_url
    return schemathesis.Config.from_dict(config)


def check_api(
    module: str,
    base_url: str,
    *,
    max_examples: int = 20,
    seed: int = 1,
    app: Any = None,
    document: dict | None = None,
    operations: Iterable[str] | None = None,
) -> list[Finding]:
    """Run schemathesis against `base_url` (or the ASGI `app`) with the committed document of `module`.

    `operations` limits the run to those labels ("GET /health"); `document` replaces the committed one
    (tests of the checker itself)."""
    import schemathesis
    from schemathesis import engine

    config = schemathesis_config(max_examples=max_examples, seed=seed, base_url=base_url)
    schema = schemathesis.openapi.from_dict(document or committed_openapi(module), config=config)
    if app is not None:
        schema.app = app
    if operations is not None:
        wanted = set(operations)
        schema = schema.include(func=lambda ctx: ctx.operation.label in wanted)
    return list(_findings(engine.from_schema(schema).execute()))


def _findings(stream) -> Iterable[Finding]:
    from schemathesis.engine import events

    seen: set[tuple] = set()
    for event in stream:
        if isinstance(event, events.ScenarioFinished):
            for finding in _scenario_findings(event.recorder):
                key = (finding.operation, finding.check, finding.status, finding.message)
                if key not in seen:
                    seen.add(key)
                    yield finding
        elif isinstance(event, events.NonFatalError):
            yield Finding(event.label, "error", None, f"{type(event.value).__name__}: {event.value}",
                          event.info.code_sample or "")  # fmt: skip
        elif isinstance(event, events.FatalError):
            yield Finding("(run)", "error", None, f"{type(event.exception).__name__}: {event.exception}", "")


def _scenario_findings(recorder) -> Iterable[Finding]:
    for case_id, checks in recorder.checks.items():
        for node in checks:
            if node.failure_info is None:
                continue
            failure = node.failure_info.failure
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction is not None else None
            message = failure.title if not failure.message else f"{failure.title}: {failure.message}"
            yield Finding(
                operation=failure.operation or recorder.label,
                check=node.name,
                status=response.status_code if response is not None else None,
                message=" ".join(message.split())[:600],
                reproduction=node.failure_info.code_sample,
            )
