"""Compile an OPT tree (``_opt``) into a standalone JSON Schema (Draft 2020-12).

Layout of the generated schema:
- ``$defs/RM.<TYPE>``: the RM shape of a concrete type (attributes, mandatory ones, ``_type``);
  ``$defs/RM.<TYPE>.any``: the type or any concrete descendant, dispatched on ``_type``.
  Only the RM types the template reaches are emitted, each once.
- archetype nodes are inlined where they occur, with a ``title`` naming the node (term text and
  code) so that error reports can name it; targets of ARCHETYPE_INTERNAL_REF go to
  ``$defs/node<n>`` so references (and recursion) can point at them.
- a constrained node repeats its RM shape with the constrained attributes substituted, rather
  than ``$ref``-ing the RM type as well: a subtree is then validated once, not once per level.
- alternatives (sibling nodes, RM subtypes) are chosen with if/then on ``archetype_node_id``,
  ``_type``, the run-time name or an ISM careflow step (or state), never with ``oneOf``: a report then
  names the one rule broken, not "valid under none of the schemas".

What JSON Schema cannot say, and so is not enforced (the schema says so in ``$comment``):
ranges on dates, times and durations (ordering ISO 8601 strings), and the number of decimals
for a C_DV_QUANTITY precision above 0 (precision 0 is enforced as an integral magnitude; for n > 0
``multipleOf`` 10^-n would be the keyword, but binary floating point makes it unreliable:
``jsonschema`` rejects 0.3 as a multiple of 0.1, ``jsonschema-rs`` accepts it). Nor is the RM's
DV_INTERVAL Limits_consistent (lower <= upper: two values of the instance compared).
Terminology codes bound by CONSTRAINT_REF (ac-codes) must be well-formed; their membership in
the external value set is for a terminology service to check.
"""

from __future__ import annotations

import json
import re
from collections import Counter

from archetypes import _rm
from archetypes._errors import UnsupportedConstraint
from archetypes._opt import CAttribute, CObject, Interval, Template

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def compile_template(template: Template) -> dict:
    return _Compiler(template).compile()


# What Python's re accepts but Rust's regex crate (and so many JSON Schema engines) does not.
_NOT_PORTABLE = re.compile(r"\(\?<?[=!]|\(\?>|\(\?P=|\\[1-9]|\\g|(?<!\\)[*+?}]\+")


def anchored(pattern: str, where: str) -> str:
    """ADL patterns match the whole value; JSON Schema's ``pattern`` searches."""
    try:
        re.compile(pattern)
    except re.error as error:
        raise UnsupportedConstraint(
            f"regular expression {pattern!r} at {where} is not valid: {error}"
        ) from None
    construct = _NOT_PORTABLE.search(pattern)
    if construct:
        raise UnsupportedConstraint(
            f"regular expression {pattern!r} at {where} uses {construct.group()!r} (look-around, "
            "back-references, atomic or possessive matching), which portable JSON Schema engines "
            "do not support"
        )
    return f"^(?:{pattern})$"


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _bounds(interval: Interval) -> dict:
    schema = {}
    if interval.lower is not None:
        schema["minimum" if interval.lower_included else "exclusiveMinimum"] = interval.lower
    if interval.upper is not None:
        schema["maximum" if interval.upper_included else "exclusiveMaximum"] = interval.upper
    return schema


def _count_bounds(interval: Interval, minimum: str, maximum: str) -> dict:
    """Occurrences/cardinality/existence as min/max keywords (integers, inclusive)."""
    schema = {}
    low = interval.lower if interval.lower_included or interval.lower is None else interval.lower + 1
    high = interval.upper if interval.upper_included or interval.upper is None else interval.upper - 1
    if low:
        schema[minimum] = int(low)
    if high is not None:
        schema[maximum] = int(high)
    return schema


