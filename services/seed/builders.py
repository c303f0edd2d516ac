"""The seed's documents: a PERSON, an EHR_STATUS, a journal note, a medication order and a referral
for a synthetic patient, each an example of its template with the patient's values written in."""

from __future__ import annotations

import copy
import random

from services.kernel.careflow import dv_coded_text, with_added_action
from services.medication import domain as medication
from services.referrals import domain as referrals

from . import data
from .compositions import (
    JOURNAL_TEMPLATE,
    MEDICATION_TEMPLATE,
    PERSON_TEMPLATE,
    REFERRAL_TEMPLATE,
    example,
    first,
    nodes,
    set_context,
    set_date_time,
    set_identifier,
    set_text,
    set_value,
    without_entries,
)
from .people import Patient

GENDER = {"male": ("Male", "at0310"), "female": ("Female", "at0311")}
DIAGNOSIS = "openEHR-EHR-EVALUATION.problem_diagnosis.v1"
STORY = "openEHR-EHR-OBSERVATION.story.v1"
PROGRESS = "openEHR-EHR-OBSERVATION.progress_note.v1"
SYNOPSIS = "openEHR-EHR-EVALUATION.clinical_synopsis.v1"
REJECTIONS = [
    "remissen avser öppenvård, hänvisas till vårdcentral",
    "fel mottagare, remittera till länssjukvården",
    "otillräckligt underlag, komplettera med labbprover",
]


def person(patient: Patient) -> dict:
    document = example(PERSON_TEMPLATE, containing="openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0")
    details = first(document, "openEHR-DEMOGRAPHIC-ITEM_TREE.person_details.v0")
    identifiers = list(nodes(details, "openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0"))
    # one identifier, the patient's personnummer (examples may carry a reservnummer too)
    details["items"] = [
        item for item in details["items"] if all(item is not other for other in identifiers[1:])
    ]
    set_identifier(identifiers[0], "at0001", patient.personnummer)
    for element in nodes(identifiers[0], "at0001"):
        element["value"]["type"] = patient.scheme
    set_value(details, "at0010", {"_type": "DV_DATE", "value": patient.birth_date.isoformat()})
    text, code = GENDER[patient.gender]
    set_value(details, "at0031", dv_coded_text(text, code, "local"))
    name = first(document, "openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0")
    set_text(name, "at0002", patient.given)
    set_text(name, "at0003", patient.family)
    address = first(document, "openEHR-DEMOGRAPHIC-ADDRESS.address.v0")
    if address is not None:
        street, number = patient.street.rsplit(" ", 1)
        set_text(address, "at0028", street)
        set_text(address, "at0029", number)
        set_text(address, "at0006", f"{patient.postal_code[:3]} {patient.postal_code[3:]}")
        set_text(address, "at0007", patient.city)
    return document


def ehr_status(patient: Patient) -> dict:
    return {
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": {"_type": "DV_TEXT", "value": "EHR-status"},
        "subject": {
            "_type": "PARTY_SELF",
            "external_ref": {
                "_type": "PARTY_REF",
                "id": {"_type": "GENERIC_ID", "value": patient.personnummer, "scheme": patient.scheme},
                "namespace": "vgr.demographics",
                "type": "PERSON",
            },
        },
        "is_queryable": True,
        "is_modifiable": True,
    }


def journal_note(rng: random.Random, start_time: str, care_unit: tuple[str, str], clinician: str) -> dict:
    note = example(JOURNAL_TEMPLATE, containing=DIAGNOSIS)
    set_context(note, start_time, care_unit, clinician)
    code, diagnosis, finding = rng.choice(data.DIAGNOSES)
    for entry in nodes(note, STORY):
        set_text(entry, "at0004", f"Söker för: {diagnosis.lower()}.")
    for entry in nodes(note, PROGRESS):
        set_text(entry, "at0004", finding)
    for entry in nodes(note, SYNOPSIS):
        set_text(entry, "at0002", f"Bedömning: {diagnosis}.")
    for entry in nodes(note, DIAGNOSIS):
        set_value(entry, "at0002", dv_coded_text(diagnosis, code, "ICD-10-SE"))
        set_date_time(entry, "at0077", start_time)
    for event in nodes(note, "at0002"):
        if isinstance(event.get("time"), dict):
            event["time"]["value"] = start_time
    return note


