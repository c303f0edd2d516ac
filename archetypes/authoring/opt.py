"""A small model of an operational template and a deterministic OPT 1.4 XML writer.

The XML mirrors what Ocean Template Designer exports (element names and order of the
``http://schemas.openehr.org/v1`` OPT schema): ``template`` > language, description, uid,
template_id, concept, definition; a ``C_ARCHETYPE_ROOT`` writes rm_type_name, occurrences,
node_id, attributes, archetype_id, (template_id at the top) and term_definitions; every
interval is written with its included/unbounded flags.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from . import adl

NS = "http://schemas.openehr.org/v1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
NSMAP = {None: NS, "xsi": XSI, "xsd": XSD}
_XSI_TYPE = f"{{{XSI}}}type"

Interval = tuple[int | float | None, int | float | None]  # None = unbounded


# ----------------------------------------------------------------------------- model


@dataclass
class CString:
    values: tuple[str, ...] = ()
    pattern: str | None = None


@dataclass
class CInteger:
    range: Interval


@dataclass
class CReal:
    range: Interval


@dataclass
class CBoolean:
    true_valid: bool = True
    false_valid: bool = True


@dataclass
class CDateTime:
    kind: str  # C_DATE_TIME | C_DATE | C_TIME | C_DURATION
    pattern: str


@dataclass
class Primitive:
    """C_PRIMITIVE_OBJECT."""

    rm_type: str  # STRING, INTEGER, REAL, BOOLEAN, DATE_TIME, DATE, TIME, DURATION
    item: CString | CInteger | CReal | CBoolean | CDateTime


@dataclass
class CodePhrase:
    """C_CODE_PHRASE: a terminology and, for local/openehr codes, the allowed codes. An
    external terminology (ICD-10-SE, ATC) is written with its terminology id and no list."""

    terminology: str
    codes: tuple[str, ...] = ()


@dataclass
class QuantityItem:
    units: str
    magnitude: Interval | None = None
    precision: Interval | None = None


@dataclass
class Quantity:
    """C_DV_QUANTITY."""

    items: tuple[QuantityItem, ...]
    property: str | None = None  # openehr property code


@dataclass
class Obj:
    """C_COMPLEX_OBJECT."""

    rm_type: str
    node_id: str = ""
    attributes: tuple[Attr, ...] = ()
    occurrences: Interval = (1, 1)


@dataclass
class Root:
    """C_ARCHETYPE_ROOT (the template root, or an archetype used in a slot)."""

    archetype_id: str
    attributes: tuple[Attr, ...] = ()
    occurrences: Interval = (1, 1)
    slot: str | None = None  # the node id of the parent archetype's slot this archetype fills

    @property
    def rm_type(self) -> str:
        return self.archetype_id.split("-", 2)[2].split(".", 1)[0]

    node_id = "at0000"


Child = Obj | Root | Primitive | CodePhrase | Quantity


@dataclass
class Attr:
    """C_SINGLE_ATTRIBUTE, or C_MULTIPLE_ATTRIBUTE when ``cardinality`` is given."""

    name: str
    children: tuple[Child, ...]
    existence: Interval = (0, 1)
    cardinality: Interval | None = None
    ordered: bool = False


@dataclass
class Template:
    template_id: str
    concept: str
    purpose: str
    use: str
    root: Root
    language: str = "sv"
    fallbacks: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- helpers


def attr(name: str, *children: Child, existence: Interval = (0, 1)) -> Attr:
    return Attr(name, tuple(children), existence)


def multi(name: str, *children: Child, existence: Interval = (1, 1), cardinality: Interval = (1, None),
          ordered: bool = False) -> Attr:
    return Attr(name, tuple(children), existence, cardinality, ordered)


def element(node_id: str, *values: Child, occ: Interval = (0, 1), value_existence: Interval = (0, 1)) -> Obj:
    attrs = (attr("value", *values, existence=value_existence),) if values else ()
    return Obj("ELEMENT", node_id, attrs, occ)


def cluster(node_id: str, *items: Child, occ: Interval = (0, 1), cardinality: Interval = (1, None),
            ordered: bool = False) -> Obj:
    return Obj("CLUSTER", node_id, (multi("items", *items, cardinality=cardinality, ordered=ordered),), occ)


def tree(node_id: str, *items: Child, cardinality: Interval = (0, None), ordered: bool = False) -> Obj:
    existence = (0, 1) if cardinality[0] == 0 else (1, 1)
    items_attr = multi("items", *items, existence=existence, cardinality=cardinality, ordered=ordered)
    return Obj("ITEM_TREE", node_id, (items_attr,))


def dv(rm_type: str, *attributes: Attr) -> Obj:
    return Obj(rm_type, "", tuple(attributes))


def text() -> Obj:
    return dv("DV_TEXT")


def coded(terminology: str, *codes: str) -> Obj:
    return dv("DV_CODED_TEXT", attr("defining_code", CodePhrase(terminology, tuple(codes)), existence=(1, 1)))


def string(*values: str, pattern: str | None = None) -> Primitive:
    return Primitive("STRING", CString(tuple(values), pattern))


def identifier(id_pattern: str | None = None, types: tuple[str, ...] = (),
               issuers: tuple[str, ...] = ()) -> Obj:
    attrs = []
    if id_pattern:
        attrs.append(attr("id", string(pattern=id_pattern), existence=(1, 1)))
    if issuers:
        attrs.append(attr("issuer", string(*issuers), existence=(1, 1)))
    if types:
        attrs.append(attr("type", string(*types), existence=(1, 1)))
    return dv("DV_IDENTIFIER", *attrs)


def dv_date() -> Obj:
    return dv("DV_DATE")


def dv_date_time() -> Obj:
    return dv("DV_DATE_TIME")


def text_matching(pattern: str) -> Obj:
    """DV_TEXT whose value matches a regular expression."""
    return dv("DV_TEXT", attr("value", string(pattern=pattern), existence=(1, 1)))


def run_time_name(*names: str) -> Attr:
    """A run-time name constraint (LOCATABLE.name as DV_TEXT with a C_STRING value list), the
    form Template Designer writes when a template renames a node."""
    return attr("name", dv("DV_TEXT", attr("value", string(*names), existence=(1, 1))), existence=(1, 1))


def count(lower: int | None, upper: int | None = None) -> Obj:
    return dv("DV_COUNT", attr("magnitude", Primitive("INTEGER", CInteger((lower, upper))), existence=(1, 1)))


def boolean(true_valid: bool = True, false_valid: bool = True) -> Obj:
    value = Primitive("BOOLEAN", CBoolean(true_valid, false_valid))
    return dv("DV_BOOLEAN", attr("value", value, existence=(1, 1)))


def ism(step: str, state: str) -> Obj:
    """An ISM_TRANSITION alternative: careflow step (local at-code) with its openEHR state."""
    return Obj("ISM_TRANSITION", step, (
        attr("current_state", coded("openehr", state), existence=(1, 1)),
        attr("careflow_step", coded("local", step), existence=(0, 1)),
    ))


# ----------------------------------------------------------------------------- writer


def _num(v: int | float) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _interval(parent: etree._Element, tag: str, iv: Interval) -> etree._Element:
    lo, hi = iv
    e = etree.SubElement(parent, tag)
    if lo is not None:
        etree.SubElement(e, "lower_included").text = "true"
    if hi is not None:
        etree.SubElement(e, "upper_included").text = "true"
    etree.SubElement(e, "lower_unbounded").text = "false" if lo is not None else "true"
    etree.SubElement(e, "upper_unbounded").text = "false" if hi is not None else "true"
    if lo is not None:
        etree.SubElement(e, "lower").text = _num(lo)
    if hi is not None:
        etree.SubElement(e, "upper").text = _num(hi)
    return e


def _sub(parent: etree._Element, tag: str, text: str | None = None, xsi_type: str | None = None,
         **attrib: str) -> etree._Element:
    e = etree.SubElement(parent, tag, attrib)
    if xsi_type:
        e.set(_XSI_TYPE, xsi_type)
    if text is not None:
        e.text = text
    return e


class _Writer:
    def __init__(self, template: Template):
        self.t = template
        self.fallbacks: set[str] = set()

    # object-level header shared by every C_OBJECT
    def _head(self, e: etree._Element, rm_type: str, occ: Interval, node_id: str) -> None:
        _sub(e, "rm_type_name", rm_type)
        _interval(e, "occurrences", occ)
        _sub(e, "node_id", node_id)

    def child(self, parent: etree._Element, c: Child, codes: set[str], tag: str = "children") -> None:
        if isinstance(c, Root):
            e = _sub(parent, tag, xsi_type="C_ARCHETYPE_ROOT")
            self.root_body(e, c, top=False)
        elif isinstance(c, Obj):
            e = _sub(parent, tag, xsi_type="C_COMPLEX_OBJECT")
            self._head(e, c.rm_type, c.occurrences, c.node_id)
            if c.node_id:
                codes.add(c.node_id)
            for a in c.attributes:
                self.attribute(e, a, codes)
        elif isinstance(c, Primitive):
            e = _sub(parent, tag, xsi_type="C_PRIMITIVE_OBJECT")
            self._head(e, c.rm_type, (1, 1), "")
            self.primitive(e, c.item)
        elif isinstance(c, CodePhrase):
            e = _sub(parent, tag, xsi_type="C_CODE_PHRASE")
            self._head(e, "CODE_PHRASE", (1, 1), "")
            tid = _sub(e, "terminology_id")
            _sub(tid, "value", c.terminology)
            for code in c.codes:
                _sub(e, "code_list", code)
                if c.terminology == "local":
                    codes.add(code)
        elif isinstance(c, Quantity):
            e = _sub(parent, tag, xsi_type="C_DV_QUANTITY")
            self._head(e, "DV_QUANTITY", (1, 1), "")
            if c.property:
                prop = _sub(e, "property")
                _sub(_sub(prop, "terminology_id"), "value", "openehr")
                _sub(prop, "code_string", c.property)
            for q in c.items:
                item = _sub(e, "list")
                if q.magnitude is not None:
                    _interval(item, "magnitude", q.magnitude)
                if q.precision is not None:
                    _interval(item, "precision", q.precision)
                _sub(item, "units", q.units)
        else:  # pragma: no cover - the model is closed
            raise TypeError(f"unknown template node {c!r}")

    def primitive(self, e: etree._Element, item) -> None:
        if isinstance(item, CString):
            it = _sub(e, "item", xsi_type="C_STRING")
            if item.pattern is not None:
                _sub(it, "pattern", item.pattern)
            for v in item.values:
                _sub(it, "list", v)
        elif isinstance(item, CInteger | CReal):
            it = _sub(e, "item", xsi_type="C_INTEGER" if isinstance(item, CInteger) else "C_REAL")
            _interval(it, "range", item.range)
        elif isinstance(item, CBoolean):
            it = _sub(e, "item", xsi_type="C_BOOLEAN")
            _sub(it, "true_valid", "true" if item.true_valid else "false")
            _sub(it, "false_valid", "true" if item.false_valid else "false")
        elif isinstance(item, CDateTime):
            it = _sub(e, "item", xsi_type=item.kind)
            _sub(it, "pattern", item.pattern)
        else:  # pragma: no cover
            raise TypeError(f"unknown primitive {item!r}")

    def attribute(self, parent: etree._Element, a: Attr, codes: set[str]) -> None:
        multiple = a.cardinality is not None
        e = _sub(parent, "attributes", xsi_type="C_MULTIPLE_ATTRIBUTE" if multiple else "C_SINGLE_ATTRIBUTE")
        _sub(e, "rm_attribute_name", a.name)
        _interval(e, "existence", a.existence)
        for c in a.children:
            self.child(e, c, codes)
        if multiple:
            card = _sub(e, "cardinality")
            _sub(card, "is_ordered", "true" if a.ordered else "false")
            _sub(card, "is_unique", "false")
            _interval(card, "interval", a.cardinality)

    def root_body(self, e: etree._Element, r: Root, top: bool) -> None:
        codes: set[str] = {"at0000"}
        self._head(e, r.rm_type, r.occurrences, "at0000")
        for a in r.attributes:
            self.attribute(e, a, codes)
        _sub(_sub(e, "archetype_id"), "value", r.archetype_id)
        if top:
            _sub(_sub(e, "template_id"), "value", self.t.template_id)
        arch = adl.load(r.archetype_id)
        for code in sorted(codes, key=_code_key):
            term, lang = arch.term(code, self.t.language)
            if lang != self.t.language:
                self.fallbacks.add(f"{r.archetype_id}::{code}")
            td = _sub(e, "term_definitions", code=code)
            _sub(td, "items", term.description, id="description")
            _sub(td, "items", term.text, id="text")

    def build(self) -> etree._Element:
        t = self.t
        root = etree.Element("template", nsmap=NSMAP)
        lang = _sub(root, "language")
        _sub(_sub(lang, "terminology_id"), "value", "ISO_639-1")
        _sub(lang, "code_string", t.language)
        desc = _sub(root, "description")
        _sub(desc, "original_author", "Regionens informatikteam (referensarkitektur)", id="Original Author")
        _sub(desc, "original_author", "Västra Götalandsregionen", id="Organisation")
        _sub(desc, "lifecycle_state", "Initial")
        _sub(desc, "other_details", "openEHR CKM (CC-BY-SA 3.0); Swedish terms from the archetypes' sv "
             "translations", id="Acknowledgements")
        _sub(desc, "other_details", "generated by archetypes.authoring from a Python definition; do not edit",
             id="Generator")
        details = _sub(desc, "details")
        dl = _sub(details, "language")
        _sub(_sub(dl, "terminology_id"), "value", "ISO_639-1")
        _sub(dl, "code_string", t.language)
        _sub(details, "purpose", t.purpose)
        _sub(details, "use", t.use)
        uid = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:vgr:template:{t.template_id}")
        _sub(_sub(root, "uid"), "value", str(uid))
        _sub(_sub(root, "template_id"), "value", t.template_id)
        _sub(root, "concept", t.concept)
        definition = _sub(root, "definition")
        self.root_body(definition, t.root, top=True)
        return root


def _code_key(code: str) -> tuple[int, ...]:
    return tuple(int(p) for p in code[2:].split("."))


def render(template: Template) -> bytes:
    """The OPT 1.4 XML of ``template``, byte-for-byte deterministic."""
    w = _Writer(template)
    root = w.build()
    template.fallbacks[:] = sorted(w.fallbacks)
    body = etree.tostring(root, pretty_print=True, encoding="unicode")
    header = ('<?xml version="1.0" encoding="utf-8"?>\n'
              f"<!--Operational template {template.template_id}: generated by python -m archetypes.authoring"
              " from archetypes/authoring/definitions; do not edit by hand-->\n")
    return (header + body).encode("utf-8")


def walk(template: Template) -> Iterable[tuple[str, str, str, Child]]:
    """Every node with its archetype id, its archetype-relative path and its template path
    (openEHR path from the template root)."""

    def rec(node: Child, arch_id: str, arch_path: str, tpl_path: str):
        yield arch_id, arch_path, tpl_path, node
        attrs = node.attributes if isinstance(node, Obj | Root) else ()
        for a in attrs:
            for c in a.children:
                if isinstance(c, Root):
                    yield from rec(c, c.archetype_id, "", f"{tpl_path}/{a.name}[{c.archetype_id}]")
                elif isinstance(c, Obj) and c.node_id:
                    yield from rec(c, arch_id, f"{arch_path}/{a.name}[{c.node_id}]",
                                   f"{tpl_path}/{a.name}[{c.node_id}]")
                else:
                    yield from rec(c, arch_id, f"{arch_path}/{a.name}", f"{tpl_path}/{a.name}")

    yield from rec(template.root, template.root.archetype_id, "", "")


def slot_fills(template: Template) -> Iterable[tuple[str, str, str, str]]:
    """For every archetype used inside another: (parent archetype id, archetype path of the
    slot it fills, its archetype id, template path)."""
    for arch_id, arch_path, tpl_path, node in walk(template):
        attrs = node.attributes if isinstance(node, Obj | Root) else ()
        for a in attrs:
            for c in a.children:
                if isinstance(c, Root):
                    slot_path = f"{arch_path}/{a.name}[{c.slot}]"
                    yield arch_id, slot_path, c.archetype_id, f"{tpl_path}/{a.name}[{c.archetype_id}]"
