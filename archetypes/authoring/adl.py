"""A focused reader for the parts of CKM ADL 1.4 files the template builder needs.

It reads two things and nothing else:

- the ``ontology.term_definitions`` section: text and description of every at-code per language;
- the node-id skeleton of the ``definition`` section: the set of archetype-relative paths
  (``/activities[at0001]/description[at0002]/items[at0070]``) and, per path, the RM type, so a
  test can prove that every node a template keeps exists in its archetype.

It is not an ADL parser: constraints (code lists, units, ranges) are written by hand in the
template definitions, and the tests check the at-codes of those against this reader.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

_LANG_HEADER = re.compile(r'\["(?P<lang>[A-Za-z][A-Za-z_-]*)"\]\s*=\s*<\s*items\s*=\s*<')
_STRING = r'"((?:[^"\\]|\\.)*)"'
_TERM = re.compile(
    r'\["(?P<code>a[tc]\d+(?:\.\d+)*)"\]\s*=\s*<\s*(?P<body>(?:\w+\s*=\s*<' + _STRING + r'>\s*)+)>',
    re.S,
)
_FIELD = re.compile(r"(\w+)\s*=\s*<" + _STRING + ">", re.S)
_SECTION = re.compile(r"^\t?(\w+)\s*=\s*<", re.M)


@dataclass(frozen=True)
class Term:
    text: str
    description: str


@dataclass
class Values:
    """What an archetype allows as the value of one node (an ELEMENT's data types, the local
    codes and units that appear in its constraint)."""

    types: set[str] = field(default_factory=set)
    local_codes: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)


@dataclass
class Archetype:
    archetype_id: str
    path: Path
    terms: dict[str, dict[str, Term]] = field(default_factory=dict)  # lang -> code -> Term
    node_paths: dict[str, str] = field(default_factory=dict)  # archetype path -> RM type
    slots: dict[str, list[str]] = field(default_factory=dict)  # slot path -> include patterns
    occurrences: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # path -> (lo, hi)
    values: dict[str, Values] = field(default_factory=dict)  # node path -> allowed values

    def term(self, code: str, lang: str = "sv") -> tuple[Term, str]:
        """The term for ``code`` in ``lang``, or in English when the archetype has no such
        translation; returns the term and the language actually used."""
        by_lang = self.terms.get(lang, {})
        if code in by_lang and _plausible(by_lang[code].text, lang):
            return by_lang[code], lang
        return self.terms["en"][code], "en"

    def has_language(self, lang: str) -> bool:
        return bool(self.terms.get(lang))


def _plausible(text: str, lang: str) -> bool:
    # CKM's Swedish translation of PERSON.person.v0 carries a Persian text for at0003; a
    # Swedish term is written in Latin script.
    # Untranslated CKM terms are marked "*Text (en)".
    if text.startswith("*") and text.endswith(")"):
        return False
    if lang == "sv":
        return all(ord(ch) < 0x0600 for ch in text)
    return True


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def read_terms(text: str) -> dict[str, dict[str, Term]]:
    start = text.find("term_definitions")
    if start < 0:
        raise ValueError("no term_definitions section")
    section = text[start:]
    # the section ends where the next top-level ontology section begins
    for m in _SECTION.finditer(section, 1):
        if m.group(1) in ("constraint_definitions", "term_binding", "term_bindings",
                          "constraint_binding", "constraint_bindings"):
            section = section[: m.start()]
            break
    headers = [(m.start(), m.group("lang")) for m in _LANG_HEADER.finditer(section)]
    out: dict[str, dict[str, Term]] = {}
    for m in _TERM.finditer(section):
        lang = None
        for pos, name in headers:
            if pos < m.start():
                lang = name
            else:
                break
        if lang is None:
            continue
        fields = {k: _unescape(v) for k, v in _FIELD.findall(m.group("body"))}
        out.setdefault(lang, {})[m.group("code")] = Term(
            text=" ".join(fields.get("text", "").split()),
            description=" ".join(fields.get("description", "").split()),
        )
    return out


_NODE = re.compile(r"^(?:allow_archetype\s+)?([A-Z][A-Z0-9_]*(?:<[A-Z_]+>)?)(?:\[(at\d+(?:\.\d+)*)\])?")
_NODE_WITH_ID = re.compile(r"^(?:allow_archetype\s+)?[A-Z][A-Z0-9_]*(?:<[A-Z_]+>)?\[at\d+")
_ATTR = re.compile(r"^([a-z_]+)\s+(?:existence|cardinality|matches)")


def _occurrences(line: str) -> tuple[int, int | None]:
    """A node's occurrences; ADL 1.4 reads a node without them as 1..1."""
    m = re.search(r"occurrences matches \{\s*([0-9]+)(?:\s*\.\.\s*([0-9]+|\*))?\s*\}", line)
    if m is None:
        return (1, 1)
    lo = int(m.group(1))
    if m.group(2) is None:
        return (lo, lo)
    return (lo, None if m.group(2) == "*" else int(m.group(2)))


