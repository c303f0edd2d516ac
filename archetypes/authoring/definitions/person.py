"""vgr.person.v1: a person in the demographics module.

PERSON (openEHR-DEMOGRAPHIC-PERSON.person.v0)
  identities: PARTY_IDENTITY.person_name.v0        given and family names
  details:    ITEM_TREE.person_details.v0           birth date, administrative gender,
              > CLUSTER.person_identifier.v0 (1..*) personnummer, samordningsnummer, reservnummer
  contacts:   CONTACT[at0003] > ADDRESS.address.v0  postal address (folkbokföringsadress)

Telecom: PERSON.person.v0 allows it only through openEHR-DEMOGRAPHIC-ADDRESS.electronic_communication,
which is not in the project's CKM set, so the template has no telecom.
"""

from __future__ import annotations

from ..opt import (
    Obj,
    Root,
    Template,
    attr,
    boolean,
    cluster,
    coded,
    dv_date,
    element,
    identifier,
    multi,
    text,
    text_matching,
    tree,
)

TEMPLATE_ID = "vgr.person.v1"

IDENTIFIER_TYPES = ("personnummer", "samordningsnummer", "reservnummer")
POSTAL_CODE = r"[0-9]{3} ?[0-9]{2}"


def _name() -> Root:
    return Root("openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0", (
        attr("details", tree(
            "at0001",
            element("at0002", text(), occ=(0, None)),
            element("at0003", text(), occ=(0, 1)),
            element("at0008", boolean(), occ=(1, 1)),
            cardinality=(1, None), ordered=True,
        ), existence=(1, 1)),
    ), slot="at0002", occurrences=(1, 1))


def _identifier() -> Root:
    return Root("openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0", (
        multi("items",
              element("at0001", identifier(types=IDENTIFIER_TYPES), occ=(1, 1)),
              element("at0002", coded("local", "at0010", "at0011", "at0012", "at0013"), occ=(1, 1)),
              cardinality=(1, None)),
    ), slot="at0005", occurrences=(1, None))


def _details() -> Root:
    return Root("openEHR-DEMOGRAPHIC-ITEM_TREE.person_details.v0", (
        multi("items",
              cluster("at0001", element("at0010", dv_date(), occ=(1, 1)), occ=(1, 1)),
              element("at0031", coded("local", "at0310", "at0311", "at0312", "at0313"), occ=(0, 1)),
              _identifier(),
              cardinality=(1, None), ordered=True),
    ), slot="at0001", occurrences=(1, 1))


def _address() -> Root:
    return Root("openEHR-DEMOGRAPHIC-ADDRESS.address.v0", (
        attr("details", tree(
            "at0001",
            cluster("at0002",
                    element("at0028", text(), occ=(0, 1)),
                    element("at0029", text(), occ=(0, 1)),
                    occ=(0, 1), ordered=True),
            element("at0006", text_matching(POSTAL_CODE), occ=(0, 1)),
            element("at0007", text(), occ=(0, 1)),
        ), existence=(1, 1)),
    ), slot="at0030", occurrences=(1, 1))


def template() -> Template:
    contact = Obj("CONTACT", "at0003", (
        multi("addresses", _address(), existence=(1, 1), cardinality=(1, None)),
    ), occurrences=(1, 1))
    root = Root("openEHR-DEMOGRAPHIC-PERSON.person.v0", (
        attr("details", _details(), existence=(1, 1)),
        multi("identities", _name(), existence=(1, 1), cardinality=(1, None)),
        multi("contacts", contact, existence=(0, 1), cardinality=(1, None)),
    ))
    return Template(
        template_id=TEMPLATE_ID,
        concept="Person",
        purpose="En person i demografimodulen: namn, identiteter (personnummer, samordningsnummer, "
                "reservnummer), födelsedatum, administrativt kön och adress.",
        use="Demografimodulen. Identifierare som DV_IDENTIFIER: personnummer och samordningsnummer "
            "med issuer Skatteverket, reservnummer med den utfärdande regionen som issuer.",
        root=root,
    )
