"""The example compositions of the project's templates, valid and invalid.

``python -m archetypes.authoring.examples`` writes ``archetypes/examples/<template_id>/``:
``valid/*.json``, ``invalid/<rule>.json`` (each breaking exactly one named rule of a valid
example) and ``expected.json`` (invalid file -> rule, openEHR path, JSON pointer).

Conventions of ``expected.json``: ``path`` is the openEHR path of the node that breaks the rule
(a value constraint is reported on the ELEMENT's ``/value``, or on the RM attribute, e.g.
``/context/health_care_facility/identifiers``); ``pointer`` is the JSON pointer of the offending
JSON value, or, for a missing or a surplus node, of the array (or object) that should (not)
hold it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .canonical import (
    J,
    cluster_root,
    composer,
    composition,
    context,
    dv_boolean,
    dv_coded,
    dv_date,
    dv_date_time,
    dv_identifier,
    dv_quantity,
    dv_text,
    element,
    entry,
    hsa_id,
    local,
    name_of,
    node,
    personnummer,
    root,
)

OUT = Path(__file__).resolve().parent.parent / "examples"

# HSA-ids: Västra Götalandsregionen's organisation number is 232100-0131
VC_MAJORNA = ("Vårdcentralen Majorna", "SE2321000131-E000000011001")
MEDICIN_SU = ("Medicinmottagningen, Sahlgrenska Universitetssjukhuset", "SE2321000131-E000000022002")
KARDIOLOGI_NAL = ("Kardiologimottagningen, NÄL", "SE2321000131-E000000033003")
ORTOPED_SKAS = ("Ortopedmottagningen, Skaraborgs sjukhus Skövde", "SE2321000131-E000000044004")
DR_LINDQVIST = ("Anna Lindqvist", "SE2321000131-P000000101011")
DR_ABDULLAH = ("Omar Abdullah", "SE2321000131-P000000202022")
SSK_NILSSON = ("Karin Nilsson", "SE2321000131-P000000303033")


# ----------------------------------------------------------------------------- paths


_SEGMENT = re.compile(r"([a-z_]+)(?:\[([^\]]+)\])?")


def pointer_of(doc: J, path: str) -> str:
    """The JSON pointer of the first node at openEHR ``path`` in ``doc``."""
    cur: Any = doc
    out = ""
    for seg in path.strip("/").split("/"):
        m = _SEGMENT.fullmatch(seg)
        if m is None:
            raise ValueError(f"bad path segment {seg!r} in {path}")
        attr, node_id = m.groups()
        cur = cur[attr]
        out += f"/{attr}"
        if isinstance(cur, list):
            for i, item in enumerate(cur):
                if node_id is None or item.get("archetype_node_id") == node_id:
                    cur = cur[i]
                    out += f"/{i}"
                    break
            else:
                raise KeyError(f"{path}: no {seg}")
        elif node_id is not None and cur.get("archetype_node_id") != node_id:
            raise KeyError(f"{path}: {seg} has node id {cur.get('archetype_node_id')}")
    return out


def at(doc: J, pointer: str) -> Any:
    cur: Any = doc
    for part in pointer.strip("/").split("/"):
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


def parent_and_key(doc: J, pointer: str) -> tuple[Any, str | int]:
    head, _, last = pointer.rpartition("/")
    parent = at(doc, head) if head else doc
    return parent, int(last) if isinstance(parent, list) else last


@dataclass
class Invalid:
    rule: str
    path: str  # openEHR path of the node that breaks the rule
    change: Callable[[J, str], str]  # (document, pointer of path) -> pointer to report
    target: str | None = None  # openEHR path to locate in the base example (default: path)
    base: int = 0  # index of the valid example it derives from


def set_value(field_pointer: str, value: Any) -> Callable[[J, str], str]:
    """Set a field below the located node; report the field's pointer."""

    def change(doc: J, p: str) -> str:
        ptr = p + field_pointer
        parent, key = parent_and_key(doc, ptr)
        parent[key] = value
        return ptr

    return change


def remove() -> Callable[[J, str], str]:
    def change(doc: J, p: str) -> str:
        parent, key = parent_and_key(doc, p)
        del parent[key]
        return p.rpartition("/")[0]

    return change