class _Compiler:
    def __init__(self, template: Template):
        self.template = template
        self.defs: dict[str, dict | None] = {}
        self.node_defs: dict[int, str] = {}  # id(target CObject) -> $defs name
        self.ref_targets: set[int] = set()

    # --- entry point

    def compile(self) -> dict:
        root = self.template.definition
        if not root.archetype_id or not _rm.is_known(root.rm_type) or not _rm.is_locatable(root.rm_type):
            raise UnsupportedConstraint(
                "the OPT definition must be an archetype root (archetype_id) "
                f"of a LOCATABLE RM type, found {root.rm_type!r}"
            )
        self._collect_ref_targets(root)
        body = self.node(root)
        # The document names its archetype and the template it was built against: that is how a
        # receiver knows which schema applies.
        details = body["properties"]["archetype_details"]
        details["properties"]["template_id"] = {"properties": {"value": {"const": self.template.template_id}}}
        details["required"] = ["template_id"]
        body["required"] = sorted({*body.get("required", []), "archetype_details"})
        # The root keeps its node title (errors there name the archetype); the template is named here.
        schema = {
            "$schema": DIALECT,
            "$comment": f"openEHR template {self.template.template_id} ({self.template.concept}), compiled "
            "from its OPT 1.4 by archetypes.compile_opt; RM types are in $defs/RM.*",
            **body,
        }
        schema["$defs"] = {name: self.defs[name] for name in sorted(self.defs)}
        return schema

    # --- RM shapes

    def rm_ref(self, rm_type: str) -> dict:
        """Schema for a value declared as ``rm_type``: the type itself or any concrete subtype."""
        if rm_type in _rm.PRIMITIVES:
            return dict(_rm.PRIMITIVES[rm_type])
        base = _rm.base_type(rm_type)
        if base not in _rm.TYPES:
            raise UnsupportedConstraint(f"unknown RM type {rm_type!r}")
        concrete = _rm.concrete_types(base)
        if concrete == (base,):
            return self._shape_ref(base)
        return self._shared(f"RM.{base}.any", lambda: self._dispatch_on_type(base, concrete))

    def _dispatch_on_type(self, base: str, concrete: tuple[str, ...]) -> dict:
        # Most specific first; the declared type itself (if concrete) last, where an absent
        # _type ends up.
        cases = [([t], self._shape_ref(t)) for t in concrete if t != base]
        if base not in _rm.ABSTRACT:
            cases.append(([base], self._shape_ref(base)))
        schema = {
            "title": f"{base} or a subtype",
            "type": "object",
            "properties": {"_type": {"enum": list(concrete)}},
            "allOf": [decision_tree("_type", cases, last_may_be_absent=base not in _rm.ABSTRACT)],
        }
        if base in _rm.ABSTRACT:
            schema["required"] = ["_type"]
        return schema

    def _shape_ref(self, rm_type: str) -> dict:
        return self._shared(f"RM.{rm_type}", lambda: self.shape(rm_type, {}, set()))

    def shape(self, rm_type: str, constrained: dict[str, dict], required: set[str]) -> dict:
        """The RM shape of a concrete type with some attribute schemas replaced by constraints."""
        attributes = _rm.attributes(rm_type)
        properties = {"_type": {"const": rm_type}}
        for name, attribute in attributes.items():
            if name in constrained:
                properties[name] = constrained[name]
            else:
                properties[name] = self.attribute_ref(attribute)
        if rm_type in _rm.VALUE_PATTERNS and "value" not in constrained:
            properties["value"] = {
                "type": "string",
                "pattern": _rm.VALUE_PATTERNS[rm_type],
                "description": _rm.VALUE_FORMATS[rm_type],
            }
            if rm_type == "DV_DURATION":
                properties["value"]["allOf"] = [{"pattern": _rm.DURATION_NOT_EMPTY}]
        for name, codes in ((n, c) for (t, n), c in _rm.OPENEHR_CODES.items() if t == rm_type):
            if name not in constrained:
                properties[name] = self._shared(
                    f"RM.{rm_type}.{name}",
                    lambda codes=codes, name=name: {
                        "allOf": [self.attribute_ref(attributes[name])],
                        "properties": {
                            "defining_code": {
                                "properties": {
                                    "terminology_id": {"properties": {"value": {"const": "openehr"}}},
                                    "code_string": {"enum": codes},
                                }
                            }
                        },
                    },
                )
        mandatory = sorted({n for n, a in attributes.items() if a.mandatory} | required)
        schema = {"type": "object", "properties": properties, "additionalProperties": False}
        if mandatory:
            schema["required"] = mandatory
        if _rm.invariants(rm_type):
            # Shared, not repeated on every node of the type: OPTs have thousands of ELEMENTs.
            schema["allOf"] = [
                self._shared(f"RM.{rm_type}.invariants", lambda: {"allOf": _rm.invariants(rm_type)})
            ]
        return schema

    def _shared(self, name: str, build) -> dict:
        """A ``$ref`` to ``$defs/<name>``, built on first use."""
        if name not in self.defs:
            self.defs[name] = None
            self.defs[name] = build()
        return _ref(name)

    def attribute_ref(self, attribute: _rm.Attribute) -> dict:
        item = self.rm_ref(attribute.rm_type)
        if attribute.non_empty:
            item["minLength"] = 1
        return {"type": "array", "items": item} if attribute.is_list else item

    # --- archetype nodes

    def _collect_ref_targets(self, root: CObject) -> None:
        stack = [root]
        while stack:
            obj = stack.pop()
            if obj.kind == "ARCHETYPE_INTERNAL_REF":
                target = self._resolve(obj)
                obj.detail["target"] = target
                self.ref_targets.add(id(target))
            for attribute in obj.attributes:
                stack.extend(attribute.children)

    def _resolve(self, ref: CObject) -> CObject:
        """Follow ``target_path`` (``/data[at0001]/events[at0002]``). ADL 1.4 paths start at the
        enclosing archetype root; some tools write them from the template root instead."""
        path = ref.detail.get("target_path") or ""
        steps = _PATH_STEP.findall(path)
        outermost = ref.root
        while outermost is not None and outermost.root is not None:
            outermost = outermost.root
        for start in (ref.root, outermost):
            found = _walk(start, steps) if start is not None and steps else None
            if found is not None:
                return found
        raise UnsupportedConstraint(
            f"ARCHETYPE_INTERNAL_REF at {ref.path} points to {path!r}, which is not in its archetype"
        )

    def node(self, obj: CObject) -> dict:
        if obj.kind == "ARCHETYPE_INTERNAL_REF":
            return self.node(obj.detail["target"])
        if id(obj) in self.ref_targets:
            # A target of internal references lives in $defs, so references (and recursion) reach it.
            name = self.node_defs.setdefault(
                id(obj), f"node{len(self.node_defs)}.{obj.node_id or obj.rm_type}"
            )
            return self._shared(name, lambda: self._node_body(obj))
        return self._node_body(obj)

    def title(self, obj: CObject) -> str | None:
        code = obj.archetype_id or obj.node_id
        if not code:
            return None
        text = obj.term(obj.node_id if not obj.archetype_id else "at0000") or obj.term(code)
        return f"{text} ({code})" if text else code

    def _node_body(self, obj: CObject) -> dict:
        compile_kind = _NODE_KINDS.get(obj.kind)
        if compile_kind is None:
            raise UnsupportedConstraint(f"unknown constraint {obj.kind!r} on {obj.rm_type} at {obj.path}")
        schema = compile_kind(self, obj)
        title = self.title(obj)
        if title:
            schema = {"title": title, **schema}
        return schema

    def complex_object(self, obj: CObject) -> dict:
        base = _rm.base_type(obj.rm_type)
        if base not in _rm.TYPES:
            raise UnsupportedConstraint(f"unknown RM type {obj.rm_type!r} at {obj.path or '/'}")
        rm_attributes = _rm.attributes(base)
        constrained: dict[str, dict] = {}
        required: set[str] = set()
        argument = _rm.type_argument(obj.rm_type)
        if base == "DV_INTERVAL" and argument:
            constrained["lower"] = constrained["upper"] = self.rm_ref(argument)
        if _rm.is_locatable(base) and (obj.archetype_id or obj.node_id):
            constrained["archetype_node_id"] = {"const": obj.archetype_id or obj.node_id}
        if obj.archetype_id:
            constrained["archetype_details"] = {
                "allOf": [self.rm_ref("ARCHETYPED")],
                "properties": {"archetype_id": {"properties": {"value": {"const": obj.archetype_id}}}},
            }
        for attribute in obj.attributes:
            rm_attribute = rm_attributes.get(attribute.name)
            if rm_attribute is None:
                raise UnsupportedConstraint(
                    f"{obj.rm_type} has no attribute {attribute.name!r} (constrained at {obj.path or '/'})"
                )
            self.check_attribute(attribute, rm_attribute, obj)
            if attribute.existence.upper == 0:
                constrained[attribute.name] = False  # the template forbids the attribute
                continue
            if attribute.children or attribute.cardinality is not None:
                # Without children an attribute constraint says only "present or not": the RM
                # schema of the attribute (ISO 8601 patterns included) stays as it is.
                constrained[attribute.name] = self.attribute(attribute, rm_attribute)
            if attribute.existence.lower and (base, attribute.name) not in _rm.COMPUTED:
                required.add(attribute.name)
        if _rm.concrete_types(base) == (base,):
            return self.shape(base, constrained, required)
        # A type with subtypes (DV_TEXT admits DV_CODED_TEXT): the RM dispatch plus the constraints.
        schema = {"allOf": [self.rm_ref(base)], "properties": constrained}
        if required:
            schema["required"] = sorted(required)
        return schema

    def check_attribute(self, attribute: CAttribute, rm_attribute: _rm.Attribute, owner: CObject) -> None:
        """The constraint must fit the RM: multiplicity and the types of its children."""
        if attribute.is_multiple != rm_attribute.is_list:
            raise UnsupportedConstraint(
                f"{owner.rm_type}.{attribute.name} is constrained as "
                f"{'multiple' if attribute.is_multiple else 'single'}-valued "
                f"but the RM says otherwise (at {owner.path or '/'})"
            )
        for child in attribute.children:
            if child.kind != "C_PRIMITIVE_OBJECT" and not _rm.is_known(child.rm_type):
                raise UnsupportedConstraint(f"unknown RM type {child.rm_type!r} at {child.path}")
            if child.kind != "C_PRIMITIVE_OBJECT" and not _rm.conforms(
                child.rm_type or "?", rm_attribute.rm_type
            ):
                raise UnsupportedConstraint(
                    f"{child.rm_type} at {child.path} cannot stand in "
                    f"{owner.rm_type}.{attribute.name} ({rm_attribute.rm_type})"
                )

    def attribute(self, attribute: CAttribute, rm_attribute: _rm.Attribute) -> dict:
        if rm_attribute.rm_type in _rm.PRIMITIVES:
            return self.primitive_attribute(attribute, rm_attribute)
        keyed = self.keys(attribute.children)
        item = self.alternatives(keyed, rm_attribute.rm_type)
        if not attribute.is_multiple:
            return item
        schema: dict = {"type": "array", "items": item}
        if attribute.cardinality is not None:
            schema.update(_count_bounds(attribute.cardinality, "minItems", "maxItems"))
            if attribute.is_unique:
                schema["uniqueItems"] = True
        occurrences = [self.occurrences(members, key) for members, key in _siblings(keyed)]
        occurrences = [o for o in occurrences if o]
        if occurrences:
            schema["allOf"] = occurrences
        return schema

    def primitive_attribute(self, attribute: CAttribute, rm_attribute: _rm.Attribute) -> dict:
        if not attribute.children:
            return self.attribute_ref(rm_attribute)
        if len(attribute.children) > 1 or attribute.children[0].kind != "C_PRIMITIVE_OBJECT":
            raise UnsupportedConstraint(
                f"attribute {attribute.name} at {attribute.children[0].path} "
                "has a non-primitive or several constraints on a primitive value"
            )
        schema = self.primitive(attribute.children[0])
        if rm_attribute.non_empty and schema.get("type") == "string" and "enum" not in schema:
            # The template narrows the value; the RM's "not empty" still holds (a pattern may allow "").
            schema["minLength"] = 1
        return schema

    def occurrences(self, members: list[CObject], key: dict | None) -> dict | None:
        """The occurrences of the siblings that ``key`` selects. Siblings the data cannot tell apart
        (same node id, no distinguishing name) are counted together: their bounds add up."""
        if key is None:
            return None
        low, high = 0, 0
        for child in members:
            bounds = _count_bounds(child.occurrences, "minContains", "maxContains")
            low += bounds.get("minContains", 0)
            high = None if high is None or "maxContains" not in bounds else high + bounds["maxContains"]
        if not low and high is None:
            return None
        titles = [self.title(_target(c)) or _target(c).rm_type for c in members]
        if len(members) == 1:
            described = f"occurrences {members[0].occurrences} of {titles[0]}"
        else:
            described = (
                f"occurrences of {len(members)} siblings the data cannot tell apart, together "
                f"{low}..{'*' if high is None else high}: "
                + "; ".join(f"{t} {c.occurrences}" for t, c in zip(titles, members, strict=True))
            )
        schema = {"description": described, "contains": key, "minContains": low}
        if high is not None:
            schema["maxContains"] = high
        return schema

    # --- choosing among the alternatives an attribute allows

    def keys(self, children: list[CObject]) -> list[tuple[CObject, dict | None]]:
        """For each alternative, a schema that tells which items it governs (``None``: all)."""
        originals = children
        children = [_target(c) for c in children]
        types = {_rm.base_type(c.rm_type) for c in children}
        node_ids = Counter(
            c.archetype_id or c.node_id
            for c in children
            if c.kind != "ARCHETYPE_SLOT" and _rm.is_locatable(_rm.base_type(c.rm_type))
        )
        keyed = []
        for original, child in zip(originals, children, strict=True):
            properties, required = {}, []
            base = _rm.base_type(child.rm_type)
            node_id = child.archetype_id or child.node_id
            told_by_node_id = False
            if child.kind == "ARCHETYPE_SLOT":
                properties["archetype_node_id"] = {"pattern": self.slot_pattern(child)}
                required.append("archetype_node_id")
            elif _rm.is_locatable(base) and node_id:
                properties["archetype_node_id"] = {"const": node_id}
                required.append("archetype_node_id")
                # The only alternative with this node id: the id alone selects it, and its own schema
                # checks its _type. Keyed by _type too, an item of another type with this id (a
                # CLUSTER at0070 beside the ELEMENT at0070) met no alternative and was not checked.
                told_by_node_id = node_ids[node_id] == 1
            if len(types) > 1 and not told_by_node_id:
                own = set(_rm.concrete_types(base))
                for other in types:
                    if other != base and _rm.conforms(other, base):
                        own -= set(_rm.concrete_types(other))
                properties["_type"] = {"enum": sorted(own)}
            same = [
                c
                for c in children
                if c is not child
                and _rm.base_type(c.rm_type) == base
                # Node ids of non-locatable objects (ISM_TRANSITION) never appear in data.
                and ((c.archetype_id or c.node_id) == node_id or not _rm.is_locatable(base))
                and c.kind == child.kind
            ]
            if same:
                names = self.names(child)
                if names:
                    properties["name"] = {"properties": {"value": {"enum": names}}}
                    required.append("name")
                elif base == "ISM_TRANSITION" and self.transition_key(child):
                    # An ACTION's alternative transitions are told apart by what the template says
                    # of them: the careflow step when it constrains one (the RM makes careflow_step
                    # optional: it is only demanded then), otherwise the ISM state.
                    attribute, codes = self.transition_key(child)
                    properties[attribute] = {
                        "properties": {"defining_code": {"properties": {"code_string": {"enum": codes}}}}
                    }
                    required.append(attribute)
                else:
                    others = sorted({n for c in same for n in self.names(c)})
                    if others:
                        properties["name"] = {"not": {"properties": {"value": {"enum": others}}}}
            if not properties:
                keyed.append((original, None))
                continue
            # "type": without it a non-object (true, 0) would satisfy the key vacuously.
            key = {"type": "object", "properties": properties}
            if required:
                key["required"] = required
            keyed.append((original, key))
        return keyed

    def names(self, obj: CObject) -> list[str]:
        """The names a node's run-time name constraint allows (``name/value`` C_STRING list)."""
        for attribute in obj.attributes:
            if attribute.name == "name":
                for child in attribute.children:
                    for value in child.attributes:
                        if value.name == "value":
                            for primitive in value.children:
                                if primitive.detail.get("list"):
                                    return list(primitive.detail["list"])
        return []

    def transition_key(self, transition: CObject) -> tuple[str, list[str]] | None:
        """What tells an ISM_TRANSITION alternative from its siblings: the codes the template
        allows for ``careflow_step`` if it constrains them, else those of ``current_state``."""
        for name in ("careflow_step", "current_state"):
            codes = _coded_codes(transition, name)
            if codes:
                return name, codes
        return None

    def allowed_archetypes(self, node_ids: list[str], slots: list[CObject]) -> dict:
        """The archetype_node_id check of an attribute with slots: the filled archetypes, plus
        what each slot includes minus what it excludes."""
        plain = [re.escape(n) for n in node_ids]
        excluding = []
        for slot in slots:
            excludes = slot.detail.get("excludes") or []
            if excludes and slot.detail.get("includes") and all(e in (".*", "(.*)") for e in excludes):
                excludes = []  # "include these, exclude the rest": the includes say it all
            if excludes:
                excluding.append(
                    {
                        "pattern": self.slot_pattern(slot),
                        "not": {"pattern": anchored("|".join(excludes), slot.path)},
                    }
                )
            else:
                plain.append(self.slot_pattern(slot)[4:-2])
        described = "one of " + "; ".join([*node_ids, *(_describe_slot(slot) for slot in slots)])
        alternatives = ([{"pattern": "^(?:" + "|".join(plain) + ")$"}] if plain else []) + excluding
        if len(alternatives) == 1:
            return {"description": described, **alternatives[0]}
        return {"description": described, "anyOf": alternatives}

    def slot_pattern(self, slot: CObject) -> str:
        includes = slot.detail.get("includes") or [".*"]
        return anchored("|".join(f"(?:{p})" for p in includes), slot.path)

    def alternatives(self, keyed: list[tuple[CObject, dict | None]], declared: str) -> dict:
        """One value (or list item) of an attribute: which alternative applies, and its schema."""
        if not keyed:
            return self.rm_ref(declared)
        needs_type = declared in _rm.ABSTRACT
        if len(keyed) == 1 and keyed[0][1] is None:
            schema = self.node(keyed[0][0])
            return {"required": ["_type"], "allOf": [schema]} if needs_type else schema
        schema: dict = {"type": "object"}
        required = ["_type"] if needs_type else []
        # Which items are allowed at all: one keyword, so the report says exactly what failed.
        node_ids = [
            _target(c).archetype_id or _target(c).node_id
            for c, k in keyed
            if k and "archetype_node_id" in k["properties"] and c.kind != "ARCHETYPE_SLOT"
        ]
        slots = [c for c, _ in keyed if c.kind == "ARCHETYPE_SLOT"]
        properties: dict = {}
        if slots:
            properties["archetype_node_id"] = self.allowed_archetypes(node_ids, slots)
            required.append("archetype_node_id")
        elif node_ids and all(k is not None and "archetype_node_id" in k["properties"] for _, k in keyed):
            properties["archetype_node_id"] = {"enum": sorted(set(node_ids))}
            named = [self.title(_target(c)) for c, _ in keyed]
            properties["archetype_node_id"]["description"] = "; ".join(sorted({t for t in named if t}))
            required.append("archetype_node_id")
        for transition_attribute in ("careflow_step", "current_state"):
            # ISM transitions all told apart by the same attribute: one check of its code first.
            steps = [
                k["properties"][transition_attribute]
                for _, k in keyed
                if k and transition_attribute in k["properties"]
            ]
            if steps and len(steps) == len(keyed):
                codes = list(
                    dict.fromkeys(
                        c
                        for step in steps
                        for c in step["properties"]["defining_code"]["properties"]["code_string"]["enum"]
                    )
                )
                properties[transition_attribute] = {
                    "properties": {"defining_code": {"properties": {"code_string": {"enum": codes}}}}
                }
                required.append(transition_attribute)
                break
        else:
            transitions = [k for _, k in keyed if k and {"careflow_step", "current_state"} & set(k["properties"])]
            if transitions and len(transitions) == len(keyed):
                # Some by careflow step, some by state: the transition must be one of them.
                schema["anyOf"] = transitions
        bases = {_rm.base_type(_target(c).rm_type) for c, _ in keyed}
        types = sorted({t for base in bases for t in _rm.concrete_types(base)}) if len(bases) > 1 else []
        if types:
            properties["_type"] = {"enum": types}
        if properties:
            schema["properties"] = properties
        if required:
            schema["required"] = sorted(set(required))
        dispatch, by_node_id = [], []
        for members, key in _siblings(keyed):
            # Occurrences 0..0: the template excludes this alternative.
            schemas = [self.node(m) if m.occurrences.upper != 0 else False for m in members]
            if len(schemas) == 1:
                then = schemas[0]
            else:
                # Siblings the data cannot tell apart: an item may be any of them.
                titles = sorted({self.title(_target(m)) or _target(m).rm_type for m in members})
                then = {"title": f"any of {len(members)} siblings: {'; '.join(titles)}", "anyOf": schemas}
            node_id = _node_id_key(key)
            if node_id is not None:
                by_node_id.append(([node_id], then))
            else:
                dispatch.append(then if key is None else {"if": key, "then": then})
        if by_node_id:
            dispatch.insert(0, decision_tree("archetype_node_id", by_node_id))
        dispatched = [node_id for ids, _ in by_node_id for node_id in ids]
        schema["allOf"] = dispatch + self.one_of_the_alternatives(keyed, schema, dispatched)
        return schema

    def one_of_the_alternatives(
        self, keyed: list[tuple[CObject, dict | None]], checked: dict, dispatched: list[str]
    ) -> list[dict]:
        """The check that an item is one of the alternatives, where one is told apart by more than one
        thing (a node id or slot pattern with a type or a name). There an item can pass the checks of
        the allowed node ids, types and names one by one and still be none of the alternatives (a
        CLUSTER with an ELEMENT's node id and name, an ELEMENT with the archetype id of a CLUSTER slot),
        and no alternative's schema would check it. It applies once an item has passed those checks,
        so that an unknown node id is reported once, by them, and not to items its node id alone
        dispatched."""
        undispatched = [(c, key) for c, key in keyed if key is None or _node_id_key(key) is None]
        keys = [key for _, key in undispatched]
        if None in keys or not any(len(key["properties"]) > 1 for key in keys):
            return []
        condition = {k: v for k, v in checked.items() if k in ("type", "properties", "required")}
        if dispatched:
            by_id = {"properties": {"archetype_node_id": {"enum": dispatched}}, "required": ["archetype_node_id"]}
            condition["not"] = by_id
        alternatives = [_described(self.title(_target(c)) or _target(c).rm_type, key) for c, key in undispatched]
        described = "one of these alternatives: " + "; ".join(dict.fromkeys(alternatives))
        return [{"if": condition, "then": {"description": described, "anyOf": keys}}]

    # --- leaf constraints

    def slot(self, obj: CObject) -> dict:
        # An unfilled slot: any archetype of the slot's RM type, checked against the RM only.
        return {"allOf": [self.rm_ref(obj.rm_type)]}

    def constraint_ref(self, obj: CObject) -> dict:
        # ac-code: bound to an external terminology we cannot enumerate; demand a well-formed code.
        return self.shape(
            "CODE_PHRASE",
            {
                "code_string": {"type": "string", "minLength": 1},
                "terminology_id": {
                    "allOf": [self.rm_ref("TERMINOLOGY_ID")],
                    "properties": {"value": {"type": "string", "minLength": 1}},
                },
            },
            set(),
        )

    def code_phrase(self, obj: CObject) -> dict:
        terminology, codes = obj.detail.get("terminology"), obj.detail.get("codes") or []
        constrained = {}
        if terminology:
            constrained["terminology_id"] = {
                "allOf": [self.rm_ref("TERMINOLOGY_ID")],
                "properties": {"value": {"const": terminology}},
            }
        if codes:
            code_schema = {"type": "string", "enum": codes}
            described = [f"{c} {obj.term(c)!r}" for c in codes if obj.term(c)]
            if described:
                code_schema = {"description": "; ".join(described), **code_schema}
            constrained["code_string"] = code_schema
        return self.shape("CODE_PHRASE", constrained, set())

    def quantity(self, obj: CObject) -> dict:
        constrained: dict = {}
        dispatch = []
        units = [u for u in obj.detail.get("units", []) if u["units"] is not None]
        if units:
            constrained["units"] = {"type": "string", "enum": list(dict.fromkeys(u["units"] for u in units))}
        unchecked = []
        for unit in units:
            then: dict = {}
            if unit["magnitude"] is not None and _bounds(unit["magnitude"]):
                then["magnitude"] = _bounds(unit["magnitude"])
            precision = unit["precision"]
            # -1 is the AOM 1.4 way of saying "any precision".
            if precision is not None and -1 not in (precision.lower, precision.upper) and _bounds(precision):
                then["precision"] = _bounds(precision)
                if precision.upper == 0:
                    # Precision 0 means an integral quantity (DV_QUANTITY invariant precision_validity).
                    then["magnitude"] = {**then.get("magnitude", {}), "multipleOf": 1}
                elif precision.upper is not None:
                    unchecked.append(f"{unit['units']} at most {int(precision.upper)}")
            if then:
                dispatch.append(
                    {"if": {"properties": {"units": {"const": unit["units"]}}}, "then": {"properties": then}}
                )
        schema = self.shape("DV_QUANTITY", constrained, set())
        if dispatch:
            schema.setdefault("allOf", []).extend(dispatch)
        if obj.detail.get("property"):
            schema["description"] = f"property openehr::{obj.detail['property']}"
        if unchecked:
            schema["$comment"] = (
                f"decimals of magnitude not enforced by JSON Schema ({', '.join(unchecked)}): multipleOf "
                "10^-n is unreliable on binary floating point (engines disagree, e.g. on 0.3 and multipleOf "
                "0.1); the precision attribute itself is checked"
            )
        return schema

    def ordinal(self, obj: CObject) -> dict:
        ordinals = obj.detail.get("ordinals") or []
        if not ordinals:
            return self.shape("DV_ORDINAL", {}, set())
        codes = [code for _, _, code in ordinals]
        symbol = {
            "allOf": [self.rm_ref("DV_CODED_TEXT")],
            "properties": {
                "defining_code": {
                    "properties": {
                        "code_string": {
                            "enum": codes,
                            "description": "; ".join(
                                f"{v}: {c} {obj.term(c)!r}" if obj.term(c) else f"{v}: {c}"
                                for v, _, c in ordinals
                            ),
                        },
                    }
                }
            },
        }
        terminologies = sorted({t for _, t, _ in ordinals if t})
        if terminologies:
            symbol["properties"]["defining_code"]["properties"]["terminology_id"] = {
                "properties": {"value": {"enum": terminologies}}
            }
        schema = self.shape(
            "DV_ORDINAL",
            {"value": {"type": "integer", "enum": sorted({v for v, _, _ in ordinals})}, "symbol": symbol},
            set(),
        )
        schema.setdefault("allOf", []).extend(
            {
                "if": {"properties": {"value": {"const": value}}},
                "then": {
                    "properties": {
                        "symbol": {
                            "properties": {"defining_code": {"properties": {"code_string": {"const": code}}}}
                        }
                    }
                },
            }
            for value, _, code in ordinals
        )
        return schema

    def primitive(self, obj: CObject) -> dict:
        detail = obj.detail
        kind = detail["kind"]
        if kind == "C_STRING":
            schema: dict = {"type": "string"}
            if detail["list"] and not detail["list_open"]:
                schema["enum"] = detail["list"]
            if detail["pattern"]:
                schema["pattern"] = anchored(detail["pattern"], obj.path)
                schema["description"] = f"a value matching the pattern {detail['pattern']}"
            return schema
        if kind in ("C_INTEGER", "C_REAL"):
            schema = {"type": "integer" if kind == "C_INTEGER" else "number"}
            if detail["list"]:
                schema["enum"] = detail["list"]
            if "range" in detail:
                schema.update(_bounds(detail["range"]))
            return schema
        if kind == "C_BOOLEAN":
            allowed = [v for v, ok in ((True, detail["true_valid"]), (False, detail["false_valid"])) if ok]
            return {"type": "boolean", "enum": allowed}
        return self.temporal(obj)

    def temporal(self, obj: CObject) -> dict:
        detail, kind = obj.detail, obj.detail["kind"]
        fallback = {
            "C_DATE": _rm.DATE_PATTERN,
            "C_TIME": _rm.TIME_PATTERN,
            "C_DATE_TIME": _rm.DATE_TIME_PATTERN,
            "C_DURATION": _rm.DURATION_PATTERN,
        }[kind]
        pattern = detail.get("pattern")
        if pattern and kind == "C_DURATION":
            schema = {
                "type": "string",
                "pattern": duration_pattern(pattern, obj.path),
                "allOf": [{"pattern": _rm.DURATION_NOT_EMPTY}],
            }
        elif pattern:
            schema = {"type": "string", "pattern": temporal_pattern(pattern, kind, obj.path)}
        else:
            schema = {"type": "string", "pattern": fallback}
            if kind == "C_DURATION":
                schema["allOf"] = [{"pattern": _rm.DURATION_NOT_EMPTY}]
        rm_type = {"C_DATE": "DV_DATE", "C_TIME": "DV_TIME", "C_DATE_TIME": "DV_DATE_TIME"}.get(
            kind, "DV_DURATION"
        )
        schema["description"] = _rm.VALUE_FORMATS[rm_type] + (f", as {pattern}" if pattern else "")
        if detail.get("list"):
            schema["enum"] = detail["list"]
        if "range" in detail:
            # Ordering ISO 8601 strings is beyond JSON Schema; say so in the schema itself.
            schema["$comment"] = f"range {detail['range']} not enforced by JSON Schema"
        return schema


