"""Issue 2: validations per second of a typical ~4 KB medication order, compiled engine vs the reference.

Both engines validate the same composition against the same committed schema, on one core
(this process), in the same run; the reference `jsonschema` package is the baseline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema

import archetypes
from bench._harness import Results, Row

TEMPLATE = "vgr.medication_order.v1"


def typical_composition() -> tuple[dict, int]:
    """The valid example closest to 4 KB of compact JSON."""
    folder = Path(archetypes.__file__).parent / "examples" / TEMPLATE / "valid"
    candidates = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    best = min(candidates, key=lambda c: abs(len(json.dumps(c, separators=(",", ":"))) - 4096))
    return best, len(json.dumps(best, separators=(",", ":")))


def rate(check, instance, seconds: float) -> float:
    assert check(instance), "the benchmark composition must be valid"
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            check(instance)
        count += 100
    return count / elapsed


def run(results: Results, seconds: float = 3.0) -> None:
    instance, size = typical_composition()
    schema = json.loads(archetypes.schema_path(TEMPLATE).read_text())
    reference = jsonschema.Draft202012Validator(schema)
    fast = archetypes.validator_for(TEMPLATE)
    baseline = rate(reference.is_valid, instance, seconds)
    compiled = rate(fast.is_valid, instance, seconds)
    name = f"validate {TEMPLATE} ({size / 1024:.1f} KB)"
    results.add(Row(name, "jsonschema (reference)", baseline, "validations/s"))
    results.add(Row(name, "compiled engine", compiled, "validations/s", "jsonschema", baseline,
                    compiled / baseline, ">= 100x and >= 20,000/s",
                    compiled / baseline >= 100 and compiled >= 20_000))
