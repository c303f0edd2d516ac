"""The example compositions: generated from archetypes/authoring/examples.py, complete, and each
invalid one breaking exactly its named rule (checked with the independent checker in
archetypes/authoring/check.py against the template definitions; the compiled-schema check is
tests/unit/archetypes/test_examples.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archetypes.authoring import adl, examples
from archetypes.authoring.check import check
from archetypes.authoring.definitions import all_templates

EXAMPLES = Path(__file__).resolve().parents[3] / "archetypes" / "examples"
TEMPLATES = {t.template_id: t for t in all_templates()}
RULES = {"wrong_node_id", "missing_mandatory", "occurrences_exceeded", "code_not_in_list", "unit_not_allowed",
         "magnitude_out_of_range", "wrong_type", "malformed_date", "string_pattern", "string_not_in_list",
         "terminology_not_allowed", "careflow_state_mismatch"}


def _valid(template_id: str) -> list[Path]:
    return sorted((EXAMPLES / template_id / "valid").glob("*.json"))


def _expected(template_id: str) -> dict:
    return json.loads((EXAMPLES / template_id / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_each_template_has_enough_examples(template_id: str) -> None:
    assert len(_valid(template_id)) >= 3
    expected = _expected(template_id)
    invalid = sorted(p.name for p in (EXAMPLES / template_id / "invalid").glob("*.json"))
    assert invalid == sorted(expected)
    assert len(invalid) >= 8
    for name, e in expected.items():
        assert name == f"{e['rule']}.json"
        assert e["rule"] in RULES
        assert e["path"].startswith("/") and e["pointer"].startswith("/")


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_every_object_has_a_type(template_id: str) -> None:
    def walk(node, where):
        if isinstance(node, dict):
            assert "_type" in node, where
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    for path in _valid(template_id):
        walk(json.loads(path.read_text(encoding="utf-8")), path.name)


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_valid_examples_pass_the_independent_check(template_id: str) -> None:
    for path in _valid(template_id):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["archetype_details"]["template_id"]["value"] == template_id
        assert check(TEMPLATES[template_id], doc) == [], path.name


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_invalid_examples_break_exactly_their_rule(template_id: str) -> None:
    for name, e in _expected(template_id).items():
        doc = json.loads((EXAMPLES / template_id / "invalid" / name).read_text(encoding="utf-8"))
        issues = check(TEMPLATES[template_id], doc)
        assert issues, name
        assert {(i.rule, i.path, i.pointer) for i in issues} == {(e["rule"], e["path"], e["pointer"])}, name


@pytest.mark.skipif(adl.reference_dir() is None, reason="CKM archetypes not available: example node names "
                    "are read from their terms")
@pytest.mark.parametrize("template_id", TEMPLATES)
def test_committed_examples_equal_generator_output(template_id: str) -> None:
    for rel, doc in examples.build(template_id).items():
        committed = (EXAMPLES / template_id / rel).read_text(encoding="utf-8")
        assert committed == examples.dumps(doc), f"stale {rel}: run python -m archetypes.authoring.examples"


def test_personnummer_in_examples_have_valid_check_digits() -> None:
    from archetypes.authoring.canonical import luhn_check_digit

    for path in _valid("vgr.person.v1"):
        text = path.read_text(encoding="utf-8")
        for doc_id in json.loads(text)["details"]["items"]:
            if doc_id.get("archetype_node_id") != "openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0":
                continue
            ident = doc_id["items"][0]["value"]
            if ident["type"] in ("personnummer", "samordningsnummer"):
                assert ident["issuer"] == "Skatteverket"
                digits = ident["id"].replace("-", "")[2:]
                assert luhn_check_digit(digits[:9]) == digits[9], ident["id"]