def temporal_pattern(pattern: str, kind: str, where: str) -> str:
    """ADL date/time pattern (``YYYY-MM-??T??:??:XX``) -> regex. Letters: mandatory, ??: optional,
    XX: forbidden. Lower- and upper-case letters are treated alike, as tools emit both."""
    date_part, _, time_part = (
        pattern.partition("T")
        if kind == "C_DATE_TIME"
        else ((pattern, "", "") if kind == "C_DATE" else ("", "", pattern))
    )
    digits = {
        "date": [r"\d{4}", r"(0[1-9]|1[0-2])", r"(0[1-9]|[12]\d|3[01])"],
        "time": [r"([01]\d|2[0-4])", r"[0-5]\d", r"([0-5]\d|60)([.,]\d+)?"],
    }
    letters = {"date": ["YYYY", "MM", "DD"], "time": ["HH", "MM", "SS"]}
    out, closing = "", ""

    def fields(part: str, values: list[str], separator: str, lead: str) -> bool:
        nonlocal out, closing
        names = letters["date" if separator == "-" else "time"]
        tokens = part.split("-") if separator == "-" else part.split(":")
        for position, token in enumerate(tokens):
            sep = lead if position == 0 else separator
            if set(token) == {"X"} or set(token) == {"x"}:
                return False
            if set(token) == {"?"}:
                out += f"({sep}{values[position]}"
                closing += ")?"
            elif token.upper() == names[position]:
                out += f"{sep}{values[position]}"
            else:
                raise UnsupportedConstraint(f"date/time pattern {pattern!r} at {where} is not understood")
        return True

    try:
        complete = True
        if date_part:
            complete = fields(date_part, digits["date"], "-", "")
        if time_part and complete:
            fields(time_part, digits["time"], ":", "T" if date_part else "")
    except IndexError:
        raise UnsupportedConstraint(f"date/time pattern {pattern!r} at {where} is not understood") from None
    timezone = r"(Z|[+-]\d{2}(:?\d{2})?)?" if kind != "C_DATE" else ""
    return f"^{out}{closing}{timezone}$"


