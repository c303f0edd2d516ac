"""The openEHR Reference Model (RM 1.0.2 - 1.1.0) as data: one table, read by the compiler.

Each entry is ``TYPE: (parent, {attribute: spec})``. A spec is the attribute's declared RM type,
``[]`` appended for a list, ``!`` appended when the attribute is mandatory. Primitive types are
``String``, ``Integer``, ``Real`` and ``Boolean``. Attribute names are the canonical JSON names.
Mandatory-ness follows RM 1.1.0 where 1.1.0 relaxed 1.0.2 (e.g. ACTIVITY.timing), so that data
valid under either release validates.
"""

from __future__ import annotations

import re
from functools import cache

PRIMITIVES = {
    "String": {"type": "string"},
    "Integer": {"type": "integer"},
    "Real": {"type": "number"},
    "Boolean": {"type": "boolean"},
}

# ISO 8601 extended and basic formats as openEHR allows them: partial values, a comma or a
# dot before the fraction (real data from EHRbase uses "2019-01-28T21:22:19,542+00:00").
_TZ = r"(Z|[+-]\d{2}(:?\d{2})?)"
_FRACTION = r"([.,]\d+)"
_MONTH, _DAY = r"(0[1-9]|1[0-2])", r"(0[1-9]|[12]\d|3[01])"
_HOUR, _MINUTE, _SECOND = r"([01]\d|2[0-4])", r"[0-5]\d", r"([0-5]\d|60)"
_EXTENDED_TIME = rf"{_HOUR}(:{_MINUTE}(:{_SECOND}{_FRACTION}?)?)?"
_BASIC_TIME = rf"{_HOUR}({_MINUTE}({_SECOND}{_FRACTION}?)?)?"
TIME_PATTERN = rf"^({_EXTENDED_TIME}|{_BASIC_TIME}){_TZ}?$"
DATE_PATTERN = rf"^(\d{{4}}(-{_MONTH}(-{_DAY})?)?|\d{{4}}{_MONTH}{_DAY})$"
DATE_TIME_PATTERN = (
    rf"^(\d{{4}}(-{_MONTH}(-{_DAY}(T{_EXTENDED_TIME}{_TZ}?)?)?)?"
    rf"|\d{{4}}{_MONTH}{_DAY}(T{_BASIC_TIME}{_TZ}?)?)$"
)
# No look-around (Rust's regex crate has none): the second pattern makes "P" and "PT" fail.
DURATION_PATTERN = r"^-?P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+([.,]\d+)?S)?)?$"
DURATION_NOT_EMPTY = r"\d[YMWDHS]$"

LOCATABLE_ATTRIBUTES = {
    "name": "DV_TEXT!",
    "archetype_node_id": "String!",
    "uid": "UID_BASED_ID",
    "links": "LINK[]",
    "archetype_details": "ARCHETYPED",
    "feeder_audit": "FEEDER_AUDIT",
}

