"""ServiceRequest and Task <-> referral COMPOSITION (template vgr.referral.v1), pure functions.

One referral composition is both a ServiceRequest (what is asked for) and a Task (its workflow):
both have the id of the composition (EHR id + object id, 64 hex digits).

COMPOSITION.request.v1
  context.start_time                          authoredOn
  context.health_care_facility (HSA-id)       requester (the referring care unit, Organization)
  INSTRUCTION.service_request.v1
    activities[at0001]/description[at0009]
      at0121 service name (1..1)              ServiceRequest.code.text
      at0152 clinical indication (0..*)       ServiceRequest.reasonCode[].text
      at0068 urgency (at0136/7/8)             ServiceRequest.priority (stat / urgent / routine)
      at0040 service due                      ServiceRequest.occurrenceDateTime
      at0150 comment                          ServiceRequest.note[0].text
    protocol[at0008]
      at0010 requester order id (1..1)        ServiceRequest.identifier[0]
      CLUSTER.organisation.v1 (receiver)      ServiceRequest.performer[0], Task.owner
  ACTION.service.v1 (0..*)                    the workflow status (latest by time), as the referrals
                                              module reads it (archetypes/README.md, vgr.referral.v1)

module status   Task.status    ServiceRequest.status   careflow step written
draft           draft          draft                   (no ACTION)
sent            requested      active                  at0026 (526)
received        received       active                  at0035 (526)
accepted        accepted       active                  at0002 (526)
scheduled       in-progress    active                  at0003 (529)
completed       completed      completed               at0005 (532)
rejected        rejected       revoked                 at0009 (528), reason "Avvisad: ..."
cancelled       cancelled      revoked                 at0009 (528)
"""

from __future__ import annotations

import uuid