def duration_pattern(pattern: str, where: str) -> str:
    """ADL duration pattern (``PYMWDTHMS``, any subset) -> regex allowing just those fields."""
    match = re.fullmatch(r"P(Y?)(M?)(W?)(D?)(?:T(H?)(M?)(S?))?", pattern.strip())
    if not match:
        raise UnsupportedConstraint(f"duration pattern {pattern!r} at {where} is not understood")
    years, months, weeks, days, hours, minutes, seconds = (bool(g) for g in match.groups())
    date = "".join(f"(\\d+{u})?" for u, ok in (("Y", years), ("M", months), ("W", weeks), ("D", days)) if ok)
    time = "".join(f"(\\d+{u})?" for u, ok in (("H", hours), ("M", minutes)) if ok)
    if seconds:
        time += r"(\d+([.,]\d+)?S)?"
    return f"^-?P{date}" + (f"(T{time})?" if time else "") + "$"


# One step of an archetype path: attribute name and an optional predicate (node id, maybe a name).
_PATH_STEP = re.compile(r"/([a-z_]+)(?:\[([^\]]*)\])?")


def _walk(obj: CObject, steps: list[tuple[str, str]]) -> CObject | None:
    for name, predicate in steps:
        node_id = re.split(r"\s+and\s+|,", predicate)[0].strip() if predicate else ""
        obj = next(
            (
                child
                for attribute in obj.attributes
                if attribute.name == name
                for child in attribute.children
                if not node_id or node_id in (child.node_id, child.archetype_id)
            ),
            None,
        )
        if obj is None:
            return None
    return obj


