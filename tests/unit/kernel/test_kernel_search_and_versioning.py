from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.kernel.careflow import find_entries
from services.kernel.compositions import parse_moment
from services.kernel.errors import BadRequest
from services.kernel.search import IndexField, SearchIndex, coded_values, text_at, time_at, value_at
from services.kernel.versioning import VersionUid, is_version_uid, new_object_id, parse_object_id

OID = "8c07d7dd-db6c-43a3-9a79-6aadf71f2e47"

COMPOSITION = {
    "context": {"start_time": {"value": "2026-11-20T10:15:00+01:00"}},
    "category": {"defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "433"}},
    "content": [
        {
            "archetype_details": {"archetype_id": {"value": "openEHR-EHR-EVALUATION.problem_diagnosis.v1"}},
            "data": {
                "items": [
                    {
                        "value": {
                            "defining_code": {"terminology_id": {"value": "ICD-10-SE"}, "code_string": "I10"}
                        }
                    }
                ]
            },
        },
        {
            "archetype_details": {"archetype_id": {"value": "openEHR-EHR-EVALUATION.problem_diagnosis.v1"}},
            "data": {
                "items": [
                    {
                        "value": {
                            "defining_code": {
                                "terminology_id": {"value": "ICD-10-SE"},
                                "code_string": "E11.9",
                            }
                        }
                    }
                ]
            },
        },
        {
            "archetype_details": {"archetype_id": {"value": "openEHR-EHR-EVALUATION.other.v1"}},
            "data": {
                "items": [
                    {
                        "value": {
                            "defining_code": {"terminology_id": {"value": "ICD-10-SE"}, "code_string": "Z00"}
                        }
                    }
                ]
            },
        },
    ],
}


def test_coded_values_inside_an_archetype_only():
    inside = coded_values("ICD-10-SE", within="openEHR-EHR-EVALUATION.problem_diagnosis")
    assert sorted(inside(COMPOSITION)) == ["E11.9", "I10"]
    assert sorted(coded_values("ICD-10-SE")(COMPOSITION)) == ["E11.9", "I10", "Z00"]
    assert list(coded_values("openehr")(COMPOSITION)) == ["433"]


def test_coded_values_within_an_entry_archetype_walk_its_entries_as_the_whole_walk_would():
    """With an ENTRY archetype as `within`, only the composition's entries of it are walked, SECTIONs
    included; the codes are those a walk of the whole composition finds."""
    import json
    from pathlib import Path

    import archetypes
    from services.kernel.search import _collect_codes

    within = "openEHR-EHR-EVALUATION.problem_diagnosis"
    inside = coded_values("ICD-10-SE", within=within)
    in_a_section = {
        "content": [{"_type": "SECTION", "archetype_details": {"archetype_id": {"value": "openEHR-EHR-SECTION.x.v1"}},
                     "items": [COMPOSITION["content"][0], {"_type": "SECTION", "items": [COMPOSITION["content"][1]]}]},
                    COMPOSITION["content"][2]],
        "context": {"other_context": {"items": [COMPOSITION["content"][0]["data"]["items"][0]]}},
    }  # fmt: skip
    assert sorted(inside(in_a_section)) == ["E11.9", "I10"]
    folder = Path(archetypes.__file__).parent / "examples" / "vgr.journal_note.v1"
    notes = [json.loads(p.read_text()) for p in sorted(folder.glob("*/*.json"))]
    assert any(inside(note) for note in notes)
    for note in [*notes, COMPOSITION, in_a_section]:
        whole: list[str] = []
        _collect_codes(note, False, "ICD-10-SE", within, whole)
        assert inside(note) == whole
    # An entry named by its archetype_node_id alone (archetype_details are optional in the RM) counts.
    bare = {k: v for k, v in COMPOSITION["content"][0].items() if k != "archetype_details"}
    bare["archetype_node_id"] = "openEHR-EHR-EVALUATION.problem_diagnosis.v1"
    assert inside({"content": [bare]}) == ["I10"]


def test_walking_a_composition_leaves_nothing_for_the_garbage_collector():
    """The index's walks (every commit runs them) are freed by reference counting: closures that called
    each other were a reference cycle per walk, freed only by a collector pass."""
    import gc

    extract = coded_values("ICD-10-SE", within="openEHR-EHR-EVALUATION.problem_diagnosis")
    gc.collect()
    gc.disable()
    try:
        assert sorted(extract(COMPOSITION)) == ["E11.9", "I10"]
        assert find_entries(COMPOSITION, "openEHR-EHR-EVALUATION.problem_diagnosis.v1") is not None
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_times_are_read_as_aware_datetimes():
    assert time_at("context", "start_time", "value")(COMPOSITION) == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    assert time_at("context", "start_time", "value")(
        {"context": {"start_time": {"value": "2026-11-20T10:15"}}}
    ) == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    assert (
        time_at("context", "start_time", "value")({"context": {"start_time": {"value": "garbage"}}}) is None
    )
    assert time_at("nowhere")(COMPOSITION) is None


def test_a_search_index_extracts_every_declared_field_deduplicated_and_sorted():
    index = SearchIndex(
        clinical_time=time_at("context", "start_time", "value"),
        fields={
            "diagnosis_code": IndexField(coded_values("ICD-10-SE")),
            "twice": lambda c: ["b", "a", "b"],
            "missing": text_at("no", "such"),
        },
    )
    extracted = index.extract(COMPOSITION)
    assert extracted.values == {"diagnosis_code": ["E11.9", "I10", "Z00"], "twice": ["a", "b"], "missing": []}
    assert set(index.declared) == {"diagnosis_code", "twice", "missing"}


def test_value_at_stops_at_anything_that_is_not_an_object():
    assert value_at(COMPOSITION, "context", "start_time", "value") == "2026-11-20T10:15:00+01:00"
    assert value_at(COMPOSITION, "content", "0") is None


def test_version_uids_round_trip_and_quote_as_etags():
    uid = VersionUid.parse(f'"{OID}::journal.vgr.se::2"')
    assert (uid.object_id, uid.system_id, uid.version) == (OID, "journal.vgr.se", 2)
    assert str(uid) == f"{OID}::journal.vgr.se::2" and uid.etag == f'"{OID}::journal.vgr.se::2"'
    assert is_version_uid(str(uid)) and not is_version_uid(OID)


@pytest.mark.parametrize(
    "text",
    [
        f"{OID}::x",
        f"{OID}::x::0",
        f"{OID}::x::two",
        "nope::x::1",
        # schemathesis: a 20-digit n overflowed the INTEGER column (500), "²" passed str.isdigit() (500)
        f"{OID}::x::18097864406417107017",
        f"{OID}::x::²",
        f"{OID}::x::01",
        f"{OID}::x::1000000000",
    ],
)
def test_malformed_version_uids_are_400(text):
    with pytest.raises(BadRequest):
        VersionUid.parse(text)


def test_object_ids_are_normalised_uuids():
    assert parse_object_id(OID.upper()) == OID
    with pytest.raises(BadRequest):
        parse_object_id("12345")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T10:00:00Z", datetime(2026, 11, 20, 10, tzinfo=UTC)),
        ("2026-11-20T10:00:00+01:00", datetime(2026, 11, 20, 9, tzinfo=UTC)),
        ("2026-11-20T10:00:00 01:00", datetime(2026, 11, 20, 9, tzinfo=UTC)),  # "+" not percent-encoded
    ],
)
def test_query_moments(text, expected):
    assert parse_moment(text) == expected


