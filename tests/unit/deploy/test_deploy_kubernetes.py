"""deploy/k8s: the kustomize base and production overlay, rendered in Python and checked against the
Kubernetes schemas (kubernetes-validate) and the architecture's rules."""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from deploytools import (
    DESIGN_PORTS,
    K8S_BASE,
    K8S_PRODUCTION,
    ROOT,
    discover_modules,
    env_prefix,
    find,
    module_services,
    normalized,
    of_kind,
    pod_spec,
    render,
    selector_matches,
)

# The oldest Kubernetes minor still widely run and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.32.0", kubernetes_validate.latest_version())
NAMESPACE = "openehr"
# Custom resources the overlays may use: no schema in kubernetes-validate, checked below by hand.
CUSTOM_KINDS = {("external-secrets.io/v1", "ExternalSecret")}
OVERLAYS = {"base": K8S_BASE, "production": K8S_PRODUCTION}


@pytest.fixture(scope="module", params=sorted(OVERLAYS))
def rendered(request):
    return request.param, render(OVERLAYS[request.param])


@pytest.fixture(scope="module")
def base():
    return render(K8S_BASE)


@pytest.fixture(scope="module")
def production():
    return render(K8S_PRODUCTION)


def containers(obj):
    return pod_spec(obj)["containers"]


def env_names(container) -> set[str]:
    return {entry["name"] for entry in container.get("env", [])}


# --------------------------------------------------------------------------- rendering and schemas


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) is not installed")
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_the_python_renderer_agrees_with_kubectl_kustomize(overlay):
    result = subprocess.run(
        ["kubectl", "kustomize", str(OVERLAYS[overlay])], capture_output=True, text=True, timeout=120, check=True)
    assert normalized(yaml.safe_load_all(result.stdout)) == normalized(render(OVERLAYS[overlay]))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_against_the_kubernetes_schema(rendered, version):
    _, objects = rendered
    errors = []
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: no schema for {obj['apiVersion']}")
    assert not errors, "\n".join(errors)


def test_the_only_custom_resources_are_the_known_ones(rendered):
    _, objects = rendered
    builtin_groups = {"", "apps", "policy", "autoscaling", "networking.k8s.io"}
    custom = {(o["apiVersion"], o["kind"]) for o in objects if o["apiVersion"].rpartition("/")[0] not in builtin_groups}
    assert custom <= CUSTOM_KINDS


def test_objects_are_unique_and_namespaced(rendered):
    _, objects = rendered
    ids = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(ids) == len(set(ids))
    assert [o["metadata"]["name"] for o in of_kind(objects, "Namespace")] == [NAMESPACE]
    stray = [i for o, i in zip(objects, ids, strict=True)
             if o["kind"] != "Namespace" and o["metadata"].get("namespace") != NAMESPACE]
    assert not stray


