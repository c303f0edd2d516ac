"""A minimal valid composition (or other top-level LOCATABLE) for any OPT 1.4 template.

The generator walks the OPT tree (``_opt``) and the RM table (``_rm``), not the JSON Schema:
every attribute that the RM makes mandatory or the template gives existence 1..1 is filled,
nothing optional is; a multiple attribute gets each child's minimum occurrences (and at least its
cardinality's lower bound); primitives take the first allowed value or one inside their range.
The result is then checked against the template's compiled schema, so what ``example`` returns is
valid by construction *and* by test.

Deliberate departures from "nothing optional", each because the RM or the compiled schema needs it:
- ``archetype_details`` on every archetype root (RM invariant ``Archetyped_valid``: an archetype
  root has archetype details, and the document must name its template);
- ``careflow_step`` of an ISM_TRANSITION when the template constrains it (an ACTION's alternative
  transitions are told apart by their careflow step);
- an ELEMENT has its value when the template constrains the value (an ELEMENT without a value
  must have a null_flavour, RM invariant ``Inv_null_flavour_indicated``: it gets "unknown" then);
- ``composer`` is a PARTY_IDENTIFIED with a name, not an anonymous PARTY_SELF.

Output is deterministic: a fixed instant (2026-01-01T00:00:00Z), uuids derived from the template id.
"""

from __future__ import annotations

import pathlib
import re
import re._constants as _sre
import re._parser as _sre_parse
import uuid

from lxml import etree

from archetypes import _opt, _rm
from archetypes._compiler import _Compiler, anchored, compile_template, duration_pattern, temporal_pattern
from archetypes._registry import TemplateNotFound, opt_path, template_ids
from archetypes._validator import ValidationIssue, Validator

INSTANT = "2026-01-01T00:00:00Z"
RM_VERSION = "1.0.4"
_MAX_DEPTH = 200


class ExampleError(Exception):
    """No valid example could be produced; ``issues`` holds the validation issues, if any."""

    def __init__(self, message: str, issues: list[ValidationIssue] | None = None):
        super().__init__(message)
        self.issues = issues or []


# openEHR terminology rubrics (English, as the openEHR terminology publishes them) for the codes
# that mandatory RM attributes and ISM transitions use.
OPENEHR_RUBRICS = {
    "225": "home", "227": "emergency care", "228": "primary medical care",
    "229": "primary nursing care", "230": "primary allied health care",
    "231": "midwifery care", "232": "secondary medical care", "233": "secondary nursing care",
    "234": "secondary allied health care", "235": "complementary health care",
    "236": "dental care", "237": "nursing home care", "238": "other care",
    "431": "persistent", "433": "event", "451": "episodic",
    "144": "maximum", "145": "minimum", "146": "mean", "147": "change", "148": "total",
    "149": "variation", "267": "mode", "268": "median", "521": "decrease", "522": "increase",
    "524": "initial", "526": "planned", "527": "postponed", "528": "cancelled",
    "529": "scheduled", "530": "suspended", "531": "aborted", "532": "completed",
    "533": "expired", "245": "active",
    "253": "unknown", "271": "no information", "272": "masked", "273": "not applicable",
    "0": "self",
}

# Plausible codes for external terminologies a template names without listing codes.
_EXTERNAL_CODES = {
    "ICD-10-SE": ("J06.9", "Akut övre luftvägsinfektion, ospecificerad"),
    "ICD-10": ("J06.9", "Acute upper respiratory infection, unspecified"),
    "ATC": ("N02BE01", "Paracetamol"),
    "SNOMED-CT": ("261665006", "Unknown"),
    "LOINC": ("8310-5", "Body temperature"),
    "ISO_639-1": ("sv", "sv"),
    "ISO_3166-1": ("SE", "SE"),
    "IANA_character-sets": ("UTF-8", "UTF-8"),
    "IANA_media-types": ("text/plain", "text/plain"),
    "UCUM": ("1", "1"),
}

# Defaults for coded RM attributes that templates rarely constrain: (owner type, attribute) -> code.
_RM_CODES = {
    ("COMPOSITION", "category"): "433",
    ("EVENT_CONTEXT", "setting"): "238",
    ("INTERVAL_EVENT", "math_function"): "146",
    ("ISM_TRANSITION", "current_state"): "532",
    ("PARTY_RELATED", "relationship"): "0",
    ("ELEMENT", "null_flavour"): "253",
}