def duplicate(edit: Callable[[J], None] | None = None) -> Callable[[J, str], str]:
    def change(doc: J, p: str) -> str:
        parent, key = parent_and_key(doc, p)
        twin = copy.deepcopy(parent[key])
        if edit:
            edit(twin)
        parent.insert(key + 1, twin)
        return p.rpartition("/")[0]

    return change


def replace_value(value: J) -> Callable[[J, str], str]:
    """Replace the located data value with one of another RM type; report its ``_type``."""

    def change(doc: J, p: str) -> str:
        parent, key = parent_and_key(doc, p)
        parent[key] = value
        return p + "/_type"

    return change


def replace_at(field: str, value: Any) -> Callable[[J, str], str]:
    """Replace a field below the located node; report the located node's pointer."""

    def change(doc: J, p: str) -> str:
        at(doc, p)[field] = value
        return p

    return change


def node_id(new: str) -> Callable[[J, str], str]:
    def change(doc: J, p: str) -> str:
        n = at(doc, p)
        n["archetype_node_id"] = new
        return p

    return change


# ----------------------------------------------------------------------------- medication

MO = "openEHR-EHR-INSTRUCTION.medication_order.v3"
MA = "openEHR-EHR-ACTION.medication.v1"
TD = "openEHR-EHR-CLUSTER.therapeutic_direction.v1"
DO = "openEHR-EHR-CLUSTER.dosage.v2"
TI = "openEHR-EHR-CLUSTER.timing_daily.v1"
ML = "openEHR-EHR-COMPOSITION.medication_list.v1"

ISM_STATES = {"245": "active", "526": "planned", "528": "cancelled", "529": "scheduled", "530": "suspended",
              "531": "aborted", "532": "completed", "533": "expired"}


def ism_transition(archetype_id: str, step: str, state: str) -> J:
    return {"_type": "ISM_TRANSITION", "current_state": dv_coded(ISM_STATES[state], "openehr", state),
            "careflow_step": local(archetype_id, step)}


def _dose(amount: float, units: str, per_day: int | None = None, as_needed: str | None = None,
          description: str | None = None) -> J:
    items = [element(DO, "at0144", dv_quantity(amount, units))]
    if description:
        items.append(element(DO, "at0178", dv_text(description)))
    timing = []
    if per_day is not None:
        timing.append(element(TI, "at0003", dv_quantity(per_day, "1/d")))
    if as_needed:
        timing += [element(TI, "at0024", dv_boolean(True)), element(TI, "at0025", dv_text(as_needed))]
    if timing:
        items.append(cluster_root("CLUSTER", TI, items=timing))
    return cluster_root("CLUSTER", TD, items=[cluster_root("CLUSTER", DO, items=items)])


def medication_order(item: J, route: str, directions: str, dose: J, indication: str, start: str,
                     order_id: str, stop: str | None = None, substitution: str | None = None,
                     timing: str = "R/2026-11-24T08:00:00+01:00/PT12H") -> J:
    details = [element(MO, "at0012", dv_date_time(start))]
    if stop:
        details.append(element(MO, "at0013", dv_date_time(stop)))
    items = [
        element(MO, "at0070", item),
        element(MO, "at0091", dv_text(route)),
        element(MO, "at0009", dv_text(directions)),
        dose,
        element(MO, "at0018", dv_text(indication)),
        node("CLUSTER", MO, "at0113", items=details),
    ]
    if substitution:
        items.append(node("CLUSTER", MO, "at0129", items=[element(MO, "at0132", local(MO, substitution))]))
    return entry(
        "INSTRUCTION", MO,
        narrative=dv_text(f"{item['value']}: {directions}"),
        activities=[node("ACTIVITY", MO, "at0001",
                         description=node("ITEM_TREE", MO, "at0002", items=items),
                         timing={"_type": "DV_PARSABLE", "value": timing, "formalism": "timing"},
                         action_archetype_id="openEHR-EHR-ACTION.medication.v1")],
        protocol=node("ITEM_TREE", MO, "at0005", items=[
            element(MO, "at0004", dv_identifier(order_id, "ordinations-id", "Västra Götalandsregionen"))]),
    )


