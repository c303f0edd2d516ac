"""Small builders for openEHR canonical JSON (``_type`` on every object), used to write the
example compositions. Node names come from the archetypes' terms (Swedish, English fallback)."""

from __future__ import annotations

from typing import Any

from . import adl

RM_VERSION = "1.0.4"
J = dict[str, Any]


def name_of(archetype_id: str, code: str) -> str:
    return adl.load(archetype_id).term(code)[0].text


def dv_text(value: str) -> J:
    return {"_type": "DV_TEXT", "value": value}


def code_phrase(terminology: str, code: str) -> J:
    return {"_type": "CODE_PHRASE", "terminology_id": {"_type": "TERMINOLOGY_ID", "value": terminology},
            "code_string": code}


def dv_coded(value: str, terminology: str, code: str) -> J:
    return {"_type": "DV_CODED_TEXT", "value": value, "defining_code": code_phrase(terminology, code)}


def local(archetype_id: str, code: str) -> J:
    return dv_coded(name_of(archetype_id, code), "local", code)


def dv_date_time(value: str) -> J:
    return {"_type": "DV_DATE_TIME", "value": value}


def dv_date(value: str) -> J:
    return {"_type": "DV_DATE", "value": value}


def dv_quantity(magnitude: float, units: str) -> J:
    return {"_type": "DV_QUANTITY", "magnitude": magnitude, "units": units}


def dv_boolean(value: bool) -> J:
    return {"_type": "DV_BOOLEAN", "value": value}


def dv_identifier(id_: str, type_: str, issuer: str, assigner: str | None = None) -> J:
    return {"_type": "DV_IDENTIFIER", "issuer": issuer, "assigner": assigner or issuer, "id": id_,
            "type": type_}


def hsa_id(id_: str) -> J:
    return dv_identifier(id_, "HSA-id", "Inera AB", "Västra Götalandsregionen")


def element(archetype_id: str, code: str, value: J) -> J:
    return {"_type": "ELEMENT", "name": dv_text(name_of(archetype_id, code)), "archetype_node_id": code,
            "value": value}


def node(rm_type: str, archetype_id: str, code: str, **fields: Any) -> J:
    """A LOCATABLE with an at-code node id (CLUSTER, ITEM_TREE, ACTIVITY, HISTORY, ...)."""
    return {"_type": rm_type, "name": dv_text(name_of(archetype_id, code)), "archetype_node_id": code,
            **fields}


def archetyped(archetype_id: str, template_id: str | None = None) -> J:
    out: J = {"_type": "ARCHETYPED", "archetype_id": {"_type": "ARCHETYPE_ID", "value": archetype_id}}
    if template_id:
        out["template_id"] = {"_type": "TEMPLATE_ID", "value": template_id}
    out["rm_version"] = RM_VERSION
    return out


def root(rm_type: str, archetype_id: str, name: str | None = None, template_id: str | None = None,
         with_details: bool = True, **fields: Any) -> J:
    """An archetype root (entry, cluster, composition, party...); ``archetype_details`` is
    optional in the RM and written for compositions, parties and entries only."""
    out: J = {"_type": rm_type, "name": dv_text(name or name_of(archetype_id, "at0000")),
              "archetype_node_id": archetype_id}
    if with_details:
        out["archetype_details"] = archetyped(archetype_id, template_id)
    return {**out, **fields}


def cluster_root(rm_type: str, archetype_id: str, name: str | None = None, **fields: Any) -> J:
    """An archetype used inside another (CLUSTER, ITEM_TREE, PARTY_IDENTITY, ADDRESS)."""
    return root(rm_type, archetype_id, name, with_details=False, **fields)


def language() -> J:
    return code_phrase("ISO_639-1", "sv")


def entry(rm_type: str, archetype_id: str, name: str | None = None, **fields: Any) -> J:
    return root(rm_type, archetype_id, name, language=language(),
                encoding=code_phrase("IANA_character-sets", "UTF-8"), subject={"_type": "PARTY_SELF"},
                **fields)


def composer(name: str, hsa: str) -> J:
    return {"_type": "PARTY_IDENTIFIED", "name": name, "identifiers": [hsa_id(hsa)]}


def context(start: str, unit_name: str, unit_hsa: str, setting: J | None = None) -> J:
    return {
        "_type": "EVENT_CONTEXT",
        "start_time": dv_date_time(start),
        "setting": setting or dv_coded("primary medical care", "openehr", "228"),
        "health_care_facility": {"_type": "PARTY_IDENTIFIED", "name": unit_name,
                                 "identifiers": [hsa_id(unit_hsa)]},
    }


def composition(archetype_id: str, template_id: str, name: str, author: J, ctx: J, content: list[J]) -> J:
    return root("COMPOSITION", archetype_id, name, template_id,
                language=language(), territory=code_phrase("ISO_3166-1", "SE"),
                category=dv_coded("event", "openehr", "433"), composer=author, context=ctx, content=content)


def luhn_check_digit(nine_digits: str) -> str:
    total = 0
    for i, ch in enumerate(nine_digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return str((10 - total % 10) % 10)


def personnummer(yyyymmdd: str, serial: str) -> str:
    """A 12-digit personnummer (or samordningsnummer, day + 60) with its Luhn check digit."""
    return f"{yyyymmdd}-{serial}{luhn_check_digit(yyyymmdd[2:] + serial)}"