# Which concrete type stands for an abstract declared type when the template says nothing.
_CONCRETE = {
    "DATA_VALUE": "DV_TEXT",
    "DV_ORDERED": "DV_COUNT",
    "DV_QUANTIFIED": "DV_COUNT",
    "DV_AMOUNT": "DV_COUNT",
    "DV_ABSOLUTE_QUANTITY": "DV_DATE_TIME",
    "DV_TEMPORAL": "DV_DATE_TIME",
    "DV_ENCAPSULATED": "DV_PARSABLE",
    "DV_TIME_SPECIFICATION": "DV_GENERAL_TIME_SPECIFICATION",
    "OBJECT_ID": "HIER_OBJECT_ID",
    "UID_BASED_ID": "HIER_OBJECT_ID",
    "PARTY_PROXY": "PARTY_SELF",
    "ITEM_STRUCTURE": "ITEM_TREE",
    "ITEM": "ELEMENT",
    "EVENT": "POINT_EVENT",
    "PARTY": "PERSON",
    "ACTOR": "PERSON",
}

# The value of data types whose value is a formatted string.
_SIMPLE_VALUES = {
    "DV_DATE_TIME": INSTANT,
    "DV_DATE": INSTANT[:10],
    "DV_TIME": INSTANT[11:19],
    "DV_DURATION": "PT1H",
    "DV_URI": "https://example.org/",
    "DV_EHR_URI": "ehr:/exempel",
}

_TERRITORIES = {
    "sv": "SE", "de": "DE", "en": "GB", "es": "ES", "fr": "FR", "nl": "NL", "nb": "NO",
    "nn": "NO", "no": "NO", "da": "DK", "fi": "FI", "it": "IT", "pt": "PT", "pl": "PL",
}


def example(template: str | pathlib.Path, *, optional: bool = False) -> dict:
    """A minimal composition valid against ``template`` (a project template id or an OPT file);
    with ``optional``, every node the template constrains is included once (slots stay empty).

    Raises TemplateNotFound for an unknown id, OSError for an unreadable file,
    UnsupportedConstraint when the OPT cannot be compiled, ExampleError when no valid example
    can be produced (with the validation issues, should the generated one be invalid)."""
    source = _source(template)
    opt = _opt.read(source)
    schema = compile_template(opt)  # also resolves ARCHETYPE_INTERNAL_REF targets in ``opt``
    instance = generate(opt, _language(source), optional)
    issues = Validator(schema).issues(instance)
    if issues:
        raise ExampleError(
            f"the example generated for {opt.template_id} is not valid against its schema", issues
        )
    return instance


