"""MedicationRequest <-> COMPOSITION of template vgr.medication_order.v1, pure functions.

COMPOSITION.medication_list.v1
  context.start_time                      authoredOn
  context.health_care_facility (HSA-id)   requester (the care unit, identifier urn:oid:1.2.752.29.4.19)
  composer                                recorder (absent: the gateway itself)
  INSTRUCTION.medication_order.v3
    activities[at0001]/description[at0002]
      at0070 medication item (ATC coded)  medicationCodeableConcept (http://www.whocc.no/atc, or text)
      at0091 route                        dosageInstruction[0].route.text
      at0009 overall directions           dosageInstruction[0].text
      therapeutic_direction > dosage.v2   dosageInstruction[0]: dose at0144 (doseQuantity, UCUM),
        > timing_daily.v1                 description at0178 (patientInstruction), frequency at0003
                                          (timing.repeat per d or h), as needed at0024/at0025
      at0113 order start/stop             dosageInstruction[0].timing.repeat.boundsPeriod
      at0018 clinical indication (0..*)   reasonCode[].text
      at0129/at0132 substitution          substitution.allowedBoolean (at0168 permitted, at0169 not)
      at0167 comment                      note[0].text
    protocol[at0005]/at0004 order id      identifier[0] (issuer: system if a URI, else assigner.display)
  ACTION.medication.v1 (0..*)             status = careflow step of the latest ACTION by time (none:
                                          active); statusReason.text = its reason (at0021)

The FHIR id joins the EHR id and the composition's object id (both UUIDs) as 64 hex digits,
so a MedicationRequest can be read without any lookup.
"""

from __future__ import annotations

from archetypes.identifiers import HSA_ID_SYSTEM
from gateway.openehr import (
    MappingError,
    VersionUid,
    cluster,
    code_phrase,
    dv_coded,
    dv_text,
    element,
    first_with,
    identifier_from_dv,
    items_with,
    joined_id,
    latest_entry,
    party_reference,
    split_joined_id,
    value_of,
)

# ids: EHR id + composition object id (gateway.openehr.joined_id)
resource_id = joined_id
split_id = split_joined_id
TEMPLATE_ID = "vgr.medication_order.v1"
COMPOSITION_ARCHETYPE = "openEHR-EHR-COMPOSITION.medication_list.v1"
INSTRUCTION_ARCHETYPE = "openEHR-EHR-INSTRUCTION.medication_order.v3"
ACTION_ARCHETYPE = "openEHR-EHR-ACTION.medication.v1"
ATC_SYSTEM = "http://www.whocc.no/atc"
ATC_TERMINOLOGY = "ATC"
GATEWAY_COMPOSER = "FHIR-gateway"

ACTIVITY, DESCRIPTION = "at0001", "at0002"
ITEM, ROUTE, DIRECTIONS, INDICATION, COMMENT = "at0070", "at0091", "at0009", "at0018", "at0167"
DISPENSE, SUBSTITUTION, PERMITTED, NOT_PERMITTED = "at0129", "at0132", "at0168", "at0169"
PROTOCOL, ORDER_ID = "at0005", "at0004"
ACTION_TREE, ACTION_ITEM, ACTION_REASON = "at0017", "at0020", "at0021"

# FHIR status -> (careflow step, its text, ISM state code, ISM state text)
STATUS_STEPS = {
    "active": ("at0004", "Påbörjad läkemedelsbehandling", "245", "active"),
    "on-hold": ("at0009", "Indragen administrering", "530", "suspended"),
    "stopped": ("at0015", "Avbruten läkemedelsbehandling", "531", "aborted"),
    "completed": ("at0007", "Fullföljd läkemedelsbehandling", "532", "completed"),
    "cancelled": ("at0012", "Avbruten läkemedelsbehandling", "528", "cancelled"),
}
STEP_TO_STATUS = {step: status for status, (step, *_rest) in STATUS_STEPS.items()}
# Other careflow steps: their ISM state decides, grouped as the medication module groups them.
ISM_TO_STATUS = {
    "526": "active",  # planned
    "529": "active",  # scheduled
    "245": "active",
    "527": "on-hold",  # postponed
    "530": "on-hold",  # suspended
    "531": "stopped",  # aborted
    "533": "stopped",  # expired
    "528": "cancelled",
    "532": "completed",
}
# FHIR status -> the medication module's status search value (services/README.md)
MODULE_STATUS = {"active": "active", "on-hold": "suspended", "stopped": "stopped", "completed": "completed"}