def medication_action(time: str, step: str, state: str, item: J, order_id: str, reason: str | None = None,
                      restart: str | None = None) -> J:
    items = [element(MA, "at0020", item)]
    if reason:
        items.append(element(MA, "at0021", dv_text(reason)))
    if restart:
        items.append(element(MA, "at0154", dv_date_time(restart)))
    return entry(
        "ACTION", MA,
        time=dv_date_time(time),
        ism_transition=ism_transition(MA, step, state),
        description=node("ITEM_TREE", MA, "at0017", items=items),
        protocol=node("ITEM_TREE", MA, "at0030", items=[
            element(MA, "at0103", dv_identifier(order_id, "ordinations-id", "Västra Götalandsregionen"))]),
    )


def atc(name: str, code: str) -> J:
    return dv_coded(name, "ATC", code)


def medication_examples() -> dict[str, J]:
    tid = "vgr.medication_order.v1"

    def doc(author, unit, start, content):
        return composition(ML, tid, "Läkemedelsordination", composer(*author), context(start, *unit), content)

    metformin = atc("Metformin", "A10BA02")
    amoxicillin = atc("Amoxicillin", "J01CA04")
    atorvastatin = atc("Atorvastatin", "C10AA05")
    rosuvastatin = atc("Rosuvastatin", "C10AA07")
    return {
        "metformin_new_order.json": doc(DR_LINDQVIST, VC_MAJORNA, "2026-11-24T08:10:00+01:00", [
            medication_order(
                metformin, "Oral", "1 tablett 500 mg 2 gånger dagligen i samband med måltid",
                _dose(500, "mg", per_day=2), "Diabetes mellitus typ 2", "2026-11-24T08:00:00+01:00",
                "ORD-2026-0001842"),
        ]),
        "amoxicillin_order_started.json": doc(DR_ABDULLAH, MEDICIN_SU, "2026-11-20T14:30:00+01:00", [
            medication_order(
                amoxicillin, "Oral", "750 mg 3 gånger dagligen i 7 dagar",
                _dose(750, "mg", per_day=3, description="1 tablett à 750 mg"),
                "Samhällsförvärvad pneumoni", "2026-11-20T16:00:00+01:00", "ORD-2026-0001790",
                stop="2026-11-27T16:00:00+01:00", substitution="at0168",
                timing="R21/2026-11-20T16:00:00+01:00/PT8H"),
            medication_action("2026-11-20T16:05:00+01:00", "at0004", "245", amoxicillin, "ORD-2026-0001790"),
        ]),
        "atorvastatin_stopped_rosuvastatin_started.json": doc(
            DR_LINDQVIST, KARDIOLOGI_NAL, "2026-11-18T10:45:00+01:00", [
                medication_action("2026-11-18T10:40:00+01:00", "at0015", "531", atorvastatin,
                                  "ORD-2025-0093310",
                                  reason="Muskelvärk och förhöjt CK, misstänkt statinbiverkan"),
                medication_order(
                    rosuvastatin, "Oral", "5 mg 1 gång dagligen till kvällen",
                    _dose(5, "mg", per_day=1), "Sekundärprevention efter hjärtinfarkt",
                    "2026-11-19T20:00:00+01:00", "ORD-2026-0001760", substitution="at0168",
                    timing="R/2026-11-19T20:00:00+01:00/P1D"),
            ]),
        "paracetamol_as_needed_suspended.json": doc(SSK_NILSSON, ORTOPED_SKAS, "2026-11-22T07:55:00+01:00", [
            medication_order(
                dv_text("Paracetamol 500 mg tablett (Alvedon)"), "Oral",
                "1-2 tabletter vid behov, högst 4 gånger per dygn",
                _dose(1, "g", as_needed="Vid smärta efter operation", description="1-2 tabletter à 500 mg"),
                "Postoperativ smärta efter knäprotesoperation", "2026-11-21T12:00:00+01:00",
                "ORD-2026-0001811", substitution="at0169", timing="PRN"),
            medication_action("2026-11-22T07:50:00+01:00", "at0009", "530",
                              dv_text("Paracetamol 500 mg tablett (Alvedon)"), "ORD-2026-0001811",
                              reason="Pausas inför leverfunktionsprover",
                              restart="2026-11-23T08:00:00+01:00"),
        ]),
    }