_DV = re.compile(r"\b(C_DV_QUANTITY|C_DV_ORDINAL|DV_[A-Z_]+(?:<[A-Z_]+>)?)")


def read_node_paths(text: str, slots: dict[str, list[str]] | None = None,
                    occurrences: dict[str, tuple[int, int | None]] | None = None,
                    values: dict[str, Values] | None = None) -> dict[str, str]:
    """Archetype-relative paths of every node with a node id in the definition section; the
    include patterns of every archetype slot go to ``slots`` (path -> regexes), the occurrences
    of every node to ``occurrences``."""
    start = text.index("\ndefinition")
    end = text.index("\nontology", start)
    body = text[start + len("\ndefinition"): end]
    paths: dict[str, str] = {}
    # stack entries: ("attr", name) | ("node", path_or_None); each opened by one "{" that
    # ends a line ("matches {"), inline {..} pairs (occurrences, lists) are skipped.
    stack: list[tuple[str, str | None]] = []
    last_slot: str | None = None
    in_local = False
    for raw in body.splitlines():
        line = re.sub(r"\s--.*$", "", raw).strip()
        if not line:
            continue
        if values is not None:
            owner = next((v for k, v in reversed(stack) if k == "node" and v is not None), None)
            if owner is not None and not _NODE_WITH_ID.match(line):
                spec = values.setdefault(owner, Values())
                spec.types.update(_DV.findall(line))
                spec.units.update(re.findall(r'units = <"([^"]*)">', line))
                if "[local::" in line:
                    in_local = True
                    line_codes = line.split("[local::", 1)[1]
                else:
                    line_codes = line
                if in_local:
                    spec.local_codes.update(re.findall(r"\bat\d{4}(?:\.\d+)*\b", line_codes))
                    if "]" in line_codes:
                        in_local = False
        inc = re.match(r"archetype_id/value matches \{/(.*)/\}$", line)
        if inc and last_slot is not None and slots is not None:
            slots.setdefault(last_slot, []).append(inc.group(1))
            continue
        occ = _occurrences(line)
        # drop balanced inline braces: occurrences matches {0..1}, cardinality {1..*; ordered}
        while True:
            new = re.sub(r"\{[^{}]*\}", "", line)
            if new == line:
                break
            line = new
        opens = line.count("{")
        closes = line.count("}")
        if opens:
            m_attr = _ATTR.match(line)
            m_node = _NODE.match(line)
            if m_attr and not m_node:
                stack.append(("attr", m_attr.group(1)))
            elif m_node:
                rm, code = m_node.group(1), m_node.group(2)
                parent_attr = next((v for k, v in reversed(stack) if k == "attr"), None)
                base = next((v for k, v in reversed(stack) if k == "node" and v is not None), "")
                if code and parent_attr is not None:
                    path = f"{base}/{parent_attr}[{code}]"
                    paths[path] = rm
                    if occurrences is not None:
                        occurrences[path] = occ
                    last_slot = path if line.startswith("allow_archetype") else None
                    stack.append(("node", path))
                elif code:  # the root
                    stack.append(("node", ""))
                    paths[""] = rm
                else:
                    stack.append(("node", None))
            else:
                stack.append(("other", None))
            opens -= 1
        for _ in range(opens):
            stack.append(("other", None))
        for _ in range(closes):
            if stack:
                stack.pop()
    return paths


def reference_dir() -> Path | None:
    """The folder with the CKM archetypes: $OPENEHR_CKM_DIR, else ``shared/reference/ckm``
    next to the repository or one of its parents."""
    env = os.environ.get("OPENEHR_CKM_DIR")
    if env:
        return Path(env) if Path(env).is_dir() else None
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "reference" / "ckm"
        if candidate.is_dir():
            return candidate
    return None


@cache
def load(archetype_id: str, ckm_dir: str | None = None) -> Archetype:
    folder = Path(ckm_dir) if ckm_dir else reference_dir()
    if folder is None:
        raise FileNotFoundError("CKM archetypes not found: set OPENEHR_CKM_DIR")
    path = folder / f"{archetype_id}.adl"
    text = path.read_text(encoding="utf-8-sig")
    slots: dict[str, list[str]] = {}
    occurrences: dict[str, tuple[int, int | None]] = {}
    values: dict[str, Values] = {}
    nodes = read_node_paths(text, slots, occurrences, values)
    return Archetype(archetype_id, path, read_terms(text), nodes, slots, occurrences, values)
