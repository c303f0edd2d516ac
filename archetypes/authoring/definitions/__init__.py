"""One compact definition per project template; ``ALL`` lists them in a stable order."""

from __future__ import annotations

from ..opt import Template
from . import medication_order


def all_templates() -> list[Template]:
    return [medication_order.template()]