def _source(template: str | pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(template)
    if isinstance(template, pathlib.Path) or path.suffix.lower() in {".opt", ".xml"} or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(2, "no such OPT file", str(path))
        return path
    if template not in template_ids():
        raise TemplateNotFound(template)
    return opt_path(template)


def _language(path: pathlib.Path) -> str:
    """The OPT's own language (``template/language/code_string``), read without a second full parse."""
    namespace = f"{{{_opt.NS}}}"
    depth = 0
    for event, element in etree.iterparse(str(path), events=("start", "end")):
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if depth == 1 and element.tag == f"{namespace}language":
            code = element.findtext(f"{namespace}code_string")
            if code:
                return code.strip()
        if depth == 1 and element.tag == f"{namespace}definition":
            break
    return "en"


def generate(template: _opt.Template, language: str = "en", optional: bool = False) -> dict:
    """The minimal instance of ``template`` (not validated: see ``example``). ``optional``: include
    every node the template constrains once as well (open slots stay empty)."""
    return _Generator(template, language, optional).top()


class _Generator:
    def __init__(self, template: _opt.Template, language: str, optional: bool = False):
        self.template = template
        self.optional = optional
        # The compiler's reading of run-time name constraints: its schema tells siblings apart by them.
        self.names = _Compiler(template).names
        self.language = language
        self.depth = 0

    def top(self) -> dict:
        root = self.template.definition
        instance = self.node(root, None)
        details = instance["archetype_details"]
        details["template_id"] = {"_type": "TEMPLATE_ID", "value": self.template.template_id}
        details["rm_version"] = details.pop("rm_version")  # archetype_id, template_id, rm_version
        return instance

    # --- archetype nodes

    def node(self, obj: _opt.CObject, hint: str | None, name: str | None = None):
        if obj.kind == "ARCHETYPE_INTERNAL_REF":
            obj = obj.detail["target"]
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExampleError(f"the template demands an endless structure (recursion at {obj.path})")
        try:
            return self._node(obj, hint, name)
        finally:
            self.depth -= 1

    def _node(self, obj: _opt.CObject, hint: str | None, name: str | None):
        if obj.kind == "ARCHETYPE_SLOT":
            raise ExampleError(
                f"cannot generate an example: the template requires an archetype in the slot "
                f"{obj.node_id} ({obj.rm_type}) at {obj.path}, but does not say which one"
            )
        if obj.kind == "C_PRIMITIVE_OBJECT":
            return self.primitive(obj, hint)
        if obj.kind == "C_CODE_PHRASE":
            terminology = obj.detail.get("terminology") or "local"
            codes = obj.detail.get("codes") or []
            return self.code_phrase(terminology, codes[0] if codes else None)[0]
        if obj.kind == "CONSTRAINT_REF":
            return self.code_phrase("SNOMED-CT", None)[0]
        if obj.kind == "C_DV_QUANTITY":
            return self.quantity(obj)
        if obj.kind == "C_DV_ORDINAL":
            return self.ordinal(obj)
        if obj.kind not in ("C_COMPLEX_OBJECT", "C_ARCHETYPE_ROOT"):
            raise ExampleError(f"cannot generate an example for {obj.kind} at {obj.path}")
        return self.complex(obj, hint, name)

    def complex(self, obj: _opt.CObject, hint: str | None, name: str | None) -> dict:
        rm_type = self.concrete(_rm.base_type(obj.rm_type))
        constrained = {a.name: a for a in obj.attributes}
        instance: dict = {"_type": rm_type}
        own_text = None
        if _rm.is_locatable(rm_type):
            code = obj.archetype_id or obj.node_id or "at0000"
            own_text = obj.term("at0000" if obj.archetype_id else obj.node_id) or _title(rm_type)
            instance["name"] = self.name(obj, name or own_text)
            instance["archetype_node_id"] = code
            if obj.archetype_id:
                instance["archetype_details"] = {
                    "_type": "ARCHETYPED",
                    "archetype_id": {"_type": "ARCHETYPE_ID", "value": obj.archetype_id},
                    "rm_version": RM_VERSION,
                }
        text = own_text or hint
        for attribute_name, rm_attribute in _rm.attributes(rm_type).items():
            if attribute_name in instance:
                continue
            attribute = constrained.get(attribute_name)
            if attribute is not None and attribute.existence.upper == 0:
                continue
            wanted = rm_attribute.mandatory or (
                attribute is not None
                and (attribute.existence.lower or 0) >= 1
                and (rm_type, attribute_name) not in _rm.COMPUTED
            )
            if self.optional and attribute is not None and attribute_name not in ("uid", "links"):
                wanted = wanted or any(c.occurrences.upper != 0 and c.kind != "ARCHETYPE_SLOT"
                                       for c in attribute.children)
            if rm_type == "ISM_TRANSITION" and attribute_name == "careflow_step" and attribute is not None:
                wanted = True
            if rm_type == "ELEMENT" and attribute_name == "value":
                wanted = wanted or bool(attribute and any(c.occurrences.upper != 0 for c in attribute.children))
            if rm_type == "ELEMENT" and attribute_name == "null_flavour":
                wanted = wanted or "value" not in instance
            if not wanted:
                continue
            if attribute is not None and attribute.children:
                value = self.attribute(attribute, rm_attribute, text)
            else:
                value = self.rm_value(rm_attribute, rm_type, text)
            instance[attribute_name] = value
        if rm_type == "DV_INTERVAL":
            # A bound the template demands is not unbounded (RM invariants Lower/Upper_unbounded).
            instance["lower_unbounded"] = "lower" not in instance
            instance["upper_unbounded"] = "upper" not in instance
        if rm_type == "DV_CODED_TEXT" and "value" not in constrained:
            # The text of a coded value is the code's term (local codes) or its rubric.
            instance["value"] = self.coded_text(obj, instance["defining_code"], instance.get("value"))
        return instance

    def name(self, obj: _opt.CObject, default: str) -> dict:
        for attribute in obj.attributes:
            if attribute.name == "name" and attribute.children and attribute.existence.upper != 0:
                return self.node(attribute.children[0], default)
        return {"_type": "DV_TEXT", "value": default}

    def coded_text(self, obj: _opt.CObject, phrase: dict, current: str | None) -> str:
        code, terminology = phrase["code_string"], phrase["terminology_id"]["value"]
        if terminology == "local":
            return obj.term(code) or current or code
        if terminology == "openehr":
            return OPENEHR_RUBRICS.get(code, current or code)
        known = _EXTERNAL_CODES.get(terminology)
        return known[1] if known and known[0] == code else (current or code)

    def attribute(self, attribute: _opt.CAttribute, rm_attribute: _rm.Attribute, hint: str | None):
        children = [c for c in attribute.children if c.occurrences.upper != 0]
        if rm_attribute.rm_type in _rm.PRIMITIVES or not attribute.is_multiple:
            if not children:
                raise ExampleError(
                    f"cannot generate an example: every alternative of {attribute.name} is excluded"
                )
            # A filled alternative rather than an open slot, whenever the template has one.
            chosen = next((c for c in children if c.kind != "ARCHETYPE_SLOT"), children[0])
            return self.node(chosen, hint)
        counts = [child.occurrences.lower or 0 for child in children]
        if self.optional:
            counts = [
                # Slots stay empty; internal references (often recursive) are followed only when required.
                max(count, 0 if child.kind in ("ARCHETYPE_SLOT", "ARCHETYPE_INTERNAL_REF") else 1)
                for count, child in zip(counts, children, strict=True)
            ]
            if attribute.cardinality is not None and attribute.cardinality.upper is not None:
                # Respect the attribute's upper bound: drop optional extras from the end.
                for index in reversed(range(len(children))):
                    while sum(counts) > attribute.cardinality.upper and counts[index] > (
                        children[index].occurrences.lower or 0
                    ):
                        counts[index] -= 1
        needed = 0
        if attribute.cardinality is not None and attribute.cardinality.lower:
            needed = int(attribute.cardinality.lower) + (0 if attribute.cardinality.lower_included else 1)
        for index, child in enumerate(children):
            if sum(counts) >= needed:
                break
            if child.kind == "ARCHETYPE_SLOT":
                continue
            upper = child.occurrences.upper
            room = needed - sum(counts) if upper is None else min(upper - counts[index], needed - sum(counts))
            counts[index] += max(room, 0)
        if sum(counts) < needed:
            raise ExampleError(
                f"cannot generate an example: {attribute.name} at {children[0].path if children else '?'} "
                f"needs {needed} items, but the template's alternatives allow only {sum(counts)} "
                "(the rest would have to fill an archetype slot)"
            )
        items = []
        for child, count in zip(children, counts, strict=True):
            for _ in range(count):
                items.append(self.node(child, hint, self.distinct_name(child, children)))
        return items

    def distinct_name(self, child: _opt.CObject, siblings: list[_opt.CObject]) -> str | None:
        """A name for ``child`` that its same-node-id siblings' name constraints do not claim."""
        target = child.detail.get("target", child) if child.kind == "ARCHETYPE_INTERNAL_REF" else child
        own = target.archetype_id or target.node_id
        if not own or self.names(target):
            return None
        taken = {
            n
            for s in siblings
            if s is not child and (s.archetype_id or s.node_id) == own
            for n in self.names(s)
        }
        text = target.term("at0000" if target.archetype_id else target.node_id) or _title(target.rm_type)
        while text in taken:
            text += " (exempel)"
        return text

    # --- RM defaults for attributes the template leaves alone

    def concrete(self, rm_type: str) -> str:
        if rm_type in _rm.ABSTRACT:
            concrete = _CONCRETE.get(rm_type) or _rm.concrete_types(rm_type)[0]
            return concrete
        return rm_type

    def rm_value(self, attribute: _rm.Attribute, owner: str, hint: str | None):
        if attribute.is_list:
            return []
        declared = attribute.rm_type
        if declared == "String":
            return self.rm_string(owner, attribute.name, hint)
        if declared == "Integer":
            return 1
        if declared == "Real":
            return 1.0
        if declared == "Boolean":
            return owner in ("DV_INTERVAL",)  # unbounded interval ends; False elsewhere
        code = _RM_CODES.get((owner, attribute.name))
        if code is not None:
            phrase, text = self.code_phrase("openehr", code)
            return {"_type": "DV_CODED_TEXT", "value": text, "defining_code": phrase}
        if owner == "COMPOSITION" and attribute.name == "composer":
            return {"_type": "PARTY_IDENTIFIED", "name": "Exempel Exempelsson"}
        if attribute.name == "language" or (owner == "COMPOSITION" and attribute.name == "territory"):
            code = self.language if attribute.name == "language" else _TERRITORIES.get(self.language, "SE")
            terminology = "ISO_639-1" if attribute.name == "language" else "ISO_3166-1"
            return self.code_phrase(terminology, code)[0]
        if attribute.name == "encoding":
            return self.code_phrase("IANA_character-sets", "UTF-8")[0]
        return self.rm_object(self.concrete(_rm.base_type(declared)), hint)

    def rm_object(self, rm_type: str, hint: str | None) -> dict:
        """The smallest RM-valid instance of a concrete type the template does not constrain."""
        if rm_type == "DV_TEXT":
            return {"_type": rm_type, "value": hint or "Exempel"}
        if rm_type in _SIMPLE_VALUES:
            return {"_type": rm_type, "value": _SIMPLE_VALUES[rm_type]}
        if rm_type == "DV_CODED_TEXT":
            phrase, text = self.code_phrase("SNOMED-CT", None)
            return {"_type": rm_type, "value": text, "defining_code": phrase}
        if rm_type == "CODE_PHRASE":
            return self.code_phrase("SNOMED-CT", None)[0]
        if rm_type in ("HIER_OBJECT_ID", "OBJECT_VERSION_ID", "GENERIC_ID", "ARCHETYPE_ID", "TEMPLATE_ID",
                       "TERMINOLOGY_ID"):
            value = str(uuid.uuid5(uuid.NAMESPACE_URL, f"openehr-template:{self.template.template_id}"))
            if rm_type == "OBJECT_VERSION_ID":
                value += "::example::1"
            elif rm_type == "ARCHETYPE_ID":
                value = self.template.definition.archetype_id or value
            elif rm_type == "TEMPLATE_ID":
                value = self.template.template_id
            elif rm_type == "TERMINOLOGY_ID":
                value = "local"
            instance = {"_type": rm_type, "value": value}
            if rm_type == "GENERIC_ID":
                instance["scheme"] = "local"
            return instance
        if rm_type == "DV_QUANTITY":
            return {"_type": rm_type, "magnitude": 1.0, "units": "1"}
        if rm_type == "DV_COUNT":
            return {"_type": rm_type, "magnitude": 1}
        if rm_type == "DV_BOOLEAN":
            return {"_type": rm_type, "value": True}
        if rm_type == "DV_IDENTIFIER":
            return {"_type": rm_type, "id": "0001"}
        if rm_type in ("DV_ORDINAL", "DV_SCALE"):
            phrase, text = self.code_phrase("SNOMED-CT", None)
            value = 1 if rm_type == "DV_ORDINAL" else 1.0
            return {"_type": rm_type, "value": value,
                    "symbol": {"_type": "DV_CODED_TEXT", "value": text, "defining_code": phrase}}
        if rm_type == "DV_PROPORTION":
            return {"_type": rm_type, "numerator": 1.0, "denominator": 1.0, "type": 0}
        if rm_type == "DV_PARSABLE":
            return {"_type": rm_type, "value": "exempel", "formalism": "text/plain"}
        if rm_type == "DV_MULTIMEDIA":
            return {"_type": rm_type, "media_type": self.code_phrase("IANA_media-types", "text/plain")[0],
                    "size": 0}
        if rm_type == "DV_INTERVAL":
            return {"_type": rm_type, "lower_unbounded": True, "upper_unbounded": True}
        # Everything else (complex RM objects): their own mandatory attributes, recursively.
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExampleError(f"the RM demands an endless structure of {rm_type}")
        try:
            instance: dict = {"_type": rm_type}
            if _rm.is_locatable(rm_type):
                instance["name"] = {"_type": "DV_TEXT", "value": _title(rm_type)}
                instance["archetype_node_id"] = "at0000"
            for name, attribute in _rm.attributes(rm_type).items():
                if attribute.mandatory and name not in instance:
                    instance[name] = self.rm_value(attribute, rm_type, hint)
            return instance
        finally:
            self.depth -= 1

    def rm_string(self, owner: str, name: str, hint: str | None) -> str:
        if name == "value" and owner in _SIMPLE_VALUES:
            return _SIMPLE_VALUES[owner]
        strings = {
            ("ACTIVITY", "action_archetype_id"): r"openEHR-EHR-ACTION\..*\.v1",
            ("OBJECT_REF", "namespace"): "local",
            ("OBJECT_REF", "type"): "ANY",
            ("PARTY_REF", "namespace"): "local",
            ("PARTY_REF", "type"): "PERSON",
            ("LOCATABLE_REF", "namespace"): "local",
            ("LOCATABLE_REF", "type"): "COMPOSITION",
            ("INSTRUCTION_DETAILS", "activity_id"): "activities[at0001]",
            ("ARCHETYPED", "rm_version"): RM_VERSION,
            ("FEEDER_AUDIT_DETAILS", "system_id"): "example",
            ("DV_IDENTIFIER", "id"): "0001",
            ("TERM_MAPPING", "match"): "=",
        }
        return strings.get((owner, name), hint or "Exempel")

    def code_phrase(self, terminology: str, code: str | None) -> tuple[dict, str]:
        """A CODE_PHRASE and the text that goes with its code."""
        if code is None:
            code, text = _EXTERNAL_CODES.get(terminology, ("0001", "Exempel"))
        elif terminology == "openehr":
            text = OPENEHR_RUBRICS.get(code, code)
        else:
            text = code
        phrase = {"_type": "CODE_PHRASE", "terminology_id": {"_type": "TERMINOLOGY_ID", "value": terminology},
                  "code_string": code}
        return phrase, text

    # --- leaf constraints

    def quantity(self, obj: _opt.CObject) -> dict:
        units = [u for u in obj.detail.get("units", []) if u["units"] is not None]
        if not units:
            return self.rm_object("DV_QUANTITY", None)
        unit = units[0]
        integral = unit["precision"] is not None and unit["precision"].upper == 0
        magnitude = _number_in(unit["magnitude"], integral=integral)
        return {"_type": "DV_QUANTITY", "magnitude": float(magnitude), "units": unit["units"]}

    def ordinal(self, obj: _opt.CObject) -> dict:
        ordinals = obj.detail.get("ordinals") or []
        if not ordinals:
            return self.rm_object("DV_ORDINAL", None)
        value, terminology, code = ordinals[0]
        terminology = terminology or "local"
        phrase, text = self.code_phrase(terminology, code)
        if terminology == "local":
            text = obj.term(code) or text
        return {"_type": "DV_ORDINAL", "value": value,
                "symbol": {"_type": "DV_CODED_TEXT", "value": text, "defining_code": phrase}}

    def primitive(self, obj: _opt.CObject, hint: str | None):
        detail = obj.detail
        kind = detail["kind"]
        if detail.get("list"):
            return detail["list"][0]
        if kind == "C_STRING":
            if detail.get("pattern"):
                return string_matching(detail["pattern"], obj.path)
            return hint or "Exempel"
        if kind == "C_INTEGER":
            return int(_number_in(detail.get("range"), integral=True))
        if kind == "C_REAL":
            return float(_number_in(detail.get("range"), integral=False))
        if kind == "C_BOOLEAN":
            return bool(detail["true_valid"])
        return temporal_value(kind, detail.get("pattern"), obj.path)


def _title(rm_type: str) -> str:
    return rm_type.replace("_", " ").capitalize()


def _number_in(interval: _opt.Interval | None, integral: bool) -> float:
    """A round number inside ``interval``: 1 or 0 when allowed, else next to the lower bound."""

    def inside(value: float) -> bool:
        if interval is None:
            return True
        if interval.lower is not None and (
            value < interval.lower or (value == interval.lower and not interval.lower_included)
        ):
            return False
        return interval.upper is None or not (
            value > interval.upper or (value == interval.upper and not interval.upper_included)
        )

    candidates = [1, 0]
    if interval is not None:
        for bound in (interval.lower, interval.upper):
            if bound is not None:
                base = int(bound) if integral else bound
                candidates += [base, base + 1, base - 1]
        if not integral and interval.lower is not None and interval.upper is not None:
            candidates.append((interval.lower + interval.upper) / 2)
    for value in candidates:
        if inside(value) and (not integral or float(value).is_integer()):
            return value
    raise ExampleError(f"no {'integer' if integral else 'number'} lies in the range {interval}")


# --- strings matching a pattern


def string_matching(pattern: str, where: str = "?") -> str:
    """A short string that ``pattern`` (an ADL / JSON Schema regex, matched whole) accepts."""
    regex = re.compile(anchored(pattern, where))
    try:
        candidate = _from_parsed(_sre_parse.parse(pattern))
    except (re.error, ValueError, RecursionError):
        candidate = None
    candidates = [candidate] if candidate is not None else []
    candidates += ["", "Exempel", "exempel", "0", "1", "a", "A", "x", "0000", "2026-01-01"]
    for text in candidates:
        if regex.fullmatch(text) or regex.search(text):
            return text
    raise ExampleError(f"cannot produce a string matching the pattern {pattern!r} at {where}")


def _from_parsed(parsed) -> str:
    out = []
    for op, argument in parsed:
        out.append(_from_op(op, argument))
    return "".join(out)


_CATEGORY_CHARS = {
    _sre.CATEGORY_DIGIT: "0",
    _sre.CATEGORY_NOT_DIGIT: "a",
    _sre.CATEGORY_SPACE: " ",
    _sre.CATEGORY_NOT_SPACE: "a",
    _sre.CATEGORY_WORD: "a",
    _sre.CATEGORY_NOT_WORD: "-",
}


def _from_op(op, argument) -> str:
    if op is _sre.LITERAL:
        return chr(argument)
    if op is _sre.NOT_LITERAL:
        return "a" if chr(argument) != "a" else "b"
    if op is _sre.ANY:
        return "a"
    if op is _sre.IN:
        return _from_class(argument)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)):
        low, _high, item = argument
        return _from_parsed(item) * low
    if op is _sre.SUBPATTERN:
        return _from_parsed(argument[-1])
    if op is _sre.BRANCH:
        return _from_parsed(argument[1][0])
    if op is _sre.AT:
        return ""
    if op is _sre.CATEGORY:
        return _CATEGORY_CHARS.get(argument, "a")
    raise ValueError(f"regex construct {op} not generated")


