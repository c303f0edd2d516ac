"""Small, pure helpers for openEHR RM JSON (canonical form, `_type` discriminators)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from archetypes.identifiers import HSA_ID_SYSTEM


class MappingError(ValueError):
    """The resource cannot be mapped; `expression` names the FHIR element, `status` the HTTP status."""

    def __init__(self, message: str, expression: str | None = None, status: int = 400):
        super().__init__(message)
        self.expression = expression
        self.status = status


@dataclass(frozen=True)
class VersionUid:
    object_id: str
    system_id: str
    version: int

    @classmethod
    def parse(cls, text: str) -> VersionUid:
        parts = text.strip().strip('"').split("::")
        if len(parts) != 3 or not (parts[2].isascii() and parts[2].isdigit()):
            raise ValueError(f"{text!r} is not a version uid object_id::system_id::n")
        return cls(parts[0], parts[1], int(parts[2]))

    def __str__(self) -> str:
        return f"{self.object_id}::{self.system_id}::{self.version}"


def dv_text(value: str) -> dict:
    return {"_type": "DV_TEXT", "value": value}


def code_phrase(code: str, terminology: str = "local") -> dict:
    return {
        "_type": "CODE_PHRASE",
        "terminology_id": {"_type": "TERMINOLOGY_ID", "value": terminology},
        "code_string": code,
    }


def dv_coded(value: str, code: str, terminology: str = "local") -> dict:
    return {"_type": "DV_CODED_TEXT", "value": value, "defining_code": code_phrase(code, terminology)}


def element(node_id: str, name: str, value: dict) -> dict:
    return {"_type": "ELEMENT", "archetype_node_id": node_id, "name": dv_text(name), "value": value}


def cluster(node_id: str, name: str, items: list[dict]) -> dict:
    return {"_type": "CLUSTER", "archetype_node_id": node_id, "name": dv_text(name), "items": items}


def code_of(dv: dict | None) -> str | None:
    if not isinstance(dv, dict):
        return None
    return ((dv.get("defining_code") or {}).get("code_string")) or None


def items_with(items: list[dict] | None, node_id: str) -> list[dict]:
    return [i for i in items or () if isinstance(i, dict) and i.get("archetype_node_id") == node_id]


def first_with(items: list[dict] | None, node_id: str) -> dict | None:
    # A plain loop that stops at the first match: the mappings ask this hundreds of times per
    # $everything, and building the list of every match first cost twice as much.
    for i in items or ():
        if isinstance(i, dict) and i.get("archetype_node_id") == node_id:
            return i
    return None


def value_of(items: list[dict] | None, node_id: str) -> dict | None:
    for i in items or ():
        if isinstance(i, dict) and i.get("archetype_node_id") == node_id:
            return i.get("value")
    return None


# -- shared by the clinical mappings ---------------------------------------------------------------


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid_hex(text: str) -> str:
    """`uuid.UUID(text).hex` (ValueError when `text` is no UUID), without building a UUID for the
    canonical lower-case form the modules send (a UUID object cost more than the rest of an id)."""
    if len(text) == 36 and _CANONICAL_UUID.fullmatch(text):
        return text.replace("-", "")
    return uuid.UUID(text).hex


def joined_id(ehr_id: str, object_id: str) -> str:
    """The FHIR id of a composition: EHR id and object id as 64 hex digits (FHIR ids stop at 64)."""
    return uuid_hex(ehr_id) + uuid_hex(object_id)


def split_joined_id(resource_id: str) -> tuple[str, str] | None:
    """(ehr_id, object_id) of a joined id, None when it is not one."""
    if len(resource_id) != 64:
        return None
    try:
        return str(uuid.UUID(resource_id[:32])), str(uuid.UUID(resource_id[32:]))
    except ValueError:
        return None


def entry_time(entry: dict) -> datetime:
    """An ENTRY's `time` (ACTION), parsed (ISO texts of different precision do not sort as strings)."""
    text = (entry.get("time") or {}).get("value") or ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def latest_entry(entries: list[dict]) -> dict | None:
    """The latest entry by time; the last one added wins ties."""
    if not entries:
        return None
    return max(enumerate(entries), key=lambda pair: (entry_time(pair[1]), pair[0]))[1]


def party_reference(party: dict | None, kind: str) -> dict | None:
    """A FHIR Reference (type, HSA-id identifier, display) for a PARTY_IDENTIFIED."""
    if not isinstance(party, dict) or party.get("_type", "PARTY_IDENTIFIED") != "PARTY_IDENTIFIED":
        return None
    ref: dict = {"type": kind}
    for ident in party.get("identifiers") or []:
        if ident.get("type") == "HSA-id":
            ref["identifier"] = {"system": HSA_ID_SYSTEM, "value": ident.get("id")}
            break
    if party.get("name"):
        ref["display"] = party["name"]
    return ref if len(ref) > 1 else None


def identifier_from_dv(dv: dict) -> dict:
    """DV_IDENTIFIER -> Identifier: an issuer that is a URI is the system, otherwise the assigner."""
    issuer = dv.get("issuer")
    identifier: dict = {"system": issuer} if issuer and ":" in issuer else {}
    identifier["value"] = dv.get("id")
    if issuer and ":" not in issuer:
        identifier["assigner"] = {"display": issuer}
    return identifier
