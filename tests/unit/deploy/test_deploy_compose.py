"""deploy/compose.yaml: valid against the Compose Specification's JSON Schema, and the architecture's
shape: PostgreSQL plus the five processes from one image, health-gated start order, one port out.

The schema is the compose-spec project's (Apache-2.0), as vendored in the `check-jsonschema` package
(check_jsonschema/builtin_schemas/vendor/compose-spec.json, its licence beside it), a dev dependency.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import subprocess
from urllib.parse import urlsplit

import jsonschema
import pytest
from deploytools import (
    DEPLOY,
    DESIGN_PORTS,
    K8S_BASE,
    discover_modules,
    env_prefix,
    find,
    load_yaml_documents,
    module_services,
    pod_spec,
    render,
)

COMPOSE = DEPLOY / "compose.yaml"
INIT_SCRIPT = DEPLOY / "compose" / "postgres-init.sh"
DEPENDENCIES = {"gateway": set(DESIGN_PORTS) - {"gateway"}}  # gateway -> every module


@pytest.fixture(scope="module")
def compose():
    (document,) = load_yaml_documents(COMPOSE)
    return document


@pytest.fixture(scope="module")
def schema():
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath("compose-spec.json").read_text())


def interpolate(value: str, environment: dict[str, str] | None = None) -> str:
    """Compose's `${VAR:-default}` / `${VAR}` with an empty environment unless given."""
    environment = environment or {}

    def replace(match):
        name, default = match.group(1), match.group(3) or ""
        return environment.get(name) or default

    return re.sub(r"\$\{(\w+)(:?-([^}]*))?\}", replace, value)


def environment_of(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a map, so names can be checked"
    return {key: interpolate(str(value)) for key, value in env.items()}


def test_the_compose_file_is_valid_against_the_compose_specification(compose, schema):
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_check_is_not_vacuous(compose, schema):
    gateway = {**compose["services"]["gateway"], "depends_on": {"journal": {"condition": "up"}}}
    broken = {**compose, "services": {**compose["services"], "gateway": gateway}}
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))


@pytest.mark.parametrize("module", discover_modules())
def test_every_module_runs_from_the_one_image(compose, module):
    service = compose["services"].get(module)
    assert service is not None, f"deploy/compose.yaml has no service {module}"
    assert environment_of(service)["MODULE"] == module
    images = {s["image"] for name, s in compose["services"].items() if name != "postgres"}
    assert len(images) == 1
    build = service["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()


def test_only_the_gateway_publishes_a_port(compose):
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == {"gateway"}
    (port,) = compose["services"]["gateway"]["ports"]
    assert interpolate(port).split(":")[-1] == str(DESIGN_PORTS["gateway"])


def test_every_service_has_a_health_check_and_waits_for_healthy_dependencies(compose):
    for name, service in compose["services"].items():
        assert service["healthcheck"]["test"], name
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
            assert dependency in compose["services"]


@pytest.mark.parametrize("module", discover_modules())
def test_start_order_follows_the_calls(compose, module):
    depends = set(compose["services"][module].get("depends_on", {}))
    if module == "gateway":
        assert depends == set(module_services())
    elif module == "demographics":
        assert depends == {"postgres"}
    else:
        assert depends == {"postgres", "demographics"}


def test_module_health_checks_use_readiness(compose):
    for module in discover_modules():
        test = compose["services"][module]["healthcheck"]["test"]
        assert test[0] == "CMD" and "--ready" in test and not any("curl" in word for word in test)


@pytest.mark.parametrize("module", module_services())
def test_each_module_has_its_own_database_on_the_postgres_server(compose, module):
    env = environment_of(compose["services"][module])
    url = urlsplit(env[f"{env_prefix(module)}DATABASE_URL"])
    assert url.scheme == "postgresql+psycopg"
    assert (url.hostname, url.port, url.path, url.username) == ("postgres", 5432, f"/{module}", module)
    postgres_env = environment_of(compose["services"]["postgres"])
    assert url.password == postgres_env[f"{module.upper()}_DB_PASSWORD"]
    assert env[f"{env_prefix(module)}MIGRATE_ON_STARTUP"] == "true"
    if module != "demographics":
        assert env[f"{env_prefix(module)}DEMOGRAPHICS_URL"] == f"http://demographics:{DESIGN_PORTS['demographics']}"


def test_the_init_script_creates_a_database_and_role_per_module(compose):
    script = INIT_SCRIPT.read_text()
    (loop,) = re.findall(r"^for module in ([\w ]+); do$", script, re.MULTILINE)
    assert set(loop.split()) == set(module_services())
    assert "CREATE DATABASE" in script and "CREATE ROLE" in script and "REVOKE ALL" in script
    mounts = compose["services"]["postgres"]["volumes"]
    assert any(m.startswith("./compose/postgres-init.sh:/docker-entrypoint-initdb.d/") for m in mounts)
    assert INIT_SCRIPT.stat().st_mode & 0o111, "the init script is executable"
    subprocess.run(["sh", "-n", str(INIT_SCRIPT)], check=True, timeout=30)  # POSIX sh syntax


def test_the_gateway_knows_every_module(compose):
    env = environment_of(compose["services"]["gateway"])
    for module in module_services():
        url = urlsplit(env[f"GATEWAY_{module.upper()}_URL"])
        assert (url.hostname, url.port) == (module, DESIGN_PORTS.get(module, url.port))
    assert env["GATEWAY_PUBLIC_BASE_URL"].endswith("/fhir")


def test_networks_keep_the_gateway_away_from_the_database(compose):
    networks = {name: set(service.get("networks", [])) for name, service in compose["services"].items()}
    assert networks["postgres"] == {"data"}
    assert "data" not in networks["gateway"]
    assert all(compose["networks"][n].get("internal") for n in ("modules", "data"))
    for module in module_services():
        assert networks[module] == {"modules", "data"}


def test_containers_are_read_only_and_unprivileged(compose):
    for module in discover_modules():
        service = compose["services"][module]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]


@pytest.mark.parametrize("module", discover_modules())
def test_compose_and_kubernetes_set_the_same_variables(compose, module):
    """Names only: the values differ by design (hosts, secrets, migration mode)."""
    in_compose = set(environment_of(compose["services"][module]))
    deployment = find(render(K8S_BASE), "Deployment", module)
    in_kubernetes = {e["name"] for e in pod_spec(deployment)["containers"][0]["env"]}
    relevant = {"MODULE"} | {n for n in in_compose | in_kubernetes if n.startswith(env_prefix(module))}
    assert in_compose & relevant == in_kubernetes & relevant
