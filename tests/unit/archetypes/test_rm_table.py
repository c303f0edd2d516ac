"""The RM table is data: check it is closed and consistent."""

from __future__ import annotations

import re

import pytest

from archetypes import _rm


@pytest.mark.parametrize("rm_type", sorted(_rm.TYPES))
def test_every_attribute_type_is_known(rm_type):
    for attribute in _rm.attributes(rm_type).values():
        assert attribute.rm_type in _rm.TYPES or attribute.rm_type in _rm.PRIMITIVES, (
            rm_type,
            attribute.name,
        )


def test_every_abstract_type_has_concrete_descendants():
    for rm_type in _rm.ABSTRACT:
        assert rm_type in _rm.TYPES and _rm.concrete_types(rm_type), rm_type


def test_the_polymorphic_attributes_the_brief_names_are_abstract():
    for rm_type in ("CONTENT_ITEM", "ITEM", "DATA_VALUE", "EVENT", "PARTY_PROXY", "ITEM_STRUCTURE", "PARTY"):
        assert rm_type in _rm.ABSTRACT
    assert _rm.concrete_types("EVENT") == ("INTERVAL_EVENT", "POINT_EVENT")
    assert _rm.concrete_types("DV_TEXT") == ("DV_CODED_TEXT", "DV_TEXT")


def test_locatables_have_the_canonical_json_attributes():
    for rm_type in ("COMPOSITION", "ELEMENT", "PERSON", "PARTY_IDENTITY", "ADDRESS", "CONTACT", "ACTIVITY"):
        assert set(_rm.LOCATABLE_ATTRIBUTES) <= set(_rm.attributes(rm_type)), rm_type
    assert not _rm.is_locatable("ISM_TRANSITION") and not _rm.is_locatable("EVENT_CONTEXT")


@pytest.mark.parametrize(
    "rm_type, good, bad",
    [
        (
            "DV_DATE_TIME",
            ["2019-01-28T21:22:19,542+00:00", "2019-01", "2019-01-28T21Z"],
            ["2019-1-28", "28/01/2019"],
        ),
        ("DV_DATE", ["2019-01-28", "2019", "20190128"], ["2019-02-30T10:00", "2019-00"]),
        ("DV_TIME", ["21:22:19.5", "21:22", "212219+0100"], ["25:00", "21:60"]),
        ("DV_DURATION", ["P1Y", "PT0.5S", "-P2W"], ["1Y", "P1H"]),
    ],
)
def test_iso_8601_value_patterns(rm_type, good, bad):
    pattern = re.compile(_rm.VALUE_PATTERNS[rm_type])
    assert all(pattern.search(v) for v in good), good
    assert not any(pattern.search(v) for v in bad), bad