def decision_tree(field: str, cases: list[tuple[list[str], dict]], last_may_be_absent: bool = False) -> dict:
    """Dispatch on the value of ``field`` with nested if/then/else halving the cases: an instance
    meets log2(n) ``if``s instead of n, and only the branch that applies reports errors (a value
    matching no case reaches none). ``last_may_be_absent``: no ``field`` means the last case."""

    def condition(values: list[str], may_be_absent: bool = False) -> dict:
        test = {"const": values[0]} if len(values) == 1 else {"enum": values}
        if may_be_absent:
            return {"type": "object", "properties": {field: test}}
        return {"type": "object", "properties": {field: test}, "required": [field]}

    def build(part: list[tuple[list[str], dict]], checked: bool) -> dict:
        if len(part) == 1:
            values, then = part[0]
            if checked:  # the enclosing ``if`` already established the value
                return then
            return {"if": condition(values, last_may_be_absent and part[0] is cases[-1]), "then": then}
        middle = len(part) // 2
        left = [value for values, _ in part[:middle] for value in values]
        return {
            "if": condition(left),
            "then": build(part[:middle], True),
            "else": build(part[middle:], False),
        }

    return build(cases, False)


def _coded_codes(obj: CObject, name: str) -> list[str]:
    """The codes a DV_CODED_TEXT attribute ``name`` of ``obj`` is constrained to (its C_CODE_PHRASE list)."""
    for attribute in obj.attributes:
        if attribute.name == name:
            for coded in attribute.children:
                for defining in coded.attributes:
                    for phrase in defining.children:
                        if defining.name == "defining_code" and phrase.detail.get("codes"):
                            return list(phrase.detail["codes"])
    return []