_MO_ITEMS = f"/content[{MO}]/activities[at0001]/description[at0002]/items"
_DOSE = f"{_MO_ITEMS}[{TD}]/items[{DO}]"
_MA = f"/content[{MA}]"

MEDICATION_INVALID = [
    Invalid("wrong_node_id", f"{_MO_ITEMS}[at0010]", node_id("at0010"), target=f"{_MO_ITEMS}[at0009]"),
    Invalid("missing_mandatory", f"{_MO_ITEMS}[at0070]", remove()),
    Invalid("occurrences_exceeded", f"{_MO_ITEMS}[at0091]",
            duplicate(lambda e: e["value"].update(value="Sondmatning"))),
    Invalid("code_not_in_list", f"{_MO_ITEMS}[at0129]/items[at0132]/value",
            set_value("/defining_code/code_string", "at0170"), base=1),
    Invalid("unit_not_allowed", f"{_DOSE}/items[at0144]/value", set_value("/units", "mmol")),
    Invalid("magnitude_out_of_range", f"{_DOSE}/items[{TI}]/items[at0003]/value", set_value("/magnitude", 0)),
    Invalid("wrong_type", f"{_MO_ITEMS}[at0113]/items[at0012]/value", set_value("/_type", "DV_TEXT")),
    Invalid("malformed_date", f"{_MO_ITEMS}[at0113]/items[at0012]/value",
            set_value("/value", "24/11/2026 08:00")),
    Invalid("careflow_state_mismatch", f"{_MA}/ism_transition", base=1,
            change=replace_at("current_state", dv_coded("completed", "openehr", "532"))),
]


# ----------------------------------------------------------------------------- journal

EN = "openEHR-EHR-COMPOSITION.encounter.v1"
ST = "openEHR-EHR-OBSERVATION.story.v1"
PN = "openEHR-EHR-OBSERVATION.progress_note.v1"
CS = "openEHR-EHR-EVALUATION.clinical_synopsis.v1"
PD = "openEHR-EHR-EVALUATION.problem_diagnosis.v1"


def _narrative(archetype_id: str, time: str, content: str, name: str | None = None) -> J:
    event = {"_type": "POINT_EVENT", "name": dv_text(name_of(archetype_id, "at0002")),
             "archetype_node_id": "at0002", "time": dv_date_time(time),
             "data": node("ITEM_TREE", archetype_id, "at0003",
                          items=[element(archetype_id, "at0004", dv_text(content))])}
    history = node("HISTORY", archetype_id, "at0001", origin=dv_date_time(time), events=[event])
    return entry("OBSERVATION", archetype_id, name, data=history)


def _synopsis(heading: str, content: str) -> J:
    return entry("EVALUATION", CS, heading,
                 data=node("ITEM_TREE", CS, "at0001", items=[element(CS, "at0002", dv_text(content))]))


def _diagnosis(code: str, text: str, certainty: str | None = None, description: str | None = None,
               onset: str | None = None) -> J:
    items = [element(PD, "at0002", dv_coded(text, "ICD-10-SE", code))]
    if description:
        items.append(element(PD, "at0009", dv_text(description)))
    if onset:
        items.append(element(PD, "at0077", dv_date_time(onset)))
    if certainty:
        items.append(element(PD, "at0073", local(PD, certainty)))
    return entry("EVALUATION", PD, "Diagnos", data=node("ITEM_TREE", PD, "at0001", items=items))


