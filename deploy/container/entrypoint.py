#!/usr/bin/env python3
"""Container entry point: one image, five processes; the module is chosen by argument or `MODULE`.

    openehr-module                  # runs $MODULE (default: gateway)
    openehr-module journal          # runs the journal module
    openehr-module --health         # exit 0 when this container's process answers GET /health
    openehr-module --ready          # exit 0 when it answers GET /ready
    openehr-module python -m archetypes validate ...   # anything else is executed as given

Every module listens on 0.0.0.0 on its own port (the design's defaults, `PORT` overrides), runs one
uvicorn worker (scale with replicas, not workers) and execs uvicorn, so it is PID 1 and gets
SIGTERM directly. Extra uvicorn options come from the environment (`UVICORN_*`, e.g.
`UVICORN_FORWARDED_ALLOW_IPS`): uvicorn's own command line reads them.

Standard library only: this file is copied into the image next to the installed project.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

# name -> (ASGI factory, default port). The gateway plus the four modules of the design.
MODULES: dict[str, tuple[str, int]] = {
    "gateway": ("gateway.app:create_app", 8080),
    "demographics": ("services.demographics.app:create_app", 8081),
    "journal": ("services.journal.app:create_app", 8082),
    "medication": ("services.medication.app:create_app", 8083),
    "referrals": ("services.referrals.app:create_app", 8084),
}
USAGE = f"usage: openehr-module [{'|'.join(MODULES)}] | --health | --ready | COMMAND [ARGS...]"


class UsageError(ValueError):
    pass


def module_port(name: str, env: Mapping[str, str]) -> int:
    return int(env.get("PORT") or MODULES[name][1])


def uvicorn_command(name: str, env: Mapping[str, str]) -> list[str]:
    """The argv that serves `name`."""
    if name not in MODULES:
        raise UsageError(f"unknown module {name!r}; expected one of {', '.join(MODULES)}")
    target, _ = MODULES[name]
    return [
        "uvicorn", target, "--factory",
        "--host", env.get("HOST", "0.0.0.0"),
        "--port", str(module_port(name, env)),
        "--workers", "1",
        "--timeout-graceful-shutdown", env.get("GRACEFUL_SHUTDOWN_SECONDS", "20"),
    ]


def command_for(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """What the container runs for these arguments: a module's uvicorn, or the command as given."""
    if not argv:
        return uvicorn_command(env.get("MODULE") or "gateway", env)
    if argv[0] in MODULES:
        if len(argv) > 1:
            raise UsageError(f"a module takes no further arguments (set UVICORN_* instead)\n{USAGE}")
        return uvicorn_command(argv[0], env)
    if argv[0].startswith("-"):
        raise UsageError(USAGE)
    return list(argv)


def running_port(env: Mapping[str, str], proc: Path = Path("/proc")) -> int:
    """The port of the module served in this container, for the health check.

    `PORT`, then `MODULE`, then the `--port` of the uvicorn running here (the module may have been
    chosen by argument, which a HEALTHCHECK does not see).
    """
    if env.get("PORT"):
        return int(env["PORT"])
    if env.get("MODULE") in MODULES:
        return MODULES[env["MODULE"]][1]
    for cmdline in sorted(proc.glob("[0-9]*/cmdline")):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--port" in args and any(b"uvicorn" in a for a in args):
            index = args.index(b"--port")
            if index + 1 < len(args) and args[index + 1].isdigit():
                return int(args[index + 1])
    return MODULES["gateway"][1]


def probe(path: str, env: Mapping[str, str], timeout: float = 3.0) -> int:
    url = f"http://127.0.0.1:{running_port(env)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed local URL)
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ if env is None else env)
    if argv[:1] == ["--health"]:
        return probe("/health", env)
    if argv[:1] == ["--ready"]:
        return probe("/ready", env)
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    try:
        command = command_for(argv, env)
    except UsageError as error:
        print(error, file=sys.stderr)
        return 64  # EX_USAGE
    os.execvpe(command[0], command, env)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main())
