from datetime import UTC, datetime

import pytest

from services.kernel.careflow import ActionsRewritten, IllegalTransition, UnknownCareflowStep
from services.medication import domain
from services.medication.domain import ACTIVE, COMPLETED, STATUSES, STOPPED, SUSPENDED
from tests.unit.careflow_builders import action, coded, composition, element

INSTRUCTION = "openEHR-EHR-INSTRUCTION.medication_order.v3"
ACTION = "openEHR-EHR-ACTION.medication.v1"

STEP_OF = {
    ACTIVE: ("at0004", "245"),
    SUSPENDED: ("at0009", "530"),
    STOPPED: ("at0015", "531"),
    COMPLETED: ("at0007", "532"),
}


def order(atc="C09AA05", actions=(), start_time="2026-03-01T09:00:00+01:00", medication_item=None):
    item = medication_item if medication_item is not None else coded("Ramipril", atc, "ATC")
    instruction = {
        "_type": "INSTRUCTION",
        "name": {"_type": "DV_TEXT", "value": "Läkemedelsordination"},
        "archetype_node_id": INSTRUCTION,
        "activities": [
            {
                "_type": "ACTIVITY",
                "archetype_node_id": "at0001",
                "description": {
                    "_type": "ITEM_TREE",
                    "archetype_node_id": "at0002",
                    "items": [element("at0070", item)],
                },
            }
        ],
    }
    return composition([instruction, *actions], start_time)


def med_action(status_or_step, time, state=None):
    step, default_state = STEP_OF.get(status_or_step, (status_or_step, None))
    return action(ACTION, step, state or default_state, time)


def with_steps(*statuses, start_day=2):
    return order(
        actions=[med_action(s, f"2026-03-{start_day + i:02d}T10:00:00Z") for i, s in enumerate(statuses)]
    )


# --- status derivation ------------------------------------------------------------------------


def test_an_order_without_action_is_active():
    assert domain.status(order()) == ACTIVE


@pytest.mark.parametrize("status", STATUSES)
def test_status_is_that_of_the_only_action(status):
    assert domain.status(with_steps(status)) == status


def test_latest_action_by_time_wins_not_document_order():
    later_stopped = med_action(STOPPED, "2026-03-05T10:00:00Z")
    earlier_suspended = med_action(SUSPENDED, "2026-03-04T10:00:00Z")
    assert domain.status(order(actions=[later_stopped, earlier_suspended])) == STOPPED


def test_times_with_different_offsets_are_compared_as_instants():
    # 10:30+02:00 is 08:30Z, so the suspension at 09:00Z is the latest
    resumed = med_action(ACTIVE, "2026-03-04T10:30:00+02:00")
    suspended = med_action(SUSPENDED, "2026-03-04T09:00:00Z")
    assert domain.status(order(actions=[suspended, resumed])) == SUSPENDED


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("at0004", ACTIVE),
        ("at0006", ACTIVE),
        ("at0002", ACTIVE),
        ("at0003", ACTIVE),
        ("at0016", ACTIVE),
        ("at0109", ACTIVE),
        ("at0153", ACTIVE),
        ("at0041", ACTIVE),
        ("at0009", SUSPENDED),
        ("at0008", SUSPENDED),
        ("at0011", SUSPENDED),
        ("at0013", SUSPENDED),
        ("at0015", STOPPED),
        ("at0012", STOPPED),
        ("at0150", STOPPED),
        ("at0039", STOPPED),
        ("at0151", STOPPED),
        ("at0007", COMPLETED),
        ("at0152", COMPLETED),
    ],
)
def test_every_careflow_step_of_the_archetype_maps_to_its_status(step, expected):
    assert domain.status(order(actions=[action(ACTION, step, "000", "2026-03-02T10:00:00Z")])) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("526", ACTIVE),
        ("529", ACTIVE),
        ("245", ACTIVE),
        ("527", SUSPENDED),
        ("530", SUSPENDED),
        ("528", STOPPED),
        ("531", STOPPED),
        ("533", STOPPED),
        ("532", COMPLETED),
    ],
)
def test_an_unknown_careflow_step_falls_back_to_the_ism_state(state, expected):
    assert domain.status(order(actions=[action(ACTION, "at9999", state, "2026-03-02T10:00:00Z")])) == expected


def test_an_action_mapping_to_nothing_is_refused_with_its_path():
    composition_ = order(actions=[action(ACTION, "at9999", "999", "2026-03-02T10:00:00Z")])
    with pytest.raises(UnknownCareflowStep) as caught:
        domain.status(composition_)
    assert caught.value.status_code == 422
    assert caught.value.path == f"/content[{ACTION}]/ism_transition"
    assert caught.value.pointer == "/content/1/ism_transition"


