"""Composition and Condition <-> journal note COMPOSITION (template vgr.journal_note.v1), pure functions.

COMPOSITION.encounter.v1 ("Journalanteckning")          Composition (type LOINC 11506-3 Progress note)
  context.start_time                                    Composition.date, Condition.recordedDate
  composer (PARTY_IDENTIFIED, HSA-id)                   Composition.author[0], Condition.recorder
  context.health_care_facility (HSA-id)                 Composition.custodian
  OBSERVATION.story.v1 .../items[at0004]                section "Anamnes"
  OBSERVATION.progress_note.v1 .../items[at0004]        section "Status"
  EVALUATION.clinical_synopsis.v1 "Bedömning" [at0002]  section "Bedömning" (run-time names = headings)
  EVALUATION.problem_diagnosis.v1 (0..*)                section "Diagnos" -> one Condition each:
      at0002 ICD-10-SE coded name                         Condition.code
      at0009 clinical description, at0069 comment         Condition.note[0], note[1]
      at0077 onset                                        Condition.onsetDateTime
      at0073 certainty at0074/at0075/at0076               Condition.verificationStatus
  EVALUATION.clinical_synopsis.v1 "Åtgärd/Plan"         section "Åtgärd/Plan"

Section texts are XHTML narratives (one <p> per line). A Composition's id is the EHR id and the
composition's object id (64 hex digits, as for MedicationRequest); a Condition's id adds the
position of its diagnosis in the note (`{composition id}-{n}` would exceed 64 characters, so both
UUIDs are written in base 32).
"""

from __future__ import annotations

import base64
import html
import uuid

from lxml import etree

from archetypes.identifiers import HSA_ID_SYSTEM
from gateway.openehr import (
    MappingError,
    VersionUid,
    code_phrase,
    dv_coded,
    dv_text,
    element,
    joined_id,
    party_reference,
    split_joined_id,
    uuid_hex,
    value_of,
)

# ids: EHR id + composition object id (gateway.openehr.joined_id)
composition_id = joined_id
split_composition_id = split_joined_id
TEMPLATE_ID = "vgr.journal_note.v1"
COMPOSITION_ARCHETYPE = "openEHR-EHR-COMPOSITION.encounter.v1"
STORY = "openEHR-EHR-OBSERVATION.story.v1"
PROGRESS = "openEHR-EHR-OBSERVATION.progress_note.v1"
SYNOPSIS = "openEHR-EHR-EVALUATION.clinical_synopsis.v1"
DIAGNOSIS = "openEHR-EHR-EVALUATION.problem_diagnosis.v1"
LOINC = "http://loinc.org"
PROGRESS_NOTE = {"system": LOINC, "code": "11506-3", "display": "Progress note"}
ICD10SE_SYSTEM = "urn:oid:1.2.752.116.1.1.1"  # ICD-10-SE (Socialstyrelsen)
ICD10SE_TERMINOLOGY = "ICD-10-SE"
XHTML = "http://www.w3.org/1999/xhtml"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"

ANAMNES, STATUS, BEDOMNING, DIAGNOS, PLAN = "Anamnes", "Status", "Bedömning", "Diagnos", "Åtgärd/Plan"
SECTION_ORDER = (ANAMNES, STATUS, BEDOMNING, DIAGNOS, PLAN)
CERTAINTY = {  # at0073 -> (verification status, Swedish text)
    "at0074": ("provisional", "Misstänkt"),
    "at0075": ("provisional", "Sannolik"),
    "at0076": ("confirmed", "Bekräftad"),
}
VERIFICATION_TO_CERTAINTY = {"provisional": "at0075", "confirmed": "at0076"}


# -- ids -----------------------------------------------------------------------------------------


# Base 32 (RFC 4648, lower case, unpadded) two digits at a time: base64.b32encode is pure Python
# and cost more than the rest of a Condition's mapping.
_B32_PAIRS = tuple(a + b for a in "abcdefghijklmnopqrstuvwxyz234567" for b in "abcdefghijklmnopqrstuvwxyz234567")