def test_the_namespace_enforces_the_restricted_pod_security_standard(base):
    labels = find(base, "Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


# --------------------------------------------------------------------------- every module covered


@pytest.mark.parametrize("module", discover_modules())
def test_every_module_has_a_deployment_service_budget_and_network_policy(rendered, module):
    _, objects = rendered
    missing = [kind for kind in ("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy")
               if find(objects, kind, module) is None]
    assert not missing, f"{module} has no {', '.join(missing)} in deploy/k8s"


@pytest.mark.parametrize("module", module_services())
def test_every_module_has_its_own_database_and_secret(rendered, module):
    overlay, objects = rendered
    database = find(objects, "StatefulSet", f"{module}-db")
    assert database is not None, f"{module} has no PostgreSQL StatefulSet {module}-db"
    assert database["spec"]["volumeClaimTemplates"], "the database keeps its data on a persistent volume"
    assert database["spec"]["serviceName"] == f"{module}-db"
    assert find(objects, "Service", f"{module}-db") is not None
    assert find(objects, "NetworkPolicy", f"{module}-db") is not None
    secret_kind = "Secret" if overlay == "base" else "ExternalSecret"
    assert find(objects, secret_kind, f"{module}-database") is not None, f"{module} has no {secret_kind}"


@pytest.mark.parametrize("module", module_services())
def test_database_urls_come_from_the_module_secret(base, module):
    (container,) = containers(find(base, "Deployment", module))
    url = next(e for e in container["env"] if e["name"] == f"{env_prefix(module)}DATABASE_URL")
    expected = {"name": f"{module}-database", "key": f"{env_prefix(module)}DATABASE_URL"}
    assert url["valueFrom"]["secretKeyRef"] == expected
    secret = find(base, "Secret", f"{module}-database")
    data = secret["stringData"]
    assert set(data) == {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", url["valueFrom"]["secretKeyRef"]["key"]}
    parsed = urlsplit(data[f"{env_prefix(module)}DATABASE_URL"])
    assert parsed.scheme == "postgresql+psycopg"
    assert (parsed.hostname, parsed.port, parsed.path) == (f"{module}-db", 5432, f"/{data['POSTGRES_DB']}")
    assert (parsed.username, parsed.password) == (data["POSTGRES_USER"], data["POSTGRES_PASSWORD"])
    postgres = containers(find(base, "StatefulSet", f"{module}-db"))[0]
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in postgres["env"] if "valueFrom" in e}
    assert refs == {f"{module}-database"}


def test_base_secrets_are_clearly_marked_placeholders(base):
    for secret in of_kind(base, "Secret"):
        assert secret["metadata"]["annotations"]["openehr.example/placeholder"].startswith("true")
        assert all("CHANGE-ME" in secret["stringData"][key] for key in secret["stringData"] if "PASSWORD" in key)


def test_production_carries_no_placeholder_secret_and_fetches_them_externally(production):
    assert not of_kind(production, "Secret")
    assert "CHANGE-ME" not in yaml.safe_dump_all(production)
    for external in of_kind(production, "ExternalSecret"):
        spec = external["spec"]
        assert spec["target"]["name"] == external["metadata"]["name"]
        assert spec["secretStoreRef"]["kind"] == "ClusterSecretStore" and spec["secretStoreRef"]["name"]
        assert spec["dataFrom"][0]["extract"]["key"]
    referenced = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for obj in production if pod_spec(obj) for c in containers(obj) for e in c.get("env", []) if "valueFrom" in e
    }
    assert referenced == {e["spec"]["target"]["name"] for e in of_kind(production, "ExternalSecret")}


# --------------------------------------------------------------------------- pods


def workloads(objects):
    return [o for o in objects if pod_spec(o) is not None]


def test_probes_point_at_health_and_ready(rendered):
    _, objects = rendered
    for deployment in of_kind(objects, "Deployment"):
        (container,) = containers(deployment)
        port_names = {p["name"] for p in container["ports"]}
        assert container["livenessProbe"]["httpGet"]["path"] == "/health", deployment["metadata"]["name"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready", deployment["metadata"]["name"]
        assert container["startupProbe"]["httpGet"]["path"] == "/health", deployment["metadata"]["name"]
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert container[probe]["httpGet"]["port"] in port_names
    for database in of_kind(objects, "StatefulSet"):
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert "pg_isready" in " ".join(containers(database)[0][probe]["exec"]["command"])


@pytest.mark.parametrize("module", discover_modules())
def test_each_deployment_runs_its_module_on_its_port(base, module):
    deployment = find(base, "Deployment", module)
    (container,) = containers(deployment)
    assert {"name": "MODULE", "value": module} in container["env"]
    assert container["image"].startswith("openehr-modular-reference:")
    if module in DESIGN_PORTS:
        assert container["ports"][0]["containerPort"] == DESIGN_PORTS[module]


def test_every_container_has_requests_and_limits(rendered):
    _, objects = rendered
    for workload in workloads(objects):
        for container in containers(workload) + pod_spec(workload).get("initContainers", []):
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), f"{workload['metadata']['name']} {kind}"