TYPES: dict[str, tuple[str | None, dict[str, str]]] = {
    # --- base: identifiers and references
    "OBJECT_ID": (None, {"value": "String!"}),
    "UID_BASED_ID": ("OBJECT_ID", {}),
    "HIER_OBJECT_ID": ("UID_BASED_ID", {}),
    "OBJECT_VERSION_ID": ("UID_BASED_ID", {}),
    "ARCHETYPE_ID": ("OBJECT_ID", {}),
    "TEMPLATE_ID": ("OBJECT_ID", {}),
    "TERMINOLOGY_ID": ("OBJECT_ID", {}),
    "GENERIC_ID": ("OBJECT_ID", {"scheme": "String"}),
    "OBJECT_REF": (None, {"id": "OBJECT_ID!", "namespace": "String!", "type": "String!"}),
    "PARTY_REF": ("OBJECT_REF", {}),
    "LOCATABLE_REF": ("OBJECT_REF", {"path": "String"}),
    "ARCHETYPED": (
        None,
        {"archetype_id": "ARCHETYPE_ID!", "template_id": "TEMPLATE_ID", "rm_version": "String!"},
    ),
    "LINK": (None, {"meaning": "DV_TEXT!", "type": "DV_TEXT!", "target": "DV_EHR_URI!"}),
    "FEEDER_AUDIT": (
        None,
        {
            "originating_system_item_ids": "DV_IDENTIFIER[]",
            "feeder_system_item_ids": "DV_IDENTIFIER[]",
            "original_content": "DV_ENCAPSULATED",
            "originating_system_audit": "FEEDER_AUDIT_DETAILS!",
            "feeder_system_audit": "FEEDER_AUDIT_DETAILS",
        },
    ),
    "FEEDER_AUDIT_DETAILS": (
        None,
        {
            "system_id": "String!",
            "location": "PARTY_IDENTIFIED",
            "provider": "PARTY_IDENTIFIED",
            "subject": "PARTY_PROXY",
            "time": "DV_DATE_TIME",
            "version_id": "String",
            "other_details": "ITEM_STRUCTURE",
        },
    ),
    "PARTY_PROXY": (None, {"external_ref": "PARTY_REF"}),
    "PARTY_SELF": ("PARTY_PROXY", {}),
    "PARTY_IDENTIFIED": ("PARTY_PROXY", {"name": "String", "identifiers": "DV_IDENTIFIER[]"}),
    "PARTY_RELATED": ("PARTY_IDENTIFIED", {"relationship": "DV_CODED_TEXT!"}),
    "PARTICIPATION": (
        None,
        {"function": "DV_TEXT!", "performer": "PARTY_PROXY!", "time": "DV_INTERVAL", "mode": "DV_CODED_TEXT"},
    ),
    "CODE_PHRASE": (
        None,
        {"terminology_id": "TERMINOLOGY_ID!", "code_string": "String!", "preferred_term": "String"},
    ),
    "TERM_MAPPING": (None, {"match": "String!", "purpose": "DV_CODED_TEXT", "target": "CODE_PHRASE!"}),
    # --- data values
    "DATA_VALUE": (None, {}),
    "DV_BOOLEAN": ("DATA_VALUE", {"value": "Boolean!"}),
    "DV_STATE": ("DATA_VALUE", {"value": "DV_CODED_TEXT!", "is_terminal": "Boolean!"}),
    "DV_IDENTIFIER": (
        "DATA_VALUE",
        {"issuer": "String", "assigner": "String", "id": "String!", "type": "String"},
    ),
    "DV_TEXT": (
        "DATA_VALUE",
        {
            "value": "String!",
            "hyperlink": "DV_URI",
            "formatting": "String",
            "mappings": "TERM_MAPPING[]",
            "language": "CODE_PHRASE",
            "encoding": "CODE_PHRASE",
        },
    ),
    "DV_CODED_TEXT": ("DV_TEXT", {"defining_code": "CODE_PHRASE!"}),
    "DV_PARAGRAPH": ("DATA_VALUE", {"items": "DV_TEXT[]!"}),
    "DV_URI": ("DATA_VALUE", {"value": "String!"}),
    "DV_EHR_URI": ("DV_URI", {}),
    "DV_ORDERED": (
        "DATA_VALUE",
        {
            "normal_status": "CODE_PHRASE",
            "normal_range": "DV_INTERVAL",
            "other_reference_ranges": "REFERENCE_RANGE[]",
        },
    ),
    "DV_INTERVAL": (
        "DATA_VALUE",
        {
            "lower": "DV_ORDERED",
            "upper": "DV_ORDERED",
            # The RM makes all four flags mandatory; producers commonly omit *_included next to an
            # unbounded end, so only the *_unbounded flags are demanded.
            "lower_unbounded": "Boolean!",
            "upper_unbounded": "Boolean!",
            "lower_included": "Boolean",
            "upper_included": "Boolean",
        },
    ),
    "REFERENCE_RANGE": (None, {"meaning": "DV_TEXT!", "range": "DV_INTERVAL!"}),
    "DV_ORDINAL": ("DV_ORDERED", {"value": "Integer!", "symbol": "DV_CODED_TEXT!"}),
    "DV_SCALE": ("DV_ORDERED", {"value": "Real!", "symbol": "DV_CODED_TEXT!"}),
    "DV_QUANTIFIED": ("DV_ORDERED", {"magnitude_status": "String"}),
    "DV_AMOUNT": ("DV_QUANTIFIED", {"accuracy": "Real", "accuracy_is_percent": "Boolean"}),
    "DV_QUANTITY": (
        "DV_AMOUNT",
        {
            "magnitude": "Real!",
            "units": "String!",
            "precision": "Integer",
            "units_system": "String",
            "units_display_name": "String",
        },
    ),
    "DV_COUNT": ("DV_AMOUNT", {"magnitude": "Integer!"}),
    # is_integral is an RM function, but OPTs constrain it and some serialisers emit it.
    "DV_PROPORTION": (
        "DV_AMOUNT",
        {
            "numerator": "Real!",
            "denominator": "Real!",
            "type": "Integer!",
            "precision": "Integer",
            "is_integral": "Boolean",
        },
    ),
    "DV_ABSOLUTE_QUANTITY": ("DV_QUANTIFIED", {}),
    "DV_TEMPORAL": ("DV_ABSOLUTE_QUANTITY", {"accuracy": "DV_DURATION"}),
    "DV_DATE_TIME": ("DV_TEMPORAL", {"value": "String!"}),
    "DV_DATE": ("DV_TEMPORAL", {"value": "String!"}),
    "DV_TIME": ("DV_TEMPORAL", {"value": "String!"}),
    "DV_DURATION": ("DV_AMOUNT", {"value": "String!"}),
    "DV_ENCAPSULATED": ("DATA_VALUE", {"charset": "CODE_PHRASE", "language": "CODE_PHRASE"}),
    "DV_MULTIMEDIA": (
        "DV_ENCAPSULATED",
        {
            "alternate_text": "String",
            "uri": "DV_URI",
            "data": "String",
            "media_type": "CODE_PHRASE!",
            "compression_algorithm": "CODE_PHRASE",
            "integrity_check": "String",
            "integrity_check_algorithm": "CODE_PHRASE",
            "thumbnail": "DV_MULTIMEDIA",
            "size": "Integer!",
        },
    ),
    "DV_PARSABLE": ("DV_ENCAPSULATED", {"value": "String!", "formalism": "String!"}),
    "DV_TIME_SPECIFICATION": ("DATA_VALUE", {"value": "DV_PARSABLE!"}),
    "DV_GENERAL_TIME_SPECIFICATION": ("DV_TIME_SPECIFICATION", {}),
    "DV_PERIODIC_TIME_SPECIFICATION": ("DV_TIME_SPECIFICATION", {}),
    # --- EHR: composition and entries
    "LOCATABLE": (None, LOCATABLE_ATTRIBUTES),
    "COMPOSITION": (
        "LOCATABLE",
        {
            "language": "CODE_PHRASE!",
            "territory": "CODE_PHRASE!",
            "category": "DV_CODED_TEXT!",
            "composer": "PARTY_PROXY!",
            "context": "EVENT_CONTEXT",
            "content": "CONTENT_ITEM[]",
        },
    ),
    "EVENT_CONTEXT": (
        None,
        {
            "health_care_facility": "PARTY_IDENTIFIED",
            "start_time": "DV_DATE_TIME!",
            "end_time": "DV_DATE_TIME",
            "participations": "PARTICIPATION[]",
            "location": "String",
            "setting": "DV_CODED_TEXT!",
            "other_context": "ITEM_STRUCTURE",
        },
    ),
    "CONTENT_ITEM": ("LOCATABLE", {}),
    "SECTION": ("CONTENT_ITEM", {"items": "CONTENT_ITEM[]"}),
    "ENTRY": (
        "CONTENT_ITEM",
        {
            "language": "CODE_PHRASE!",
            "encoding": "CODE_PHRASE!",
            "subject": "PARTY_PROXY!",
            "provider": "PARTY_PROXY",
            "other_participations": "PARTICIPATION[]",
            "workflow_id": "OBJECT_REF",
        },
    ),
    "CARE_ENTRY": ("ENTRY", {"protocol": "ITEM_STRUCTURE", "guideline_id": "OBJECT_REF"}),
    "OBSERVATION": ("CARE_ENTRY", {"data": "HISTORY!", "state": "HISTORY"}),
    "EVALUATION": ("CARE_ENTRY", {"data": "ITEM_STRUCTURE!"}),
    "INSTRUCTION": (
        "CARE_ENTRY",
        {
            "narrative": "DV_TEXT!",
            "expiry_time": "DV_DATE_TIME",
            "wf_definition": "DV_PARSABLE",
            "activities": "ACTIVITY[]",
        },
    ),
    "ACTIVITY": (
        "LOCATABLE",
        {"description": "ITEM_STRUCTURE!", "timing": "DV_PARSABLE", "action_archetype_id": "String!"},
    ),
    "ACTION": (
        "CARE_ENTRY",
        {
            "time": "DV_DATE_TIME!",
            "description": "ITEM_STRUCTURE!",
            "ism_transition": "ISM_TRANSITION!",
            "instruction_details": "INSTRUCTION_DETAILS",
        },
    ),
    # PATHABLE, not LOCATABLE: no archetype_node_id of their own in RM 1.0.2.
    "ISM_TRANSITION": (
        None,
        {
            "current_state": "DV_CODED_TEXT!",
            "transition": "DV_CODED_TEXT",
            "careflow_step": "DV_CODED_TEXT",
            "reason": "DV_TEXT[]",
        },
    ),
    "INSTRUCTION_DETAILS": (
        None,
        {"instruction_id": "LOCATABLE_REF!", "activity_id": "String!", "wf_details": "ITEM_STRUCTURE"},
    ),
    "ADMIN_ENTRY": ("ENTRY", {"data": "ITEM_STRUCTURE!"}),
    "GENERIC_ENTRY": ("CONTENT_ITEM", {"data": "ITEM_TREE!"}),
    # --- data structures
    "HISTORY": (
        "LOCATABLE",
        {
            "origin": "DV_DATE_TIME!",
            "period": "DV_DURATION",
            "duration": "DV_DURATION",
            "events": "EVENT[]",
            "summary": "ITEM_STRUCTURE",
        },
    ),
    "EVENT": ("LOCATABLE", {"time": "DV_DATE_TIME!", "data": "ITEM_STRUCTURE!", "state": "ITEM_STRUCTURE"}),
    "POINT_EVENT": ("EVENT", {}),
    "INTERVAL_EVENT": (
        "EVENT",
        {"width": "DV_DURATION!", "math_function": "DV_CODED_TEXT!", "sample_count": "Integer"},
    ),
    "ITEM_STRUCTURE": ("LOCATABLE", {}),
    "ITEM_TREE": ("ITEM_STRUCTURE", {"items": "ITEM[]"}),
    "ITEM_LIST": ("ITEM_STRUCTURE", {"items": "ELEMENT[]"}),
    "ITEM_SINGLE": ("ITEM_STRUCTURE", {"item": "ELEMENT!"}),
    "ITEM_TABLE": ("ITEM_STRUCTURE", {"rows": "CLUSTER[]"}),
    "ITEM": ("LOCATABLE", {}),
    "CLUSTER": ("ITEM", {"items": "ITEM[]!"}),
    "ELEMENT": ("ITEM", {"value": "DATA_VALUE", "null_flavour": "DV_CODED_TEXT", "null_reason": "DV_TEXT"}),
    # --- demographic
    # PARTY.uid is mandatory in the RM, but the demographic service assigns it on create, so a
    # PERSON is valid without one (as for every LOCATABLE).
    "PARTY": (
        "LOCATABLE",
        {
            "identities": "PARTY_IDENTITY[]!",
            "contacts": "CONTACT[]",
            "details": "ITEM_STRUCTURE",
            "relationships": "PARTY_RELATIONSHIP[]",
            "reverse_relationships": "LOCATABLE_REF[]",
        },
    ),
    "ACTOR": ("PARTY", {"roles": "PARTY_REF[]", "languages": "DV_TEXT[]"}),
    "PERSON": ("ACTOR", {}),
    "ORGANISATION": ("ACTOR", {}),
    "GROUP": ("ACTOR", {}),
    "AGENT": ("ACTOR", {}),
    "ROLE": (
        "PARTY",
        {"time_validity": "DV_INTERVAL", "performer": "PARTY_REF!", "capabilities": "CAPABILITY[]"},
    ),
    "PARTY_IDENTITY": ("LOCATABLE", {"details": "ITEM_STRUCTURE!"}),
    "CONTACT": ("LOCATABLE", {"time_validity": "DV_INTERVAL", "addresses": "ADDRESS[]!"}),
    "ADDRESS": ("LOCATABLE", {"details": "ITEM_STRUCTURE!"}),
    "PARTY_RELATIONSHIP": (
        "LOCATABLE",
        {
            "details": "ITEM_STRUCTURE",
            "source": "PARTY_REF!",
            "target": "PARTY_REF!",
            "time_validity": "DV_INTERVAL",
        },
    ),
    "CAPABILITY": ("LOCATABLE", {"credentials": "ITEM_STRUCTURE!", "time_validity": "DV_INTERVAL"}),
}

