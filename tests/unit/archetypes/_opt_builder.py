"""Build small OPT 1.4 documents for unit tests: one function per XML construct.

A test composes constraints with these helpers, compiles the result and validates
hand-written instances against it.
"""

from __future__ import annotations

import copy

XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def interval(
    tag: str,
    lower: int | float | None = 0,
    upper: int | float | None = None,
    lower_included: bool = True,
    upper_included: bool = True,
) -> str:
    parts = [
        f"<lower_included>{str(lower_included).lower()}</lower_included>" if lower is not None else "",
        f"<upper_included>{str(upper_included).lower()}</upper_included>" if upper is not None else "",
        f"<lower_unbounded>{str(lower is None).lower()}</lower_unbounded>",
        f"<upper_unbounded>{str(upper is None).lower()}</upper_unbounded>",
        f"<lower>{lower}</lower>" if lower is not None else "",
        f"<upper>{upper}</upper>" if upper is not None else "",
    ]
    return f"<{tag}>{''.join(parts)}</{tag}>"


def obj(
    rm_type: str,
    node_id: str = "",
    *attributes: str,
    occurrences=(1, 1),
    kind="C_COMPLEX_OBJECT",
    extra: str = "",
) -> str:
    return (
        f'<children xsi:type="{kind}"><rm_type_name>{rm_type}</rm_type_name>'
        f"{interval('occurrences', *occurrences)}<node_id>{node_id}</node_id>"
        f"{''.join(attributes)}{extra}</children>"
    )


def root(rm_type: str, archetype_id: str, *attributes: str, occurrences=(0, None), terms=None) -> str:
    return obj(
        rm_type,
        "at0000",
        *attributes,
        occurrences=occurrences,
        kind="C_ARCHETYPE_ROOT",
        extra=f"<archetype_id><value>{archetype_id}</value></archetype_id>" + term_definitions(terms),
    )


def term_definitions(terms: dict | None) -> str:
    return "".join(
        f'<term_definitions code="{code}"><items id="text">{text}</items>'
        f'<items id="description">{text}</items></term_definitions>'
        for code, text in (terms or {}).items()
    )


def single(name: str, *children: str, existence=(1, 1)) -> str:
    return (
        f'<attributes xsi:type="C_SINGLE_ATTRIBUTE"><rm_attribute_name>{name}</rm_attribute_name>'
        f"{interval('existence', *existence)}{''.join(children)}</attributes>"
    )


def multiple(name: str, *children: str, existence=(0, 1), cardinality=(0, None), unique=False) -> str:
    return (
        f'<attributes xsi:type="C_MULTIPLE_ATTRIBUTE"><rm_attribute_name>{name}</rm_attribute_name>'
        f"{interval('existence', *existence)}{''.join(children)}"
        f"<cardinality><is_ordered>false</is_ordered><is_unique>{str(unique).lower()}</is_unique>"
        f"{interval('interval', *cardinality)}</cardinality></attributes>"
    )


def primitive(rm_type: str, item: str) -> str:
    return (
        f'<children xsi:type="C_PRIMITIVE_OBJECT"><rm_type_name>{rm_type}</rm_type_name>'
        f"{interval('occurrences', 1, 1)}<node_id/>{item}</children>"
    )


def c_string(*values: str, pattern: str | None = None) -> str:
    body = "".join(f"<list>{v}</list>" for v in values) + (f"<pattern>{pattern}</pattern>" if pattern else "")
    return primitive("STRING", f'<item xsi:type="C_STRING">{body}</item>')


def code_phrase(terminology: str, *codes: str) -> str:
    return obj(
        "CODE_PHRASE",
        "",
        kind="C_CODE_PHRASE",
        extra=f"<terminology_id><value>{terminology}</value></terminology_id>"
        + "".join(f"<code_list>{c}</code_list>" for c in codes),
    )


def coded_text(terminology: str, *codes: str) -> str:
    return obj("DV_CODED_TEXT", "", single("defining_code", code_phrase(terminology, *codes)))


def slot(
    rm_type: str, node_id: str, includes: list[str] = (), excludes: list[str] = (), occurrences=(0, None)
) -> str:
    def assertion(tag, pattern):
        return (
            f'<{tag}><expression xsi:type="EXPR_BINARY_OPERATOR"><type>Boolean</type>'
            f"<operator>2007</operator><precedence_overridden>false</precedence_overridden>"
            f'<left_operand xsi:type="EXPR_LEAF"><type>String</type>'
            f'<item xsi:type="xsd:string">archetype_id/value</item><reference_type>attribute</reference_type>'
            f'</left_operand><right_operand xsi:type="EXPR_LEAF"><type>C_STRING</type>'
            f'<item xsi:type="C_STRING"><pattern>{pattern}</pattern></item>'
            f"<reference_type>constraint</reference_type></right_operand></expression></{tag}>"
        )

    body = "".join(assertion("includes", p) for p in includes) + "".join(
        assertion("excludes", p) for p in excludes
    )
    return obj(rm_type, node_id, occurrences=occurrences, kind="ARCHETYPE_SLOT", extra=body)


