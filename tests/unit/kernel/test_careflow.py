"""The generic care-flow pieces: walking canonical JSON, dates, and the adapters to the kernel."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.kernel.careflow import (
    IllegalTransition,
    Workflow,
    classify_by_codes,
    element_value,
    find_archetyped,
    find_entries,
    iter_locatables,
    parse_datetime,
    status_values,
    steps_derived_once,
    transition_rule,
)
from services.kernel.errors import Conflict, UnprocessableEntity
from tests.unit.careflow_builders import action, composition

A = "openEHR-EHR-ACTION.x.v1"
FLOW = Workflow(
    name="toy",
    instruction_archetype="openEHR-EHR-INSTRUCTION.x.v1",
    action_archetype=A,
    initial="open",
    transitions={"open": frozenset({"open", "closed"}), "closed": frozenset()},
    classify=classify_by_codes({"at0001": "open", "at0002": "closed"}, {}),
)


def test_paths_and_pointers_of_nested_nodes():
    section = {
        "_type": "SECTION",
        "archetype_node_id": "openEHR-EHR-SECTION.s.v1",
        "items": [{"_type": "X"}, action(A, "at0001", "245", "2026-01-01T00:00:00Z")],
    }
    found = find_archetyped(composition([section]), A)
    assert [(path, pointer) for _, path, pointer in found] == [
        ("/content[openEHR-EHR-SECTION.s.v1]/items[openEHR-EHR-ACTION.x.v1]", "/content/0/items/1")
    ]
    paths = [path for _, path, _ in iter_locatables(found[0][0])]
    assert "/description[at0017]" in paths


def test_document_order_is_numeric_not_lexical():
    actions = [action(A, "at0001", "245", f"2026-01-{d:02d}T00:00:00Z") for d in range(1, 13)]
    found = find_archetyped(composition(actions), A)
    assert [pointer for _, _, pointer in found][9:11] == ["/content/9", "/content/10"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T10:00:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T11:00:00+01:00", datetime(2026, 3, 1, 11, tzinfo=timezone(timedelta(hours=1)))),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        (20260301, None),
    ],
)
def test_parse_datetime(text, expected):
    assert parse_datetime(text) == expected


def test_actions_with_equal_times_keep_document_order():
    same = "2026-01-01T00:00:00Z"
    flow = composition([action(A, "at0001", "245", same), action(A, "at0002", "532", same)])
    assert FLOW.status(flow) == "closed"


def test_transition_rule_lets_deletes_through_and_raises_kernel_errors():
    rule = transition_rule(FLOW)
    closed = composition([action(A, "at0002", "532", "2026-01-01T00:00:00Z")])
    rule(closed, None)  # a delete is not a care-flow step
    reopened = {**closed, "content": [*closed["content"], action(A, "at0001", "245", "2026-01-02T00:00:00Z")]}
    with pytest.raises(Conflict) as conflict:
        rule(closed, reopened)
    assert conflict.value.code == "illegal_transition"
    assert conflict.value.details[0].pointer == "/content/1"
    assert isinstance(conflict.value.__cause__, IllegalTransition)
    unknown = composition([action(A, "at0009", "999", "2026-01-01T00:00:00Z")])
    with pytest.raises(UnprocessableEntity) as unprocessable:
        rule(None, unknown)
    assert unprocessable.value.code == "unknown_careflow_step"


def test_status_values_for_the_index():
    extract = status_values(FLOW)
    assert extract(composition([])) == ["open"]
    assert extract(composition([action(A, "at0009", "999", "2026-01-01T00:00:00Z")])) == []


def test_allowed_lists_follow_the_declared_status_order():
    assert FLOW.statuses == ("open", "closed")
    assert FLOW.allowed("open") == ["open", "closed"]
    assert FLOW.allowed("closed") == [] and FLOW.is_final("closed")


def test_at_codes_are_looked_up_within_their_own_archetype():
    nested = {
        "_type": "CLUSTER",
        "archetype_node_id": "openEHR-EHR-CLUSTER.other.v1",
        "items": [
            {"_type": "ELEMENT", "archetype_node_id": "at0005", "value": {"_type": "DV_TEXT", "value": "no"}}
        ],
    }
    own = {"_type": "ELEMENT", "archetype_node_id": "at0005", "value": {"_type": "DV_TEXT", "value": "yes"}}
    tree = {"_type": "ITEM_TREE", "archetype_node_id": "at0001", "items": [nested]}
    assert element_value(tree, "at0005") is None
    tree["items"].append(own)
    assert element_value(tree, "at0005") == {"_type": "DV_TEXT", "value": "yes"}
    assert element_value(nested, "at0005") == {"_type": "DV_TEXT", "value": "no"}


def test_entries_are_found_in_content_and_sections_only():
    inside_section = action(A, "at0001", "245", "2026-01-01T00:00:00Z")
    section = {"_type": "SECTION", "archetype_node_id": "openEHR-EHR-SECTION.s.v1", "items": [inside_section]}
    found = find_entries(composition([section, action(A, "at0002", "532", "2026-01-02T00:00:00Z")]), A)
    assert [(path, pointer) for _, path, pointer in found] == [
        (f"/content[openEHR-EHR-SECTION.s.v1]/items[{A}]", "/content/0/items/0"),
        (f"/content[{A}]", "/content/1"),
    ]


def test_within_steps_derived_once_a_composition_is_walked_once_and_a_changed_one_again(monkeypatch):
    walked = []
    real = Workflow._steps
    monkeypatch.setattr(Workflow, "_steps", lambda self, c: walked.append(id(c)) or real(self, c))
    open_order = composition([action(A, "at0001", "245", "2026-01-01T00:00:00Z")])
    equal_copy = composition([action(A, "at0001", "245", "2026-01-01T00:00:00Z")])
    with steps_derived_once():
        assert FLOW.status(open_order) == "open"
        FLOW.steps(open_order).clear()  # a caller's list is its own
        assert FLOW.status(open_order) == "open" and len(walked) == 1
        assert FLOW.status(equal_copy) == "open" and len(walked) == 2  # another object: walked
    open_order["content"].append(action(A, "at0002", "532", "2026-01-02T00:00:00Z"))
    assert FLOW.status(open_order) == "closed" and len(walked) == 3  # outside the block: never kept
