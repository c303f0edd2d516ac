"""The project's OPTs have the XML shape of OPTs exported by real tools: under every kind of
element (tag + xsi:type) they use only child elements the reference OPTs use there (or that the
OPT 1.4 schema allows and the references happen not to: ``details/use``, ``C_STRING/list``), and
in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

REFERENCE = next((p / "shared" / "reference" / "opt" for p in Path(__file__).resolve().parents
                  if (p / "shared" / "reference" / "opt").is_dir()), None)
TEMPLATES = Path(__file__).resolve().parents[2] / "archetypes" / "templates"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
# allowed by the OPT 1.4 XML schema, absent from the reference OPTs
SCHEMA_ALLOWED = {(("details", None), "use"), (("item", "C_STRING"), "list"), (("use", None), None)}

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(REFERENCE is None, reason="reference OPTs (../shared/reference/opt) not available"),
]


def _shape(files):
    children: dict[tuple, set[str]] = {}
    before: dict[tuple, set[tuple[str, str]]] = {}
    for f in files:
        for e in etree.parse(str(f)).iter():
            if not isinstance(e.tag, str):
                continue
            kind = (etree.QName(e).localname, e.get(XSI_TYPE))
            names = [etree.QName(c).localname for c in e if isinstance(c.tag, str)]
            children.setdefault(kind, set()).update(names)
            first: dict[str, int] = {}
            for i, n in enumerate(names):
                first.setdefault(n, i)
            before.setdefault(kind, set()).update((a, b) for a in first for b in first if first[a] < first[b])
    return children, before


def test_project_opts_use_the_reference_element_structure() -> None:
    ref_children, ref_before = _shape(sorted(REFERENCE.glob("*.opt")))
    our_children, our_before = _shape(sorted(TEMPLATES.glob("*.opt")))
    problems = []
    for kind, names in our_children.items():
        if kind not in ref_children:
            if (kind, None) not in SCHEMA_ALLOWED:
                problems.append(f"{kind}: element kind not in the reference OPTs")
            continue
        for name in sorted(names - ref_children[kind]):
            if (kind, name) not in SCHEMA_ALLOWED:
                problems.append(f"{kind}: child {name} not in the reference OPTs")
        for a, b in sorted(our_before.get(kind, ())):
            if (b, a) in ref_before.get(kind, ()) and (a, b) not in ref_before.get(kind, ()):
                problems.append(f"{kind}: {a} before {b}, the references have it the other way")
    assert not problems, "\n".join(problems)