# String attributes that an RM invariant declares non-empty when present ("not x.is_empty":
# Archetype_node_id_valid, Value_exists, Code_string_exists, Value_valid, Id_valid, ...); the
# subtypes of the declaring type inherit the rule (OBJECT_ID.value: TERMINOLOGY_ID, ARCHETYPE_ID...).
NON_EMPTY = frozenset(
    {
        ("LOCATABLE", "archetype_node_id"),
        ("OBJECT_ID", "value"),
        ("OBJECT_REF", "namespace"),
        ("OBJECT_REF", "type"),
        ("LOCATABLE_REF", "path"),
        ("ARCHETYPED", "rm_version"),
        ("CODE_PHRASE", "code_string"),
        ("DV_TEXT", "value"),
        ("DV_TEXT", "formatting"),
        ("DV_URI", "value"),
        ("DV_IDENTIFIER", "issuer"),
        ("DV_IDENTIFIER", "assigner"),
        ("DV_IDENTIFIER", "id"),
        ("DV_IDENTIFIER", "type"),
        ("DV_PARSABLE", "formalism"),
        ("PARTY_IDENTIFIED", "name"),
        ("FEEDER_AUDIT_DETAILS", "system_id"),
        ("EVENT_CONTEXT", "location"),
        ("ACTIVITY", "action_archetype_id"),
        ("INSTRUCTION_DETAILS", "activity_id"),
    }
)