def template(
    definition_attributes: str,
    rm_type: str = "COMPOSITION",
    archetype_id: str = "openEHR-EHR-COMPOSITION.test.v1",
    template_id: str = "test.v1",
    terms: dict | None = None,
) -> str:
    """A whole OPT whose definition is a ``rm_type`` archetype root with the given attributes."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><template {XSI} xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        f'xmlns="http://schemas.openehr.org/v1"><language><terminology_id><value>ISO_639-1</value>'
        f"</terminology_id><code_string>en</code_string></language>"
        f"<template_id><value>{template_id}</value></template_id><concept>Test</concept>"
        f"<definition><rm_type_name>{rm_type}</rm_type_name>{interval('occurrences', 1, 1)}"
        f"<node_id>at0000</node_id>{definition_attributes}"
        f"<archetype_id><value>{archetype_id}</value></archetype_id>"
        f"{term_definitions({'at0000': 'Test', **(terms or {})})}</definition></template>"
    )


ENTRY_ID = "openEHR-EHR-EVALUATION.test.v1"
ENTRY_TERMS = {
    "at0000": "Test entry",
    "at0001": "Tree",
    "at0002": "Finding",
    "at0003": "Other finding",
    "at0004": "Group",
    "at0010": "Mild",
    "at0011": "Severe",
    "at0020": "Test codes",
}


def evaluation_template(*items: str, terms: dict | None = None, cardinality=(0, None)) -> str:
    """COMPOSITION / content: EVALUATION / data: ITEM_TREE at0001 / items: the given items."""
    evaluation = root(
        "EVALUATION",
        ENTRY_ID,
        single("data", obj("ITEM_TREE", "at0001", multiple("items", *items, cardinality=cardinality))),
        terms={**ENTRY_TERMS, **(terms or {})},
    )
    return template(multiple("content", evaluation))


def element(
    value: str | None = None, node_id: str = "at0002", occurrences=(0, 1), existence=(0, 1), *attributes: str
) -> str:
    value_attribute = single("value", value, existence=existence) if value else ""
    return obj("ELEMENT", node_id, value_attribute, *attributes, occurrences=occurrences)


def code(terminology: str, code_string: str) -> dict:
    return {
        "_type": "CODE_PHRASE",
        "terminology_id": {"_type": "TERMINOLOGY_ID", "value": terminology},
        "code_string": code_string,
    }


def text(value: str) -> dict:
    return {"_type": "DV_TEXT", "value": value}


COMPOSITION = {
    "_type": "COMPOSITION",
    "name": text("Test"),
    "archetype_node_id": "openEHR-EHR-COMPOSITION.test.v1",
    "archetype_details": {
        "_type": "ARCHETYPED",
        "archetype_id": {"_type": "ARCHETYPE_ID", "value": "openEHR-EHR-COMPOSITION.test.v1"},
        "template_id": {"_type": "TEMPLATE_ID", "value": "test.v1"},
        "rm_version": "1.0.2",
    },
    "language": code("ISO_639-1", "en"),
    "territory": code("ISO_3166-1", "SE"),
    "category": {"_type": "DV_CODED_TEXT", "value": "event", "defining_code": code("openehr", "433")},
    "composer": {"_type": "PARTY_IDENTIFIED", "name": "Dr Test"},
}


def composition(*items: dict) -> dict:
    """A composition for ``evaluation_template`` holding ``items`` in the tree."""
    document = copy.deepcopy(COMPOSITION)
    document["content"] = [
        {
            "_type": "EVALUATION",
            "name": text("Test entry"),
            "archetype_node_id": ENTRY_ID,
            "language": code("ISO_639-1", "en"),
            "encoding": code("IANA_character-sets", "UTF-8"),
            "subject": {"_type": "PARTY_SELF"},
            "data": {
                "_type": "ITEM_TREE",
                "name": text("Tree"),
                "archetype_node_id": "at0001",
                "items": list(items),
            },
        }
    ]
    return document


def item(value: dict | None = None, node_id: str = "at0002", name: str = "Finding") -> dict:
    """An ELEMENT; without a value it says why (null_flavour "no information"), as the RM demands."""
    result = {"_type": "ELEMENT", "name": text(name), "archetype_node_id": node_id}
    if value is not None:
        result["value"] = value
    else:
        result["null_flavour"] = copy.deepcopy(NO_INFORMATION)
    return result


NO_INFORMATION = {
    "_type": "DV_CODED_TEXT",
    "value": "no information",
    "defining_code": code("openehr", "271"),
}


ITEMS = "/content/0/data/items"
ITEMS_PATH = f"/content[{ENTRY_ID}]/data[at0001]/items"