def journal_examples() -> dict[str, J]:
    tid = "vgr.journal_note.v1"

    def doc(author, unit, start, content, setting=None):
        return composition(EN, tid, "Journalanteckning", composer(*author), context(start, *unit, setting),
                           content)

    return {
        "halsfluss_vardcentral.json": doc(DR_LINDQVIST, VC_MAJORNA, "2026-11-24T09:30:00+01:00", [
            _narrative(ST, "2026-11-24T09:30:00+01:00", name="Anamnes", content=
                       "Tre dagars halsont och feber upp till 39 grader. Ingen hosta. Äter och dricker."),
            _narrative(PN, "2026-11-24T09:40:00+01:00",
                       "Allmäntillstånd gott. Rodnade svullna tonsiller med beläggningar, ömmande "
                       "käkvinkelkörtlar. Temp 38,6. Strep A-test positivt.", "Status"),
            _synopsis("Bedömning", "Streptokockfaryngit, Centor 4 av 4."),
            _diagnosis("J02.0", "Streptokockfaryngit", "at0076", onset="2026-11-21T00:00:00+01:00"),
            _synopsis("Åtgärd/Plan",
                      "PcV 1 g x 3 i 10 dagar. Återbesök vid utebliven förbättring inom 3 dygn."),
        ]),
        "diabetes_arskontroll.json": doc(DR_ABDULLAH, MEDICIN_SU, "2026-11-19T13:15:00+01:00", [
            _narrative(ST, "2026-11-19T13:15:00+01:00", name="Anamnes", content=
                       "Årskontroll av diabetes typ 2. Mår bra, inga hypoglykemier. Promenerar dagligen."),
            _narrative(PN, "2026-11-19T13:25:00+01:00",
                       "Blodtryck 138/84. Fotstatus utan anmärkning, monofilament kännes. HbA1c 52 mmol/mol.",
                       "Status"),
            _synopsis("Bedömning",
                      "Välreglerad diabetes typ 2 utan kända komplikationer. Blodtryck i målnivå."),
            _diagnosis("E11.9", "Diabetes mellitus typ 2 utan komplikationer", "at0076",
                       description="Debut 2019, behandlas med metformin."),
            _diagnosis("I10.9", "Essentiell hypertoni, ospecificerad", "at0076"),
            _synopsis("Åtgärd/Plan",
                      "Oförändrad behandling. Nytt HbA1c om 6 månader, årskontroll om ett år."),
        ], setting=dv_coded("secondary medical care", "openehr", "232")),
        "ryggsmarta_akut.json": doc(DR_ABDULLAH, ORTOPED_SKAS, "2026-11-22T21:05:00+01:00", [
            _narrative(ST, "2026-11-22T21:05:00+01:00", name="Anamnes", content=
                       "Akut insättande ländryggssmärta efter lyft i morse. Ingen utstrålning, "
                       "normal miktion."),
            _diagnosis("M54.5", "Lumbago", "at0075", description="Sannolikt muskulärt ursprung."),
        ], setting=dv_coded("emergency care", "openehr", "227")),
    }


_JN_DIAG = f"/content[{PD}]/data[at0001]/items"
JOURNAL_INVALID = [
    Invalid("wrong_node_id", f"{_JN_DIAG}[at0012]", node_id("at0012"), target=f"{_JN_DIAG}[at0077]"),
    Invalid("missing_mandatory", f"{_JN_DIAG}[at0002]", remove()),
    Invalid("occurrences_exceeded", f"/content[{CS}]",
            duplicate(lambda e: e["data"]["items"][0]["value"].update(value="Uppföljning per telefon."))),
    Invalid("code_not_in_list", f"{_JN_DIAG}[at0073]/value",
            set_value("/defining_code/code_string", "at0047")),
    Invalid("string_not_in_list", f"/content[{CS}]/name", set_value("/value", "Planering")),
    Invalid("string_pattern", "/context/health_care_facility/identifiers",
            set_value("/id", "VGR-VC-MAJORNA")),
    Invalid("wrong_type", f"{_JN_DIAG}[at0002]/value", replace_value(dv_text("Streptokockfaryngit"))),
    Invalid("malformed_date", "/context/start_time", set_value("/value", "24/11/2026 09:30")),
    Invalid("terminology_not_allowed", f"{_JN_DIAG}[at0002]/value",
            set_value("/defining_code/terminology_id/value", "ICD-10")),
]


# ----------------------------------------------------------------------------- referral

SR = "openEHR-EHR-INSTRUCTION.service_request.v1"
SA = "openEHR-EHR-ACTION.service.v1"
OR = "openEHR-EHR-CLUSTER.organisation.v1"
PE = "openEHR-EHR-CLUSTER.person.v1"
RQ = "openEHR-EHR-COMPOSITION.request.v1"


def _organisation(name: str, hsa: str) -> J:
    return cluster_root("CLUSTER", OR, items=[element(OR, "at0001", dv_text(name)),
                                              element(OR, "at0003", hsa_id(hsa))])