# Required bindings the fhir.resources models do not check (R4 value sets).
FHIR_STATUSES = {
    "active",
    "on-hold",
    "cancelled",
    "completed",
    "entered-in-error",
    "stopped",
    "draft",
    "unknown",
}
FHIR_INTENTS = {
    "proposal",
    "plan",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
}

_IGNORED = {"resourceType", "id", "meta", "text", "intent", "subject", "status", "statusReason"}
_MAPPED = {
    "identifier",
    "medicationCodeableConcept",
    "authoredOn",
    "requester",
    "recorder",
    "dosageInstruction",
    "reasonCode",
    "substitution",
    "note",
}


# -- COMPOSITION -> MedicationRequest ------------------------------------------------------------


def _content(composition: dict, archetype: str) -> list[dict]:
    return [c for c in composition.get("content") or [] if c.get("archetype_node_id") == archetype]


def latest_action(composition: dict) -> dict | None:
    return latest_entry(_content(composition, ACTION_ARCHETYPE))


def status_of(composition: dict) -> str:
    return _status_after(latest_action(composition))


def _status_after(action: dict | None) -> str:
    """The order's status after its latest ACTION (None: no ACTION yet)."""
    if action is None:
        return "active"  # an order is in force from when it is issued (the module's rule)
    transition = action.get("ism_transition") or {}
    step = ((transition.get("careflow_step") or {}).get("defining_code") or {}).get("code_string")
    if step in STEP_TO_STATUS:
        return STEP_TO_STATUS[step]
    state = ((transition.get("current_state") or {}).get("defining_code") or {}).get("code_string")
    return ISM_TO_STATUS.get(state, "unknown")


def composition_to_medication_request(
    composition: dict, version_uid: str, ehr_id: str, patient_id: str | None, last_updated: str | None = None
) -> dict:
    uid = VersionUid.parse(version_uid)
    meta: dict = {"versionId": str(uid.version)}
    if last_updated:
        meta["lastUpdated"] = last_updated
    mr: dict = {"resourceType": "MedicationRequest", "id": resource_id(ehr_id, uid.object_id), "meta": meta}
    instruction = (_content(composition, INSTRUCTION_ARCHETYPE) or [{}])[0]
    activity = first_with(instruction.get("activities"), ACTIVITY) or {}
    items = (activity.get("description") or {}).get("items") or []
    order_id = value_of(((instruction.get("protocol") or {}).get("items")), ORDER_ID)
    if order_id and order_id.get("id"):
        mr["identifier"] = [identifier_from_dv(order_id)]
    action = latest_action(composition)
    mr["status"] = _status_after(action)
    if action:
        reason = value_of((action.get("description") or {}).get("items"), ACTION_REASON)
        if reason and reason.get("value"):
            mr["statusReason"] = {"text": reason["value"]}
    mr["intent"] = "order"
    item = value_of(items, ITEM)
    if item:
        code = item.get("defining_code") or {}
        if (code.get("terminology_id") or {}).get("value") == ATC_TERMINOLOGY:
            mr["medicationCodeableConcept"] = {
                "coding": [
                    {"system": ATC_SYSTEM, "code": code.get("code_string"), "display": item.get("value")}
                ],
                "text": item.get("value"),
            }
        else:
            mr["medicationCodeableConcept"] = {"text": item.get("value")}
    mr["subject"] = {"reference": f"Patient/{patient_id}"} if patient_id else {"display": f"EHR {ehr_id}"}
    context = composition.get("context") or {}
    if (context.get("start_time") or {}).get("value"):
        mr["authoredOn"] = context["start_time"]["value"]
    requester = party_reference(context.get("health_care_facility"), "Organization")
    if requester:
        mr["requester"] = requester
    composer = composition.get("composer") or {}
    if composer.get("name") != GATEWAY_COMPOSER:
        recorder = party_reference(composer, "Practitioner")
        if recorder:
            mr["recorder"] = recorder
    indications = [el["value"]["value"] for el in items_with(items, INDICATION)]
    if indications:
        mr["reasonCode"] = [{"text": text} for text in indications]
    comment = value_of(items, COMMENT)
    if comment:
        mr["note"] = [{"text": comment["value"]}]
    dosage = dosage_from_items(items)
    if dosage:
        mr["dosageInstruction"] = [dosage]
    dispense = first_with(items, DISPENSE)
    if dispense:
        allowed = (
            (value_of(dispense.get("items"), SUBSTITUTION) or {}).get("defining_code", {}).get("code_string")
        )
        if allowed in (PERMITTED, NOT_PERMITTED):
            mr["substitution"] = {"allowedBoolean": allowed == PERMITTED}
    return mr


