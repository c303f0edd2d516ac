"""vgr.referral.v1: a referral (remiss) and its workflow.

COMPOSITION.request.v1
  INSTRUCTION.service_request.v1 (0..1): service, reason, indication, urgency, requester
      (CLUSTER.person.v1 > CLUSTER.organisation.v1) and receiver (CLUSTER.organisation.v1),
      both organisations identified by HSA-id; requester order identifier
  ACTION.service.v1 (0..*): workflow steps with the archetype's ISM states
"""

from __future__ import annotations

from ..opt import (
    Obj,
    Root,
    Template,
    attr,
    coded,
    dv_date_time,
    element,
    identifier,
    ism,
    multi,
    string,
    text,
    tree,
)
from .common import HSA_ID_PATTERN, care_unit_context, event_category

TEMPLATE_ID = "vgr.referral.v1"

# Referral workflow -> careflow step of ACTION.service.v1 (ISM state bound by the archetype)
CAREFLOW = (
    ("at0026", "526"),  # Service request sent       -> planned    (skickad / sent)
    ("at0035", "526"),  # Service request received   -> planned    (mottagen / received)
    ("at0002", "526"),  # Service planned            -> planned    (accepterad / accepted)
    ("at0003", "529"),  # Service scheduled          -> scheduled  (bokad / scheduled)
    ("at0004", "245"),  # Service delivered          -> active     (utförd, pågår)
    ("at0005", "532"),  # Service activity complete  -> completed  (slutförd / completed)
    ("at0009", "528"),  # Service cancelled          -> cancelled  (avvisad / rejected, makulerad / cancelled)
    ("at0006", "531"),  # Service abandoned          -> aborted    (avbruten efter start)
)


def _organisation(slot: str, occ=(1, 1)) -> Root:
    """CLUSTER.organisation.v1 identified by its HSA-id."""
    return Root("openEHR-EHR-CLUSTER.organisation.v1", (
        multi("items",
              element("at0001", text(), occ=(0, 1)),
              element("at0003", identifier(HSA_ID_PATTERN, types=("HSA-id",)), occ=(1, 1)),
              cardinality=(1, None)),
    ), slot=slot, occurrences=occ)


def _instruction() -> Root:
    description = tree(
        "at0009",
        element("at0121", text(), occ=(1, 1)),
        element("at0135", text(), occ=(0, 1)),
        element("at0152", text(), occ=(0, None)),
        element("at0062", text(), occ=(0, None)),
        element("at0064", text(), occ=(0, 1)),
        element("at0068", coded("local", "at0136", "at0137", "at0138"), occ=(1, 1)),
        element("at0040", dv_date_time(), occ=(0, 1)),
        element("at0150", text(), occ=(0, 1)),
        cardinality=(1, None),
    )
    activity = Obj("ACTIVITY", "at0001", (
        attr("description", description, existence=(1, 1)),
        attr("action_archetype_id", string(pattern=r"openEHR-EHR-ACTION\.service\.v1"), existence=(1, 1)),
    ), occurrences=(1, 1))
    requester = Root("openEHR-EHR-CLUSTER.person.v1", (
        multi("items",
              element("at0001", text(), occ=(0, 1)),
              element("at0003", identifier(HSA_ID_PATTERN, types=("HSA-id",)), occ=(0, 1)),
              _organisation("at0007"),
              cardinality=(1, None)),
    ), slot="at0141", occurrences=(1, 1))
    protocol = tree(
        "at0008",
        element("at0010", identifier(), occ=(1, 1)),
        requester,
        element("at0011", identifier(), occ=(0, 1)),
        _organisation("at0142"),
        cardinality=(1, None),
    )
    return Root("openEHR-EHR-INSTRUCTION.service_request.v1", (
        multi("activities", activity, existence=(1, 1), cardinality=(1, None)),
        attr("protocol", protocol, existence=(1, 1)),
    ), occurrences=(0, 1))


def _action() -> Root:
    description = tree(
        "at0001",
        element("at0011", text(), occ=(0, 1)),
        element("at0025", dv_date_time(), occ=(0, 1)),
        element("at0012", text(), occ=(0, 1)),
        element("at0028", text(), occ=(0, 1)),
    )
    protocol = tree(
        "at0015",
        element("at0016", identifier(), occ=(0, 1)),
        element("at0018", identifier(), occ=(0, 1)),
    )
    return Root("openEHR-EHR-ACTION.service.v1", (
        attr("ism_transition", *(ism(step, state) for step, state in CAREFLOW), existence=(1, 1)),
        attr("description", description, existence=(1, 1)),
        attr("protocol", protocol, existence=(0, 1)),
    ), occurrences=(0, None))


def template() -> Template:
    root = Root("openEHR-EHR-COMPOSITION.request.v1", (
        event_category(),
        care_unit_context(),
        multi("content", _instruction(), _action(), existence=(1, 1), cardinality=(1, None)),
    ))
    return Template(
        template_id=TEMPLATE_ID,
        concept="Remiss",
        purpose="En remiss (INSTRUCTION.service_request.v1) från en remitterande vårdenhet till en "
                "mottagande enhet, båda med HSA-id, och remissens förlopp (ACTION.service.v1): skickad, "
                "mottagen, accepterad, avvisad, bokad, utförd, slutförd, makulerad.",
        use="Remissmodulen. Avvisad och makulerad registreras båda som careflow-steget Tjänst avbokad "
            "(at0009, ISM cancelled); anledningen anges i Orsak (at0012).",
        root=root,
    )