def medication_order(
    rng: random.Random, authored: str, care_unit: tuple[str, str], clinician: str
) -> tuple[dict, dict]:
    """An order (its INSTRUCTION only) and an ACTION to copy for its status changes."""
    document = example(MEDICATION_TEMPLATE, containing=medication.ACTION_ARCHETYPE)
    order, actions = without_entries(document, medication.ACTION_ARCHETYPE)
    if first(order, medication.INSTRUCTION_ARCHETYPE) is None:
        order = example(MEDICATION_TEMPLATE, containing=medication.INSTRUCTION_ARCHETYPE)
        order, _ = without_entries(order, medication.ACTION_ARCHETYPE)
    order = copy.deepcopy(order)
    set_context(order, authored, care_unit, clinician)
    atc, product, amount, unit, per_day, indication = rng.choice(data.MEDICINES)
    instruction = first(order, medication.INSTRUCTION_ARCHETYPE)
    set_value(instruction, "at0070", dv_coded_text(product, atc, "ATC"))
    set_text(instruction, "at0009", f"{amount:g} {unit} {per_day} gång(er) dagligen")
    set_text(instruction, "at0018", indication)
    set_date_time(instruction, "at0012", authored)
    if "narrative" in instruction:
        instruction["narrative"] = {"_type": "DV_TEXT", "value": f"{product}: {amount:g} {unit} x {per_day}"}
    prototype = copy.deepcopy(actions[0])
    for element in nodes(prototype, "at0020"):
        element["value"] = dv_coded_text(product, atc, "ATC")
    return order, prototype


def referral(
    rng: random.Random, written: str, care_unit: tuple[str, str], clinician: str
) -> tuple[dict, dict]:
    """A referral draft (its INSTRUCTION only) and an ACTION to copy for its workflow steps."""
    document = example(REFERRAL_TEMPLATE, containing=referrals.INSTRUCTION_ARCHETYPE)
    draft, actions = without_entries(document, referrals.ACTION_ARCHETYPE)
    if not actions:
        _, actions = without_entries(
            example(REFERRAL_TEMPLATE, containing=referrals.ACTION_ARCHETYPE), referrals.ACTION_ARCHETYPE
        )
    draft = copy.deepcopy(draft)
    set_context(draft, written, care_unit, clinician)
    service, reason, receiver_index = rng.choice(data.SERVICES)
    hsa_id, receiver_name = data.RECEIVERS[receiver_index]
    text, code, _ = rng.choice(data.URGENCIES)
    request = first(draft, referrals.INSTRUCTION_ARCHETYPE)
    set_text(request, "at0121", service)
    set_text(request, "at0062", reason)
    set_text(request, "at0064", reason)
    set_value(request, "at0068", dv_coded_text(text, code, "local"))
    for organisation in referrals.direct_organisations(request.get("protocol")):
        set_identifier(organisation, "at0003", hsa_id)
        set_text(organisation, "at0001", receiver_name)
    for requester in nodes(request.get("protocol"), "openEHR-EHR-CLUSTER.person.v1"):
        set_text(requester, "at0001", clinician)
        for organisation in nodes(requester, "openEHR-EHR-CLUSTER.organisation.v1"):
            set_identifier(organisation, "at0003", care_unit[0])
            set_text(organisation, "at0001", care_unit[1])
    if "narrative" in request:
        request["narrative"] = {"_type": "DV_TEXT", "value": f"{service}: {reason}"}
    prototype = copy.deepcopy(actions[0])
    set_text(prototype, "at0011", service)
    return draft, prototype


def rejection_reason(rng: random.Random) -> str:
    return rng.choice(REJECTIONS)


def add_action(composition: dict, action: dict) -> dict:
    return with_added_action(composition, action)