def service_request(service: str, reason: str, indication: str, urgency: str, requester: tuple[str, str],
                    requester_unit: tuple[str, str], receiver: tuple[str, str], order_id: str,
                    description: str | None = None, due: str | None = None) -> J:
    items = [element(SR, "at0121", dv_text(service))]
    if description:
        items.append(element(SR, "at0135", dv_text(description)))
    items += [element(SR, "at0152", dv_text(indication)), element(SR, "at0062", dv_text(reason)),
              element(SR, "at0068", local(SR, urgency))]
    if due:
        items.append(element(SR, "at0040", dv_date_time(due)))
    person = cluster_root("CLUSTER", PE, items=[
        element(PE, "at0001", dv_text(requester[0])), element(PE, "at0003", hsa_id(requester[1])),
        _organisation(*requester_unit)])
    return entry(
        "INSTRUCTION", SR,
        narrative=dv_text(f"Remiss: {service}"),
        activities=[node("ACTIVITY", SR, "at0001", description=node("ITEM_TREE", SR, "at0009", items=items),
                         timing={"_type": "DV_PARSABLE", "value": due or "asap", "formalism": "timing"},
                         action_archetype_id="openEHR-EHR-ACTION.service.v1")],
        protocol=node("ITEM_TREE", SR, "at0008", items=[
            element(SR, "at0010", dv_identifier(order_id, "remiss-id", "Västra Götalandsregionen")),
            person,
            _organisation(*receiver),
        ]),
    )


def service_action(time: str, step: str, state: str, service: str, order_id: str, reason: str | None = None,
                   scheduled: str | None = None) -> J:
    items = [element(SA, "at0011", dv_text(service))]
    if scheduled:
        items.append(element(SA, "at0025", dv_date_time(scheduled)))
    if reason:
        items.append(element(SA, "at0012", dv_text(reason)))
    return entry(
        "ACTION", SA, time=dv_date_time(time), ism_transition=ism_transition(SA, step, state),
        description=node("ITEM_TREE", SA, "at0001", items=items),
        protocol=node("ITEM_TREE", SA, "at0015", items=[
            element(SA, "at0016", dv_identifier(order_id, "remiss-id", "Västra Götalandsregionen"))]),
    )


def referral_examples() -> dict[str, J]:
    tid = "vgr.referral.v1"

    def doc(author, unit, start, content):
        return composition(RQ, tid, "Remiss", composer(*author), context(start, *unit), content)

    return {
        "ekg_remiss_skickad.json": doc(DR_LINDQVIST, VC_MAJORNA, "2026-11-24T10:05:00+01:00", [
            service_request(
                "Bedömning av kardiolog, arbets-EKG", "Utredning av ansträngningsutlöst bröstsmärta",
                "Misstänkt stabil kärlkramp", "at0137", DR_LINDQVIST, VC_MAJORNA, KARDIOLOGI_NAL,
                "REM-2026-004711",
                description="65-årig man med tryck över bröstet vid promenad i uppförsbacke.",
                due="2026-12-15T00:00:00+01:00"),
            service_action("2026-11-24T10:06:00+01:00", "at0026", "526", "Bedömning av kardiolog, arbets-EKG",
                           "REM-2026-004711"),
        ]),
        "ortopedremiss_bokad.json": doc(SSK_NILSSON, ORTOPED_SKAS, "2026-11-26T08:30:00+01:00", [
            service_action("2026-11-25T15:10:00+01:00", "at0035", "526", "Ortopedbedömning knä",
                           "REM-2026-004650"),
            service_action("2026-11-26T08:30:00+01:00", "at0003", "529", "Ortopedbedömning knä",
                           "REM-2026-004650", scheduled="2027-01-12T09:00:00+01:00"),
        ]),
        "akut_remiss_avvisad.json": doc(DR_ABDULLAH, MEDICIN_SU, "2026-11-21T11:20:00+01:00", [
            service_action("2026-11-21T11:20:00+01:00", "at0009", "528", "Gastroskopi", "REM-2026-004588",
                           reason="Avvisad: remissen avser öppenvård, "
                                  "hänvisas till närmaste endoskopienhet."),
        ]),
        "rutinremiss_slutford.json": doc(DR_ABDULLAH, MEDICIN_SU, "2026-11-23T16:00:00+01:00", [
            service_request(
                "Spirometri med reversibilitetstest", "Kronisk hosta sedan 6 månader", "Misstänkt KOL",
                "at0138", DR_ABDULLAH, MEDICIN_SU, ("Fysiologiska kliniken, Sahlgrenska",
                                                    "SE2321000131-E000000055005"), "REM-2026-004502"),
            service_action("2026-11-23T16:00:00+01:00", "at0005", "532", "Spirometri med reversibilitetstest",
                           "REM-2026-004502"),
        ]),
    }