# RM functions that OPTs constrain like attributes: checked when present, never required.
COMPUTED = frozenset({("DV_PROPORTION", "is_integral")})

# RM class invariants that JSON Schema can state, per type ("Inv_*" clauses of the RM).
_NULL_FLAVOUR = (
    "RM invariant Inv_null_flavour_indicated: an ELEMENT has a value or a null_flavour saying why not, "
    "never both"
)
_NULL_REASON = "RM invariant Inv_null_reason_valid: an ELEMENT with a null_reason has no value"
INVARIANTS = {
    "ELEMENT": [
        {
            "if": {"required": ["value"]},
            "then": {"description": _NULL_FLAVOUR, "not": {"required": ["null_flavour"]}},
            "else": {"description": _NULL_FLAVOUR, "required": ["null_flavour"]},
        },
        {
            "if": {"required": ["null_reason"]},
            "then": {"description": _NULL_REASON, "not": {"required": ["value"]}},
        },
    ],
    # Limits_consistent (lower <= upper) compares two values of the instance: beyond JSON Schema.
    "DV_INTERVAL": [
        {
            "if": {"properties": {f"{end}_unbounded": {"const": False}}, "required": [f"{end}_unbounded"]},
            "then": {
                "description": f"RM invariant: an interval that is not {end}_unbounded has a {end} value",
                "required": [end],
            },
        }
        for end in ("lower", "upper")
    ]
    + [
        {
            "if": {"properties": {f"{end}_unbounded": {"const": True}}, "required": [f"{end}_unbounded"]},
            "then": {
                "description": f"RM invariants: a {end}_unbounded interval has no {end} value, and "
                f"{end}_included is not true ({end.capitalize()}_included_valid)",
                "not": {
                    "anyOf": [
                        {"required": [end]},
                        {"properties": {f"{end}_included": {"const": True}}, "required": [f"{end}_included"]},
                    ]
                },
            },
        }
        for end in ("lower", "upper")
    ],
    "DV_QUANTITY": [
        {
            "if": {"properties": {"precision": {"const": 0}}, "required": ["precision"]},
            "then": {
                "properties": {
                    "magnitude": {
                        "description": "RM invariant Precision_validity: a quantity of precision 0 is integral",
                        "multipleOf": 1,
                    }
                }
            },
        }
    ],
    "PARTY_IDENTIFIED": [
        {
            "description": "RM invariant Basic_validity: a PARTY_IDENTIFIED has a name, identifiers or an "
            "external_ref",
            "anyOf": [{"required": ["name"]}, {"required": ["identifiers"]}, {"required": ["external_ref"]}],
        }
    ],
    "COMPOSITION": [
        {
            "if": {
                "properties": {
                    "category": {
                        "properties": {"defining_code": {"properties": {"code_string": {"const": "431"}}}}
                    }
                }
            },
            "then": {
                "description": "RM invariant Is_persistent_validity: a persistent composition (category 431) "
                "has no context",
                "not": {"required": ["context"]},
            },
        }
    ],
}


