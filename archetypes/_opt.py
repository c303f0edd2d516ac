"""Read an OPT 1.4 XML document into a small tree model the compiler walks.

Only the parts of the OPT that constrain data are kept. Anything the reader does not know is
reported with its OPT path, so the compiler can never silently drop a constraint.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

from lxml import etree

from archetypes._errors import UnsupportedConstraint

NS = "http://schemas.openehr.org/v1"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_Q = f"{{{NS}}}"

# The elements each kind of C_OBJECT may have. The reader understands all of them; one outside
# this list is a construct it does not know, and reading fails rather than drop a constraint.
_COMMON = {"rm_type_name", "occurrences", "node_id", "attributes"}
_ELEMENTS = {
    "C_COMPLEX_OBJECT": _COMMON,
    "C_ARCHETYPE_ROOT": _COMMON
    | {
        "archetype_id",
        "template_id",
        "term_definitions",
        "term_bindings",
        "constraint_definitions",
        "constraint_bindings",
        "default_values",
    },
    "ARCHETYPE_SLOT": _COMMON | {"includes", "excludes"},
    "ARCHETYPE_INTERNAL_REF": _COMMON | {"target_path"},
    "CONSTRAINT_REF": _COMMON | {"reference"},
    "C_PRIMITIVE_OBJECT": _COMMON | {"item"},
    "C_CODE_PHRASE": _COMMON | {"terminology_id", "code_list", "referenceSetUri", "assumed_value"},
    "C_DV_QUANTITY": _COMMON | {"property", "list", "assumed_value"},
    "C_DV_ORDINAL": _COMMON | {"list", "assumed_value"},
}


@dataclass(frozen=True)
class Interval:
    """An openEHR interval; ``None`` bound means unbounded."""

    lower: float | None = None
    upper: float | None = None
    lower_included: bool = True
    upper_included: bool = True

    def __str__(self) -> str:
        low = "*" if self.lower is None else _num(self.lower)
        high = "*" if self.upper is None else _num(self.upper)
        return f"{low}..{high}"


def _num(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class CAttribute:
    name: str
    is_multiple: bool
    existence: Interval
    children: list[CObject] = field(default_factory=list)
    cardinality: Interval | None = None
    is_ordered: bool = False
    is_unique: bool = False


@dataclass
class CObject:
    """A constraint on one RM object: complex, archetype root, slot, reference or primitive."""

    kind: str  # the xsi:type: C_COMPLEX_OBJECT, C_ARCHETYPE_ROOT, C_STRING...
    rm_type: str
    node_id: str
    occurrences: Interval
    path: str  # OPT path, for messages and internal references
    attributes: list[CAttribute] = field(default_factory=list)
    archetype_id: str | None = None  # C_ARCHETYPE_ROOT
    terms: dict[str, str] = field(default_factory=dict)  # C_ARCHETYPE_ROOT: code -> text
    root: CObject | None = None  # the enclosing archetype root
    detail: dict = field(default_factory=dict)  # kind-specific constraint (primitive, code list...)

    def term(self, code: str) -> str | None:
        """The text of an at/ac-code in this node's archetype (codes are local to an archetype)."""
        root = self if self.archetype_id else self.root
        return None if root is None else root.terms.get(code)


@dataclass
class Template:
    template_id: str
    concept: str
    definition: CObject


def read(source: str | bytes | pathlib.Path) -> Template:
    """Parse an OPT given as a path, XML text or XML bytes."""
    # OPTs come from vendors: no entity expansion, no network (XXE); large trees are fine.
    parser = etree.XMLParser(remove_comments=True, huge_tree=True, resolve_entities=False, no_network=True)
    is_text = isinstance(source, bytes) or (
        isinstance(source, str) and source.lstrip("\ufeff \t\r\n").startswith("<")
    )
    try:
        if is_text:
            data = source.encode() if isinstance(source, str) else source
            document = etree.fromstring(data, parser)
        else:
            document = etree.parse(str(source), parser).getroot()
    except etree.XMLSyntaxError as error:
        raise UnsupportedConstraint(f"not a well-formed OPT: {error}") from None
    if etree.QName(document).localname != "template":
        raise UnsupportedConstraint(f"not an operational template: root element <{document.tag}>")
    template_id = _text(document.find(f"{_Q}template_id/{_Q}value"))
    definition = document.find(f"{_Q}definition")
    if not template_id or definition is None:
        raise UnsupportedConstraint("OPT has no template_id/value or no definition")
    root = _object(definition, "", None, "C_ARCHETYPE_ROOT")
    return Template(template_id, _text(document.find(f"{_Q}concept")) or template_id, root)


def _text(element) -> str | None:
    return None if element is None or element.text is None else element.text.strip()


def _child_text(element, name: str) -> str | None:
    return _text(element.find(_Q + name))


def _bool(element, name: str, default: bool) -> bool:
    value = _child_text(element, name)
    return default if value is None else value == "true"


