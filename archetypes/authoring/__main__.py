"""Write every project OPT: ``python -m archetypes.authoring [--check]``."""

from __future__ import annotations

import sys
from pathlib import Path

from . import adl
from .definitions import all_templates
from .opt import CodePhrase, Obj, Quantity, Template, render, walk

OUT = Path(__file__).resolve().parent.parent / "templates"


def paths_table(t: Template) -> str:
    """A Markdown table of the template's ELEMENT paths (for archetypes/README.md)."""
    rows = ["| path | RM type | occ. | name (sv) | constraint |", "|---|---|---|---|---|"]
    for arch, _, tpl_path, n in walk(t):
        if not (isinstance(n, Obj) and n.rm_type == "ELEMENT"):
            continue
        types, cons = [], []
        for v in n.attributes[0].children if n.attributes else ():
            if isinstance(v, Quantity):
                types.append("DV_QUANTITY")
                cons.append("units " + ", ".join(i.units for i in v.items))
                continue
            types.append(v.rm_type)
            for a in v.attributes:
                for c in a.children:
                    if isinstance(c, CodePhrase):
                        cons.append(c.terminology + (" " + ", ".join(c.codes) if c.codes else ""))
                    elif getattr(getattr(c, "item", None), "values", None):
                        cons.append(f"{a.name} in {', '.join(c.item.values)}")
                    elif getattr(getattr(c, "item", None), "pattern", None):
                        cons.append(f"{a.name} ~ `{c.item.pattern}`")
        lo, hi = n.occurrences
        occ = f"{lo}..{'*' if hi is None else hi}"
        name = adl.load(arch).term(n.node_id)[0].text
        rows.append(f"| `{tpl_path}` | {' / '.join(types)} | {occ} | {name} | {'; '.join(cons)} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if "--paths" in argv:
        for t in all_templates():
            print(f"\n#### {t.template_id}\n\n{paths_table(t)}")
        return 0
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
