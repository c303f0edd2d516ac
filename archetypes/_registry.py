"""The project's templates (``templates/*.opt``) and their committed schemas (``schemas/``)."""

from __future__ import annotations

import json
import pathlib
import threading
from functools import cache

from archetypes import _opt
from archetypes._compiler import compile_template
from archetypes._validator import ValidationIssue, Validator

HERE = pathlib.Path(__file__).parent
TEMPLATES = HERE / "templates"
SCHEMAS = HERE / "schemas"


class TemplateNotFound(KeyError):
    """No template (or no generated schema) with this id."""


def compile_opt(source: str | bytes | pathlib.Path) -> dict:
    """OPT 1.4 XML (a path, or the XML as text or bytes) -> JSON Schema (Draft 2020-12)."""
    return compile_template(_opt.read(source))


def template_ids() -> list[str]:
    return sorted(path.name.removesuffix(".opt") for path in TEMPLATES.glob("*.opt"))


def opt_path(template_id: str) -> pathlib.Path:
    return TEMPLATES / f"{template_id}.opt"


def schema_path(template_id: str) -> pathlib.Path:
    return SCHEMAS / f"{template_id}.schema.json"


def dumps(schema: dict) -> str:
    """The committed form of a schema: deterministic, diff-friendly."""
    return json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def build_schemas(target: pathlib.Path | None = None) -> list[pathlib.Path]:
    """Regenerate ``schemas/<id>.schema.json`` for every template; returns the files written."""
    target = target or SCHEMAS
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for template_id in template_ids():
        template = _opt.read(opt_path(template_id))
        if template.template_id != template_id:
            raise ValueError(
                f"{opt_path(template_id).name} holds template {template.template_id!r}: "
                "the file name must be the template id"
            )
        path = target / f"{template_id}.schema.json"
        path.write_text(dumps(compile_template(template)), encoding="utf-8")
        written.append(path)
    return written


_lock = threading.Lock()


@cache
def _load(template_id: str) -> Validator:
    path = schema_path(template_id)
    if not path.is_file():
        raise TemplateNotFound(template_id)
    return Validator(json.loads(path.read_text(encoding="utf-8")))


def validator_for(template_id: str) -> Validator:
    """The validator of a project template, compiled once per process."""
    with _lock:  # build each validator once even when threads race for it
        return _load(template_id)


def validate(instance: dict, template_id: str) -> list[ValidationIssue]:
    return validator_for(template_id).issues(instance)
