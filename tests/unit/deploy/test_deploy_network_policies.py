"""The NetworkPolicies allow exactly the architecture's flows, checked by evaluating them over pods
labelled like the rendered workloads (both the allowed pairs and every other pair)."""

from __future__ import annotations

import itertools

import pytest
from deploytools import (
    K8S_BASE,
    K8S_PRODUCTION,
    NetworkPolicies,
    Pod,
    discover_modules,
    find,
    module_services,
    of_kind,
    pod,
    pod_spec,
    render,
)

NAMESPACE = "openehr"
INGRESS = pod("ingress-controller", "ingress-nginx", **{"app.kubernetes.io/name": "ingress-nginx"})
DNS = pod("coredns", "kube-system", **{"k8s-app": "kube-dns"})
# Things that must reach nothing here: another pod in the namespace, a pod elsewhere, and a pod
# in the ingress controller's namespace that is not the controller.
STRANGERS = (
    pod("debug", NAMESPACE, run="debug"),
    pod("other-app", "default", **{"app.kubernetes.io/name": "gateway"}),
    pod("other-in-ingress-namespace", "ingress-nginx", **{"app.kubernetes.io/name": "cert-manager"}),
)


def expected_flows(modules: tuple[str, ...]) -> set[tuple[str, str]]:
    """The allowed traffic of the design, by workload name (clinical = every module but demographics)."""
    services = [m for m in modules if m != "gateway"]
    flows = {("ingress-controller", "gateway")}
    flows |= {("gateway", m) for m in services}
    flows |= {(m, "demographics") for m in services if m != "demographics"}
    flows |= {(m, f"{m}-db") for m in services}
    return flows


@pytest.fixture(scope="module", params=["base", "production"])
def cluster(request):
    objects = render(K8S_BASE if request.param == "base" else K8S_PRODUCTION)
    pods = {}
    ports = {}
    for workload in objects:
        spec = pod_spec(workload)
        if spec is None:
            continue
        name = workload["metadata"]["name"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        pods[name] = Pod(name, workload["metadata"]["namespace"], tuple(sorted(labels.items())))
        ports[name] = [p["containerPort"] for p in spec["containers"][0]["ports"]]
    return NetworkPolicies(of_kind(objects, "NetworkPolicy")), pods, ports, objects


def allowed_flows(policies: NetworkPolicies, pods: dict[str, Pod], ports: dict[str, list[int]]) -> set:
    everyone = [*pods.values(), INGRESS, *STRANGERS]
    return {
        (source.name, destination.name)
        for source, destination in itertools.product(everyone, pods.values())
        if source != destination and any(policies.allows(source, destination, port) for port in ports[destination.name])
    }


def test_the_policies_allow_exactly_the_architecture_flows(cluster):
    policies, pods, ports, _ = cluster
    assert allowed_flows(policies, pods, ports) == expected_flows(discover_modules())


@pytest.mark.parametrize(("source", "destination"), sorted(expected_flows(discover_modules())))
def test_allowed_flow(cluster, source, destination):
    policies, pods, ports, _ = cluster
    caller = INGRESS if source == "ingress-controller" else pods[source]
    assert policies.allows(caller, pods[destination], ports[destination][0])


@pytest.mark.parametrize(
    ("source", "destination"),
    [
        ("ingress-controller", "demographics"),  # only the gateway is exposed
        ("ingress-controller", "journal-db"),
        ("gateway", "journal-db"),  # the gateway never touches a database
        ("journal", "medication"),  # clinical modules call demographics only
        ("referrals", "journal"),
        ("demographics", "journal"),  # demographics calls nobody
        ("journal", "demographics-db"),  # no module reads another module's database
        ("medication", "referrals-db"),
        ("journal-db", "journal"),  # databases call nothing
        ("demographics", "gateway"),  # nothing calls the gateway from inside
    ],
)
def test_denied_flow(cluster, source, destination):
    policies, pods, ports, _ = cluster
    caller = INGRESS if source == "ingress-controller" else pods[source]
    assert not any(policies.allows(caller, pods[destination], port) for port in ports[destination])


def test_allowed_flows_are_open_on_the_callee_port_only(cluster):
    policies, pods, ports, _ = cluster
    assert policies.allows(pods["gateway"], pods["journal"], ports["journal"][0])
    assert not policies.allows(pods["gateway"], pods["journal"], ports["demographics"][0])
    assert not policies.allows(pods["journal"], pods["journal-db"], ports["journal"][0])
    assert not policies.allows(pods["journal"], pods["demographics"], 5432)


def test_strangers_reach_nothing(cluster):
    policies, pods, ports, _ = cluster
    for stranger, target in itertools.product(STRANGERS, pods.values()):
        assert not any(policies.allows(stranger, target, port) for port in ports[target.name]), (stranger, target)


def test_every_pod_resolves_names_and_nothing_else_leaves_the_namespace(cluster):
    policies, pods, _, _ = cluster
    outside = pod("internet", "elsewhere", app="anything")
    for workload in pods.values():
        assert policies.allows_egress(workload, DNS, 53, "UDP") and policies.allows_egress(workload, DNS, 53, "TCP")
        assert not policies.allows_egress(workload, DNS, 443)
        assert not policies.allows_egress(workload, outside, 443), workload.name


def test_everything_is_denied_by_default(cluster):
    policies, pods, _, objects = cluster
    deny = find(objects, "NetworkPolicy", "default-deny-all")
    assert deny["spec"]["podSelector"] == {} and set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    newcomer = pod("newcomer", NAMESPACE, **{"app.kubernetes.io/name": "newcomer"})
    assert not any(policies.allows(p, newcomer, 8080) for p in [*pods.values(), INGRESS])


@pytest.mark.parametrize("module", discover_modules())
def test_every_module_has_its_own_policy(cluster, module):
    _, _, _, objects = cluster
    policy = find(objects, "NetworkPolicy", module)
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": module}}
    if module in module_services():
        assert find(objects, "NetworkPolicy", f"{module}-db") is not None


def test_the_evaluator_is_not_vacuous():
    """Without policies everything flows; with only the default deny nothing does."""
    source = pod("a", NAMESPACE, **{"app.kubernetes.io/name": "a"})
    destination = pod("b", NAMESPACE, **{"app.kubernetes.io/name": "b"})
    assert NetworkPolicies([]).allows(source, destination, 80)
    deny = {"metadata": {"name": "deny", "namespace": NAMESPACE},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    assert not NetworkPolicies([deny]).allows(source, destination, 80)
