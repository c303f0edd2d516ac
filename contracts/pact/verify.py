"""Verify a running provider against the committed consumer pacts (pact-python's Rust verifier).

    result = verify("medication", "http://127.0.0.1:8083",
                    state_handler=public_api_states("medication", url, demographics_url))
    result.passed, result.failures  # failures: "consumer -> provider: interaction: reason"

The state handler is called through a small local HTTP server (the verifier's state-change URL):
it answers the handler's values as JSON, which fill the pacts' provider-state generators (ids
in paths, If-Match headers), so the same pacts verify any implementation of a module.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pact import Verifier

from contracts.pact.states import StateHandler

PACT_DIR = Path(__file__).resolve().parents[1] / "pacts"
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")


@dataclass
class VerificationResult:
    provider: str
    passed: bool
    failures: list[str] = field(default_factory=list)  # "consumer: interaction: reason"
    pacts: list[Path] = field(default_factory=list)
    output: str = ""
    by_consumer: dict[str, bool] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.passed


def pacts_for(provider: str, pact_dir: Path = PACT_DIR, consumers: list[str] | None = None) -> list[Path]:
    """Every pact file in `pact_dir` that names `provider` (optionally only those consumers')."""
    found = []
    for path in sorted(pact_dir.glob("*.json")):
        pact = json.loads(path.read_text(encoding="utf-8"))
        if pact["provider"]["name"] != provider:
            continue
        if consumers is None or pact["consumer"]["name"] in consumers:
            found.append(path)
    return found


class _StateServer:
    """The verifier's state-change URL: calls the handler and answers its values as JSON."""

    def __init__(self, handler: StateHandler):
        self.errors: list[str] = []
        outer = self

        class Handle(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                state, action = body.get("state") or "", body.get("action") or "setup"
                try:
                    values = {} if action != "setup" or not state else handler(state, body.get("params") or {})
                except Exception as exc:  # the verifier reports the interaction; we keep the reason
                    outer.errors.append(f"provider state {state!r}: {type(exc).__name__}: {exc}")
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(str(exc).encode())
                    return
                data = json.dumps(values or {}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/provider-states"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _interaction_name(text: str) -> str:
    """'Verifying a pact between a and b Given S - D' -> 'D (given S)'."""
    head, sep, description = text.partition(" - ")
    if not sep:
        return text
    _, given, state = head.partition(" Given ")
    return f"{description} (given {state})" if given else description


def _failures(results: dict, consumer: str) -> list[str]:
    failures = []
    for error in results.get("errors") or []:
        interaction = _interaction_name(error.get("interaction") or "?")
        mismatch = error.get("mismatch") or {}
        reasons = []
        for m in mismatch.get("mismatches") or []:
            text = m.get("mismatch") or m.get("description") or json.dumps(m)
            where = m.get("path") or m.get("key") or m.get("type") or ""
            reasons.append(f"{where}: {text}" if where else text)
        if not reasons:
            reasons.append(mismatch.get("message") or mismatch.get("type") or json.dumps(mismatch))
        failures.append(f"{consumer}: {interaction}: " + "; ".join(reasons))
    return failures


def verify(
    module: str,
    base_url: str,
    *,
    state_handler: StateHandler,
    pact_dir: Path = PACT_DIR,
    consumers: list[str] | None = None,
    pacts: list[Path] | None = None,
) -> VerificationResult:
    """Verify the provider `module` at `base_url` against every pact that names it (one verifier run
    per pact file, so each consumer's result is known). No pact at all is a failure."""
    files = pacts if pacts is not None else pacts_for(module, pact_dir, consumers)
    result = VerificationResult(module, passed=bool(files), pacts=files)
    if not files:
        result.failures.append(f"no pact names the provider {module} in {pact_dir}")
        return result
    scheme, rest = base_url.rstrip("/").split("://", 1)
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    for path_file in files:
        consumer = json.loads(path_file.read_text(encoding="utf-8"))["consumer"]["name"]
        with _StateServer(state_handler) as states:
            verifier = (
                Verifier(module, host=host)
                .add_transport(protocol="http", scheme=scheme, port=int(port) if port else None, path="/" + path)
                .add_source(path_file)
                .state_handler(states.url, body=True)
                .set_coloured_output(enabled=False)
            )
            try:
                verifier.verify()
                ok = True
            except RuntimeError:
                ok = False
            results = verifier.results
            failures = _failures(results, consumer)
            if not ok and not failures:
                failures.append(f"{consumer}: verification failed: {verifier.output(strip_ansi=True)[-2000:]}")
            failures += [f"{consumer}: {e}" for e in dict.fromkeys(states.errors)]
            result.output += verifier.output(strip_ansi=True)
        result.by_consumer[consumer] = ok and not failures
        result.failures += failures
        result.passed = result.passed and result.by_consumer[consumer]
    return result
