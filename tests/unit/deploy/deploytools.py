"""Helpers for the deploy/ tests: module discovery, a small kustomize renderer, a NetworkPolicy
evaluator and a Dockerfile reader. Offline and pure Python.

The renderer implements exactly the kustomize features deploy/k8s uses (resources, namespace,
images, strategic-merge patches including `$patch: delete`, JSON 6902 patches with a target) and
refuses anything else, so a manifest change that needs more fails loudly instead of rendering
wrongly. When `kubectl` is installed a test compares this renderer's output with `kubectl kustomize`.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S_BASE = DEPLOY / "k8s" / "base"
K8S_PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"

# The design's modules and ports: the minimum every deployment form must cover, whatever the
# services/ folder holds on this branch.
DESIGN_MODULES = ("demographics", "journal", "medication", "referrals")
DESIGN_PORTS = {"gateway": 8080, "demographics": 8081, "journal": 8082, "medication": 8083, "referrals": 8084}


def discover_modules(root: Path = ROOT) -> tuple[str, ...]:
    """The gateway plus every module service: `services/<name>/app.py`, and at least the design's four."""
    found = {path.parent.name for path in (root / "services").glob("*/app.py")}
    return ("gateway", *sorted(set(DESIGN_MODULES) | found))


def module_services(root: Path = ROOT) -> tuple[str, ...]:
    """The modules that own a database (everything but the gateway)."""
    return tuple(name for name in discover_modules(root) if name != "gateway")


def env_prefix(module: str) -> str:
    return module.upper() + "_"


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML and kubectl silently keep the last)."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_documents(path: Path) -> list:
    return [doc for doc in yaml.load_all(path.read_text(), Loader=StrictLoader) if doc is not None]  # noqa: S506


# --------------------------------------------------------------------------- kustomize renderer

SUPPORTED_KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "namespace", "resources", "patches", "images"}
CLUSTER_SCOPED_KINDS = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
    "StorageClass", "PriorityClass", "IngressClass", "ClusterSecretStore", "ClusterIssuer",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
}
# Strategic-merge keys of the Kubernetes lists the patches touch; other lists are replaced whole,
# as kubectl does for lists without a patch merge key.
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
    "volumeMounts": "mountPath", "imagePullSecrets": "name",
}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class UnsupportedKustomization(ValueError):
    pass


def render(directory: Path) -> list[dict]:
    """Render a kustomization directory into its list of objects."""
    (kustomization,) = load_yaml_documents(directory / "kustomization.yaml")
    unknown = set(kustomization) - SUPPORTED_KUSTOMIZATION_FIELDS
    if unknown:
        raise UnsupportedKustomization(f"{directory}: fields this renderer does not implement: {sorted(unknown)}")
    objects: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        objects.extend(render(path) if path.is_dir() else load_yaml_documents(path))
    # kustomize's built-in order: patches, then namespace, then images.
    for patch in kustomization.get("patches", []):
        objects = apply_patch(objects, patch, directory)
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED_KINDS:
                obj.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
    for image in kustomization.get("images", []):
        set_image(objects, image)
    return objects


def apply_patch(objects: list[dict], entry: dict, directory: Path) -> list[dict]:
    unknown = set(entry) - {"path", "patch", "target"}
    if unknown:
        raise UnsupportedKustomization(f"patch fields not implemented: {sorted(unknown)}")
    text = (directory / entry["path"]).read_text() if "path" in entry else entry["patch"]
    documents = [doc for doc in yaml.load_all(text, Loader=StrictLoader) if doc is not None]  # noqa: S506
    if len(documents) == 1 and isinstance(documents[0], list):
        if "target" not in entry:
            raise UnsupportedKustomization("a JSON 6902 patch needs a target")
        targets = [obj for obj in objects if matches_target(obj, entry["target"])]
        if not targets:
            raise UnsupportedKustomization(f"JSON 6902 patch matches nothing: {entry['target']}")
        for obj in targets:
            for operation in documents[0]:
                json6902(obj, operation)
        return objects
    for patch in documents:
        if "target" in entry:
            targets = [obj for obj in objects if matches_target(obj, entry["target"])]
        else:
            targets = [obj for obj in objects if same_object(obj, patch)]
        if len(targets) != 1 and "target" not in entry:
            name = f"{patch.get('kind')}/{patch['metadata']['name']}"
            raise UnsupportedKustomization(f"strategic-merge patch for {name} matches {len(targets)} objects")
        for target in targets:
            if patch.get("$patch") == "delete":
                objects = [obj for obj in objects if obj is not target]
            else:
                merged = strategic_merge(target, patch)
                objects = [merged if obj is target else obj for obj in objects]
    return objects