# -- MedicationRequest -> COMPOSITION ------------------------------------------------------------


def _hsa_party(reference: dict, where: str, required: bool) -> dict | None:
    identifier = reference.get("identifier") or {}
    if identifier.get("system") != HSA_ID_SYSTEM or not identifier.get("value"):
        if required:
            raise MappingError(
                f"{where} needs an HSA-id identifier (system {HSA_ID_SYSTEM})",
                f"{where}.identifier",
                status=422,
            )
        return None
    party = {
        "_type": "PARTY_IDENTIFIED",
        "identifiers": [
            {
                "_type": "DV_IDENTIFIER",
                "id": identifier["value"],
                "type": "HSA-id",
                "issuer": "HSA",
                "assigner": "Inera",
            }
        ],
    }
    if reference.get("display"):
        party["name"] = reference["display"]
    return party


def status_action(status: str, time: str, item: dict | None, reason: str | None = None) -> dict:
    step, step_text, ism, ism_text = STATUS_STEPS[status]
    items = []
    if item:
        items.append(element(ACTION_ITEM, "Läkemedelsartikel", item))
    if reason:
        items.append(element(ACTION_REASON, "Orsak", dv_text(reason)))
    return {
        "_type": "ACTION",
        "archetype_node_id": ACTION_ARCHETYPE,
        "name": dv_text("Hantering av läkemedelsregim"),
        "archetype_details": _archetyped(ACTION_ARCHETYPE),
        "language": code_phrase("sv", "ISO_639-1"),
        "encoding": code_phrase("UTF-8", "IANA_character-sets"),
        "subject": {"_type": "PARTY_SELF"},
        "time": {"_type": "DV_DATE_TIME", "value": time},
        "ism_transition": {
            "_type": "ISM_TRANSITION",
            "current_state": dv_coded(ism_text, ism, "openehr"),
            "careflow_step": dv_coded(step_text, step),
        },
        "description": {
            "_type": "ITEM_TREE",
            "archetype_node_id": ACTION_TREE,
            "name": dv_text("Tree"),
            "items": items,
        },
    }


def _archetyped(archetype_id: str, template: bool = False) -> dict:
    out = {
        "_type": "ARCHETYPED",
        "archetype_id": {"_type": "ARCHETYPE_ID", "value": archetype_id},
        "rm_version": "1.0.4",
    }
    if template:
        out["template_id"] = {"_type": "TEMPLATE_ID", "value": TEMPLATE_ID}
    return out


# -- dosage: text and route, one structured dose with its daily timing, the order's period ------