def condition_id_prefix(ehr_id: str, object_id: str) -> str:
    """Both UUIDs' 32 bytes in base 32 without padding (52 digits): a Condition id without `-{n}`.
    The same as `base64.b32encode(bytes).decode().rstrip("=").lower()`: 256 bits and 4 zero bits."""
    n = int(uuid_hex(ehr_id) + uuid_hex(object_id), 16) << 4
    return "".join([_B32_PAIRS[(n >> shift) & 1023] for shift in range(250, -1, -10)])


def condition_id(ehr_id: str, object_id: str, index: int) -> str:
    return f"{condition_id_prefix(ehr_id, object_id)}-{index}"


def split_condition_id(resource_id: str) -> tuple[str, str, int] | None:
    head, _, index = resource_id.rpartition("-")
    if len(head) != 52 or not (index.isascii() and index.isdigit()):
        return None
    try:
        raw = base64.b32decode(head.upper() + "====")
    except ValueError:
        return None
    return str(uuid.UUID(bytes=raw[:16])), str(uuid.UUID(bytes=raw[16:])), int(index)


# -- narrative -----------------------------------------------------------------------------------


def narrative(text: str) -> dict:
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n"))
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{paragraphs}</div>'}


def narrative_text(text: dict | None, where: str) -> str:
    """The plain text of a section's XHTML narrative (one line per paragraph)."""
    div = (text or {}).get("div")
    if not div:
        raise MappingError("A section needs a text (an XHTML div)", f"{where}.text", status=422)
    try:
        root = etree.fromstring(div.encode())
    except etree.XMLSyntaxError as exc:
        raise MappingError(f"The section text is not XHTML: {exc}", f"{where}.text.div") from None
    blocks = [p for p in root.iter(f"{{{XHTML}}}p")] or [root]
    return "\n".join("".join(p.itertext()).strip() for p in blocks).strip()


# -- COMPOSITION -> Composition / Condition ------------------------------------------------------


def _entries(composition: dict, archetype: str) -> list[dict]:
    return [c for c in composition.get("content") or [] if c.get("archetype_node_id") == archetype]


def _event_text(observation: dict) -> str | None:
    history = observation.get("data") or {}
    for event in history.get("events") or []:
        value = value_of((event.get("data") or {}).get("items"), "at0004")
        if value and value.get("value"):
            return value["value"]
    return None


def _by_archetype(composition: dict) -> dict[str, list[dict]]:
    """The note's entries by archetype, in order (one walk for every section)."""
    found: dict[str, list[dict]] = {}
    for entry in composition.get("content") or ():
        found.setdefault(entry.get("archetype_node_id"), []).append(entry)
    return found


def _synopsis(synopses: list[dict], name: str) -> str | None:
    for entry in synopses:
        if (entry.get("name") or {}).get("value") != name:
            continue
        value = value_of((entry.get("data") or {}).get("items"), "at0002")
        if value:
            return value.get("value")
    return None


def diagnoses(composition: dict) -> list[dict]:
    return _entries(composition, DIAGNOSIS)