def group_of(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def same_object(obj: dict, patch: dict) -> bool:
    if obj["kind"] != patch["kind"] or obj["metadata"]["name"] != patch["metadata"]["name"]:
        return False
    if group_of(obj["apiVersion"]) != group_of(patch["apiVersion"]):
        return False
    namespace = patch["metadata"].get("namespace")
    return namespace is None or obj["metadata"].get("namespace") == namespace


def matches_target(obj: dict, target: dict) -> bool:
    unknown = set(target) - {"group", "version", "kind", "name", "namespace"}
    if unknown:
        raise UnsupportedKustomization(f"patch target selectors not implemented: {sorted(unknown)}")
    api_version = obj["apiVersion"]
    checks = {
        "group": group_of(api_version),
        "version": api_version.split("/")[-1],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "namespace": obj["metadata"].get("namespace"),
    }
    return all(checks[key] == value for key, value in target.items())


def strategic_merge(base, patch, key: str | None = None):
    """Kubernetes strategic merge for the shapes used here: maps merge, `null` deletes a field,
    lists with a merge key merge item by item, other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for name, value in patch.items():
            if name.startswith("$"):
                raise UnsupportedKustomization(f"directive {name} inside a patch is not implemented")
            if value is None:
                merged.pop(name, None)
            elif name in merged:
                merged[name] = strategic_merge(merged[name], value, name)
            else:
                merged[name] = copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_KEYS:
        merge_key = MERGE_KEYS[key]
        merged = [copy.deepcopy(item) for item in base]
        for item in patch:
            index = next((i for i, old in enumerate(merged) if old.get(merge_key) == item[merge_key]), None)
            if index is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[index] = strategic_merge(merged[index], item)
        return merged
    return copy.deepcopy(patch)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise UnsupportedKustomization(f"not a JSON pointer: {path}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def json6902(obj: dict, operation: dict) -> None:
    op, parts = operation["op"], _pointer(operation["path"])
    parent = obj
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    if op in ("add", "replace"):
        value = copy.deepcopy(operation["value"])
        if isinstance(parent, list):
            if op == "add":
                parent.insert(len(parent) if last == "-" else int(last), value)
            else:
                parent[int(last)] = value
        else:
            if op == "replace" and last not in parent:
                raise UnsupportedKustomization(f"replace of a missing member: {operation['path']}")
            parent[last] = value
    elif op == "remove":
        if isinstance(parent, list):
            del parent[int(last)]
        else:
            del parent[last]
    else:
        raise UnsupportedKustomization(f"JSON 6902 op {op!r} not implemented")


def pod_spec(obj: dict) -> dict | None:
    if obj["kind"] in POD_TEMPLATE_KINDS:
        return obj["spec"]["template"]["spec"]
    if obj["kind"] == "Pod":
        return obj["spec"]
    return None


def split_image(image: str) -> tuple[str, str]:
    """('registry/name', ':tag' or '@digest' or '')."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, "@" + digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon:]
    return image, ""


def set_image(objects: list[dict], image: dict) -> None:
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            name, suffix = split_image(container["image"])
            if name != image["name"]:
                continue
            if "digest" in image:
                suffix = "@" + image["digest"]
            elif "newTag" in image:
                suffix = f":{image['newTag']}"
            container["image"] = image.get("newName", name) + suffix


def normalized(objects: Iterable[dict]) -> dict[tuple[str, str, str], dict]:
    """Objects by (kind, namespace, name), lists with a merge key sorted by it: order-free comparison."""

    def sort_lists(value, key=None):
        if isinstance(value, dict):
            return {k: sort_lists(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [sort_lists(v) for v in value]
            if key in MERGE_KEYS and all(isinstance(i, dict) for i in items):
                items.sort(key=lambda item: str(item.get(MERGE_KEYS[key])))
            return items
        return value

    return {
        (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): sort_lists(obj)
        for obj in objects
    }


def find(objects: Iterable[dict], kind: str, name: str) -> dict | None:
    return next((obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name), None)


def of_kind(objects: Iterable[dict], kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


# --------------------------------------------------------------------------- NetworkPolicy evaluator


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: tuple[tuple[str, str], ...]
    namespace_labels: tuple[tuple[str, str], ...] = ()

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def namespace_label_map(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **dict(self.namespace_labels)}


def pod(name: str, namespace: str, **labels: str) -> Pod:
    return Pod(name, namespace, tuple(sorted(labels.items())))


def selector_matches(selector: dict | None, labels: dict[str, str]) -> bool:
    """A LabelSelector; `{}` matches everything. Only matchLabels is implemented (and used)."""
    selector = selector or {}
    unknown = set(selector) - {"matchLabels"}
    if unknown:
        raise UnsupportedKustomization(f"label selector fields not implemented by the evaluator: {sorted(unknown)}")
    return all(labels.get(key) == value for key, value in (selector.get("matchLabels") or {}).items())


def peer_matches(peer: dict, policy_namespace: str, other: Pod) -> bool:
    unknown = set(peer) - {"podSelector", "namespaceSelector"}
    if unknown:
        raise UnsupportedKustomization(f"NetworkPolicy peers not implemented by the evaluator: {sorted(unknown)}")
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], other.namespace_label_map):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selector_matches(peer.get("podSelector"), other.label_map) if "podSelector" in peer else True


def ports_match(rule: dict, port: int, protocol: str) -> bool:
    if "ports" not in rule or not rule["ports"]:
        return True
    for entry in rule["ports"]:
        if not isinstance(entry.get("port"), int) and "port" in entry:
            raise UnsupportedKustomization("named ports in NetworkPolicies are not implemented by the evaluator")
        if entry.get("protocol", "TCP") == protocol and entry.get("port", port) == port:
            return True
    return False


@dataclass
class NetworkPolicies:
    policies: list[dict] = field(default_factory=list)

    def selecting(self, target: Pod, policy_type: str) -> list[dict]:
        return [
            policy for policy in self.policies
            if policy["metadata"].get("namespace") == target.namespace
            and selector_matches(policy["spec"].get("podSelector"), target.label_map)
            and policy_type in policy["spec"].get("policyTypes", ["Ingress"])
        ]

    def allows_egress(self, source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
        policies = self.selecting(source, "Egress")
        if not policies:
            return True  # not isolated for egress
        return any(
            ports_match(rule, port, protocol)
            and (not rule.get("to") or any(peer_matches(p, source.namespace, destination) for p in rule["to"]))
            for policy in policies for rule in policy["spec"].get("egress") or []
        )

    def allows_ingress(self, source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
        policies = self.selecting(destination, "Ingress")
        if not policies:
            return True
        return any(
            ports_match(rule, port, protocol)
            and (not rule.get("from") or any(peer_matches(p, destination.namespace, source) for p in rule["from"]))
            for policy in policies for rule in policy["spec"].get("ingress") or []
        )

    def allows(self, source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
        return self.allows_egress(source, destination, port, protocol) and self.allows_ingress(
            source, destination, port, protocol)


# --------------------------------------------------------------------------- Dockerfile reader


@dataclass
class Instruction:
    keyword: str
    arguments: str
    stage: int

    def exec_form(self) -> list[str] | None:
        import json

        text = self.arguments.strip()
        if text.startswith("["):
            return json.loads(text)
        return None


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped; `stage` counts FROMs."""
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    if current:
        logical.append(current)
    instructions, stage = [], -1
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, arguments.strip(), stage))
    return instructions


def resolve_args(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), value)


def copy_sources(instruction: Instruction) -> list[str]:
    """The sources of a COPY from the build context (not --from)."""
    words = shlex.split(instruction.arguments)
    if any(word.startswith("--from") for word in words):
        return []
    words = [word for word in words if not word.startswith("--")]
    return words[:-1]


def dockerignore_included(patterns: list[str], path: str) -> bool:
    """Whether `path` (relative, '/'-separated) reaches the build context: last matching pattern wins,
    a pattern matching a parent folder matches its contents."""
    included = True
    candidates = [path] + ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)]
    for raw in patterns:
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        glob = pattern.replace("**/", "*").replace("**", "*")
        if any(fnmatch.fnmatchcase(candidate, glob) or fnmatch.fnmatchcase(candidate, pattern)
               for candidate in candidates):
            included = negate
    return included