def test_actions_of_another_archetype_are_ignored():
    other = action("openEHR-EHR-ACTION.service.v1", "at0009", "528", "2026-03-02T10:00:00Z")
    assert domain.status(order(actions=[other])) == ACTIVE


def test_actions_inside_sections_count():
    section = {
        "_type": "SECTION",
        "archetype_node_id": "openEHR-EHR-SECTION.adhoc.v1",
        "items": [med_action(STOPPED, "2026-03-02T10:00:00Z")],
    }
    assert domain.status(order(actions=[section])) == STOPPED


# --- transitions ------------------------------------------------------------------------------

LEGAL = {
    (ACTIVE, ACTIVE),
    (ACTIVE, SUSPENDED),
    (ACTIVE, STOPPED),
    (ACTIVE, COMPLETED),
    (SUSPENDED, SUSPENDED),
    (SUSPENDED, ACTIVE),
    (SUSPENDED, STOPPED),
}
ALL_PAIRS = [(a, b) for a in STATUSES for b in STATUSES]


def reach(status):
    """An order whose ACTIONs lead legally to `status`."""
    path = {ACTIVE: [ACTIVE], SUSPENDED: [SUSPENDED], STOPPED: [STOPPED], COMPLETED: [COMPLETED]}[status]
    return with_steps(*path)


def add(previous, status, time="2026-03-20T10:00:00Z"):
    return {**previous, "content": [*previous["content"], med_action(status, time)]}


@pytest.mark.parametrize(("before", "after"), sorted(LEGAL))
def test_legal_transition(before, after):
    previous = reach(before)
    assert domain.check_write(previous, add(previous, after)) == after


@pytest.mark.parametrize(("before", "after"), sorted(set(ALL_PAIRS) - LEGAL))
def test_illegal_transition_is_a_conflict_naming_the_allowed_ones(before, after):
    previous = reach(before)
    with pytest.raises(IllegalTransition) as caught:
        domain.check_write(previous, add(previous, after))
    error = caught.value
    assert error.status_code == 409
    assert (error.from_status, error.to_status) == (before, after)
    assert error.allowed == [s for s in STATUSES if (before, s) in LEGAL]
    assert f"{before} -> {after}" in error.message
    if error.allowed:
        assert ", ".join(error.allowed) in error.message
    else:
        assert "final" in error.message


def test_nothing_after_stopped_or_completed():
    assert domain.WORKFLOW.is_final(STOPPED) and domain.WORKFLOW.is_final(COMPLETED)
    assert not domain.WORKFLOW.is_final(ACTIVE) and not domain.WORKFLOW.is_final(SUSPENDED)


@pytest.mark.parametrize("status", STATUSES)
def test_a_new_order_starts_active_so_any_first_action_legal_from_active_is_accepted(status):
    assert domain.check_write(None, with_steps(status)) == status


def test_a_new_order_without_action_is_active():
    assert domain.check_write(None, order()) == ACTIVE


def test_a_chain_of_added_actions_is_checked_step_by_step():
    previous = with_steps(ACTIVE)
    new = add(add(previous, SUSPENDED, "2026-03-20T10:00:00Z"), ACTIVE, "2026-03-21T10:00:00Z")
    assert domain.check_write(previous, add(new, STOPPED, "2026-03-22T10:00:00Z")) == STOPPED
    with pytest.raises(IllegalTransition):
        domain.check_write(
            previous, add(add(new, STOPPED, "2026-03-22T10:00:00Z"), ACTIVE, "2026-03-23T10:00:00Z")
        )


def test_a_create_with_an_illegal_chain_is_refused():
    with pytest.raises(IllegalTransition) as caught:
        domain.check_write(None, with_steps(ACTIVE, COMPLETED, ACTIVE))
    assert (caught.value.from_status, caught.value.to_status) == (COMPLETED, ACTIVE)


def test_an_update_without_new_action_keeps_the_status():
    previous = with_steps(ACTIVE, SUSPENDED)
    assert domain.check_write(previous, previous) == SUSPENDED


def test_editing_a_final_order_without_adding_an_action_is_not_a_transition():
    previous = with_steps(STOPPED)
    assert (
        domain.check_write(previous, {**previous, "name": {"_type": "DV_TEXT", "value": "renamed"}})
        == STOPPED
    )


def test_removing_an_earlier_action_is_refused():
    previous = with_steps(ACTIVE, STOPPED)
    new = {**previous, "content": previous["content"][:2]}
    with pytest.raises(ActionsRewritten) as caught:
        domain.check_write(previous, new)
    assert caught.value.status_code == 409
    assert "append-only" in caught.value.message


def test_changing_an_earlier_action_is_refused():
    previous = with_steps(ACTIVE, STOPPED)
    content = list(previous["content"])
    content[2] = med_action(ACTIVE, "2026-03-03T10:00:00Z")  # stopped rewritten as active
    with pytest.raises(ActionsRewritten):
        domain.check_write(previous, {**previous, "content": content})


