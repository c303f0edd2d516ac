"""The project's OPTs: generated deterministically from their definitions, and every node,
at-code and term comes from its CKM archetype."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from archetypes.authoring import adl
from archetypes.authoring.definitions import all_templates
from archetypes.authoring.opt import NS, CodePhrase, Obj, Root, render, slot_fills, walk

TEMPLATES = Path(__file__).resolve().parents[3] / "archetypes" / "templates"

needs_ckm = pytest.mark.skipif(
    adl.reference_dir() is None,
    reason="CKM archetypes (../shared/reference/ckm or $OPENEHR_CKM_DIR) not available: "
    "the template builder reads at-code terms from them",
)
IDS = [t.template_id for t in all_templates()]


@pytest.mark.parametrize("template_id", IDS)
def test_committed_opt_parses_as_opt_14(template_id: str) -> None:
    doc = etree.parse(str(TEMPLATES / f"{template_id}.opt"))
    root = doc.getroot()
    assert root.tag == f"{{{NS}}}template"
    assert [etree.QName(c).localname for c in root] == [
        "language",
        "description",
        "uid",
        "template_id",
        "concept",
        "definition",
    ]
    assert root.findtext(f"{{{NS}}}template_id/{{{NS}}}value") == template_id
    assert root.findtext(f"{{{NS}}}language/{{{NS}}}code_string") == "sv"
    definition = root.find(f"{{{NS}}}definition")
    names = [etree.QName(c).localname for c in definition]
    assert names[:3] == ["rm_type_name", "occurrences", "node_id"]
    assert names[-1] == "term_definitions"
    assert names.index("archetype_id") < names.index("template_id") < names.index("term_definitions")


@needs_ckm
@pytest.mark.parametrize("template", all_templates(), ids=IDS)
def test_committed_opt_equals_builder_output(template) -> None:
    committed = (TEMPLATES / f"{template.template_id}.opt").read_bytes()
    assert committed == render(template), "stale OPT: run python -m archetypes.authoring"


@needs_ckm
@pytest.mark.parametrize("template", all_templates(), ids=IDS)
def test_every_node_exists_in_its_archetype(template) -> None:
    for arch_id, arch_path, tpl_path, node in walk(template):
        archetype = adl.load(arch_id)
        if isinstance(node, Root):
            assert archetype.node_paths[""] == node.rm_type, tpl_path
        elif isinstance(node, Obj) and node.node_id:
            assert arch_path in archetype.node_paths, f"{tpl_path}: {arch_path} not in {arch_id}"
            assert archetype.node_paths[arch_path] == node.rm_type, tpl_path
        elif isinstance(node, CodePhrase) and node.terminology == "local":
            for code in node.codes:
                assert code in archetype.terms["en"], f"{tpl_path}: {code} not in {arch_id}"


@needs_ckm
@pytest.mark.parametrize("template", all_templates(), ids=IDS)
def test_english_fallback_only_where_the_archetype_has_no_swedish_term(template) -> None:
    render(template)
    for entry in template.fallbacks:
        arch_id, code = entry.split("::")
        sv = adl.load(arch_id).terms.get("sv", {}).get(code)
        # no sv term, an untranslated "*Text (en)" marker, or a non-Latin text in the sv block
        assert sv is None or sv.text.startswith("*") or any(ord(ch) >= 0x0600 for ch in sv.text), entry


@needs_ckm
@pytest.mark.parametrize("template", all_templates(), ids=IDS)
def test_archetypes_fill_slots_that_allow_them(template) -> None:
    for parent_id, slot_path, child_id, tpl_path in slot_fills(template):
        parent = adl.load(parent_id)
        if slot_path.endswith("[None]"):
            # no slot named: the parent archetype leaves that attribute open (COMPOSITION.content)
            attribute_path = slot_path[: -len("[None]")]
            assert not any(p.startswith(attribute_path + "[") for p in parent.node_paths), tpl_path
            continue
        assert slot_path in parent.slots, f"{tpl_path}: {slot_path} is no slot of {parent_id}"
        assert any(re.fullmatch(p, child_id) for p in parent.slots[slot_path]), (
            f"{tpl_path}: {child_id} not allowed by {parent_id}{slot_path}"
        )
