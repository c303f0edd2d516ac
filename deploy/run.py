"""Start the whole architecture locally: four module services and the gateway, one process each.

`make run` calls this. Every process gets its own port, its own SQLite file under the data
folder (kept between runs) and a log prefix; Ctrl-C (or SIGTERM) stops them all, no orphans.
The same `Stack` starts real processes for the end-to-end tests, on free ports.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

MODULES = ("demographics", "journal", "medication", "referrals")
DEFAULT_PORTS = {"gateway": 8080, "demographics": 8081, "journal": 8082, "medication": 8083, "referrals": 8084}


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent dies, so no module outlives the runner."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """The five processes of the architecture, started in dependency order."""

    data_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    host: str = "127.0.0.1"
    log_stream: object = sys.stdout
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in MODULES:
            prefix = name.upper()
            env[f"{prefix}_DATABASE_URL"] = f"sqlite:///{self.data_dir / name}.db"
            env[f"{prefix}_DEMOGRAPHICS_URL"] = self.url("demographics")
            env[f"GATEWAY_{prefix}_URL"] = self.url(name)
        env["GATEWAY_PUBLIC_BASE_URL"] = f"{self.url('gateway')}/fhir"
        return env

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        for name in (*MODULES, "gateway"):
            target = "gateway.app:create_app" if name == "gateway" else f"services.{name}.app:create_app"
            command = [
                sys.executable, "-m", "uvicorn", target, "--factory",
                "--host", self.host, "--port", str(self.ports[name]), "--log-level", "warning",
            ]
            process = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True,  # our own signal handling stops them; a terminal Ctrl-C must not race it
                preexec_fn=_die_with_parent,
            )
            self.processes[name] = process
            threading.Thread(target=self._relay, args=(name, process), daemon=True).start()
        self.wait_healthy(timeout)

    def _relay(self, name: str, process: subprocess.Popen) -> None:
        for line in process.stdout:
            print(f"{name:>12} | {line.rstrip()}", file=self.log_stream, flush=True)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.processes)
        while pending:
            for name in sorted(pending):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with code {self.processes[name].returncode} while starting")
                try:
                    if httpx.get(f"{self.url(name)}/health", timeout=1.0).status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not healthy after {timeout:.0f}s: {', '.join(sorted(pending))}")
            if pending:
                time.sleep(0.2)

    def stop(self, grace: float = 10.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def seed_command(stack: Stack, patients: int) -> list[str]:
    """`python -m services.seed` for this stack's modules (`make run SEED=N`)."""
    return [sys.executable, "-m", "services.seed", "--patients", str(patients),
            *(f"--{name}={stack.url(name)}" for name in MODULES)]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.run", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--seed", type=int, default=0, help="first load this many synthetic patients")
    args = parser.parse_args(argv)

    _die_with_parent()  # killed with `make`, not only by Ctrl-C
    stack = Stack(args.data_dir)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stack.start()
        if args.seed:
            subprocess.run(seed_command(stack, args.seed), check=True)
        print("\nAll modules are up:")
        for name in ("gateway", *MODULES):
            print(f"  {name:<12} {stack.url(name)}   (docs: {stack.url(name)}/docs)")
        print(f"\nTry: curl -s '{stack.url('gateway')}/fhir/Patient?_count=5'\nCtrl-C stops everything.")
        while not stopping.is_set():
            if any(p.poll() is not None for p in stack.processes.values()):
                dead = [n for n, p in stack.processes.items() if p.poll() is not None]
                print(f"stopping: {', '.join(dead)} exited", file=sys.stderr)
                return 1
            stopping.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
