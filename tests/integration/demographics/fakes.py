"""A stand-in for archetypes.validate and the template registry, for tests of the HTTP behaviour."""

from __future__ import annotations

from dataclasses import dataclass

from services.kernel.templates import Template, TemplateRegistry

TEMPLATE_ID = "vgr.person.v1"
FAKE_TEMPLATES = TemplateRegistry(
    [Template(TEMPLATE_ID, "Person", "openEHR-DEMOGRAPHIC-PERSON.person.v0", "2026-11-24")]
)


@dataclass(frozen=True)
class Issue:
    path: str
    pointer: str
    message: str
    keyword: str


def fake_validator(person: dict, template_id: str) -> list[Issue]:
    """A PERSON needs at least one identity (a name); that is all this fake knows."""
    if not person.get("identities"):
        return [Issue("/identities", "/identities", "at least one identity is required", "minItems")]
    return []
