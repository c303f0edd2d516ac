"""Real module processes for provider verification: uvicorn on a free port, a fresh SQLite file."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from contracts.pact.states import public_api_states
from contracts.pact.verify import PACT_DIR, VerificationResult, verify
from deploy.run import free_port

ROOT = Path(__file__).resolve().parents[2]


def _wait(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode} while starting")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not healthy after {timeout:.0f}s")
        time.sleep(0.1)


@contextlib.contextmanager
def serve_module(
    module: str,
    data_dir: Path,
    *,
    env: dict[str, str] | None = None,
    target: str | None = None,
    timeout: float = 60.0,
) -> Iterator[str]:
    """Start `services.<module>.app` (or `target`, a `module:factory`) and yield its base URL."""
    port = free_port()
    environment = {**os.environ, **(env or {})}
    prefix = module.upper()
    environment[f"{prefix}_DATABASE_URL"] = f"sqlite:///{data_dir / module}.db"
    environment.setdefault(f"{prefix}_MIGRATE_ON_STARTUP", "true")
    command = [
        sys.executable, "-m", "uvicorn", target or f"services.{module}.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, process, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def provider(module: str, data_dir: Path, *, target: str | None = None) -> Iterator[tuple[str, str]]:
    """(module URL, demographics URL): the module and, for a clinical one, a real demographics."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if module == "demographics":
        with serve_module(module, data_dir, target=target) as url:
            yield url, url
        return
    with serve_module("demographics", data_dir) as demographics:
        env = {f"{module.upper()}_DEMOGRAPHICS_URL": demographics, f"{module.upper()}_EHR_CACHE_TTL_SECONDS": "0"}
        with serve_module(module, data_dir, env=env, target=target) as url:
            yield url, demographics


MODULES = ("demographics", "journal", "medication", "referrals")


def verify_module(module: str, *, pact_dir: Path = PACT_DIR, target: str | None = None) -> VerificationResult:
    """Start `module` (and demographics) on a fresh database and verify it against its pacts."""
    with tempfile.TemporaryDirectory() as data, provider(module, Path(data), target=target) as (url, demographics):
        return verify(module, url, state_handler=public_api_states(module, url, demographics), pact_dir=pact_dir)
