"""One compact definition per project template; ``ALL`` lists them in a stable order."""

from __future__ import annotations

from ..opt import Template
from . import journal_note, medication_order, person, referral


def all_templates() -> list[Template]:
    return [person.template(), journal_note.template(), medication_order.template(), referral.template()]