_SR_ITEMS = f"/content[{SR}]/activities[at0001]/description[at0009]/items"
_SR_PROT = f"/content[{SR}]/protocol[at0008]/items"
REFERRAL_INVALID = [
    Invalid("wrong_node_id", f"{_SR_ITEMS}[at0148]", node_id("at0148"), target=f"{_SR_ITEMS}[at0135]"),
    Invalid("missing_mandatory", f"{_SR_ITEMS}[at0121]", remove()),
    Invalid("occurrences_exceeded", f"{_SR_ITEMS}[at0135]",
            duplicate(lambda e: e["value"].update(value="Tidigare frisk."))),
    Invalid("code_not_in_list", f"{_SR_ITEMS}[at0068]/value",
            set_value("/defining_code/code_string", "at0135")),
    Invalid("string_pattern", f"{_SR_PROT}[{OR}]/items[at0003]/value", set_value("/id", "2321000131-E33003")),
    Invalid("string_not_in_list", f"{_SR_PROT}[{OR}]/items[at0003]/value",
            set_value("/type", "organisationsnummer")),
    Invalid("wrong_type", f"{_SR_PROT}[at0010]/value", replace_value(dv_text("REM-2026-004711"))),
    Invalid("malformed_date", f"{_SR_ITEMS}[at0040]/value", set_value("/value", "15 december 2026")),
    Invalid("careflow_state_mismatch", f"/content[{SA}]/ism_transition",
            replace_at("current_state", dv_coded("completed", "openehr", "532"))),
]


# ----------------------------------------------------------------------------- person

PP = "openEHR-DEMOGRAPHIC-PERSON.person.v0"
NM = "openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0"
DE = "openEHR-DEMOGRAPHIC-ITEM_TREE.person_details.v0"
ID = "openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0"
AD = "openEHR-DEMOGRAPHIC-ADDRESS.address.v0"


def _person_identifier(number: str, kind: str, issuer: str, scope: str = "at0013") -> J:
    return cluster_root("CLUSTER", ID, items=[element(ID, "at0001", dv_identifier(number, kind, issuer)),
                                      element(ID, "at0002", local(ID, scope))])


def person(given: list[str], family: str | None, birth: str, gender: str | None, identifiers: list[J],
           address: tuple[str, str, str, str] | None) -> J:
    names = [element(NM, "at0002", dv_text(g)) for g in given]
    if family:
        names.append(element(NM, "at0003", dv_text(family)))
    names.append(element(NM, "at0008", dv_boolean(True)))
    details = [node("CLUSTER", DE, "at0001", items=[element(DE, "at0010", dv_date(birth))])]
    if gender:
        details.append(element(DE, "at0031", local(DE, gender)))
    details += identifiers
    out = root("PERSON", PP, template_id="vgr.person.v1",
               details=cluster_root("ITEM_TREE", DE, items=details),
               identities=[cluster_root("PARTY_IDENTITY", NM, "Folkbokfört namn",
                                details=node("ITEM_TREE", NM, "at0001", items=names))])
    if address:
        street, number, postal_code, town = address
        address_details = node("ITEM_TREE", AD, "at0001", items=[
            node("CLUSTER", AD, "at0002", items=[element(AD, "at0028", dv_text(street)),
                                                 element(AD, "at0029", dv_text(number))]),
            element(AD, "at0006", dv_text(postal_code)),
            element(AD, "at0007", dv_text(town)),
        ])
        addresses = [cluster_root("ADDRESS", AD, "Folkbokföringsadress", details=address_details)]
        out["contacts"] = [node("CONTACT", PP, "at0003", addresses=addresses)]
    return out