from archetypes.identifiers import HSA_ID_SYSTEM
from gateway.openehr import (
    MappingError,
    VersionUid,
    code_of,
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
TEMPLATE_ID = "vgr.referral.v1"
COMPOSITION_ARCHETYPE = "openEHR-EHR-COMPOSITION.request.v1"
INSTRUCTION_ARCHETYPE = "openEHR-EHR-INSTRUCTION.service_request.v1"
ACTION_ARCHETYPE = "openEHR-EHR-ACTION.service.v1"
ORGANISATION = "openEHR-EHR-CLUSTER.organisation.v1"
PERSON = "openEHR-EHR-CLUSTER.person.v1"
REJECTED_PREFIXES = ("avvisad", "rejected")

# module status -> (Task status, ServiceRequest status)
STATUSES = {
    "draft": ("draft", "draft"),
    "sent": ("requested", "active"),
    "received": ("received", "active"),
    "accepted": ("accepted", "active"),
    "scheduled": ("in-progress", "active"),
    "completed": ("completed", "completed"),
    "rejected": ("rejected", "revoked"),
    "cancelled": ("cancelled", "revoked"),
}
TASK_TO_MODULE = {task: module for module, (task, _) in STATUSES.items()}
SR_TO_MODULE = {
    "draft": ["draft"],
    "completed": ["completed"],
    "revoked": ["rejected", "cancelled"],
    "active": ["sent", "received", "accepted", "scheduled"],
}
STEP_STATUS = {
    "at0026": "sent",
    "at0035": "received",
    "at0002": "accepted",
    "at0003": "scheduled",
    "at0004": "scheduled",
    "at0005": "completed",
    "at0009": "cancelled",
    "at0006": "cancelled",
}
STATE_STATUS = {"528": "cancelled", "531": "cancelled", "532": "completed"}
STEP_WRITTEN = {  # module status -> (careflow step, text, ISM state, ISM text)
    "sent": ("at0026", "Begäran om tjänst skickad", "526", "planned"),
    "received": ("at0035", "Begäran om tjänst mottagen", "526", "planned"),
    "accepted": ("at0002", "Tjänst planerad", "526", "planned"),
    "scheduled": ("at0003", "Tjänst bokad", "529", "scheduled"),
    "completed": ("at0005", "Tjänst slutförd", "532", "completed"),
    "rejected": ("at0009", "Tjänst avbokad", "528", "cancelled"),
    "cancelled": ("at0009", "Tjänst avbokad", "528", "cancelled"),
}
URGENCY = {"at0136": ("stat", "Akut"), "at0137": ("urgent", "Brådskande"), "at0138": ("routine", "Rutin")}
PRIORITY_TO_URGENCY = {priority: code for code, (priority, _) in URGENCY.items()} | {"asap": "at0137"}
PRIORITY_TO_MODULE = {"stat": "emergency", "urgent": "urgent", "asap": "urgent", "routine": "routine"}


# -- COMPOSITION -> FHIR -------------------------------------------------------------------------


def _instruction(composition: dict) -> dict:
    found = [
        c for c in composition.get("content") or [] if c.get("archetype_node_id") == INSTRUCTION_ARCHETYPE
    ]
    return found[0] if found else {}


def _actions(composition: dict) -> list[dict]:
    return [c for c in composition.get("content") or [] if c.get("archetype_node_id") == ACTION_ARCHETYPE]


def latest_action(composition: dict) -> dict | None:
    return latest_entry(_actions(composition))


def _reason(action: dict) -> str | None:
    value = value_of((action.get("description") or {}).get("items"), "at0012")
    return value.get("value") if value else None


def module_status(composition: dict) -> str:
    """The referral's status as the referrals module reads it."""
    action = latest_action(composition)
    if action is None:
        return "draft"
    transition = action.get("ism_transition") or {}
    step = code_of(transition.get("careflow_step"))
    status = STEP_STATUS.get(step) or STATE_STATUS.get(
        code_of(transition.get("current_state")) or "", "cancelled"
    )
    if (
        status == "cancelled"
        and step == "at0009"
        and (_reason(action) or "").strip().lower().startswith(REJECTED_PREFIXES)
    ):
        return "rejected"
    return status


def _organisation(cluster: dict | None, kind: str = "Organization") -> dict | None:
    if not cluster:
        return None
    ref: dict = {"type": kind}
    ident = value_of(cluster.get("items"), "at0003") or {}
    if ident.get("id"):
        ref["identifier"] = {"system": HSA_ID_SYSTEM, "value": ident["id"]}
    name = value_of(cluster.get("items"), "at0001")
    if name and name.get("value"):
        ref["display"] = name["value"]
    return ref


def _facility(composition: dict) -> dict | None:
    return party_reference((composition.get("context") or {}).get("health_care_facility"), "Organization")


def _subject(ehr_id: str, patient_id: str | None) -> dict:
    return {"reference": f"Patient/{patient_id}"} if patient_id else {"display": f"EHR {ehr_id}"}


def _meta(uid: VersionUid, last_updated: str | None) -> dict:
    meta: dict = {"versionId": str(uid.version)}
    if last_updated:
        meta["lastUpdated"] = last_updated
    return meta


def composition_to_service_request(
    composition: dict, version_uid: str, ehr_id: str, patient_id: str | None, last_updated: str | None = None
) -> dict:
    uid = VersionUid.parse(version_uid)
    instruction = _instruction(composition)
    activity = first_with(instruction.get("activities"), "at0001") or {}
    items = (activity.get("description") or {}).get("items") or []
    protocol = (instruction.get("protocol") or {}).get("items") or []
    sr: dict = {
        "resourceType": "ServiceRequest",
        "id": resource_id(ehr_id, uid.object_id),
        "meta": _meta(uid, last_updated),
    }
    order_id = value_of(protocol, "at0010")
    if order_id and order_id.get("id"):
        sr["identifier"] = [identifier_from_dv(order_id)]
    sr["status"] = STATUSES[module_status(composition)][1]
    sr["intent"] = "order"
    urgency = code_of(value_of(items, "at0068"))
    if urgency in URGENCY:
        sr["priority"] = URGENCY[urgency][0]
    service = value_of(items, "at0121")
    sr["code"] = {"text": (service or {}).get("value") or "Remiss"}
    sr["subject"] = _subject(ehr_id, patient_id)
    due = value_of(items, "at0040")
    if due and due.get("value"):
        sr["occurrenceDateTime"] = due["value"]
    authored = ((composition.get("context") or {}).get("start_time") or {}).get("value")
    if authored:
        sr["authoredOn"] = authored
    person = first_with(protocol, PERSON)
    clinician = _organisation(person, "Practitioner") if person else None
    if clinician and "identifier" in clinician:
        role: dict = {"resourceType": "PractitionerRole", "id": "requester", "practitioner": clinician}
        unit = _organisation(first_with(person.get("items"), ORGANISATION)) or _facility(composition)
        if unit:
            role["organization"] = unit
        sr["contained"] = [role]
        sr["requester"] = {"reference": "#requester"}
    else:
        requester = _facility(composition)
        if requester:
            sr["requester"] = requester
    receiver = _organisation(first_with(protocol, ORGANISATION))
    if receiver:
        sr["performer"] = [receiver]
    indications = [el["value"]["value"] for el in items_with(items, "at0152")]
    if indications:
        sr["reasonCode"] = [{"text": text} for text in indications]
    comment = value_of(items, "at0150")
    if comment and comment.get("value"):
        sr["note"] = [{"text": comment["value"]}]
    return sr


def composition_to_task(
    composition: dict, version_uid: str, ehr_id: str, patient_id: str | None, last_updated: str | None = None
) -> dict:
    uid = VersionUid.parse(version_uid)
    rid = resource_id(ehr_id, uid.object_id)
    status = module_status(composition)
    task: dict = {
        "resourceType": "Task",
        "id": rid,
        "meta": _meta(uid, last_updated),
        "basedOn": [{"reference": f"ServiceRequest/{rid}"}],
        "status": STATUSES[status][0],
        "businessStatus": {"text": status},
        "intent": "order",
    }
    action = latest_action(composition)
    if action is not None and _reason(action):
        task["statusReason"] = {"text": _reason(action)}
    task["focus"] = {"reference": f"ServiceRequest/{rid}"}
    task["for"] = _subject(ehr_id, patient_id)
    authored = ((composition.get("context") or {}).get("start_time") or {}).get("value")
    if authored:
        task["authoredOn"] = authored
    if action is not None and (action.get("time") or {}).get("value"):
        task["lastModified"] = action["time"]["value"]
    requester = _facility(composition)
    if requester:
        task["requester"] = requester
    protocol = (_instruction(composition).get("protocol") or {}).get("items") or []
    owner = _organisation(first_with(protocol, ORGANISATION))
    if owner:
        task["owner"] = owner
    return task


# -- FHIR -> COMPOSITION -------------------------------------------------------------------------


def _hsa(reference: dict | None, where: str) -> tuple[str, str | None]:
    identifier = (reference or {}).get("identifier") or {}
    if identifier.get("system") != HSA_ID_SYSTEM or not identifier.get("value"):
        raise MappingError(
            f"{where} needs an HSA-id identifier (system {HSA_ID_SYSTEM})", f"{where}.identifier", 422
        )
    return identifier["value"], (reference or {}).get("display")


def _hsa_identifier(hsa_id: str) -> dict:
    return {
        "_type": "DV_IDENTIFIER",
        "issuer": "Inera AB",
        "assigner": "Västra Götalandsregionen",
        "id": hsa_id,
        "type": "HSA-id",
    }


def _organisation_cluster(hsa_id: str, name: str | None) -> dict:
    items = ([element("at0001", "Namn", dv_text(name))] if name else []) + [
        element("at0003", "Identifierare", _hsa_identifier(hsa_id))
    ]
    return {
        "_type": "CLUSTER",
        "name": dv_text("Organisation"),
        "archetype_node_id": ORGANISATION,
        "items": items,
    }


def _requester(sr: dict) -> tuple[tuple[str, str | None] | None, tuple[str, str | None]]:
    """(the referring clinician or None, the referring care unit), each (HSA-id, name): from an
    Organization requester, or a contained PractitionerRole (practitioner and organization)."""
    requester = sr.get("requester") or {}
    reference = requester.get("reference") or ""
    if reference.startswith("#"):
        role = next((c for c in sr.get("contained") or [] if f"#{c.get('id')}" == reference), None)
        if role is None or role.get("resourceType") != "PractitionerRole":
            raise MappingError(
                "requester must be a contained PractitionerRole or an Organization with an HSA-id",
                "ServiceRequest.requester",
                422,
            )
        clinician = _hsa(role.get("practitioner"), "PractitionerRole.practitioner")
        return clinician, _hsa(role.get("organization"), "PractitionerRole.organization")
    return None, _hsa(requester, "ServiceRequest.requester")


def action(status: str, time: str, order_id: dict | None, reason: str | None = None) -> dict:
    step, step_text, ism, ism_text = STEP_WRITTEN[status]
    if status == "rejected" and not (reason or "").strip().lower().startswith(REJECTED_PREFIXES):
        reason = f"Avvisad: {reason}" if reason else "Avvisad"
    items = [element("at0012", "Orsak", dv_text(reason))] if reason else []
    out = {
        "_type": "ACTION",
        "name": dv_text("Hälso- och sjukvårdstjänst"),
        "archetype_node_id": ACTION_ARCHETYPE,
        "archetype_details": {
            "_type": "ARCHETYPED",
            "archetype_id": {"_type": "ARCHETYPE_ID", "value": ACTION_ARCHETYPE},
            "rm_version": "1.0.4",
        },
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
            "name": dv_text("Tree"),
            "archetype_node_id": "at0001",
            "items": items,
        },
    }
    if order_id:
        out["protocol"] = {
            "_type": "ITEM_TREE",
            "name": dv_text("Tree"),
            "archetype_node_id": "at0015",
            "items": [element("at0016", "Identifierare för beställare", order_id)],
        }
    return out