def composition_to_fhir(
    composition: dict, version_uid: str, ehr_id: str, patient_id: str | None, last_updated: str | None = None
) -> dict:
    uid = VersionUid.parse(version_uid)
    meta: dict = {"versionId": str(uid.version)}
    if last_updated:
        meta["lastUpdated"] = last_updated
    name = (composition.get("name") or {}).get("value")
    context = composition.get("context") or {}
    out: dict = {
        "resourceType": "Composition",
        "id": composition_id(ehr_id, uid.object_id),
        "meta": meta,
        "status": "final",
        "type": {"coding": [dict(PROGRESS_NOTE)], "text": name},
        "subject": {"reference": f"Patient/{patient_id}"} if patient_id else {"display": f"EHR {ehr_id}"},
        "date": (context.get("start_time") or {}).get("value"),
        "author": [party_reference(composition.get("composer"), "Practitioner") or {"display": "okänd"}],
        "title": name or "Journalanteckning",
    }
    custodian = party_reference(context.get("health_care_facility"), "Organization")
    if custodian:
        out["custodian"] = custodian
    entries = _by_archetype(composition)
    texts = {
        ANAMNES: next((t for t in map(_event_text, entries.get(STORY, ())) if t), None),
        STATUS: next((t for t in map(_event_text, entries.get(PROGRESS, ())) if t), None),
        BEDOMNING: _synopsis(entries.get(SYNOPSIS, []), BEDOMNING),
        PLAN: _synopsis(entries.get(SYNOPSIS, []), PLAN),
    }
    sections = []
    for title in SECTION_ORDER:
        if title == DIAGNOS:
            found = entries.get(DIAGNOSIS)
            if found:
                lines = [_diagnosis_line(d) for d in found]
                prefix = condition_id_prefix(ehr_id, uid.object_id)
                refs = [{"reference": f"Condition/{prefix}-{i}"} for i in range(len(found))]
                sections.append({"title": DIAGNOS, "text": narrative("\n".join(lines)), "entry": refs})
        elif texts[title]:
            sections.append({"title": title, "text": narrative(texts[title])})
    if sections:
        out["section"] = sections
    return out


def _diagnosis_line(entry: dict) -> str:
    name = value_of((entry.get("data") or {}).get("items"), "at0002") or {}
    code = (name.get("defining_code") or {}).get("code_string")
    return f"{name.get('value', '')} ({code})" if code else name.get("value", "")


def condition_to_fhir(
    composition: dict, version_uid: str, ehr_id: str, patient_id: str | None, index: int,
    last_updated: str | None = None,
) -> dict:  # fmt: skip
    """The Condition of the note's `index`-th diagnosis."""
    uid = VersionUid.parse(version_uid)
    note = _NoteFacts(composition, uid, ehr_id, patient_id, last_updated)
    return _condition(diagnoses(composition)[index], condition_id(ehr_id, uid.object_id, index), note)


def conditions_to_fhir(
    composition: dict, version_uid: str, ehr_id: str, patient_id: str | None, last_updated: str | None = None
) -> list[dict]:
    """The Condition of each diagnosis of the note, in order (one walk of the note for all)."""
    found = diagnoses(composition)
    if not found:
        return []
    uid = VersionUid.parse(version_uid)
    note = _NoteFacts(composition, uid, ehr_id, patient_id, last_updated)
    prefix = condition_id_prefix(ehr_id, uid.object_id)
    return [_condition(entry, f"{prefix}-{i}", note) for i, entry in enumerate(found)]


class _NoteFacts:
    """What every Condition of a note takes from the note itself."""

    __slots__ = ("composer", "ehr_id", "evidence", "last_updated", "patient_id", "recorded", "version")

    def __init__(self, composition: dict, uid: VersionUid, ehr_id: str, patient_id: str | None,
                 last_updated: str | None):  # fmt: skip
        self.version = str(uid.version)
        self.last_updated = last_updated
        self.ehr_id, self.patient_id = ehr_id, patient_id
        self.recorded = ((composition.get("context") or {}).get("start_time") or {}).get("value")
        self.composer = composition.get("composer")
        self.evidence = f"Composition/{composition_id(ehr_id, uid.object_id)}"