def _from_class(items) -> str:
    if items and items[0][0] is _sre.NEGATE:
        excluded = set()
        for op, argument in items[1:]:
            if op is _sre.LITERAL:
                excluded.add(chr(argument))
            elif op is _sre.RANGE:
                excluded.update(chr(c) for c in range(argument[0], argument[1] + 1))
        return next(c for c in "aA0x-_ " if c not in excluded)
    op, argument = items[0]
    if op is _sre.LITERAL:
        return chr(argument)
    if op is _sre.RANGE:
        return chr(argument[0])
    if op is _sre.CATEGORY:
        return _CATEGORY_CHARS.get(argument, "a")
    raise ValueError(f"character class item {op} not generated")


# --- dates, times and durations matching an ADL pattern


def temporal_value(kind: str, pattern: str | None, where: str = "?") -> str:
    date, time = INSTANT[:10], INSTANT[11:19]
    candidates = {
        "C_DATE": [date, date[:7], date[:4]],
        "C_TIME": [f"{time}Z", time, f"{time[:5]}Z", time[:5], f"{time[:2]}Z", time[:2]],
        "C_DATE_TIME": [INSTANT, f"{date}T{time}", f"{date}T{time[:5]}Z", f"{date}T{time[:5]}",
                        f"{date}T{time[:2]}", date, date[:7], date[:4]],
        "C_DURATION": ["PT1H", "PT1M", "PT1S", "P1D", "P1W", "P1M", "P1Y"],
    }[kind]
    if pattern:
        regex = (
            duration_pattern(pattern, where) if kind == "C_DURATION" else temporal_pattern(pattern, kind, where)
        )
    else:
        regex = {
            "C_DATE": _rm.DATE_PATTERN,
            "C_TIME": _rm.TIME_PATTERN,
            "C_DATE_TIME": _rm.DATE_TIME_PATTERN,
            "C_DURATION": _rm.DURATION_PATTERN,
        }[kind]
    for candidate in candidates:
        if re.search(regex, candidate) and (kind != "C_DURATION" or re.search(_rm.DURATION_NOT_EMPTY, candidate)):
            return candidate
    raise ExampleError(f"cannot produce a {kind} value matching the pattern {pattern!r} at {where}")
