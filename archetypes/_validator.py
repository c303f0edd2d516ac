"""Validate compositions against a compiled schema: jsonschema-rs for speed, openEHR words for errors."""

from __future__ import annotations

import json
from dataclasses import dataclass

import jsonschema_rs


@dataclass(frozen=True)
class ValidationIssue:
    """One violation: where (openEHR path and JSON pointer), what, and which keyword failed."""

    path: str
    pointer: str
    message: str
    keyword: str


class Validator:
    """A compiled schema. Compile once, reuse; safe to share between threads (jsonschema-rs
    validators are immutable once built)."""

    def __init__(self, schema: dict):
        self.schema = schema
        # The plain regex engine: linear-time matching, so a hostile value cannot make a template
        # pattern backtrack for ever; it also proves the schema's patterns are portable.
        self._compiled = jsonschema_rs.Draft202012Validator(
            schema, pattern_options=jsonschema_rs.RegexOptions(), validate_formats=False, offline=True
        )

    def is_valid(self, instance: dict) -> bool:
        return self._compiled.is_valid(instance)

    def issues(self, instance: dict) -> list[ValidationIssue]:
        if self._compiled.is_valid(instance):
            return []
        found = {}
        for error in self._compiled.iter_errors(instance):
            issue = self._issue(instance, error)
            found.setdefault((issue.pointer, issue.keyword, issue.message), issue)
        return sorted(found.values(), key=lambda i: (_pointer_key(i.pointer), i.keyword, i.message))

    def _issue(self, instance: dict, error) -> ValidationIssue:
        location = list(error.instance_path)
        keyword_path = list(error.schema_path)
        keyword = str(keyword_path[-1]) if keyword_path else ""
        if type(error.kind).__name__ == "FalseSchema":
            # A ``false`` schema (an attribute the template forbids) has no keyword of its own.
            keyword, keyword_path = "false", keyword_path + ["false"]
        node = self._node_title(keyword_path) or _node_from_instance(instance, location)
        message = describe(keyword, error, self._keyword_schema(keyword_path), node)
        return ValidationIssue(openehr_path(instance, location), pointer(location), message, keyword)

    def _walk(self, keyword_path: list):
        """The schemas along the failing keyword's location (jsonschema-rs gives it resolved)."""
        schema = self.schema
        yield schema
        for step in keyword_path[:-1]:
            schema = _get(schema, step)
            if schema is None:
                return
            yield schema

    def _keyword_schema(self, keyword_path: list):
        schemas = list(self._walk(keyword_path))
        return schemas[-1] if schemas else None

    def _node_title(self, keyword_path: list) -> str | None:
        title = None
        # A keyword in a shared definition (an RM invariant) is reported where it is defined, under
        # $defs: the root's title there would name the composition, not the node that failed.
        schemas = self._walk(keyword_path)
        if keyword_path[:1] == ["$defs"]:
            next(schemas)
        for schema in schemas:
            named = isinstance(schema, dict) and "title" in schema
            # RM dispatch schemas carry titles too, but they name types, not archetype nodes.
            if named and not str(schema["title"]).endswith("or a subtype"):
                title = schema["title"]
        return title


def _pointer_key(value: str) -> list:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in value.split("/")]


def pointer(location: list) -> str:
    """RFC 6901 JSON pointer."""
    return "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in location)


def openehr_path(instance, location: list) -> str:
    """The openEHR path of a location, from the instance: ``/content[openEHR-EHR-...]/items[at0001]``."""
    # Each attribute is named by the node it holds; list indices fold into that node id.
    path, value = "", instance
    steps = list(location)
    index = 0
    while index < len(steps):
        step = steps[index]
        value = _get(value, step)
        segment = "/" + str(step)
        if index + 1 < len(steps) and isinstance(steps[index + 1], int) and isinstance(value, list):
            index += 1
            value = _get(value, steps[index])
        node_id = value.get("archetype_node_id") if isinstance(value, dict) else None
        path += f"{segment}[{node_id}]" if isinstance(node_id, str) else segment
        index += 1
    return path or "/"


def _get(value, step):
    try:
        return value[step]
    except (KeyError, IndexError, TypeError):
        return None