def _condition(entry: dict, resource_id: str, note: _NoteFacts) -> dict:
    """The Condition of one problem_diagnosis entry of a note."""
    by_node: dict = {}
    for item in (entry.get("data") or {}).get("items") or ():  # the first of each node, as value_of
        if isinstance(item, dict):
            by_node.setdefault(item.get("archetype_node_id"), item)
    name = (by_node.get("at0002") or {}).get("value") or {}
    code = name.get("defining_code") or {}
    meta: dict = {"versionId": note.version}
    if note.last_updated:
        meta["lastUpdated"] = note.last_updated
    out: dict = {
        "resourceType": "Condition",
        "id": resource_id,
        "meta": meta,
        "category": [{"coding": [{"system": CATEGORY, "code": "encounter-diagnosis"}]}],
    }
    certainty = ((by_node.get("at0073") or {}).get("value") or {}).get("defining_code", {}).get("code_string")
    if certainty in CERTAINTY:
        status = CERTAINTY[certainty][0]
        out["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": status}]}
    concept: dict = {"text": name.get("value")}
    if (code.get("terminology_id") or {}).get("value") == ICD10SE_TERMINOLOGY:
        concept = {"coding": [{"system": ICD10SE_SYSTEM, "code": code.get("code_string"),
                               "display": name.get("value")}], "text": name.get("value")}  # fmt: skip
    out["code"] = concept
    out["subject"] = ({"reference": f"Patient/{note.patient_id}"} if note.patient_id
                      else {"display": f"EHR {note.ehr_id}"})  # fmt: skip
    onset = (by_node.get("at0077") or {}).get("value")
    if onset and onset.get("value"):
        out["onsetDateTime"] = onset["value"]
    if note.recorded:
        out["recordedDate"] = note.recorded
    recorder = party_reference(note.composer, "Practitioner")
    if recorder:
        out["recorder"] = recorder
    notes = [(by_node.get(node) or {}).get("value") for node in ("at0009", "at0069")]
    notes = [{"text": n["value"]} for n in notes if n and n.get("value")]
    if notes:
        out["note"] = notes
    out["evidence"] = [{"detail": [{"reference": note.evidence}]}]
    return out


# -- Composition -> COMPOSITION ------------------------------------------------------------------


def _hsaparty_reference(reference: dict, where: str, required: bool) -> dict:
    identifier = reference.get("identifier") or {}
    party: dict = {"_type": "PARTY_IDENTIFIED"}
    if reference.get("display"):
        party["name"] = reference["display"]
    if identifier.get("system") == HSA_ID_SYSTEM and identifier.get("value"):
        party["identifiers"] = [{"_type": "DV_IDENTIFIER", "id": identifier["value"], "type": "HSA-id",
                                 "issuer": "Inera AB", "assigner": "Västra Götalandsregionen"}]  # fmt: skip
    elif required:
        raise MappingError(
            f"{where} needs an HSA-id identifier (system {HSA_ID_SYSTEM})", f"{where}.identifier", 422
        )
    if "name" not in party and "identifiers" not in party:
        raise MappingError(f"{where} needs a display or an HSA-id", where, 422)
    return party


def _entry(rm_type: str, archetype: str, name: str, data: dict) -> dict:
    return {
        "_type": rm_type,
        "name": dv_text(name),
        "archetype_node_id": archetype,
        "archetype_details": {
            "_type": "ARCHETYPED",
            "archetype_id": {"_type": "ARCHETYPE_ID", "value": archetype},
            "rm_version": "1.0.4",
        },  # fmt: skip
        "language": code_phrase("sv", "ISO_639-1"),
        "encoding": code_phrase("UTF-8", "IANA_character-sets"),
        "subject": {"_type": "PARTY_SELF"},
        "data": data,
    }


def _observation(archetype: str, name: str, item_name: str, text: str, time: str) -> dict:
    event = {"_type": "POINT_EVENT", "name": dv_text("Ospecificerad händelse"), "archetype_node_id": "at0002",
             "time": {"_type": "DV_DATE_TIME", "value": time},
             "data": {"_type": "ITEM_TREE", "name": dv_text("Tree"), "archetype_node_id": "at0003",
                      "items": [element("at0004", item_name, dv_text(text))]}}  # fmt: skip
    history = {"_type": "HISTORY", "name": dv_text("Event Series"), "archetype_node_id": "at0001",
               "origin": {"_type": "DV_DATE_TIME", "value": time}, "events": [event]}  # fmt: skip
    return _entry("OBSERVATION", archetype, name, history)


