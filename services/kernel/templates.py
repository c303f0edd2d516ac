"""Which templates a module accepts, and the port through which compositions are validated.

The validator is a port shaped like `archetypes.validate(instance, template_id) -> list[ValidationIssue]`:
each app's composition root passes `archetype_validator` (the real one) and unit tests pass fakes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from lxml import etree

import archetypes
from services.kernel.errors import ErrorDetail, NotFound, UnprocessableEntity
from services.kernel.search import value_at

OPT_NAMESPACE = "http://schemas.openehr.org/v1"


class ValidationIssue(Protocol):
    path: str
    pointer: str
    message: str
    keyword: str


Validator = Callable[[dict, str], Sequence[ValidationIssue]]


@dataclass(frozen=True)
class Template:
    template_id: str
    concept: str
    archetype_id: str
    created_timestamp: str | None
    opt_path: Path | None = None
    schema_path: Path | None = None
    example_path: Path | None = None  # a valid composition, shown in the module's OpenAPI document

    def example(self) -> dict | None:
        if self.example_path is None or not self.example_path.is_file():
            return None
        return json.loads(self.example_path.read_text(encoding="utf-8"))

    def summary(self) -> dict:
        return {
            "template_id": self.template_id,
            "concept": self.concept,
            "archetype_id": self.archetype_id,
            "created_timestamp": self.created_timestamp,
        }

    def opt_xml(self) -> bytes:
        if self.opt_path is None:
            raise NotFound(f"No OPT is available for {self.template_id}", "template_not_found")
        return self.opt_path.read_bytes()

    def json_schema(self) -> dict:
        if self.schema_path is not None and self.schema_path.is_file():
            return json.loads(self.schema_path.read_text(encoding="utf-8"))
        if self.opt_path is not None:
            return archetypes.compile_opt(self.opt_path)
        raise NotFound(f"No JSON Schema is available for {self.template_id}", "template_not_found")

    @classmethod
    def from_opt(
        cls, opt_path: Path, schema_path: Path | None = None, example_path: Path | None = None
    ) -> Template:
        """Reads the summary fields from an OPT 1.4 file."""
        root = etree.parse(str(opt_path)).getroot()
        ns = {"o": OPT_NAMESPACE}

        def text(xpath: str) -> str | None:
            found = root.xpath(xpath, namespaces=ns)
            return found[0].strip() if found else None

        template_id = text("o:template_id/o:value/text()") or opt_path.stem
        return cls(
            template_id=template_id,
            concept=text("o:concept/text()") or template_id,
            archetype_id=text("o:definition/o:archetype_id/o:value/text()") or "",
            created_timestamp=text("o:description/o:other_details[@id='date']/text()")
            or text("o:description/o:other_details[@id='created']/text()"),
            opt_path=opt_path,
            schema_path=schema_path,
            example_path=example_path,
        )


class TemplateRegistry:
    def __init__(self, templates: Iterable[Template]):
        self._templates = {t.template_id: t for t in templates}

    def all(self) -> list[Template]:
        return sorted(self._templates.values(), key=lambda t: t.template_id)

    def get(self, template_id: str) -> Template:
        template = self._templates.get(template_id)
        if template is None:
            raise NotFound(f"Template {template_id} is not known to this module", "template_not_found")
        return template

    def accepts(self, template_id: str) -> bool:
        return template_id in self._templates


TEMPLATE_ID_PATH = "/archetype_details/template_id/value"


def template_id_of(composition: dict) -> str:
    template_id = value_at(composition, "archetype_details", "template_id", "value")
    if not isinstance(template_id, str) or not template_id:
        raise UnprocessableEntity(
            "The composition names no template (archetype_details.template_id.value)",
            [ErrorDetail(TEMPLATE_ID_PATH, TEMPLATE_ID_PATH, "required")],
            "template_missing",
        )
    return template_id


def check_against_template(composition: dict, registry: TemplateRegistry, validator: Validator) -> str:
    """The composition's template id once the validator found nothing wrong (else 422, every issue)."""
    template_id = template_id_of(composition)
    if not registry.accepts(template_id):
        accepted = ", ".join(t.template_id for t in registry.all())
        raise UnprocessableEntity(
            f"Template {template_id} is not accepted here (accepted: {accepted})",
            [ErrorDetail(TEMPLATE_ID_PATH, TEMPLATE_ID_PATH, "unknown template")],
            "unknown_template",
        )
    issues = validator(composition, template_id)
    if issues:
        raise UnprocessableEntity(
            f"The composition violates template {template_id} ({len(issues)} issue(s))",
            [
                ErrorDetail(i.path, i.pointer, f"{i.message} [{i.keyword}]" if i.keyword else i.message)
                for i in issues
            ],
        )
    return template_id


def project_templates(template_ids: Iterable[str]) -> TemplateRegistry:
    """The project's templates with these ids, from `archetypes/templates/` (missing ones: not accepted)."""
    paths = [(archetypes.opt_path(t), archetypes.schema_path(t), _first_valid_example(t)) for t in template_ids]
    return TemplateRegistry(Template.from_opt(*files) for files in paths if files[0].is_file())


def _first_valid_example(template_id: str) -> Path | None:
    """The first of the template's valid example compositions (`archetypes/examples/<id>/valid/`)."""
    folder = archetypes.opt_path(template_id).parent.parent / "examples" / template_id / "valid"
    return min(folder.glob("*.json"), default=None)


@cache
def _compiled(template_id: str) -> archetypes.Validator:
    try:
        return archetypes.validator_for(template_id)
    except archetypes.TemplateNotFound:
        # No committed schema (yet): compile the OPT once per process instead.
        return archetypes.Validator(archetypes.compile_opt(archetypes.opt_path(template_id)))


def archetype_validator(composition: dict, template_id: str) -> list[ValidationIssue]:
    """The real validator (`Validator` port): the archetype toolchain's, for the project's templates."""
    return _compiled(template_id).issues(composition)