def invariants(rm_type: str) -> list[dict]:
    """The invariants of ``rm_type`` and of its ancestors (PARTY_RELATED is a PARTY_IDENTIFIED)."""
    found = []
    while rm_type is not None:
        found = INVARIANTS.get(rm_type, []) + found
        rm_type = TYPES[rm_type][0]
    return found


# RM attributes coded in an openEHR terminology group, when the template does not say more.
OPENEHR_CODES = {
    ("ELEMENT", "null_flavour"): ["253", "271", "272", "273"],  # null flavours
}

# Types that never occur as instances: data must say which concrete type it is (``_type``).
ABSTRACT = frozenset(
    {
        "OBJECT_ID",
        "UID_BASED_ID",
        "PARTY_PROXY",
        "DATA_VALUE",
        "DV_ORDERED",
        "DV_QUANTIFIED",
        "DV_AMOUNT",
        "DV_ABSOLUTE_QUANTITY",
        "DV_TEMPORAL",
        "DV_ENCAPSULATED",
        "DV_TIME_SPECIFICATION",
        "LOCATABLE",
        "CONTENT_ITEM",
        "ENTRY",
        "CARE_ENTRY",
        "EVENT",
        "ITEM_STRUCTURE",
        "ITEM",
        "PARTY",
        "ACTOR",
    }
)