def interval(element, number=float) -> Interval:
    """An IntervalOf* element (occurrences, existence, range...)."""
    if element is None:
        return Interval()
    # One pass over the (few) children: this runs for every node of OPTs of several MB.
    fields = {
        child.tag[len(_Q) :]: (child.text or "").strip() for child in element.iterchildren(tag=etree.Element)
    }
    lower = None if fields.get("lower_unbounded") == "true" else fields.get("lower")
    upper = None if fields.get("upper_unbounded") == "true" else fields.get("upper")
    return Interval(
        None if lower is None else number(lower),
        None if upper is None else number(upper),
        fields.get("lower_included", "true") == "true",
        fields.get("upper_included", "true") == "true",
    )


def _object(element, parent_path: str, root: CObject | None, kind: str | None = None) -> CObject:
    kind = kind or element.get(_XSI_TYPE, "").split(":")[-1]
    rm_type = _child_text(element, "rm_type_name") or ""
    node_id = _child_text(element, "node_id") or ""
    archetype_id = (
        _child_text(element, "archetype_id/" + _Q + "value") if kind == "C_ARCHETYPE_ROOT" else None
    )
    obj = CObject(
        kind,
        rm_type,
        node_id,
        interval(element.find(_Q + "occurrences"), int),
        parent_path,
        archetype_id=archetype_id,
        root=root,
    )
    if kind == "C_ARCHETYPE_ROOT":
        obj.terms = _terms(element)
        root = obj
    reader = _READERS.get(kind)
    if reader is None:
        raise UnsupportedConstraint(
            f"unknown constraint {kind or element.tag!r} on {rm_type} at {parent_path or '/'}"
        )
    reader(obj, element)
    for attribute in element.iterchildren(_Q + "attributes"):
        obj.attributes.append(_attribute(attribute, obj, root))
    _check_known_elements(element, obj)
    return obj


def _check_known_elements(element, obj: CObject) -> None:
    for child in element.iterchildren(tag=etree.Element):
        name = etree.QName(child).localname
        if name not in _ELEMENTS[obj.kind]:
            raise UnsupportedConstraint(
                f"unknown element <{name}> in {obj.kind} {obj.rm_type} at {obj.path or '/'}"
            )


def _attribute(element, owner: CObject, root: CObject | None) -> CAttribute:
    kind = element.get(_XSI_TYPE, "").split(":")[-1]
    name = _child_text(element, "rm_attribute_name") or ""
    if kind not in ("C_SINGLE_ATTRIBUTE", "C_MULTIPLE_ATTRIBUTE"):
        raise UnsupportedConstraint(
            f"unknown attribute constraint {kind!r} for {name} at {owner.path or '/'}"
        )
    known = {"rm_attribute_name", "existence", "children"} | (
        {"cardinality"} if kind == "C_MULTIPLE_ATTRIBUTE" else set()
    )
    for child in element.iterchildren(tag=etree.Element):
        if child.tag[len(_Q) :] not in known:
            raise UnsupportedConstraint(
                f"unknown element <{etree.QName(child).localname}> in {kind} {name} at {owner.path or '/'}"
            )
    attribute = CAttribute(
        name, kind == "C_MULTIPLE_ATTRIBUTE", interval(element.find(_Q + "existence"), int)
    )
    cardinality = element.find(_Q + "cardinality")
    if cardinality is not None:
        attribute.cardinality = interval(cardinality.find(_Q + "interval"), int)
        attribute.is_ordered = _bool(cardinality, "is_ordered", False)
        attribute.is_unique = _bool(cardinality, "is_unique", False)
    for child in element.iterchildren(_Q + "children"):
        node_id = _child_text(child, "node_id")
        archetype_id = _child_text(child, "archetype_id/" + _Q + "value")
        step = f"{owner.path}/{name}" + (f"[{archetype_id or node_id}]" if (archetype_id or node_id) else "")
        attribute.children.append(_object(child, step, root))
    return attribute


def _terms(element) -> dict[str, str]:
    terms = {}
    for tag in ("term_definitions", "constraint_definitions"):
        for definition in element.iterchildren(_Q + tag):
            for item in definition.iterchildren(_Q + "items"):
                if item.get("id") == "text" and item.text:
                    terms[definition.get("code")] = item.text.strip()
    return terms


# --- kind-specific readers: each stores what the compiler needs in ``detail``


def _read_nothing(obj: CObject, element) -> None:
    return None


def _read_internal_ref(obj: CObject, element) -> None:
    obj.detail["target_path"] = _child_text(element, "target_path")


def _read_constraint_ref(obj: CObject, element) -> None:
    obj.detail["reference"] = _child_text(element, "reference")


def _read_slot(obj: CObject, element) -> None:
    for tag in ("includes", "excludes"):
        obj.detail[tag] = [
            _slot_pattern(expression, obj)
            for assertion in element.iterchildren(_Q + tag)
            for expression in assertion.iterchildren(_Q + "expression")
        ]