_IGNORED = {"resourceType", "id", "meta", "text", "intent", "subject", "status", "contained"}
_MAPPED = {
    "identifier",
    "priority",
    "code",
    "occurrenceDateTime",
    "authoredOn",
    "requester",
    "performer",
    "reasonCode",
    "note",
}


def service_request_to_composition(sr: dict, now: str, order_id: str | None = None) -> dict:
    """A new referral: a draft (status draft) or a sent one (status active, with its first ACTION)."""
    extra = sorted(set(sr) - _IGNORED - _MAPPED)
    if extra:
        raise MappingError(
            f"ServiceRequest elements the referral template cannot hold: {', '.join(extra)}",
            f"ServiceRequest.{extra[0]}",
            422,
        )
    if sr.get("intent") != "order":
        raise MappingError("Only intent 'order' is supported", "ServiceRequest.intent", 422)
    if sr.get("status") not in ("draft", "active"):
        raise MappingError("A new referral is draft or active (sent)", "ServiceRequest.status", 422)
    service = (sr.get("code") or {}).get("text")
    if not service:
        raise MappingError("code.text names the service asked for", "ServiceRequest.code.text", 422)
    priority = sr.get("priority") or "routine"
    if priority not in PRIORITY_TO_URGENCY:
        raise MappingError(f"priority {priority!r} is not a request priority", "ServiceRequest.priority")
    urgency = PRIORITY_TO_URGENCY[priority]
    items = [element("at0121", "Namn på tjänst", dv_text(service))]
    items += [
        element("at0152", "Klinisk indikation", dv_text(r.get("text") or ""))
        for r in sr.get("reasonCode") or []
    ]
    items.append(element("at0068", "Brådskandegrad", dv_coded(URGENCY[urgency][1], urgency)))
    if sr.get("occurrenceDateTime"):
        items.append(
            element("at0040", "Service due", {"_type": "DV_DATE_TIME", "value": sr["occurrenceDateTime"]})
        )
    notes = sr.get("note") or []
    if len(notes) > 1:
        raise MappingError("One note is supported", "ServiceRequest.note[1]", 422)
    if notes:
        items.append(element("at0150", "Kommentar", dv_text(notes[0].get("text") or "")))
    identifiers = sr.get("identifier") or []
    if len(identifiers) > 1:
        raise MappingError("One identifier is supported", "ServiceRequest.identifier[1]", 422)
    if identifiers:
        issuer = identifiers[0].get("system") or (identifiers[0].get("assigner") or {}).get("display")
        order = {"_type": "DV_IDENTIFIER", "id": identifiers[0].get("value") or "", "type": "remiss-id"}
        if issuer:
            order["issuer"] = issuer
    else:
        order = {
            "_type": "DV_IDENTIFIER",
            "id": order_id or str(uuid.uuid4()),
            "issuer": "FHIR-gateway",
            "type": "remiss-id",
        }
    protocol = [element("at0010", "Beställar ID", order)]
    performers = sr.get("performer") or []
    if len(performers) > 1:
        raise MappingError("One receiver is supported", "ServiceRequest.performer[1]", 422)
    if performers:
        hsa_id, name = _hsa(performers[0], "ServiceRequest.performer[0]")
        protocol.append(_organisation_cluster(hsa_id, name))
    clinician, (facility_id, facility_name) = _requester(sr)
    facility = {"_type": "PARTY_IDENTIFIED", "identifiers": [_hsa_identifier(facility_id)]}
    if facility_name:
        facility["name"] = facility_name
    person_items = []
    if clinician:
        if clinician[1]:
            person_items.append(element("at0001", "Namn", dv_text(clinician[1])))
        person_items.append(element("at0003", "Identifierare", _hsa_identifier(clinician[0])))
    person_items.append(_organisation_cluster(facility_id, facility_name))
    person_cluster = {
        "_type": "CLUSTER",
        "name": dv_text("Person"),
        "archetype_node_id": PERSON,
        "items": person_items,
    }
    protocol.insert(1, person_cluster)
    authored = sr.get("authoredOn") or now
    instruction = {
        "_type": "INSTRUCTION",
        "name": dv_text("Förfrågan om hälso-och sjukvårdsrelaterad tjänst"),
        "archetype_node_id": INSTRUCTION_ARCHETYPE,
        "archetype_details": {
            "_type": "ARCHETYPED",
            "archetype_id": {"_type": "ARCHETYPE_ID", "value": INSTRUCTION_ARCHETYPE},
            "rm_version": "1.0.4",
        },
        "language": code_phrase("sv", "ISO_639-1"),
        "encoding": code_phrase("UTF-8", "IANA_character-sets"),
        "subject": {"_type": "PARTY_SELF"},
        "narrative": dv_text(f"Remiss: {service}"),
        "activities": [
            {
                "_type": "ACTIVITY",
                "name": dv_text("Request"),
                "archetype_node_id": "at0001",
                "action_archetype_id": ACTION_ARCHETYPE,
                "description": {
                    "_type": "ITEM_TREE",
                    "name": dv_text("Tree"),
                    "archetype_node_id": "at0009",
                    "items": items,
                },
            }
        ],
        "protocol": {
            "_type": "ITEM_TREE",
            "name": dv_text("Tree"),
            "archetype_node_id": "at0008",
            "items": protocol,
        },
    }
    content = [instruction]
    if sr.get("status") == "active":
        content.append(action("sent", authored, order))
    return {
        "_type": "COMPOSITION",
        "name": dv_text("Remiss"),
        "archetype_node_id": COMPOSITION_ARCHETYPE,
        "archetype_details": {
            "_type": "ARCHETYPED",
            "archetype_id": {"_type": "ARCHETYPE_ID", "value": COMPOSITION_ARCHETYPE},
            "template_id": {"_type": "TEMPLATE_ID", "value": TEMPLATE_ID},
            "rm_version": "1.0.4",
        },
        "language": code_phrase("sv", "ISO_639-1"),
        "territory": code_phrase("SE", "ISO_3166-1"),
        "category": dv_coded("event", "433", "openehr"),
        "composer": {"_type": "PARTY_IDENTIFIED", "name": facility_name or "FHIR-gateway"},
        "context": {
            "_type": "EVENT_CONTEXT",
            "start_time": {"_type": "DV_DATE_TIME", "value": authored},
            "setting": dv_coded("other care", "238", "openehr"),
            "health_care_facility": facility,
        },
        "content": content,
    }


def with_status(composition: dict, status: str, time: str, reason: str | None = None) -> dict:
    """The next version of a referral: the same composition plus an ACTION for the new status."""
    if status not in STEP_WRITTEN:
        raise MappingError(f"The referral cannot be set to {status!r}", "Task.status", 422)
    protocol = (_instruction(composition).get("protocol") or {}).get("items") or []
    updated = {k: v for k, v in composition.items() if k != "uid"}
    updated["content"] = [
        *composition.get("content", []),
        action(status, time, value_of(protocol, "at0010"), reason),
    ]
    return updated
