"""deploy/Dockerfile and its entry point, checked without a Docker engine: the recipe is read
statically, the entry point is run for real (with a stand-in uvicorn)."""

from __future__ import annotations

import http.server
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest
from deploytools import (
    DEPLOY,
    DESIGN_PORTS,
    ROOT,
    copy_sources,
    discover_modules,
    dockerfile_instructions,
    dockerignore_included,
    resolve_args,
)

DOCKERFILE = DEPLOY / "Dockerfile"
ENTRYPOINT = DEPLOY / "container" / "entrypoint.py"
IMAGE_ENTRYPOINT = "/usr/local/bin/openehr-module"


def load_entrypoint():
    spec = importlib.util.spec_from_file_location("openehr_entrypoint", ENTRYPOINT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


entrypoint = load_entrypoint()


@pytest.fixture(scope="module")
def instructions():
    return dockerfile_instructions(DOCKERFILE.read_text())


def final_stage(instructions):
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def build_args(instructions) -> dict[str, str]:
    args = {}
    for instruction in instructions:
        if instruction.keyword == "ARG" and "=" in instruction.arguments:
            name, _, value = instruction.arguments.partition("=")
            args[name] = value
    return args


# --------------------------------------------------------------------------- the recipe


def test_every_stage_builds_on_python_3_11_slim(instructions):
    args = build_args(instructions)
    bases = [resolve_args(i.arguments.split()[0], args) for i in instructions if i.keyword == "FROM"]
    assert bases and all(base == "python:3.11-slim" for base in bases)


def test_the_image_runs_as_a_non_root_user(instructions):
    users = [i.arguments for i in final_stage(instructions) if i.keyword == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_the_health_check_probes_health_without_curl(instructions):
    (healthcheck,) = [i for i in final_stage(instructions) if i.keyword == "HEALTHCHECK"]
    command = healthcheck.arguments.partition("CMD")[2].strip()
    assert "curl" not in command and "wget" not in command
    assert IMAGE_ENTRYPOINT in command and "--health" in command
    assert "def probe" in ENTRYPOINT.read_text() and '"/health"' in ENTRYPOINT.read_text()


def test_every_module_port_is_exposed(instructions):
    exposed = {int(p.split("/")[0]) for i in instructions if i.keyword == "EXPOSE" for p in i.arguments.split()}
    assert set(DESIGN_PORTS.values()) <= exposed


def test_the_entry_point_is_the_module_chooser(instructions):
    stage = final_stage(instructions)
    (entry,) = [i for i in stage if i.keyword == "ENTRYPOINT"]
    assert entry.exec_form() == ["python", IMAGE_ENTRYPOINT]
    copied = [i for i in stage if i.keyword == "COPY" and i.arguments.endswith(IMAGE_ENTRYPOINT)]
    assert copied and copy_sources(copied[0]) == ["deploy/container/entrypoint.py"]


def test_no_development_dependencies_are_installed(instructions):
    runs = " ".join(i.arguments for i in instructions if i.keyword == "RUN")
    assert "[dev]" not in runs and "pytest" not in runs
    assert "pip install --no-deps ." in runs
    assert "['project']['dependencies']" in runs, "runtime dependencies come from pyproject.toml's [project]"


def test_the_runtime_stage_carries_no_sources_or_build_tools(instructions):
    stage = final_stage(instructions)
    context_copies = [src for i in stage if i.keyword == "COPY" for src in copy_sources(i)]
    assert context_copies == ["deploy/container/entrypoint.py"]
    assert any(i.keyword == "COPY" and "--from=build" in i.arguments for i in stage)
    assert not any("apt-get install" in i.arguments for i in stage if i.keyword == "RUN")


def test_the_build_copies_every_package_the_project_installs(instructions):
    """Each package pyproject.toml ships (tool.setuptools.packages.find) reaches the build stage,
    bench and deploy aside (benchmarks and the local runner do not run in production; the image's
    entry point is copied on its own)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in includes} - {"bench", "deploy"}
    copied = {src.rstrip("/") for i in instructions if i.keyword == "COPY" for src in copy_sources(i)}
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
    assert "pyproject.toml" in copied


def test_the_dockerignore_lets_the_copied_sources_through_and_nothing_else():
    patterns = (ROOT / ".dockerignore").read_text().splitlines()
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    for source in (src for i in instructions if i.keyword == "COPY" for src in copy_sources(i)):
        path = ROOT / source
        files = [path] if path.is_file() else [
            p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        assert files, f"{source} is missing from the repository"
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            assert dockerignore_included(patterns, relative), f"{relative} is excluded by .dockerignore"
    for kept_out in (".venv/bin/python", "tests/unit/test_identifiers.py", "data/journal.db", ".git/HEAD",
                     "services/__pycache__/app.cpython-311.pyc", "deploy/k8s/base/kustomization.yaml"):
        assert not dockerignore_included(patterns, kept_out), kept_out


# --------------------------------------------------------------------------- the entry point


@pytest.mark.parametrize("module", discover_modules())
def test_the_entry_point_serves_every_module_by_argument_or_environment(module):
    assert module in entrypoint.MODULES, f"deploy/container/entrypoint.py does not know {module}"
    by_argument = entrypoint.command_for([module], {})
    by_environment = entrypoint.command_for([], {"MODULE": module})
    assert by_argument == by_environment
    target = "gateway.app:create_app" if module == "gateway" else f"services.{module}.app:create_app"
    assert by_argument[:3] == ["uvicorn", target, "--factory"]
    assert by_argument[by_argument.index("--host") + 1] == "0.0.0.0"
    port = int(by_argument[by_argument.index("--port") + 1])
    assert port == DESIGN_PORTS.get(module, port)


@pytest.mark.parametrize("module", discover_modules())
def test_the_factory_the_entry_point_names_exists(module):
    app = ROOT / ("gateway" if module == "gateway" else f"services/{module}") / "app.py"
    if not app.exists():
        pytest.skip(f"{app.relative_to(ROOT)} is not on this branch yet")
    assert "def create_app" in app.read_text()


def test_the_entry_point_defaults_to_the_gateway_and_honours_port():
    assert entrypoint.command_for([], {})[1] == "gateway.app:create_app"
    command = entrypoint.command_for(["journal"], {"PORT": "9000"})
    assert command[command.index("--port") + 1] == "9000"


def test_other_commands_run_as_given_and_mistakes_are_usage_errors():
    assert entrypoint.command_for(["python", "-m", "services.journal", "migrate"], {}) == [
        "python", "-m", "services.journal", "migrate"]
    for wrong in (["--bogus"], ["journal", "--reload"]):
        with pytest.raises(entrypoint.UsageError):
            entrypoint.command_for(wrong, {})
    with pytest.raises(entrypoint.UsageError):
        entrypoint.command_for([], {"MODULE": "pharmacy"})


@pytest.fixture
def fake_uvicorn(tmp_path):
    """A `uvicorn` first on PATH that prints its arguments: proves the entry point execs it."""
    script = tmp_path / "uvicorn"
    script.write_text(f"#!{sys.executable}\nimport sys\nprint(' '.join(sys.argv[1:]))\n")
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize("module", discover_modules())
def test_the_entry_point_execs_uvicorn_for_every_module(fake_uvicorn, module):
    env = {key: value for key, value in fake_uvicorn.items() if key not in {"MODULE", "PORT"}}
    by_env = subprocess.run([sys.executable, str(ENTRYPOINT)], env={**env, "MODULE": module},
                            capture_output=True, text=True, timeout=30, check=True)
    by_arg = subprocess.run([sys.executable, str(ENTRYPOINT), module], env=env,
                            capture_output=True, text=True, timeout=30, check=True)
    assert by_env.stdout == by_arg.stdout
    assert by_env.stdout.split() == entrypoint.command_for([module], env)[1:]


def test_an_unknown_module_exits_with_a_usage_error(fake_uvicorn):
    result = subprocess.run([sys.executable, str(ENTRYPOINT)], env={**fake_uvicorn, "MODULE": "pharmacy"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 64 and "pharmacy" in result.stderr and not result.stdout


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_module():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_health_check_passes_on_health_and_fails_otherwise(local_module):
    env = {"PORT": str(local_module)}
    assert entrypoint.main(["--health"], env) == 0
    assert entrypoint.main(["--ready"], env) == 1  # the stand-in says 503 on /ready
    local_module_gone = {"PORT": "1"}
    assert entrypoint.main(["--health"], local_module_gone) == 1


def test_the_health_check_finds_the_port_of_a_module_chosen_by_argument(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "cmdline").write_bytes(b"python\0/usr/local/bin/openehr-module\0referrals\0")
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "cmdline").write_bytes(
        b"\0".join([b"/opt/venv/bin/python", b"/opt/venv/bin/uvicorn", b"services.referrals.app:create_app",
                    b"--factory", b"--port", b"8084", b""]))
    assert entrypoint.running_port({}, tmp_path) == 8084
    assert entrypoint.running_port({"MODULE": "journal"}, tmp_path) == 8082
    assert entrypoint.running_port({"PORT": "9000", "MODULE": "journal"}, tmp_path) == 9000


STUB_APP = '''
from fastapi import FastAPI


def create_app():
    app = FastAPI()
    app.get("/health")(lambda: {"status": "ok"})
    app.get("/ready")(lambda: {"status": "ready"})
    return app
'''


def test_the_entry_point_really_serves_a_factory_and_stops_cleanly_on_sigterm(tmp_path):
    """A stand-in gateway package (the real one may not be on this branch): uvicorn started through the
    entry point answers /health, the health check sees it, and SIGTERM reaches uvicorn itself (exec)."""
    package = tmp_path / "gateway"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(STUB_APP)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(tmp_path), "MODULE": "gateway", "PORT": str(port), "HOST": "127.0.0.1"}
    process = subprocess.Popen([sys.executable, str(ENTRYPOINT)], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while entrypoint.main(["--health"], {"PORT": str(port)}) != 0:
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the module did not come up"
            time.sleep(0.2)
        assert entrypoint.main(["--ready"], {"PORT": str(port)}) == 0
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    # Graceful: uvicorn finishes, then (recent versions) re-raises the signal it caught.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Finished server process" in output