THERAPEUTIC = "openEHR-EHR-CLUSTER.therapeutic_direction.v1"
DOSAGE = "openEHR-EHR-CLUSTER.dosage.v2"
TIMING = "openEHR-EHR-CLUSTER.timing_daily.v1"
DOSE, DOSE_TEXT, FREQUENCY, AS_NEEDED, AS_NEEDED_WHEN = "at0144", "at0178", "at0003", "at0024", "at0025"
ORDER_DETAILS, ORDER_START, ORDER_STOP = "at0113", "at0012", "at0013"
UCUM = "http://unitsofmeasure.org"
UNIT_TO_UCUM = {"mg": "mg", "g": "g", "ug": "ug", "ml": "mL", "{st}": "{st}"}
UCUM_TO_UNIT = {code: unit for unit, code in UNIT_TO_UCUM.items()}
PERIOD_UNITS = {"1/d": "d", "1/h": "h"}
_DOSAGE_KEYS = {
    "text",
    "route",
    "doseAndRate",
    "timing",
    "asNeededBoolean",
    "asNeededCodeableConcept",
    "patientInstruction",
}


def _archetyped_cluster(archetype: str, name: str, items: list[dict]) -> dict:
    return {
        "_type": "CLUSTER",
        "name": dv_text(name),
        "archetype_node_id": archetype,
        "archetype_details": _archetyped(archetype),
        "items": items,
    }


def dosage_from_items(items: list[dict]) -> dict:
    """Dosage from the order's description: directions, route, the first structured dose."""
    dosage: dict = {}
    directions = value_of(items, DIRECTIONS)
    if directions:
        dosage["text"] = directions["value"]
    dose_cluster = first_with((first_with(items, THERAPEUTIC) or {}).get("items"), DOSAGE) or {}
    dose_items = dose_cluster.get("items") or []
    description = value_of(dose_items, DOSE_TEXT)
    if description and description.get("value"):
        dosage["patientInstruction"] = description["value"]
    timing_items = (first_with(dose_items, TIMING) or {}).get("items") or []
    repeat: dict = {}
    order_details = (first_with(items, ORDER_DETAILS) or {}).get("items") or []
    bounds = {
        key: (value_of(order_details, node) or {}).get("value")
        for key, node in (("start", ORDER_START), ("end", ORDER_STOP))
    }
    bounds = {k: v for k, v in bounds.items() if v}
    if bounds:
        repeat["boundsPeriod"] = bounds
    frequency = value_of(timing_items, FREQUENCY)
    if frequency and frequency.get("units") in PERIOD_UNITS:
        repeat.update(
            frequency=int(frequency["magnitude"]), period=1, periodUnit=PERIOD_UNITS[frequency["units"]]
        )
    if repeat:
        dosage["timing"] = {"repeat": repeat}
    when = value_of(timing_items, AS_NEEDED_WHEN)
    as_needed = value_of(timing_items, AS_NEEDED)
    if when and when.get("value"):
        dosage["asNeededCodeableConcept"] = {"text": when["value"]}
    elif as_needed is not None:
        dosage["asNeededBoolean"] = bool(as_needed.get("value"))
    route = value_of(items, ROUTE)
    if route:
        dosage["route"] = {"text": route["value"]}
    dose = value_of(dose_items, DOSE)
    if dose and dose.get("units") in UNIT_TO_UCUM:
        quantity = {
            "value": dose["magnitude"],
            "unit": dose["units"],
            "system": UCUM,
            "code": UNIT_TO_UCUM[dose["units"]],
        }
        dosage["doseAndRate"] = [{"doseQuantity": quantity}]
    return dosage


