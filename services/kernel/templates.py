"""Which templates a module accepts, and the port through which compositions are validated.

The validator is `archetypes.validate(instance, template_id) -> list[ValidationIssue]`; the kernel
only depends on its shape (`Validator`), and each app's composition root passes the real one in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lxml import etree

from services.kernel.errors import ErrorDetail, NotFound, UnprocessableEntity

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
        if self.schema_path is None:
            raise NotFound(f"No JSON Schema is available for {self.template_id}", "template_not_found")
        return json.loads(self.schema_path.read_text(encoding="utf-8"))

    @classmethod
    def from_opt(cls, opt_path: Path, schema_path: Path | None = None) -> Template:
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
    template_id = (
        composition.get("archetype_details", {}).get("template_id", {}).get("value")
        if isinstance(composition.get("archetype_details"), dict)
        else None
    )
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


ARCHETYPES_DIR = Path(__file__).resolve().parents[2] / "archetypes"


def project_templates(template_ids: Iterable[str], root: Path = ARCHETYPES_DIR) -> TemplateRegistry:
    """The project's templates with these ids: OPT files under `archetypes/`, with committed schemas."""
    wanted = set(template_ids)
    found = []
    for opt_path in sorted(root.rglob("*.opt")):
        template = Template.from_opt(opt_path)
        if template.template_id in wanted:
            schemas = sorted(root.rglob(f"{template.template_id}*.json"))
            found.append(Template.from_opt(opt_path, schemas[0] if schemas else None))
    return TemplateRegistry(found)