# Value formats that the RM states in prose (ISO 8601 strings).
VALUE_FORMATS = {
    "DV_DATE_TIME": "an ISO 8601 date-time, e.g. 2019-01-28T21:22:19,542+01:00",
    "DV_DATE": "an ISO 8601 date, e.g. 2019-01-28",
    "DV_TIME": "an ISO 8601 time, e.g. 21:22:19",
    "DV_DURATION": "an ISO 8601 duration, e.g. P1DT2H or PT30M",
}
VALUE_PATTERNS = {
    "DV_DATE_TIME": DATE_TIME_PATTERN,
    "DV_DATE": DATE_PATTERN,
    "DV_TIME": TIME_PATTERN,
    "DV_DURATION": DURATION_PATTERN,
}


class Attribute:
    __slots__ = ("name", "rm_type", "is_list", "mandatory", "non_empty")

    def __init__(self, name: str, spec: str, non_empty: bool = False):
        self.name = name
        self.mandatory = spec.endswith("!")
        spec = spec.rstrip("!")
        self.is_list = spec.endswith("[]")
        self.rm_type = spec.removesuffix("[]")
        self.non_empty = non_empty  # a String the RM declares non-empty (NON_EMPTY)


def base_type(rm_type_name: str) -> str:
    """``DV_INTERVAL<DV_COUNT>`` -> ``DV_INTERVAL``; ``HISTORY<ITEM_TREE>`` -> ``HISTORY``."""
    return rm_type_name.split("<", 1)[0]


def type_argument(rm_type_name: str) -> str | None:
    match = re.search(r"<(.+)>$", rm_type_name)
    return match.group(1) if match else None


def is_known(rm_type: str) -> bool:
    return base_type(rm_type) in TYPES or rm_type in PRIMITIVES


@cache
def attributes(rm_type: str) -> dict[str, Attribute]:
    """Every attribute of ``rm_type``, inherited ones included, in declaration order."""
    parent, own = TYPES[rm_type]
    inherited = dict(attributes(parent)) if parent else {}
    inherited.update({name: Attribute(name, spec, (rm_type, name) in NON_EMPTY) for name, spec in own.items()})
    return inherited


@cache
def concrete_types(rm_type: str) -> tuple[str, ...]:
    """``rm_type`` and its descendants that can occur as instances, sorted."""
    found = {name for name in TYPES if _descends(name, rm_type) and name not in ABSTRACT}
    return tuple(sorted(found))


def _descends(rm_type: str, ancestor: str) -> bool:
    while rm_type is not None:
        if rm_type == ancestor:
            return True
        rm_type = TYPES[rm_type][0]
    return False


def is_locatable(rm_type: str) -> bool:
    return _descends(base_type(rm_type), "LOCATABLE")


def conforms(rm_type: str, declared: str) -> bool:
    """May an instance of ``rm_type`` stand where ``declared`` is declared?"""
    return _descends(base_type(rm_type), base_type(declared))
