"""vgr.medication_order.v1: a medication order (läkemedelsordination) and its status changes.

COMPOSITION.medication_list.v1
  INSTRUCTION.medication_order.v3 (0..1)  the order: item, route, directions, structured dose
    CLUSTER.therapeutic_direction.v1 > CLUSTER.dosage.v2 > CLUSTER.timing_daily.v1
  ACTION.medication.v1 (0..*)            status changes with their ISM transitions
"""

from __future__ import annotations

from ..opt import (
    Obj,
    Quantity,
    QuantityItem,
    Root,
    Template,
    attr,
    boolean,
    cluster,
    coded,
    element,
    identifier,
    ism,
    multi,
    string,
    text,
    tree,
)
from .common import care_unit_context, event_category

TEMPLATE_ID = "vgr.medication_order.v1"

# the medication item: ATC coded, or free text when there is no ATC code (extemporé etc.)
def _medication_item() -> tuple[Obj, Obj]:
    return coded("ATC"), text()


# Careflow steps of ACTION.medication.v1 used by the medication module, with the openEHR
# ISM state the archetype binds each to (openehr::245 active, 528 cancelled, 530 suspended,
# 531 aborted, 532 completed).
CAREFLOW = (
    ("at0004", "245"),  # Medication course commenced  -> active      (insatt / started)
    ("at0009", "530"),  # Administrations suspended    -> suspended   (pausad)
    ("at0015", "531"),  # Medication course stopped    -> aborted     (utsatt / stopped)
    ("at0007", "532"),  # Medication course completed  -> completed   (avslutad kur)
    ("at0012", "528"),  # Medication course cancelled  -> cancelled   (makulerad före start)
)


DOSE_UNITS = ("mg", "g", "ug", "ml", "{st}")


def _dosage() -> Root:
    return Root("openEHR-EHR-CLUSTER.dosage.v2", (
        multi("items",
              # dose in mass, volume or units of the dose form ({st}: tablets, capsules ...)
              element("at0144", Quantity(tuple(QuantityItem(u, (0, None)) for u in DOSE_UNITS)), occ=(0, 1)),
              element("at0178", text(), occ=(0, 1)),
              Root("openEHR-EHR-CLUSTER.timing_daily.v1", (
                  multi("items",
                        element("at0003", Quantity((
                            QuantityItem("1/d", (1, None), (0, 0)),
                            QuantityItem("1/h", (1, None), (0, 0)),
                        ), property="382"), occ=(0, 1)),
                        element("at0024", boolean(True, False), occ=(0, 1)),
                        element("at0025", text(), occ=(0, 1)),
                        cardinality=(1, None)),
              ), slot="at0037", occurrences=(0, 1)),
              cardinality=(1, None)),
    ), slot="at0176", occurrences=(0, None))


def _instruction() -> Root:
    description = tree(
        "at0002",
        element("at0070", *_medication_item(), occ=(1, 1)),
        element("at0091", text(), occ=(0, 1)),
        element("at0009", text(), occ=(0, 1)),
        Root("openEHR-EHR-CLUSTER.therapeutic_direction.v1", (
            multi("items", _dosage(), cardinality=(1, None)),
        ), slot="at0177", occurrences=(0, None)),
        element("at0018", text(), occ=(0, None)),
        cluster("at0113",
                element("at0012", Obj("DV_DATE_TIME"), occ=(0, 1)),
                element("at0013", Obj("DV_DATE_TIME"), occ=(0, 1)),
                occ=(0, 1)),
        cluster("at0129",
                element("at0132", coded("local", "at0168", "at0169"), occ=(0, 1)),
                occ=(0, 1)),
        element("at0167", text(), occ=(0, 1)),
        cardinality=(1, None), ordered=True,
    )
    activity = Obj("ACTIVITY", "at0001", (
        attr("description", description, existence=(1, 1)),
        attr("action_archetype_id", string(pattern=r"openEHR-EHR-ACTION\.medication\.v1"), existence=(1, 1)),
    ), occurrences=(1, 1))
    protocol = tree("at0005", element("at0004", identifier(), occ=(0, 1)))
    return Root("openEHR-EHR-INSTRUCTION.medication_order.v3", (
        multi("activities", activity, existence=(1, 1), cardinality=(1, None)),
        attr("protocol", protocol, existence=(0, 1)),
    ), occurrences=(0, 1))


def _action() -> Root:
    description = tree(
        "at0017",
        element("at0020", *_medication_item(), occ=(0, 1)),
        element("at0021", text(), occ=(0, None)),
        element("at0154", Obj("DV_DATE_TIME"), occ=(0, 1)),
        element("at0024", text(), occ=(0, 1)),
    )
    protocol = tree("at0030", element("at0103", identifier(), occ=(0, 1)))
    return Root("openEHR-EHR-ACTION.medication.v1", (
        attr("ism_transition", *(ism(step, state) for step, state in CAREFLOW), existence=(1, 1)),
        attr("description", description, existence=(1, 1)),
        attr("protocol", protocol, existence=(0, 1)),
    ), occurrences=(0, None))


def template() -> Template:
    root = Root("openEHR-EHR-COMPOSITION.medication_list.v1", (
        event_category(),
        care_unit_context(),
        multi("content", _instruction(), _action(), existence=(1, 1), cardinality=(1, None)),
    ))
    return Template(
        template_id=TEMPLATE_ID,
        concept="Läkemedelsordination",
        purpose="En läkemedelsordination (INSTRUCTION.medication_order.v3) med strukturerad dos, "
                "och statusändringar för ordinationen (ACTION.medication.v1): insatt, pausad, utsatt, "
                "avslutad, makulerad.",
        use="Läkemedelsmodulen: ordinationer och deras status. Läkemedel kodat med ATC eller som fritext.",
        root=root,
    )
