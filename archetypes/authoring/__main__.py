"""Write every project OPT: ``python -m archetypes.authoring [--check]``."""

from __future__ import annotations

import sys
from pathlib import Path

from .definitions import all_templates
from .opt import render

OUT = Path(__file__).resolve().parent.parent / "templates"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    OUT.mkdir(exist_ok=True)
    stale = []
    for t in all_templates():
        data = render(t)
        path = OUT / f"{t.template_id}.opt"
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path.name)
            continue
        path.write_bytes(data)
        note = f" (English fallback: {', '.join(t.fallbacks)})" if t.fallbacks else ""
        print(f"wrote {path.name}{note}")
    if stale:
        print("stale OPTs (run python -m archetypes.authoring):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