def test_pods_run_as_non_root_with_a_read_only_root_filesystem(rendered):
    _, objects = rendered
    for workload in workloads(objects):
        spec = pod_spec(workload)
        name = workload["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["enableServiceLinks"] is False, f"{name}: service links inject *_PORT variables"
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        for container in spec["containers"] + spec.get("initContainers", []):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert not any("hostPort" in port for port in container.get("ports", [])), name


def test_services_select_their_pods_and_name_real_ports(rendered):
    _, objects = rendered
    for service in of_kind(objects, "Service"):
        workload = next(
            (w for w in workloads(objects)
             if selector_matches({"matchLabels": service["spec"]["selector"]},
                                 w["spec"]["template"]["metadata"]["labels"])), None)
        assert workload is not None, f"Service {service['metadata']['name']} selects no pods"
        port_names = {p["name"] for c in containers(workload) for p in c.get("ports", [])}
        assert all(port["targetPort"] in port_names for port in service["spec"]["ports"])


def test_selectors_match_their_own_pod_templates(rendered):
    _, objects = rendered
    for workload in workloads(objects):
        assert selector_matches(workload["spec"]["selector"], workload["spec"]["template"]["metadata"]["labels"])
    for budget in of_kind(objects, "PodDisruptionBudget"):
        matched = [w for w in workloads(objects)
                   if selector_matches(budget["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"])]
        assert [w["metadata"]["name"] for w in matched] == [budget["metadata"]["name"]]


def test_module_urls_name_existing_services_and_ports(rendered):
    _, objects = rendered
    for deployment in of_kind(objects, "Deployment"):
        for entry in containers(deployment)[0]["env"]:
            if not entry["name"].endswith("_URL") or "value" not in entry or entry["name"].endswith("PUBLIC_BASE_URL"):
                continue
            url = urlsplit(entry["value"])
            service = find(objects, "Service", url.hostname)
            assert service is not None, f"{entry['name']} names no Service"
            assert url.port in {p["port"] for p in service["spec"]["ports"]}, entry["name"]


def test_clinical_modules_know_demographics_and_the_gateway_knows_every_module(base):
    gateway_env = env_names(containers(find(base, "Deployment", "gateway"))[0])
    for module in module_services():
        assert f"GATEWAY_{module.upper()}_URL" in gateway_env
        module_env = env_names(containers(find(base, "Deployment", module))[0])
        assert f"{env_prefix(module)}MIGRATE_ON_STARTUP" in module_env
        if module != "demographics":
            assert f"{env_prefix(module)}DEMOGRAPHICS_URL" in module_env
    assert "GATEWAY_PUBLIC_BASE_URL" in gateway_env


@pytest.mark.parametrize("module", module_services())
def test_each_module_migrates_its_database_in_an_init_container(rendered, module):
    _, objects = rendered
    deployment = find(objects, "Deployment", module)
    (migrate,) = pod_spec(deployment)["initContainers"]
    (container,) = containers(deployment)
    assert migrate["args"] == ["python", "-m", f"services.{module}", "migrate"]
    assert migrate["image"] == container["image"]
    url = f"{env_prefix(module)}DATABASE_URL"
    assert [e for e in migrate["env"] if e["name"] == url] == [e for e in container["env"] if e["name"] == url]
    assert {"name": f"{env_prefix(module)}MIGRATE_ON_STARTUP", "value": "false"} in container["env"]


@pytest.mark.parametrize("module", module_services())
def test_the_migrate_command_the_manifests_run_exists(module):
    package = ROOT / "services" / module
    if not (package / "app.py").exists():
        pytest.skip(f"services/{module} is not on this branch yet")
    main = package / "__main__.py"
    assert main.exists() and "migrate" in main.read_text(), (
        f"deploy/k8s runs `python -m services.{module} migrate`: services/{module}/__main__.py must provide it")


# --------------------------------------------------------------------------- exposure and scaling


def test_only_the_gateway_is_exposed(rendered):
    _, objects = rendered
    for service in of_kind(objects, "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]["name"]
    (ingress,) = of_kind(objects, "Ingress")
    rules = ingress["spec"]["rules"]
    backends = [path["backend"]["service"]["name"] for rule in rules for path in rule["http"]["paths"]]
    assert backends and set(backends) == {"gateway"}
    assert "defaultBackend" not in ingress["spec"]


def test_the_gateway_scales_with_a_horizontal_pod_autoscaler(rendered):
    _, objects = rendered
    (autoscaler,) = of_kind(objects, "HorizontalPodAutoscaler")
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}
    assert autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
    assert "replicas" not in find(objects, "Deployment", "gateway")["spec"], "the HPA owns the gateway's replicas"
    (container,) = containers(find(objects, "Deployment", "gateway"))
    assert "cpu" in container["resources"]["requests"], "a CPU utilisation target needs a CPU request"


def test_production_runs_several_replicas_spread_over_nodes(production, base):
    autoscaler = of_kind(production, "HorizontalPodAutoscaler")[0]
    assert autoscaler["spec"]["minReplicas"] >= 2
    for module in discover_modules():
        deployment = find(production, "Deployment", module)
        if module != "gateway":
            assert deployment["spec"]["replicas"] >= 2, module
        spread = pod_spec(deployment)["topologySpreadConstraints"]
        hostname = next(c for c in spread if c["topologyKey"] == "kubernetes.io/hostname")
        assert hostname["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": module}
        assert hostname["whenUnsatisfiable"] == "DoNotSchedule"
    for database in of_kind(production, "StatefulSet"):
        assert pod_spec(database)["affinity"]["podAntiAffinity"]


def memory_bytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMGT]i)?", quantity).groups()
    return int(number) * 1024 ** " KMGT".index((unit or " ")[0])