def _synopsis_entry(name: str, text: str) -> dict:
    data = {"_type": "ITEM_TREE", "name": dv_text("List"), "archetype_node_id": "at0001",
            "items": [element("at0002", "Synopsis", dv_text(text))]}  # fmt: skip
    return _entry("EVALUATION", SYNOPSIS, name, data)


def condition_to_diagnosis(condition: dict, where: str) -> dict:
    """A problem_diagnosis.v1 entry from a (contained) Condition coded in ICD-10-SE."""
    codings = (condition.get("code") or {}).get("coding") or []
    coding = next((c for c in codings if c.get("system") == ICD10SE_SYSTEM), None)
    if not coding or not coding.get("code"):
        raise MappingError(
            f"A diagnosis needs an ICD-10-SE code (system {ICD10SE_SYSTEM})", f"{where}.code", 422
        )
    text = (condition.get("code") or {}).get("text") or coding.get("display") or coding["code"]
    items = [
        element("at0002", "Benämning på problem/diagnos", dv_coded(text, coding["code"], ICD10SE_TERMINOLOGY))
    ]
    notes = condition.get("note") or []
    if len(notes) > 2:
        raise MappingError(
            "A diagnosis holds two notes: its clinical description and a comment", f"{where}.note[2]", 422
        )
    if notes:
        items.append(element("at0009", "Klinisk beskrivning", dv_text(notes[0].get("text") or "")))
    if condition.get("onsetDateTime"):
        items.append(element("at0077", "Datum och tid för debut",
                             {"_type": "DV_DATE_TIME", "value": condition["onsetDateTime"]}))  # fmt: skip
    statuses = (condition.get("verificationStatus") or {}).get("coding") or []
    verification = next((c.get("code") for c in statuses), None)
    if verification in VERIFICATION_TO_CERTAINTY:
        at = VERIFICATION_TO_CERTAINTY[verification]
        items.append(element("at0073", "Diagnostisk säkerhet", dv_coded(CERTAINTY[at][1], at)))
    if len(notes) == 2:
        items.append(element("at0069", "Kommentar", dv_text(notes[1].get("text") or "")))
    data = {"_type": "ITEM_TREE", "name": dv_text("structure"), "archetype_node_id": "at0001", "items": items}
    return _entry("EVALUATION", DIAGNOSIS, DIAGNOS, data)