def test_a_bare_upper_date_includes_the_whole_day_and_garbage_is_400():
    assert parse_moment("2026-11-20", end_of_day=True) == datetime(
        2026, 11, 20, 23, 59, 59, 999999, tzinfo=UTC
    )
    with pytest.raises(BadRequest):
        parse_moment("2026-13-45")


def test_coded_values_belong_to_the_nearest_archetype_root_and_are_found_in_nested_lists():
    def code(value: str) -> dict:
        return {"defining_code": {"terminology_id": {"value": "ICD-10-SE"}, "code_string": value}}

    def archetyped(archetype_id: str, **content) -> dict:
        return {"archetype_details": {"archetype_id": {"value": archetype_id}}, **content}

    composition = archetyped("openEHR-EHR-COMPOSITION.note.v1", content=[
        archetyped("openEHR-EHR-EVALUATION.problem_diagnosis.v1", items=[
            [code("A01"), [code("A02")]],  # lists in lists
            archetyped("openEHR-EHR-CLUSTER.anatomical_location.v1", value=code("X99")),  # its own root
            {"archetype_details": {"archetype_id": {"value": 7}}, "value": code("A03")},  # no id: still inside
        ]),
        {"value": code("B01")},
        {"defining_code": {"terminology_id": {"value": "ICD-10-SE"}, "code_string": 12}},  # not a string
    ])  # fmt: skip
    within = coded_values("ICD-10-SE", within="openEHR-EHR-EVALUATION.problem_diagnosis")
    assert within(composition) == ["A01", "A02", "A03"]
    assert sorted(coded_values("ICD-10-SE")(composition)) == ["A01", "A02", "A03", "B01", "X99"]
    assert coded_values("ICD-10-SE")([code("A01")]) == []  # not a composition


def test_new_object_ids_are_version_7_uuids_that_sort_in_the_order_they_were_made():
    import time
    import uuid

    before = time.time_ns() // 1_000_000
    made = []
    for _ in range(5):
        made.append(new_object_id())
        time.sleep(0.002)  # the next millisecond: within one, the order is random
    after = time.time_ns() // 1_000_000
    ids = [uuid.UUID(text) for text in made]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert made == sorted(made) and parse_object_id(made[0]) == made[0]
    assert before <= ids[0].int >> 80 <= ids[-1].int >> 80 <= after, "the first 48 bits are the time in ms"
    assert len({new_object_id() for _ in range(10_000)}) == 10_000