def _siblings(keyed: list[tuple[CObject, dict | None]]) -> list[tuple[list[CObject], dict | None]]:
    """Alternatives grouped by their key, in order: one group per set of siblings that the data
    cannot tell apart (same node id and no name constraint that separates them)."""
    groups: dict[str, tuple[list[CObject], dict | None]] = {}
    for child, key in keyed:
        groups.setdefault(repr(key), ([], key))[0].append(child)
    return list(groups.values())


def _described(title: str, key: dict) -> str:
    """An alternative as a report names it: its title, with the types and names its key demands."""
    properties = key["properties"]
    types = properties.get("_type", {}).get("enum")
    names = properties.get("name", {}).get("properties", {}).get("value", {}).get("enum")
    quoted = " or ".join(json.dumps(name, ensure_ascii=False) for name in names or ())
    return title + (f", of type {' or '.join(types)}" if types else "") + (f", named {quoted}" if names else "")


def _node_id_key(key: dict | None) -> str | None:
    """The node id when a key is nothing but ``archetype_node_id == X`` (the common case)."""
    if key and list(key.get("properties", {})) == ["archetype_node_id"]:
        return key["properties"]["archetype_node_id"].get("const")
    return None


def _describe_slot(slot: CObject) -> str:
    text = f"slot {slot.node_id}: {' or '.join(slot.detail.get('includes') or ['any'])}"
    return text + (f" except {' or '.join(slot.detail['excludes'])}" if slot.detail.get("excludes") else "")


def _target(obj: CObject) -> CObject:
    return obj.detail["target"] if obj.kind == "ARCHETYPE_INTERNAL_REF" else obj


_NODE_KINDS = {
    "C_COMPLEX_OBJECT": _Compiler.complex_object,
    "C_ARCHETYPE_ROOT": _Compiler.complex_object,
    "ARCHETYPE_SLOT": _Compiler.slot,
    "CONSTRAINT_REF": _Compiler.constraint_ref,
    "C_CODE_PHRASE": _Compiler.code_phrase,
    "C_DV_QUANTITY": _Compiler.quantity,
    "C_DV_ORDINAL": _Compiler.ordinal,
    "C_PRIMITIVE_OBJECT": _Compiler.primitive,
}
