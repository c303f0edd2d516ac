"""What every benchmark shares: servers pinned to one core, wrk on the other, a results table.

Numbers are only ever reported as ratios against a baseline measured in the same run on the
same machine, so a slow or busy machine shifts both sides alike.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from deploy.run import free_port
from gateway.observability import access_logger

RESULTS_DIR = Path(__file__).parent / "results"


def _pinned(command: list[str], core: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(core), *command]
    return command


@contextmanager
def serve(
    target: str, env: dict[str, str] | None = None, ready_path: str = "/health", core: int = 0
) -> Iterator[str]:
    """Run `uvicorn target --factory` on `core` (0: the core measured; wrk drives from 1) and yield its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--factory", "--port", str(port),
               "--log-level", "warning", "--no-access-log"]
    # Each module logs a JSON line per request: to a file, so the results stay readable.
    log_dir = RESULTS_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"{target.split(':')[0]}-{port}.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(_pinned(command, core), env={**os.environ, **(env or {})}, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{target} exited with {process.returncode}")
            try:
                if httpx.get(base + ready_path, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{target} did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@contextmanager
def access_log_to_file(name: str) -> Iterator[None]:
    """The access log of the apps run in this process (one JSON line per request; the gateway's
    handler, which the modules' kernel then shares) goes to bench/results/logs/{name}.log, like the
    served processes' logs, so the results stay readable."""
    log_dir = RESULTS_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.log", "w") as log:
        streams = [handler.setStream(log) for handler in access_logger().handlers]
        try:
            yield
        finally:
            for handler, stream in zip(access_logger().handlers, streams, strict=False):
                handler.setStream(stream)


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


_LUA = """
local bodies = {%(bodies)s}
local paths = {%(paths)s}
local i = 0
request = function()
  i = i + 1
  local path = paths[(i %% #paths) + 1]
  local body = nil
  if #bodies > 0 then body = bodies[(i %% #bodies) + 1] end
  return wrk.format("%(method)s", path, {%(headers)s}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%f %%f %%d\\n", summary.requests, latency:percentile(50),
    latency:percentile(99), summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def wrk(base: str, paths: list[str], *, method: str = "GET", bodies: list[str] = (),
        headers: dict[str, str] | None = None, connections: int = 16, seconds: float = 5.0) -> Load:
    """Drive `base` with wrk from core 1; `paths` and `bodies` are cycled through."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (make bench installs it: apt-get install wrk)")
    script = _LUA % {
        "bodies": ", ".join(_lua_string(b) for b in bodies),
        "paths": ", ".join(_lua_string(p) for p in paths),
        "method": method,
        "headers": ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in (headers or {}).items()),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        seconds = max(1, round(seconds))  # wrk takes whole seconds
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", handle.name, base]
        output = subprocess.run(_pinned(command, 1), capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(handle.name)
    match = re.search(r"RESULT (\d+) ([\d.]+) ([\d.]+) (\d+)", output)
    if not match:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    requests, p50_us, p99_us, errors = match.groups()
    return Load(int(requests) / seconds, float(p50_us) / 1000, float(p99_us) / 1000, int(errors))


def hello_world(hello: str, connections: int, seconds: float) -> float:
    """hello-world's req/s, measured right before the measurement it is the baseline of.

    This machine's speed drifts over a run (hello-world 5,200 and 7,650 req/s in two runs an hour
    apart; within a run the modules are measured minutes after the first baseline), so each ratio
    is taken against a baseline from the same minute, served on the same core."""
    return wrk(hello, ["/hello"], connections=connections, seconds=seconds).requests_per_s


@dataclass
class Row:
    benchmark: str
    measure: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        ratio = f"  ratio {row.ratio:.3g} vs {row.baseline}" if row.ratio is not None else ""
        verdict = {True: "  [target met]", False: "  [TARGET MISSED]", None: ""}[row.met]
        print(f"{row.benchmark}: {row.measure} = {row.value:,.1f} {row.unit}{ratio}  {row.target}{verdict}",
              flush=True)
        return row

    def write(self, directory: Path = RESULTS_DIR) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "results.json").write_text(json.dumps([asdict(r) for r in self.rows], indent=1) + "\n")
        lines = ["| benchmark | measure | value | baseline | ratio | target | met |", "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            baseline = f"{r.baseline} = {r.baseline_value:,.1f}" if r.baseline_value is not None else ""
            ratio = f"{r.ratio:.3g}" if r.ratio is not None else ""
            met = {True: "yes", False: "**no**", None: ""}[r.met]
            lines.append(f"| {r.benchmark} | {r.measure} | {r.value:,.1f} {r.unit} | {baseline} | {ratio} "
                         f"| {r.target} | {met} |")
        (directory / "results.md").write_text("\n".join(lines) + "\n")
        print(f"\nwritten: {directory / 'results.md'} and results.json")
