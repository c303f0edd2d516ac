"""The compatibility rules, each on a small OLD/NEW pair: the breaking change is found, and the
compatible change next to it is not."""

from __future__ import annotations

import copy
import json

import pytest

from contracts.openapi.__main__ import main
from contracts.openapi.compat import breaking_changes, report


def document(*, parameters=None, body=None, body_required=True, response=None, status="200", extra_paths=None) -> dict:
    operation = {
        "parameters": parameters or [],
        "responses": {status: {"description": "ok", "content": {"application/json": {"schema": response or {}}}}},
    }
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
    paths = {"/things/{id}": {"post": operation}, **(extra_paths or {})}
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths,
            "components": {"schemas": {}}}  # fmt: skip


def query(name, schema, required=False) -> dict:
    return {"in": "query", "name": name, "required": required, "schema": schema}


def rules(old: dict, new: dict) -> list[str]:
    return [change.rule for change in breaking_changes(old, new)]


def messages(old: dict, new: dict) -> str:
    return "\n".join(str(change) for change in breaking_changes(old, new))


def test_identical_documents_are_compatible():
    assert breaking_changes(document(), document()) == []


def test_a_removed_path_or_operation_breaks_an_added_one_does_not():
    old = document(extra_paths={"/other": {"get": {"responses": {"200": {"description": "ok"}}}}})
    assert rules(old, document()) == ["removed-operation"]
    assert "GET /other: the path was removed" in messages(old, document())
    assert breaking_changes(document(), old) == []
    one_method_less = copy.deepcopy(old)
    one_method_less["paths"]["/other"] = {"put": {"responses": {"200": {"description": "ok"}}}}
    assert "GET /other: the operation was removed" in messages(old, one_method_less)


def test_a_removed_or_changed_success_status_breaks_an_error_status_does_not():
    assert rules(document(status="200"), document(status="201")) == ["response-status"]
    assert "success status 200 is no longer answered (success is now 201)" in messages(
        document(status="200"), document(status="201")
    )
    old = document()
    old["paths"]["/things/{id}"]["post"]["responses"]["404"] = {"description": "not found"}
    assert breaking_changes(old, document()) == []


def test_a_removed_response_media_type_breaks():
    old = document()
    old["paths"]["/things/{id}"]["post"]["responses"]["200"]["content"]["application/xml"] = {}
    assert rules(old, document()) == ["response-media-type"]
    assert breaking_changes(document(), old) == []