def dosage_to_items(dosage: dict) -> tuple[list[dict], dict | None]:
    """(route, directions and the therapeutic direction, the order details cluster) of a Dosage."""
    where = "MedicationRequest.dosageInstruction[0]"
    extra = sorted(set(dosage) - _DOSAGE_KEYS)
    if extra:
        raise MappingError(f"Dosage.{extra[0]} is not in the template", f"{where}.{extra[0]}", 422)
    items = []
    if (dosage.get("route") or {}).get("text"):
        items.append(element(ROUTE, "Administreringsväg", dv_text(dosage["route"]["text"])))
    if dosage.get("text"):
        items.append(element(DIRECTIONS, "Fullständig beskrivning av anvisningar", dv_text(dosage["text"])))
    dose_items, timing_items = [], []
    rates = dosage.get("doseAndRate") or []
    if len(rates) > 1 or (rates and set(rates[0]) != {"doseQuantity"}):
        raise MappingError("One doseAndRate with a doseQuantity is supported", f"{where}.doseAndRate", 422)
    if rates:
        quantity = rates[0]["doseQuantity"]
        unit = UCUM_TO_UNIT.get(quantity.get("code") or "") if quantity.get("system") == UCUM else None
        if unit is None or quantity.get("value") is None:
            raise MappingError(
                f"The dose needs a value and a UCUM unit of {', '.join(UCUM_TO_UNIT)}",
                f"{where}.doseAndRate[0].doseQuantity",
                422,
            )
        dose_items.append(
            element(DOSE, "Dos", {"_type": "DV_QUANTITY", "magnitude": quantity["value"], "units": unit})
        )
    if dosage.get("patientInstruction"):
        dose_items.append(element(DOSE_TEXT, "Doseringsbeskrivning", dv_text(dosage["patientInstruction"])))
    repeat = dict((dosage.get("timing") or {}).get("repeat") or {})
    if set(dosage.get("timing") or {}) - {"repeat"}:
        raise MappingError("Only timing.repeat is supported", f"{where}.timing", 422)
    bounds = repeat.pop("boundsPeriod", None)
    if repeat:
        unit = {v: k for k, v in PERIOD_UNITS.items()}.get(repeat.get("periodUnit"))
        if set(repeat) != {"frequency", "period", "periodUnit"} or repeat.get("period") != 1 or unit is None:
            raise MappingError(
                "timing.repeat holds frequency per 1 d or 1 h (and boundsPeriod)",
                f"{where}.timing.repeat",
                422,
            )
        timing_items.append(
            element(
                FREQUENCY,
                "Frekvens",
                {"_type": "DV_QUANTITY", "magnitude": repeat["frequency"], "units": unit},
            )
        )
    if "asNeededCodeableConcept" in dosage:
        text = dosage["asNeededCodeableConcept"].get("text")
        if not text:
            raise MappingError(
                "asNeededCodeableConcept needs a text", f"{where}.asNeededCodeableConcept", 422
            )
        timing_items += [
            element(AS_NEEDED, "Vid behov", {"_type": "DV_BOOLEAN", "value": True}),
            element(AS_NEEDED_WHEN, "Villkor för vid behov", dv_text(text)),
        ]
    elif "asNeededBoolean" in dosage:
        timing_items.append(
            element(AS_NEEDED, "Vid behov", {"_type": "DV_BOOLEAN", "value": dosage["asNeededBoolean"]})
        )
    if timing_items:
        dose_items.append(_archetyped_cluster(TIMING, "Dygnsdosering", timing_items))
    if dose_items:
        dose_cluster = _archetyped_cluster(DOSAGE, "Dosering", dose_items)
        items.append(_archetyped_cluster(THERAPEUTIC, "Terapeutisk anvisning", [dose_cluster]))
    order_details = None
    if bounds:
        details = [
            element(node, name, {"_type": "DV_DATE_TIME", "value": bounds[key]})
            for key, node, name in (
                ("start", ORDER_START, "Datum/tid för påbörjad order"),
                ("end", ORDER_STOP, "Datum/tid för avslutad order"),
            )
            if bounds.get(key)
        ]
        order_details = cluster(ORDER_DETAILS, "Orderdetaljer", details)
    return items, order_details