def person_examples() -> dict[str, J]:
    return {
        "tolvan_tolvansson.json": person(
            ["Tolvan"], "Tolvansson", "1912-12-12", "at0310",
            [_person_identifier(personnummer("19121212", "121"), "personnummer", "Skatteverket")],
            ("Testgatan", "12", "412 63", "Göteborg")),
        "samordningsnummer.json": person(
            ["Amira", "Leila"], "Haddad", "1955-03-01", "at0311",
            [_person_identifier(personnummer("19550361", "402"), "samordningsnummer", "Skatteverket")],
            ("Storgatan", "7 B", "54130", "Skövde")),
        "reservnummer_okand.json": person(
            [], None, "1980-05-14", "at0313",
            [_person_identifier("VGR-R-2026-000317", "reservnummer", "Västra Götalandsregionen", "at0011")],
            None),
        "personnummer_och_reservnummer.json": person(
            ["Erik", "Johan"], "Andersson", "1980-05-14", "at0310",
            [_person_identifier(personnummer("19800514", "238"), "personnummer", "Skatteverket"),
             _person_identifier("VGR-R-2026-000318", "reservnummer", "Västra Götalandsregionen", "at0011")],
            ("Kungsportsavenyen", "3", "411 36", "Göteborg")),
    }


_PD_ITEMS = f"/details[{DE}]/items"
_NAME_ITEMS = f"/identities[{NM}]/details[at0001]/items"
PERSON_INVALID = [
    Invalid("wrong_node_id", f"{_PD_ITEMS}[at0017]", node_id("at0017"), target=f"{_PD_ITEMS}[at0031]"),
    Invalid("missing_mandatory", f"{_NAME_ITEMS}[at0008]", remove()),
    Invalid("occurrences_exceeded", f"{_NAME_ITEMS}[at0003]",
            duplicate(lambda e: e["value"].update(value="Testsson"))),
    Invalid("code_not_in_list", f"{_PD_ITEMS}[at0031]/value",
            set_value("/defining_code/code_string", "at0314")),
    Invalid("string_not_in_list", f"{_PD_ITEMS}[{ID}]/items[at0001]/value", set_value("/type", "passnummer")),
    Invalid("string_pattern", f"/contacts[at0003]/addresses[{AD}]/details[at0001]/items[at0006]/value",
            set_value("/value", "4126")),
    Invalid("wrong_type", f"{_PD_ITEMS}[at0001]/items[at0010]/value", set_value("/_type", "DV_TEXT")),
    Invalid("malformed_date", f"{_PD_ITEMS}[at0001]/items[at0010]/value", set_value("/value", "12/12/1912")),
]


# ----------------------------------------------------------------------------- writer

EXAMPLES: dict[str, tuple[Callable[[], dict[str, J]], list[Invalid]]] = {
    "vgr.person.v1": (person_examples, PERSON_INVALID),
    "vgr.journal_note.v1": (journal_examples, JOURNAL_INVALID),
    "vgr.medication_order.v1": (medication_examples, MEDICATION_INVALID),
    "vgr.referral.v1": (referral_examples, REFERRAL_INVALID),
}


def build(template_id: str) -> dict[str, Any]:
    """{"valid/<f>": doc, "invalid/<rule>.json": doc, "expected.json": {...}} for one template."""
    make_valid, invalid = EXAMPLES[template_id]
    valid = make_valid()
    out: dict[str, Any] = {f"valid/{name}": doc for name, doc in valid.items()}
    bases = list(valid.values())
    expected = {}
    for inv in invalid:
        doc = copy.deepcopy(bases[inv.base])
        target = inv.target or inv.path
        p = pointer_of(doc, target)
        pointer = inv.change(doc, p)
        name = f"{inv.rule}.json"
        out[f"invalid/{name}"] = doc
        expected[name] = {"rule": inv.rule, "path": inv.path, "pointer": pointer,
                          "base": f"valid/{list(valid)[inv.base]}"}
    out["expected.json"] = expected
    return out


def dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def write_all(out: Path = OUT) -> list[Path]:
    written = []
    for template_id in EXAMPLES:
        for rel, doc in build(template_id).items():
            path = out / template_id / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dumps(doc), encoding="utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    for p in write_all():
        print(p.relative_to(OUT.parent))
