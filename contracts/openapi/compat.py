"""Breaking changes between two versions of a module's OpenAPI 3.x document, for its clients.

No well-kept Python tool compares OpenAPI 3.1 documents (oasdiff is a Go program, openapi-diff a Java
one with partial 3.1 support), so this is a focused one with the rules a client of our modules feels:

- an operation (path + method) was removed;
- a success (2xx) status code of an operation, or a media type of one, was removed;
- a response property a client may read was removed, stopped being always present, or changed type;
- a request parameter or body became required, or a new required parameter or body field appeared;
- a request constraint was tightened: enum values removed, type narrowed, a length, size or range
  bound lowered/raised or added, a pattern or format added or changed, extra properties forbidden.

Requests are compared contravariantly (the new document must accept everything the old one did),
responses covariantly (everything the new one may answer, the old one already allowed).
`$ref`s are resolved in each document; `anyOf`/`oneOf` branches count as the union of their types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Bounds a request may not tighten: (keyword, "lower" when lowering it tightens, else "raise").
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")


@dataclass(frozen=True, order=True)
class BreakingChange:
    where: str  # "POST /ehr/{ehr_id}/composition"
    rule: str  # "removed-operation", "request-required", ...
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message} [{self.rule}]"


def breaking_changes(old: dict, new: dict) -> list[BreakingChange]:
    """Every change from `old` to `new` that can break a client written against `old`, sorted."""
    found: list[BreakingChange] = []
    old_paths, new_paths = old.get("paths", {}), new.get("paths", {})
    for path, old_item in old_paths.items():
        new_item = new_paths.get(path)
        for method in METHODS:
            if method not in old_item:
                continue
            where = f"{method.upper()} {path}"
            if new_item is None or method not in new_item:
                gone = "path" if new_item is None else "operation"
                found.append(BreakingChange(where, "removed-operation", f"the {gone} was removed"))
                continue
            differ = _Differ(old, new, where, found)
            differ.parameters(
                _parameters(old, old_item, old_item[method]), _parameters(new, new_item, new_item[method])
            )
            differ.request_body(old_item[method].get("requestBody"), new_item[method].get("requestBody"))
            differ.responses(old_item[method].get("responses", {}), new_item[method].get("responses", {}))
    return sorted(set(found))


def report(changes: list[BreakingChange], *, old: str = "old", new: str = "new") -> str:
    if not changes:
        return f"{new} is backward compatible with {old}"
    lines = [f"{len(changes)} breaking change(s) from {old} to {new}:"]
    lines += [f"  - {change}" for change in changes]
    return "\n".join(lines)


def _parameters(document: dict, path_item: dict, operation: dict) -> dict[tuple[str, str], dict]:
    """Path-level parameters overridden by operation-level ones, keyed by (in, name)."""
    result = {}
    for parameter in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        parameter = _resolve(document, parameter)
        name = parameter["name"].lower() if parameter.get("in") == "header" else parameter["name"]
        result[(parameter.get("in", ""), name)] = parameter
    return result


def _resolve(document: dict, node: Any) -> Any:
    seen = set()
    while isinstance(node, dict) and "$ref" in node and node["$ref"] not in seen:
        seen.add(node["$ref"])
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        node = target
    return node


class _Differ:
    def __init__(self, old: dict, new: dict, where: str, found: list[BreakingChange]):
        self.old, self.new, self.where, self.found = old, new, where, found
        self._visited: set[tuple[int, int, str]] = set()

    def add(self, rule: str, message: str) -> None:
        self.found.append(BreakingChange(self.where, rule, message))

    # -- requests ------------------------------------------------------------------------------
    def parameters(self, old: dict, new: dict) -> None:
        for key, parameter in new.items():
            label = f"{key[0]} parameter `{parameter['name']}`"
            before = old.get(key)
            if before is None:
                if parameter.get("required"):
                    self.add("request-required", f"new required {label}")
                continue
            if parameter.get("required") and not before.get("required"):
                self.add("request-required", f"{label} is now required")
            self.request_schema(before.get("schema", {}), parameter.get("schema", {}), label)

    def request_body(self, old: dict | None, new: dict | None) -> None:
        old, new = _resolve(self.old, old), _resolve(self.new, new)
        if new is None:
            return
        if old is None:
            if new.get("required"):
                self.add("request-required", "a request body is now required")
            return
        if new.get("required") and not old.get("required"):
            self.add("request-required", "the request body is now required")
        old_content, new_content = old.get("content", {}), new.get("content", {})
        for media_type, media in old_content.items():
            if media_type not in new_content:
                self.add("request-media-type", f"request body media type {media_type} is no longer accepted")
                continue
            self.request_schema(media.get("schema", {}), new_content[media_type].get("schema", {}), "request body")

    def request_schema(self, old: Any, new: Any, label: str) -> None:
        old, new = _resolve(self.old, old), _resolve(self.new, new)
        if not isinstance(old, dict) or not isinstance(new, dict) or self._seen(old, new, "request"):
            return
        old_types, new_types = _types(self.old, old), _types(self.new, new)
        if old_types is not None and new_types is not None and not old_types <= new_types:
            removed = ", ".join(sorted(old_types - new_types))
            self.add("request-type", f"{label}: no longer accepts type {removed} (now {_names(new_types)})")
        old_enum, new_enum = _enum(self.old, old), _enum(self.new, new)
        if new_enum is not None:
            if old_enum is None:
                self.add("request-constraint", f"{label}: now restricted to the values {sorted(map(str, new_enum))}")
            elif removed_values := [v for v in old_enum if v not in new_enum]:
                self.add("request-constraint", f"{label}: enum values removed: {sorted(map(str, removed_values))}")
        for keyword in _UPPER_BOUNDS:
            before, after = _bound(self.old, old, keyword), _bound(self.new, new, keyword)
            if after is not None and (before is None or after < before):
                self.add("request-constraint", f"{label}: {keyword} tightened from {before} to {after}")
        for keyword in _LOWER_BOUNDS:
            before, after = _bound(self.old, old, keyword), _bound(self.new, new, keyword)
            no_op = keyword.endswith(("Length", "Items", "Properties")) and after == 0  # a count of at least 0
            if after is not None and not no_op and (before is None or after > before):
                self.add("request-constraint", f"{label}: {keyword} tightened from {before} to {after}")
        for keyword in ("pattern", "format"):
            before, after = _bound(self.old, old, keyword), _bound(self.new, new, keyword)
            if after is not None and after != before:
                change = f"added {after!r}" if before is None else f"changed from {before!r} to {after!r}"
                self.add("request-constraint", f"{label}: {keyword} {change}")
        if new.get("additionalProperties") is False and old.get("additionalProperties") is not False:
            self.add("request-constraint", f"{label}: additional properties are no longer accepted")
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name in sorted(new_required - old_required):
            self.add("request-required", f"{label}: field `{name}` is now required")
        old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
        for name, schema in old_properties.items():
            if name in new_properties:
                self.request_schema(schema, new_properties[name], f"{label}.{name}")
        if "items" in old and "items" in new:
            self.request_schema(old["items"], new["items"], f"{label}[]")

    # -- responses -----------------------------------------------------------------------------
    def responses(self, old: dict, new: dict) -> None:
        for status, response in old.items():
            if not str(status).startswith("2"):
                continue
            if status not in new:
                alternatives = sorted(s for s in new if str(s).startswith("2"))
                now = f" (success is now {', '.join(alternatives)})" if alternatives else ""
                self.add("response-status", f"success status {status} is no longer answered{now}")
                continue
            old_content = _resolve(self.old, response).get("content", {})
            new_content = _resolve(self.new, new[status]).get("content", {})
            for media_type, media in old_content.items():
                if media_type not in new_content:
                    self.add("response-media-type", f"{status} response no longer comes as {media_type}")
                    continue
                self.response_schema(
                    media.get("schema", {}), new_content[media_type].get("schema", {}), f"{status} response body"
                )

    def response_schema(self, old: Any, new: Any, label: str) -> None:
        old, new = _resolve(self.old, old), _resolve(self.new, new)
        if not isinstance(old, dict) or not isinstance(new, dict) or self._seen(old, new, "response"):
            return
        old_types, new_types = _types(self.old, old), _types(self.new, new)
        if old_types is not None and (new_types is None or not new_types <= old_types):
            added = _names(new_types - old_types) if new_types is not None else "any type"
            self.add("response-type", f"{label}: may now be {added} (was {_names(old_types)})")
        old_properties, new_properties = _properties(self.old, old), _properties(self.new, new)
        old_required, new_required = _required(self.old, old), _required(self.new, new)
        for name, schema in old_properties.items():
            if name not in new_properties:
                self.add("response-property", f"{label}: property `{name}` was removed")
                continue
            if name in old_required and name not in new_required:
                self.add("response-property", f"{label}: property `{name}` is no longer always present")
            self.response_schema(schema, new_properties[name], f"{label}.{name}")
        if "items" in old and "items" in new:
            self.response_schema(old["items"], new["items"], f"{label}[]")

    def _seen(self, old: dict, new: dict, direction: str) -> bool:
        key = (id(old), id(new), direction)
        if key in self._visited:
            return True
        self._visited.add(key)
        return False


def _branches(document: dict, schema: dict) -> list[dict]:
    """The alternatives of a schema (`anyOf`/`oneOf`), resolved; the schema itself when it has none."""
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if not alternatives:
        return [schema]
    return [b for alternative in alternatives for b in _branches(document, _resolve(document, alternative))]


def _types(document: dict, schema: dict) -> set[str] | None:
    """The JSON types a schema allows; None when unconstrained (any type)."""
    types: set[str] = set()
    for branch in _branches(document, schema):
        kind = branch.get("type")
        if kind is None:
            if "enum" in branch or "const" in branch:
                values = branch.get("enum", [branch.get("const")])
                types |= {_json_type(v) for v in values}
            elif "properties" in branch:
                types.add("object")
            else:
                return None
        else:
            types |= {kind} if isinstance(kind, str) else set(kind)
        if branch.get("nullable"):
            types.add("null")
    if "integer" in types and "number" in types:
        types.discard("integer")
    return types


def _json_type(value: Any) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "boolean"
        case int():
            return "integer"
        case float():
            return "number"
        case str():
            return "string"
        case list():
            return "array"
    return "object"


def _names(types: set[str]) -> str:
    return " or ".join(sorted(types)) or "nothing"


def _enum(document: dict, schema: dict) -> list | None:
    """The allowed values when every non-null alternative lists them (null stays allowed separately)."""
    values: list = []
    for branch in _branches(document, schema):
        if branch.get("type") == "null":
            continue
        if "enum" in branch:
            values += branch["enum"]
        elif "const" in branch:
            values.append(branch["const"])
        else:
            return None
    return values if values or "enum" in schema else None


def _bound(document: dict, schema: dict, keyword: str) -> Any:
    """A keyword's value on the schema or on its only non-null alternative."""
    if keyword in schema:
        return schema[keyword]
    non_null = [b for b in _branches(document, schema) if b.get("type") != "null"]
    return non_null[0].get(keyword) if len(non_null) == 1 else None


def _properties(document: dict, schema: dict) -> dict:
    properties: dict = {}
    for branch in _branches(document, schema):
        properties.update(branch.get("properties", {}))
        for part in branch.get("allOf", []):
            properties.update(_resolve(document, part).get("properties", {}))
    return properties


def _required(document: dict, schema: dict) -> set[str]:
    branches = _branches(document, schema)
    sets = [set(b.get("required", [])) for b in branches if b.get("type") != "null"]
    return set.intersection(*sets) if sets else set()