def medication_item(mr: dict) -> dict:
    concept = mr.get("medicationCodeableConcept")
    if not concept:
        raise MappingError(
            "A MedicationRequest needs medicationCodeableConcept (ATC or text)",
            "MedicationRequest.medicationCodeableConcept",
            status=422,
        )
    for coding in concept.get("coding") or []:
        if coding.get("system") == ATC_SYSTEM and coding.get("code"):
            text = concept.get("text") or coding.get("display") or coding["code"]
            return dv_coded(text, coding["code"], ATC_TERMINOLOGY)
    if concept.get("text"):
        return dv_text(concept["text"])
    raise MappingError(
        f"The medication needs an ATC code ({ATC_SYSTEM}) or a text",
        "MedicationRequest.medicationCodeableConcept",
        status=422,
    )


def medication_request_to_composition(mr: dict, now: str) -> dict:
    """A new order (COMPOSITION with the INSTRUCTION and its first ACTION, status active)."""
    unsupported = sorted(set(mr) - _IGNORED - _MAPPED)
    if unsupported:
        raise MappingError(
            f"MedicationRequest elements not stored by the medication module: {', '.join(unsupported)}",
            f"MedicationRequest.{unsupported[0]}",
            status=422,
        )
    check_codes(mr)
    if mr.get("intent") != "order":
        raise MappingError("Only intent 'order' is supported", "MedicationRequest.intent", status=422)
    if mr.get("status") not in ("active", None):
        raise MappingError(
            "A new MedicationRequest starts active; change its status with an update",
            "MedicationRequest.status",
            status=422,
        )
    item = medication_item(mr)
    items = [element(ITEM, "Läkemedelsartikel", item)]
    dosages = mr.get("dosageInstruction") or []
    if len(dosages) > 1:
        raise MappingError(
            "One dosageInstruction is supported", "MedicationRequest.dosageInstruction[1]", 422
        )
    order_details = None
    if dosages:
        dosage_items, order_details = dosage_to_items(dosages[0])
        items += dosage_items
    for index, reason in enumerate(mr.get("reasonCode") or []):
        if not reason.get("text"):
            raise MappingError("reasonCode needs a text", f"MedicationRequest.reasonCode[{index}].text", 422)
        items.append(element(INDICATION, "Klinisk indikation", dv_text(reason["text"])))
    if order_details:
        items.append(order_details)
    substitution = mr.get("substitution")
    if substitution is not None:
        if "allowedBoolean" not in substitution:
            raise MappingError(
                "substitution.allowedBoolean is the supported form",
                "MedicationRequest.substitution",
                status=422,
            )
        code = PERMITTED if substitution["allowedBoolean"] else NOT_PERMITTED
        text = "Tillåtet" if code == PERMITTED else "Ej tillåtet"
        items.append(
            {
                "_type": "CLUSTER",
                "archetype_node_id": DISPENSE,
                "name": dv_text("Anvisningar för dispensering"),
                "items": [element(SUBSTITUTION, "Anvisningar för substitution", dv_coded(text, code))],
            }
        )
    notes = mr.get("note") or []
    if len(notes) > 1:
        raise MappingError("One note is supported", "MedicationRequest.note[1]", status=422)
    if notes:
        items.append(element(COMMENT, "Kommentar", dv_text(notes[0].get("text") or "")))
    instruction: dict = {
        "_type": "INSTRUCTION",
        "archetype_node_id": INSTRUCTION_ARCHETYPE,
        "name": dv_text("Läkemedelsbeställning"),
        "archetype_details": _archetyped(INSTRUCTION_ARCHETYPE),
        "language": code_phrase("sv", "ISO_639-1"),
        "encoding": code_phrase("UTF-8", "IANA_character-sets"),
        "subject": {"_type": "PARTY_SELF"},
        "narrative": dv_text(item["value"]),
        "activities": [
            {
                "_type": "ACTIVITY",
                "archetype_node_id": ACTIVITY,
                "name": dv_text("Order"),
                "action_archetype_id": ACTION_ARCHETYPE,
                "description": {
                    "_type": "ITEM_TREE",
                    "archetype_node_id": DESCRIPTION,
                    "name": dv_text("Tree"),
                    "items": items,
                },
            }
        ],
    }
    identifiers = mr.get("identifier") or []
    if len(identifiers) > 1:
        raise MappingError("One identifier is supported", "MedicationRequest.identifier[1]", status=422)
    if identifiers:
        given = identifiers[0]
        extra = sorted(set(given) - {"system", "value", "assigner"})
        if extra or set(given.get("assigner") or {}) - {"display"}:
            raise MappingError(
                "An order identifier holds system, value and assigner.display",
                "MedicationRequest.identifier[0]",
                status=422,
            )
        dv = {"_type": "DV_IDENTIFIER", "id": given.get("value") or ""}
        issuer = given.get("system") or (given.get("assigner") or {}).get("display")
        if given.get("system") and (given.get("assigner") or {}).get("display"):
            raise MappingError(
                "An order identifier has either a system or an assigner, not both",
                "MedicationRequest.identifier[0].assigner",
                status=422,
            )
        if issuer:
            dv["issuer"] = issuer
        instruction["protocol"] = {
            "_type": "ITEM_TREE",
            "archetype_node_id": PROTOCOL,
            "name": dv_text("Tree"),
            "items": [element(ORDER_ID, "Beställnings-ID", dv)],
        }
    authored = mr.get("authoredOn") or now
    facility = _hsa_party(mr.get("requester") or {}, "MedicationRequest.requester", required=True)
    composer = None
    if mr.get("recorder"):
        composer = _hsa_party(mr["recorder"], "MedicationRequest.recorder", required=False)
        if composer and "name" not in composer:
            composer["name"] = mr["recorder"]["identifier"]["value"]
    composer = composer or {"_type": "PARTY_IDENTIFIED", "name": GATEWAY_COMPOSER}
    return {
        "_type": "COMPOSITION",
        "archetype_node_id": COMPOSITION_ARCHETYPE,
        "name": dv_text("Läkemedelsordination"),
        "archetype_details": _archetyped(COMPOSITION_ARCHETYPE, template=True),
        "language": code_phrase("sv", "ISO_639-1"),
        "territory": code_phrase("SE", "ISO_3166-1"),
        "category": dv_coded("event", "433", "openehr"),
        "composer": composer,
        "context": {
            "_type": "EVENT_CONTEXT",
            "start_time": {"_type": "DV_DATE_TIME", "value": authored},
            "setting": dv_coded("other care", "238", "openehr"),
            "health_care_facility": facility,
        },
        "content": [instruction, status_action("active", authored, item)],
    }