def _slot_pattern(expression, obj: CObject) -> str:
    """``archetype_id/value matches {/pattern/}`` -> ``pattern``; any other assertion is unknown."""
    kind = expression.get(_XSI_TYPE, "").split(":")[-1]
    left, right = expression.find(_Q + "left_operand"), expression.find(_Q + "right_operand")
    operator = _child_text(expression, "operator")
    if kind == "EXPR_BINARY_OPERATOR" and operator == "2007" and left is not None and right is not None:
        subject = _child_text(left, "item")
        pattern = right.find(f"{_Q}item/{_Q}pattern")
        if subject == "archetype_id/value" and pattern is not None and pattern.text:
            return "".join(pattern.text.split())
    raise UnsupportedConstraint(
        f"unsupported slot assertion ({kind}, operator {operator}) in "
        f"ARCHETYPE_SLOT {obj.rm_type} at {obj.path}: only "
        f"'archetype_id/value matches {{/pattern/}}' is understood"
    )


def _read_code_phrase(obj: CObject, element) -> None:
    obj.detail["terminology"] = _child_text(element, "terminology_id/" + _Q + "value")
    obj.detail["codes"] = [code.text.strip() for code in element.iterchildren(_Q + "code_list") if code.text]


def _read_quantity(obj: CObject, element) -> None:
    obj.detail["property"] = _child_text(element, "property/" + _Q + "code_string")
    units = []
    for item in element.iterchildren(_Q + "list"):
        parts = {child.tag[len(_Q) :]: child for child in item.iterchildren(tag=etree.Element)}
        unknown = set(parts) - {"magnitude", "precision", "units"}
        if unknown:
            raise UnsupportedConstraint(
                f"unknown element <{sorted(unknown)[0]}> in a C_DV_QUANTITY item at {obj.path}"
            )
        magnitude, precision = parts.get("magnitude"), parts.get("precision")
        units.append(
            {
                "units": _text(parts.get("units")),
                "magnitude": None if magnitude is None else interval(magnitude),
                "precision": None if precision is None else interval(precision, int),
            }
        )
    obj.detail["units"] = units


def _read_ordinal(obj: CObject, element) -> None:
    obj.detail["ordinals"] = [
        (
            int(_child_text(item, "value")),
            _child_text(item, f"symbol/{_Q}defining_code/{_Q}terminology_id/{_Q}value"),
            _child_text(item, f"symbol/{_Q}defining_code/{_Q}code_string"),
        )
        for item in element.iterchildren(_Q + "list")
    ]


_PRIMITIVE_ELEMENTS = {
    "C_STRING": {"list", "pattern", "list_open", "assumed_value"},
    "C_INTEGER": {"list", "range", "assumed_value"},
    "C_REAL": {"list", "range", "assumed_value"},
    "C_BOOLEAN": {"true_valid", "false_valid", "assumed_value"},
    "C_DATE": {"pattern", "range", "timezone_validity", "assumed_value"},
    "C_TIME": {"pattern", "range", "timezone_validity", "assumed_value"},
    "C_DATE_TIME": {"pattern", "range", "timezone_validity", "assumed_value"},
    "C_DURATION": {"pattern", "range", "assumed_value"},
}


def _read_primitive(obj: CObject, element) -> None:
    item = element.find(_Q + "item")
    kind = "" if item is None else item.get(_XSI_TYPE, "").split(":")[-1]
    if kind not in _PRIMITIVE_ELEMENTS:
        raise UnsupportedConstraint(f"unknown primitive constraint {kind!r} on {obj.rm_type} at {obj.path}")
    for child in item.iterchildren(tag=etree.Element):
        name = etree.QName(child).localname
        if name not in _PRIMITIVE_ELEMENTS[kind]:
            raise UnsupportedConstraint(f"unknown element <{name}> in {kind} at {obj.path}")
    number = {"C_INTEGER": int, "C_REAL": float}.get(kind, str)
    detail = {
        "kind": kind,
        "pattern": _child_text(item, "pattern"),
        "list": [number(e.text.strip()) for e in item.iterchildren(_Q + "list") if e.text is not None],
    }
    if item.find(_Q + "range") is not None:
        detail["range"] = interval(item.find(_Q + "range"), number)
    if kind == "C_BOOLEAN":
        detail["true_valid"] = _bool(item, "true_valid", True)
        detail["false_valid"] = _bool(item, "false_valid", True)
    if kind == "C_STRING":
        detail["list_open"] = _bool(item, "list_open", False)
    obj.detail = detail


_READERS = {
    "C_COMPLEX_OBJECT": _read_nothing,
    "C_ARCHETYPE_ROOT": _read_nothing,
    "ARCHETYPE_SLOT": _read_slot,
    "ARCHETYPE_INTERNAL_REF": _read_internal_ref,
    "CONSTRAINT_REF": _read_constraint_ref,
    "C_PRIMITIVE_OBJECT": _read_primitive,
    "C_CODE_PHRASE": _read_code_phrase,
    "C_DV_QUANTITY": _read_quantity,
    "C_DV_ORDINAL": _read_ordinal,
}
