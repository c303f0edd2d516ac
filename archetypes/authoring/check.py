"""An independent, deliberately simple checker of a composition against a template
*definition* (the Python model, not the OPT), used to prove that the example compositions are
what they claim: valid ones break nothing, each invalid one breaks exactly its named rule.

It is not the project's validator (that is ``archetypes.Validator`` over the compiled JSON
Schema); it knows only the constructs the project's templates use, and RM rules only where the
examples exercise them (ISO 8601 dates, ``_type``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .opt import (
    Attr,
    CBoolean,
    CInteger,
    CodePhrase,
    CReal,
    CString,
    Obj,
    Primitive,
    Quantity,
    Root,
    Template,
)

DATE = re.compile(r"-?\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")
TIME = r"([01]\d|2[0-3])(:[0-5]\d(:[0-5]\d([.,]\d+)?)?)?(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?"
DATE_TIME = re.compile(r"-?\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(T" + TIME + ")?")
FORMATS = {"DV_DATE": DATE, "DV_DATE_TIME": DATE_TIME}


@dataclass(frozen=True)
class Issue:
    rule: str
    path: str
    pointer: str
    message: str


class _Checker:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, rule: str, path: str, pointer: str, message: str) -> None:
        self.issues.append(Issue(rule, path, pointer, message))

    # a JSON object against one template object (Root or Obj)
    def obj(self, node: Root | Obj, data: Any, path: str, ptr: str) -> None:
        if not isinstance(data, dict):
            self.add("wrong_type", path, ptr, "not an object")
            return
        if data.get("_type") != node.rm_type and not (node.rm_type == "EVENT" and data.get("_type") in (
                "POINT_EVENT", "INTERVAL_EVENT")):
            self.add("wrong_type", path, ptr + "/_type", f"_type {data.get('_type')} is not {node.rm_type}")
            return
        fmt = FORMATS.get(node.rm_type)
        if fmt is not None and not (isinstance(data.get("value"), str) and fmt.fullmatch(data["value"])):
            self.add("malformed_date", path, ptr + "/value", f"{data.get('value')!r} is no ISO 8601 value")
        for a in node.attributes:
            self.attribute(a, data, path, ptr)

    def attribute(self, a: Attr, data: dict, path: str, ptr: str) -> None:
        apath, aptr = f"{path}/{a.name}", f"{ptr}/{a.name}"
        if a.name not in data:
            if a.existence[0]:
                self.add("missing_mandatory", apath, ptr, f"{a.name} is mandatory")
            return
        value = data[a.name]
        if a.cardinality is None:
            self.single(a, value, apath, aptr)
        else:
            self.multiple(a, value, apath, aptr)

    def single(self, a: Attr, value: Any, apath: str, aptr: str) -> None:
        kids = a.children
        if len(kids) > 1 and all(isinstance(k, Obj) and k.node_id for k in kids):
            # alternatives told apart by content only (ISM_TRANSITION): one must fit
            for k in kids:
                sub = _Checker()
                sub.obj(k, value, apath, aptr)
                if not sub.issues:
                    return
            self.add("careflow_state_mismatch", apath, aptr, "no allowed careflow step / state pair")
            return
        self.value(kids, value, apath, aptr)

    def value(self, kids: tuple, value: Any, path: str, ptr: str) -> None:
        prims = [k for k in kids if isinstance(k, Primitive)]
        if prims:
            self.primitive(prims[0], value, path, ptr)
            return
        if isinstance(kids[0], CodePhrase):
            self.code_phrase(kids[0], value, path, ptr)
            return
        rm = value.get("_type") if isinstance(value, dict) else None
        for k in kids:
            if isinstance(k, Quantity) and rm == "DV_QUANTITY":
                self.quantity(k, value, path, ptr)
                return
            if isinstance(k, Obj | Root) and k.rm_type == rm:
                key = k.archetype_id if isinstance(k, Root) else k.node_id
                self.obj(k, value, f"{path}[{key}]" if key else path, ptr)
                return
        allowed = [k.rm_type if not isinstance(k, Quantity) else "DV_QUANTITY" for k in kids]
        self.add("wrong_type", path, ptr + "/_type", f"_type {rm} not in {allowed}")

    def multiple(self, a: Attr, items: Any, apath: str, aptr: str) -> None:
        if not isinstance(items, list):
            self.add("wrong_type", apath, aptr, "not an array")
            return
        counts: dict[int, int] = {}
        for i, item in enumerate(items):
            nid = item.get("archetype_node_id") if isinstance(item, dict) else None
            for n, k in enumerate(a.children):
                key = k.archetype_id if isinstance(k, Root) else getattr(k, "node_id", "")
                if (key and key == nid) or (not key and not nid):
                    counts[n] = counts.get(n, 0) + 1
                    seg = f"{apath}[{key}]" if key else apath
                    if isinstance(k, Obj | Root):
                        self.obj(k, item, seg, f"{aptr}/{i}")
                    else:
                        self.value((k,), item, seg, f"{aptr}/{i}")
                    break
            else:
                self.add("wrong_node_id", f"{apath}[{nid}]", f"{aptr}/{i}", f"node {nid} not in the template")
        for n, k in enumerate(a.children):
            lo, hi = k.occurrences if isinstance(k, Obj | Root) else (0, None)
            c = counts.get(n, 0)
            key = k.archetype_id if isinstance(k, Root) else getattr(k, "node_id", "")
            seg = f"{apath}[{key}]" if key else apath
            if lo is not None and c < lo:
                self.add("missing_mandatory", seg, aptr, f"{c} < {lo} occurrences")
            if hi is not None and c > hi:
                self.add("occurrences_exceeded", seg, aptr, f"{c} > {hi} occurrences")
        lo, hi = a.cardinality
        if len(items) < (lo or 0) or (hi is not None and len(items) > hi):
            self.add("cardinality", apath, aptr, f"{len(items)} items outside {a.cardinality}")

    def code_phrase(self, c: CodePhrase, value: Any, path: str, ptr: str) -> None:
        term = (value.get("terminology_id") or {}).get("value")
        if term != c.terminology:
            self.add("terminology_not_allowed", path.rsplit("/", 1)[0], ptr + "/terminology_id/value",
                     f"terminology {term} is not {c.terminology}")
        elif c.codes and value.get("code_string") not in c.codes:
            self.add("code_not_in_list", path.rsplit("/", 1)[0], ptr + "/code_string",
                     f"{value.get('code_string')} not in {list(c.codes)}")

    def quantity(self, q: Quantity, value: dict, path: str, ptr: str) -> None:
        units = value.get("units")
        item = next((i for i in q.items if i.units == units), None)
        if item is None:
            self.add("unit_not_allowed", path, ptr + "/units", f"{units} not in {[i.units for i in q.items]}")
            return
        m = value.get("magnitude")
        if item.magnitude is not None and not _within(m, item.magnitude):
            self.add("magnitude_out_of_range", path, ptr + "/magnitude", f"{m} outside {item.magnitude}")

    def primitive(self, p: Primitive, value: Any, path: str, ptr: str) -> None:
        item = p.item
        parent = path.rsplit("/", 1)[0]
        if isinstance(item, CString):
            if item.values and value not in item.values:
                self.add("string_not_in_list", parent, ptr, f"{value!r} not in {list(item.values)}")
            if item.pattern and not (isinstance(value, str) and re.fullmatch(item.pattern, value)):
                self.add("string_pattern", parent, ptr, f"{value!r} does not match {item.pattern}")
        elif isinstance(item, CInteger | CReal) and not _within(value, item.range):
            self.add("integer_out_of_range", parent, ptr, f"{value} outside {item.range}")
        elif isinstance(item, CBoolean) and value not in (
                [True] * item.true_valid + [False] * item.false_valid):
            self.add("boolean_not_allowed", parent, ptr, f"{value} not allowed")


def _within(v: Any, iv: tuple) -> bool:
    if not isinstance(v, int | float) or isinstance(v, bool):
        return False
    lo, hi = iv
    return (lo is None or v >= lo) and (hi is None or v <= hi)


def check(template: Template, doc: dict) -> list[Issue]:
    c = _Checker()
    root = template.root
    if doc.get("archetype_node_id") != root.archetype_id:
        c.add("wrong_node_id", "/", "/archetype_node_id", "wrong root archetype")
    c.obj(root, doc, "", "")
    return c.issues