def check_codes(mr: dict) -> None:
    """400 for codes outside the R4 value sets (status, intent)."""
    if mr.get("status") is not None and mr["status"] not in FHIR_STATUSES:
        raise MappingError(
            f"status {mr['status']!r} is not a MedicationRequest status", "MedicationRequest.status"
        )
    if mr.get("intent") is not None and mr["intent"] not in FHIR_INTENTS:
        raise MappingError(
            f"intent {mr['intent']!r} is not a MedicationRequest intent", "MedicationRequest.intent"
        )


def with_status(composition: dict, status: str, time: str, reason: str | None = None) -> dict:
    """The next version of an order: the same composition plus an ACTION for the new status."""
    check_codes({"status": status})
    if status not in STATUS_STEPS:
        raise MappingError(
            f"status {status!r} cannot be set (use {', '.join(STATUS_STEPS)})",
            "MedicationRequest.status",
            status=422,
        )
    instruction = (_content(composition, INSTRUCTION_ARCHETYPE) or [{}])[0]
    activity = first_with(instruction.get("activities"), ACTIVITY) or {}
    item = value_of((activity.get("description") or {}).get("items"), ITEM)
    updated = {k: v for k, v in composition.items() if k != "uid"}
    updated["content"] = [*composition.get("content", []), status_action(status, time, item, reason)]
    return updated