def test_a_removed_response_property_breaks_an_added_one_does_not():
    old = document(response={"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}})
    new = document(response={"type": "object", "properties": {"a": {"type": "string"}}})
    assert rules(old, new) == ["response-property"]
    assert "200 response body: property `b` was removed" in messages(old, new)
    assert breaking_changes(new, old) == []


def test_a_removed_nested_property_is_found_through_refs_and_arrays():
    def with_item(properties):
        result = document(response={"type": "array", "items": {"$ref": "#/components/schemas/Item"}})
        result["components"]["schemas"]["Item"] = {"type": "object", "properties": properties}
        return result

    old, new = (
        with_item({"uid": {"type": "string"}, "name": {"type": "string"}}),
        with_item({"uid": {"type": "string"}}),
    )
    assert "200 response body[]: property `name` was removed" in messages(old, new)
    assert breaking_changes(new, old) == []


def test_a_response_property_that_is_no_longer_required_breaks():
    old = document(response={"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]})
    new = document(response={"type": "object", "properties": {"a": {"type": "string"}}})
    assert rules(old, new) == ["response-property"]
    assert breaking_changes(new, old) == []


def test_a_response_field_that_may_be_of_a_new_type_breaks_a_narrower_one_does_not():
    old = document(response={"type": "object", "properties": {"a": {"type": "string"}}})
    new = document(response={"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}})
    assert "200 response body.a: may now be null (was string)" in messages(old, new)
    assert breaking_changes(new, old) == []


def test_a_new_required_parameter_breaks_a_new_optional_one_does_not():
    assert rules(document(), document(parameters=[query("q", {"type": "string"}, required=True)])) == [
        "request-required"
    ]
    assert breaking_changes(document(), document(parameters=[query("q", {"type": "string"})])) == []


def test_an_optional_parameter_that_becomes_required_breaks():
    old, new = (
        document(parameters=[query("q", {"type": "string"})]),
        document(parameters=[query("q", {"type": "string"}, required=True)]),
    )
    assert "query parameter `q` is now required" in messages(old, new)
    assert breaking_changes(new, old) == []


def test_a_new_required_body_field_breaks_a_new_optional_one_does_not():
    old = document(body={"type": "object", "properties": {"a": {"type": "string"}}})
    new = document(body={"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                         "required": ["b"]})  # fmt: skip
    assert "request body: field `b` is now required" in messages(old, new)
    optional = document(body={"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}})
    assert breaking_changes(old, optional) == []


def test_a_body_that_becomes_required_breaks():
    old, new = document(body={"type": "object"}, body_required=False), document(body={"type": "object"})
    assert rules(old, new) == ["request-required"]
    assert breaking_changes(new, old) == []


def test_removed_enum_values_break_added_ones_do_not():
    old = document(parameters=[query("status", {"enum": ["active", "stopped"], "type": "string"})])
    new = document(parameters=[query("status", {"enum": ["active"], "type": "string"})])
    assert "query parameter `status`: enum values removed: ['stopped']" in messages(old, new)
    assert breaking_changes(new, old) == []


def test_an_enum_on_a_free_parameter_breaks():
    old = document(parameters=[query("status", {"anyOf": [{"type": "string"}, {"type": "null"}]})])
    new = document(parameters=[query("status", {"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "null"}]})])
    assert rules(old, new) == ["request-constraint"]
    assert breaking_changes(new, old) == []


def test_a_narrowed_request_type_breaks_a_widened_one_does_not():
    old = document(parameters=[query("limit", {"type": "number"})])
    new = document(parameters=[query("limit", {"type": "string"})])
    assert "no longer accepts type number (now string)" in messages(old, new)
    nullable = document(parameters=[query("limit", {"anyOf": [{"type": "number"}, {"type": "null"}]})])
    assert breaking_changes(old, nullable) == []
    assert rules(nullable, old) == ["request-type"]


@pytest.mark.parametrize(
    ("keyword", "looser", "tighter"),
    [("maxLength", 20, 10), ("maximum", 1000, 100), ("maxItems", 5, 2), ("minLength", 1, 3), ("minimum", 0, 1)],
)
def test_tightened_request_bounds_break_loosened_ones_do_not(keyword, looser, tighter):
    old = document(body={"type": "object", "properties": {"a": {"type": "string", keyword: looser}}})
    new = document(body={"type": "object", "properties": {"a": {"type": "string", keyword: tighter}}})
    assert f"request body.a: {keyword} tightened from {looser} to {tighter}" in messages(old, new)
    assert breaking_changes(new, old) == []


def test_a_new_bound_pattern_or_closed_object_breaks():
    free = document(body={"type": "object", "properties": {"a": {"type": "string"}}})
    assert rules(free, document(body={"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}})) == [
        "request-constraint"
    ]
    assert rules(free, document(body={"type": "object", "properties": {"a": {"type": "string", "pattern": "^x"}}})) == [
        "request-constraint"
    ]
    closed = document(body={"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False})
    assert "additional properties are no longer accepted" in messages(free, closed)
    assert breaking_changes(closed, free) == []


def test_a_request_media_type_no_longer_accepted_breaks():
    old = document(body={"type": "object"})
    old["paths"]["/things/{id}"]["post"]["requestBody"]["content"]["application/xml"] = {}
    assert rules(old, document(body={"type": "object"})) == ["request-media-type"]


def test_recursive_schemas_terminate():
    def recursive(extra):
        result = document(response={"$ref": "#/components/schemas/Node"})
        node = {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}, **extra}}
        result["components"]["schemas"]["Node"] = node
        return result

    old, new = recursive({"name": {"type": "string"}}), recursive({})
    assert "property `name` was removed" in messages(old, new)


def test_the_report_lists_each_change_and_says_when_there_is_none():
    old = document(response={"type": "object", "properties": {"a": {"type": "string"}}})
    text = report(breaking_changes(old, document(response={"type": "object"})), old="0.1.0", new="HEAD")
    assert text.splitlines()[0] == "1 breaking change(s) from 0.1.0 to HEAD:"
    assert "POST /things/{id}: 200 response body: property `a` was removed [response-property]" in text
    assert report([], old="0.1.0", new="HEAD") == "HEAD is backward compatible with 0.1.0"


def test_the_command_exits_1_on_breaking_changes(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(document(extra_paths={"/gone": {"get": {"responses": {}}}})))
    new.write_text(json.dumps(document()))
    assert main(["compat", str(old), str(new)]) == 1
    assert "GET /gone: the path was removed" in capsys.readouterr().out
    assert main(["compat", str(new), str(old)]) == 0