def test_production_limits_are_bigger_than_the_base(production, base):
    for workload in workloads(base):
        name, kind = workload["metadata"]["name"], workload["kind"]
        small = containers(workload)[0]["resources"]["limits"]["memory"]
        big = containers(find(production, kind, name))[0]["resources"]["limits"]["memory"]
        assert memory_bytes(big) > memory_bytes(small), f"{kind}/{name}"


def test_production_ingress_has_a_host_and_tls_and_the_gateway_knows_its_public_url(production):
    (ingress,) = of_kind(production, "Ingress")
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts and all(host and not host.endswith("localhost") for host in hosts)
    assert {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]} == hosts
    assert all(tls["secretName"] for tls in ingress["spec"]["tls"])
    (container,) = containers(find(production, "Deployment", "gateway"))
    public = next(e["value"] for e in container["env"] if e["name"] == "GATEWAY_PUBLIC_BASE_URL")
    assert urlsplit(public).scheme == "https" and urlsplit(public).hostname in hosts


def test_production_uses_a_registry_image(production):
    images = {c["image"] for o in workloads(production) for c in containers(o) if c["name"] != "postgres"}
    assert len(images) == 1
    (image,) = images
    assert "/" in image and not image.endswith(":latest")


# --------------------------------------------------------------------------- settings drift


@pytest.mark.parametrize("module", discover_modules())
def test_environment_variables_exist_in_the_module_settings(base, module):
    """Each <MODULE>_* variable the manifests set names a field of the module's settings (pydantic-settings
    reads `<prefix><field>`). Runs once the module's settings.py is on this branch."""
    settings = ROOT / ("gateway" if module == "gateway" else f"services/{module}") / "settings.py"
    if not settings.exists():
        pytest.skip(f"{settings.relative_to(ROOT)} is not on this branch yet")
    sources = [settings]
    if module != "gateway":  # module settings subclass the kernel's
        sources.append(ROOT / "services" / "kernel" / "settings.py")
    text = "\n".join(path.read_text() for path in sources if path.exists())
    fields = {name.upper() for name in re.findall(r"^\s+(\w+)\s*:", text, re.MULTILINE)}
    prefix = env_prefix(module)
    names = {n for n in env_names(containers(find(base, "Deployment", module))[0]) if n.startswith(prefix)}
    unknown = {n for n in names if n.removeprefix(prefix) not in fields}
    assert not unknown, f"{settings.relative_to(ROOT)} has no field for {sorted(unknown)}"
