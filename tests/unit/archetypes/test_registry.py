"""Project templates, committed schemas and the validator registry."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import jsonschema
import pytest
from _opt_builder import composition, element, evaluation_template, item, obj, text

import archetypes
from archetypes import _registry
from archetypes.__main__ import main

EXAMPLES = Path(archetypes.__file__).parent / "examples"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A stand-in for archetypes/templates and archetypes/schemas holding one template."""
    templates, schemas = tmp_path / "templates", tmp_path / "schemas"
    templates.mkdir()
    (templates / "test.v1.opt").write_text(evaluation_template(element(obj("DV_TEXT"))))
    monkeypatch.setattr(_registry, "TEMPLATES", templates)
    monkeypatch.setattr(_registry, "SCHEMAS", schemas)
    _registry._load.cache_clear()
    yield tmp_path
    _registry._load.cache_clear()


def test_build_schemas_is_deterministic(project):
    [path] = archetypes.build_schemas()
    first = path.read_text()
    archetypes.build_schemas()
    assert path.read_text() == first and first.endswith("}\n")
    assert (
        path == archetypes.schema_path("test.v1")
        and "openEHR template test.v1 (Test)" in json.loads(first)["$comment"]
    )


def test_registry_validates_by_template_id(project):
    archetypes.build_schemas()
    assert archetypes.template_ids() == ["test.v1"]
    assert archetypes.opt_path("test.v1").is_file()
    assert archetypes.validator_for("test.v1") is archetypes.validator_for("test.v1")
    assert archetypes.validate(composition(item(text("x"))), "test.v1") == []
    assert archetypes.validate(composition(item(text("x"), node_id="at0009")), "test.v1")[0].keyword == "enum"


def test_an_unknown_template_raises_template_not_found(project):
    with pytest.raises(archetypes.TemplateNotFound):
        archetypes.validator_for("nope.v1")
    assert issubclass(archetypes.TemplateNotFound, KeyError)


def test_a_file_name_must_match_its_template_id(project):
    (project / "templates" / "other.v1.opt").write_text(evaluation_template(element(obj("DV_TEXT"))))
    with pytest.raises(ValueError, match="template id"):
        archetypes.build_schemas()


def test_validator_is_shared_between_threads(project):
    archetypes.build_schemas()
    checker = archetypes.validator_for("test.v1")
    good, bad = composition(item(text("x"))), composition(item(text("x"), node_id="at0009"))
    results = []

    def work():
        results.append(all(checker.is_valid(good) and not checker.is_valid(bad) for _ in range(200)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 8


def test_cli_compile_and_build_schemas(project, capsys):
    assert main(["compile", str(project / "templates" / "test.v1.opt")]) == 0
    assert json.loads(capsys.readouterr().out)["$schema"].endswith("2020-12/schema")
    assert main(["compile", str(project / "missing.opt")]) == 1
    assert main(["build-schemas"]) == 0
    assert (project / "schemas" / "test.v1.schema.json").is_file()


# --- the project's committed artefacts (templates written in another branch)


@pytest.mark.parametrize("template_id", archetypes.template_ids())
def test_committed_schema_matches_its_opt(template_id):
    committed = archetypes.schema_path(template_id)
    assert committed.is_file(), f"run: python -m archetypes build-schemas ({committed.name} is missing)"
    assert committed.read_text(encoding="utf-8") == _registry.dumps(
        archetypes.compile_opt(archetypes.opt_path(template_id))
    ), f"{committed.name} drifted from its OPT: run python -m archetypes build-schemas"
    jsonschema.Draft202012Validator.check_schema(json.loads(committed.read_text(encoding="utf-8")))


EXAMPLE_FILES = sorted(EXAMPLES.glob("**/*.json")) if EXAMPLES.is_dir() else []


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_both_engines_agree_on_every_example(example):
    """examples/<template_id>/{valid,invalid}/*.json: same verdict from jsonschema and jsonschema-rs."""
    instance = json.loads(example.read_text(encoding="utf-8"))
    parts = example.relative_to(EXAMPLES).parts
    # examples/<template_id>/... ; a file directly in examples/ names its template itself.
    named = instance.get("archetype_details", {}).get("template_id", {}).get("value")
    template_id = parts[0] if len(parts) > 1 else named
    schema = json.loads(archetypes.schema_path(template_id).read_text(encoding="utf-8"))
    reference = jsonschema.Draft202012Validator(schema).is_valid(instance)
    assert archetypes.validator_for(template_id).is_valid(instance) == reference
    if "valid" in example.parts or "invalid" in example.parts:
        assert reference == ("valid" in example.parts)