def _node_from_instance(instance, location: list) -> str | None:
    value, name = instance, None
    for step in [None, *location]:
        value = value if step is None else _get(value, step)
        if isinstance(value, dict) and isinstance(value.get("archetype_node_id"), str):
            text = value.get("name", {}).get("value") if isinstance(value.get("name"), dict) else None
            name = f"{text} ({value['archetype_node_id']})" if text else value["archetype_node_id"]
    return name


def _show(value, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _count_matching(items, contains) -> str:
    """How many list items a ``contains`` key matches (keys test a few properties with const/enum)."""
    if not isinstance(items, list) or not isinstance(contains, dict):
        return "?"
    wanted = contains.get("properties", {})

    def matches(value, schema) -> bool:
        if isinstance(schema, dict) and "properties" in schema:
            return isinstance(value, dict) and all(
                matches(value.get(k), s) for k, s in schema["properties"].items()
            )
        if isinstance(schema, dict) and "const" in schema:
            return value == schema["const"]
        if isinstance(schema, dict) and "enum" in schema:
            return value in schema["enum"]
        return True  # patterns (slots) and negations: not worth re-implementing here

    return str(sum(1 for item in items if isinstance(item, dict) and matches(item, {"properties": wanted})))


def describe(keyword: str, error, schema, node: str | None) -> str:
    """A message an informatician reads: which node, what was expected, what was found."""
    where = f"{node}: " if node else ""
    found = error.instance
    expected = schema.get(keyword) if isinstance(schema, dict) else None
    invariant = schema.get("description", "") if isinstance(schema, dict) else ""
    if keyword in ("required", "not", "anyOf") and invariant.startswith("RM invariant"):
        return f"{where}{invariant}"
    if keyword == "required":
        missing = [k for k in (expected or []) if isinstance(found, dict) and k not in found]
        if missing == ["_type"]:
            return f"{where}'_type' is missing: the RM declares an abstract type here, so data must name one"
        return f"{where}mandatory attribute {', '.join(repr(m) for m in missing) or '?'} is missing"
    if keyword == "const":
        return f"{where}expected {_show(expected)}, found {_show(found)}"
    if keyword == "enum":
        hint = f" ({schema['description']})" if isinstance(schema, dict) and "description" in schema else ""
        return f"{where}{_show(found)} is not one of the allowed values {_show(expected, 400)}{hint}"
    if keyword == "additionalProperties":
        allowed = schema.get("properties", {}) if isinstance(schema, dict) else {}
        extra = [k for k in found if k not in allowed] if isinstance(found, dict) else []
        return f"{where}attribute {', '.join(repr(e) for e in extra)} is not part of this RM type"
    if keyword == "pattern":
        if isinstance(schema, dict) and "description" in schema:
            return f"{where}{_show(found)} is not {schema['description']}"
        return f"{where}{_show(found)} does not have the expected form (pattern {expected})"
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[
            keyword
        ]
        return f"{where}{_show(found)} is out of range: must be {relation} {expected}"
    if keyword in ("minContains", "maxContains"):
        what = schema.get("description", "matching items") if isinstance(schema, dict) else "matching items"
        contains = schema.get("contains") if isinstance(schema, dict) else None
        count = _count_matching(found, contains)
        bound = "at least {} required" if keyword == "minContains" else "at most {} allowed"
        return f"{where}{what}: {bound.format(expected)}, found {count}"
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        return f"{where}cardinality: {bound} {expected} items expected, found {len(found)}"
    if keyword == "type":
        return f"{where}expected a value of JSON type {expected}, found {_show(found)}"
    if keyword in ("anyOf", "not") and isinstance(schema, dict) and "description" in schema:
        return f"{where}{_show(found)} is not allowed here: expected {schema['description']}"
    if keyword == "multipleOf":
        reason = schema.get("description", "the template's precision") if isinstance(schema, dict) else ""
        return f"{where}{_show(found)} must be a multiple of {expected} ({reason})"
    if keyword == "anyOf":
        return f"{where}{_show(found)} matches none of the alternatives the template allows here"
    if keyword == "uniqueItems":
        return f"{where}the items must be unique (the template's cardinality says is_unique)"
    if keyword == "minLength":
        return f"{where}must not be empty"
    if keyword == "false":
        return f"{where}the template does not allow this attribute here, found {_show(found)}"
    return f"{where}{error.message}"