def test_an_added_action_dated_before_the_latest_earlier_one_is_refused():
    previous = with_steps(ACTIVE, SUSPENDED)
    with pytest.raises(ActionsRewritten) as caught:
        domain.check_write(previous, add(previous, ACTIVE, "2026-03-01T10:00:00Z"))
    assert caught.value.pointer.endswith("/time")


def test_earlier_actions_may_be_reserialised_in_another_order():
    previous = with_steps(ACTIVE, SUSPENDED)
    reordered = {**previous, "content": [previous["content"][0], *reversed(previous["content"][1:])]}
    assert domain.check_write(previous, add(reordered, ACTIVE)) == ACTIVE


# --- index ------------------------------------------------------------------------------------


def test_index_of_an_order():
    composition_ = add(with_steps(ACTIVE), SUSPENDED)
    assert domain.index(composition_) == {
        "status": SUSPENDED,
        "atc_code": "C09AA05",
        "date": datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
    }


def test_atc_code_is_normalised_and_read_only_from_the_atc_terminology():
    assert domain.atc_code(order(atc=" n02be01 ")) == "N02BE01"
    assert domain.atc_code(order(medication_item=coded("Alvedon", "123", "SNOMED-CT"))) is None
    assert domain.atc_code(order(medication_item={"_type": "DV_TEXT", "value": "Alvedon"})) is None


def test_atc_code_from_the_medication_details_cluster_when_the_item_is_free_text():
    composition_ = order(medication_item={"_type": "DV_TEXT", "value": "Alvedon 500 mg"})
    cluster = {
        "_type": "CLUSTER",
        "archetype_node_id": "openEHR-EHR-CLUSTER.medication.v2",
        "items": [element("at0132", coded("Paracetamol", "N02BE01", "ATC"))],
    }
    composition_["content"][0]["activities"][0]["description"]["items"].append(cluster)
    assert domain.atc_code(composition_) == "N02BE01"


def test_order_date_falls_back_to_the_order_start_without_context():
    composition_ = order(start_time=None)
    details = {
        "_type": "CLUSTER",
        "archetype_node_id": "at0113",
        "items": [element("at0012", {"_type": "DV_DATE_TIME", "value": "2026-02-01T08:00:00"})],
    }
    composition_["content"][0]["activities"][0]["description"]["items"].append(details)
    assert domain.order_date(composition_) == datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
    assert domain.order_date(order(start_time=None)) is None


def test_index_of_a_composition_without_an_order():
    assert domain.index(composition([])) == {
        "status": ACTIVE,
        "atc_code": None,
        "date": datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
    }


def test_action_for_builds_the_canonical_step_from_a_prototype():
    prototype = med_action(ACTIVE, "2026-03-02T10:00:00Z")
    built = domain.action_for(prototype, STOPPED, "2026-03-09T12:00:00Z")
    assert built["ism_transition"]["careflow_step"]["defining_code"]["code_string"] == "at0015"
    assert built["ism_transition"]["current_state"]["defining_code"]["code_string"] == "531"
    assert built["time"]["value"] == "2026-03-09T12:00:00Z"
    assert prototype["ism_transition"]["careflow_step"]["defining_code"]["code_string"] == "at0004"
    assert domain.status(order(actions=[prototype, built])) == STOPPED


def test_an_action_naming_another_atc_code_is_about_another_order():
    other = med_action(STOPPED, "2026-03-02T10:00:00Z")
    other["description"]["items"] = [element("at0020", coded("Atorvastatin", "C10AA05", "ATC"))]
    switch = order(atc="C10AA07", actions=[other])
    assert domain.status(switch) == ACTIVE
    assert domain.check_write(None, switch) == ACTIVE
    same = med_action(STOPPED, "2026-03-02T10:00:00Z")
    same["description"]["items"] = [element("at0020", coded("Rosuvastatin", "c10aa07", "ATC"))]
    assert domain.status(order(atc="C10AA07", actions=[same])) == STOPPED


def test_an_action_without_an_atc_code_or_an_order_without_one_is_about_this_order():
    free_text = med_action(STOPPED, "2026-03-02T10:00:00Z")
    free_text["description"]["items"] = [element("at0020", {"_type": "DV_TEXT", "value": "Atorvastatin"})]
    assert domain.status(order(atc="C10AA07", actions=[free_text])) == STOPPED
    coded_action = med_action(STOPPED, "2026-03-02T10:00:00Z")
    coded_action["description"]["items"] = [element("at0020", coded("Atorvastatin", "C10AA05", "ATC"))]
    untyped_order = order(
        medication_item={"_type": "DV_TEXT", "value": "Atorvastatin"}, actions=[coded_action]
    )
    assert domain.status(untyped_order) == STOPPED
    assert domain.status(composition([coded_action])) == STOPPED  # an ACTION-only composition