def fhir_to_composition(resource: dict, now: str) -> dict:
    """A journal note from a Composition whose sections are titled Anamnes, Status, Bedömning,
    Diagnos (entries: contained Conditions, `#id`) and Åtgärd/Plan."""
    codes = {(c.get("system"), c.get("code")) for c in (resource.get("type") or {}).get("coding") or []}
    if (LOINC, "11506-3") not in codes:
        raise MappingError("Composition.type must be LOINC 11506-3 (Progress note)", "Composition.type", 422)
    if resource.get("status") not in ("final", "amended", "preliminary"):
        raise MappingError(
            "Composition.status must be final, amended or preliminary", "Composition.status", 422
        )
    authors = resource.get("author") or []
    if len(authors) != 1:
        raise MappingError("A journal note has exactly one author", "Composition.author", 422)
    composer = _hsaparty_reference(authors[0], "Composition.author[0]", required=False)
    facility = _hsaparty_reference(resource.get("custodian") or {}, "Composition.custodian", required=True)
    time = resource.get("date") or now
    contained = {
        f"#{c.get('id')}": c for c in resource.get("contained") or [] if c.get("resourceType") == "Condition"
    }
    content: list[dict] = []
    for index, section in enumerate(resource.get("section") or []):
        where = f"Composition.section[{index}]"
        title = section.get("title")
        if title not in SECTION_ORDER:
            raise MappingError(f"Section title {title!r} is not one of {', '.join(SECTION_ORDER)}",
                               f"{where}.title", 422)  # fmt: skip
        if title == DIAGNOS:
            for n, ref in enumerate(section.get("entry") or []):
                condition = contained.get(ref.get("reference"))
                if condition is None:
                    raise MappingError("Diagnos entries must reference contained Conditions (#id)",
                                       f"{where}.entry[{n}]", 422)  # fmt: skip
                content.append(
                    condition_to_diagnosis(condition, f"Composition.contained[{ref['reference']}]")
                )
            continue
        text = narrative_text(section.get("text"), where)
        if title == ANAMNES:
            content.append(_observation(STORY, ANAMNES, "Sjukdomshistoria", text, time))
        elif title == STATUS:
            content.append(_observation(PROGRESS, STATUS, "Progress Note", text, time))
        else:
            content.append(_synopsis_entry(title, text))
    if not content:
        raise MappingError("A journal note needs at least one section", "Composition.section", 422)
    return {
        "_type": "COMPOSITION",
        "name": dv_text(resource.get("title") or "Journalanteckning"),
        "archetype_node_id": COMPOSITION_ARCHETYPE,
        "archetype_details": {"_type": "ARCHETYPED",
                              "archetype_id": {"_type": "ARCHETYPE_ID", "value": COMPOSITION_ARCHETYPE},
                              "template_id": {"_type": "TEMPLATE_ID", "value": TEMPLATE_ID},
                              "rm_version": "1.0.4"},
        "language": code_phrase("sv", "ISO_639-1"),
        "territory": code_phrase("SE", "ISO_3166-1"),
        "category": dv_coded("event", "433", "openehr"),
        "composer": composer,
        "context": {"_type": "EVENT_CONTEXT", "start_time": {"_type": "DV_DATE_TIME", "value": time},
                    "setting": dv_coded("other care", "238", "openehr"), "health_care_facility": facility},
        "content": content,
    }  # fmt: skip


def condition_to_note(condition: dict, now: str) -> dict:
    """A journal note holding one diagnosis, from a Condition created on its own. Its recorder is a
    contained PractitionerRole (`#id`) whose organization is the care unit (HSA-id) and whose
    practitioner, if any, is the composer; the note's date is recordedDate (else now)."""
    recorder = (condition.get("recorder") or {}).get("reference") or ""
    contained = condition.get("contained") or []
    roles = {f"#{c.get('id')}": c for c in contained if c.get("resourceType") == "PractitionerRole"}
    role = roles.get(recorder)
    if role is None or not role.get("organization"):
        raise MappingError("Condition.recorder must reference a contained PractitionerRole (#id) with its "
                           "organization (the care unit, HSA-id)", "Condition.recorder", 422)  # fmt: skip
    diagnosis = {k: v for k, v in condition.items() if k not in ("contained", "recorder")} | {"id": "d"}
    note = {
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "11506-3"}]},
        "subject": condition.get("subject"),
        "date": condition.get("recordedDate") or now,
        "author": [role.get("practitioner") or role["organization"]],
        "custodian": role["organization"],
        "title": "Diagnos",
        "contained": [diagnosis],
        "section": [{"title": DIAGNOS, "entry": [{"reference": "#d"}]}],
    }
    try:
        return fhir_to_composition(note, now)
    except MappingError as exc:
        where = str(exc.expression or "").replace("Composition.contained[#d]", "Condition")
        where = where.replace("Composition.author[0]", "Condition.recorder").replace(
            "Composition.custodian", "Condition.recorder")
        raise MappingError(str(exc), where or "Condition", exc.status) from None


def note_to_condition(composition: dict, version_uid: str, ehr_id: str, patient_id: str | None,
                      last_updated: str | None = None) -> dict:  # fmt: skip
    """The Condition a note made by `condition_to_note` holds."""
    return condition_to_fhir(composition, version_uid, ehr_id, patient_id, 0, last_updated)
