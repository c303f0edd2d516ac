from datetime import UTC, datetime

import pytest

from services.kernel.careflow import ActionsRewritten, IllegalTransition, UnknownCareflowStep
from services.referrals import domain
from services.referrals.domain import (
    ACCEPTED,
    CANCELLED,
    COMPLETED,
    DRAFT,
    RECEIVED,
    REJECTED,
    SCHEDULED,
    SENT,
    STATUSES,
)
from tests.unit.careflow_builders import action, coded, composition, element

INSTRUCTION = "openEHR-EHR-INSTRUCTION.service_request.v1"
ACTION = "openEHR-EHR-ACTION.service.v1"
HSA = "SE2321000131-E000000011111"


def organisation(*identifiers, archetype="openEHR-EHR-CLUSTER.organisation.v1"):
    return {
        "_type": "CLUSTER",
        "archetype_node_id": archetype,
        "name": {"_type": "DV_TEXT", "value": "Mottagare"},
        "items": [
            element("at0001", {"_type": "DV_TEXT", "value": "Kardiologmottagningen SU"}),
            *[element("at0003", ident) for ident in identifiers],
        ],
    }


def hsa_identifier(value=HSA):
    return {"_type": "DV_IDENTIFIER", "id": value, "issuer": "Inera", "type": "HSA-id"}


def referral(
    urgency=("Brådskande", "at0137"), receiver=None, actions=(), start_time="2026-04-01T13:00:00+02:00"
):
    items = [element("at0121", {"_type": "DV_TEXT", "value": "Kardiologisk bedömning"})]
    if urgency is not None:
        items.append(element("at0068", coded(*urgency) if isinstance(urgency, tuple) else urgency))
    instruction = {
        "_type": "INSTRUCTION",
        "name": {"_type": "DV_TEXT", "value": "Remiss"},
        "archetype_node_id": INSTRUCTION,
        "activities": [
            {
                "_type": "ACTIVITY",
                "archetype_node_id": "at0001",
                "description": {"_type": "ITEM_TREE", "archetype_node_id": "at0009", "items": items},
            }
        ],
        "protocol": {
            "_type": "ITEM_TREE",
            "archetype_node_id": "at0008",
            "items": [receiver if receiver is not None else organisation(hsa_identifier())],
        },
    }
    return composition([instruction, *actions], start_time)


def ref_action(status, time):
    prototype = action(ACTION, "at0002", "526", time)
    return domain.action_for(prototype, status, time, scheduled_for="2026-05-01T09:00:00+02:00")


PATHS = {
    DRAFT: [],
    SENT: [SENT],
    RECEIVED: [SENT, RECEIVED],
    ACCEPTED: [SENT, RECEIVED, ACCEPTED],
    REJECTED: [SENT, RECEIVED, REJECTED],
    SCHEDULED: [SENT, RECEIVED, ACCEPTED, SCHEDULED],
    COMPLETED: [SENT, RECEIVED, ACCEPTED, SCHEDULED, COMPLETED],
    CANCELLED: [SENT, CANCELLED],
}


def reach(status):
    return referral(
        actions=[ref_action(s, f"2026-04-{2 + i:02d}T10:00:00Z") for i, s in enumerate(PATHS[status])]
    )


def add(previous, status, time="2026-04-20T10:00:00Z"):
    return {**previous, "content": [*previous["content"], ref_action(status, time)]}


# --- status derivation ------------------------------------------------------------------------


def test_a_referral_without_action_is_a_draft():
    assert domain.status(referral()) == DRAFT


@pytest.mark.parametrize("status", STATUSES)
def test_status_of_the_latest_action(status):
    assert domain.status(reach(status)) == status


@pytest.mark.parametrize(
    ("step", "state", "expected"),
    [
        ("at0026", "526", SENT),
        ("at0035", "526", RECEIVED),
        ("at0002", "526", ACCEPTED),
        ("at0003", "529", SCHEDULED),
        ("at0004", "245", SCHEDULED),
        ("at0005", "532", COMPLETED),
        ("at0009", "528", CANCELLED),
        ("at0006", "531", CANCELLED),
        ("at9999", "528", CANCELLED),
        ("at9999", "531", CANCELLED),
        ("at9999", "532", COMPLETED),
    ],
)
def test_careflow_steps(step, state, expected):
    assert domain.status(referral(actions=[action(ACTION, step, state, "2026-04-02T10:00:00Z")])) == expected


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Avvisad: kriterier för remiss ej uppfyllda", REJECTED),
        ("  avvisad, fel mottagare", REJECTED),
        ("Rejected by receiver", REJECTED),
        ("Patienten har avlidit", CANCELLED),
        (None, CANCELLED),
    ],
)
def test_service_cancelled_is_rejected_when_its_reason_says_avvisad(reason, expected):
    items = [element("at0012", {"_type": "DV_TEXT", "value": reason})] if reason else []
    cancelled = action(ACTION, "at0009", "528", "2026-04-02T10:00:00Z", items=items)
    assert domain.status(referral(actions=[cancelled])) == expected


def test_a_rejection_reason_on_another_step_does_not_make_it_rejected():
    items = [element("at0012", {"_type": "DV_TEXT", "value": "Avvisad"})]
    abandoned = action(ACTION, "at0006", "531", "2026-04-02T10:00:00Z", items=items)
    assert domain.status(referral(actions=[abandoned])) == CANCELLED


@pytest.mark.parametrize(("step", "state"), [("at0008", "527"), ("at0010", "530"), ("at0023", "533")])
def test_steps_that_mean_no_referral_status_are_refused(step, state):
    with pytest.raises(UnknownCareflowStep) as caught:
        domain.status(referral(actions=[action(ACTION, step, state, "2026-04-02T10:00:00Z")]))
    assert caught.value.status_code == 422
    assert caught.value.pointer == "/content/1/ism_transition"


def test_latest_by_time_not_by_position():
    actions = [ref_action(RECEIVED, "2026-04-03T10:00:00Z"), ref_action(SENT, "2026-04-02T10:00:00Z")]
    assert domain.status(referral(actions=actions)) == RECEIVED


# --- transitions ------------------------------------------------------------------------------

FORWARD = {
    (DRAFT, SENT),
    (SENT, RECEIVED),
    (RECEIVED, ACCEPTED),
    (RECEIVED, REJECTED),
    (ACCEPTED, SCHEDULED),
    (SCHEDULED, COMPLETED),
}
CANCEL = {(s, CANCELLED) for s in (DRAFT, SENT, RECEIVED, ACCEPTED, SCHEDULED)}
REPEAT = {(s, s) for s in (SENT, RECEIVED, ACCEPTED, SCHEDULED)}
LEGAL = FORWARD | CANCEL | REPEAT
# no ACTION records "draft" (it is the absence of one), so no transition leads to it
ALL_PAIRS = {(a, b) for a in STATUSES for b in STATUSES if b != DRAFT}


@pytest.mark.parametrize(("before", "after"), sorted(LEGAL))
def test_legal_transition(before, after):
    previous = reach(before)
    new = add(previous, after)
    assert domain.check_write(previous, new) == after
    assert domain.index(new)["status"] == after


@pytest.mark.parametrize(("before", "after"), sorted(ALL_PAIRS - LEGAL))
def test_illegal_transition(before, after):
    previous = reach(before)
    with pytest.raises(IllegalTransition) as caught:
        domain.check_write(previous, add(previous, after))
    error = caught.value
    assert error.status_code == 409
    assert (error.from_status, error.to_status) == (before, after)
    assert error.allowed == [s for s in STATUSES if (before, s) in LEGAL]
    assert "allowed from " + before in error.message


@pytest.mark.parametrize("status", [REJECTED, COMPLETED, CANCELLED])
def test_final_statuses(status):
    assert domain.WORKFLOW.is_final(status)


def test_cancellable_from_every_status_before_completed_but_not_after():
    for status in (DRAFT, SENT, RECEIVED, ACCEPTED, SCHEDULED):
        assert CANCELLED in domain.WORKFLOW.allowed(status)
    assert domain.WORKFLOW.allowed(COMPLETED) == []


@pytest.mark.parametrize("status", STATUSES)
def test_create_follows_the_same_rule_starting_from_draft(status):
    assert domain.check_write(None, reach(status)) == status


def test_create_directly_received_is_refused():
    with pytest.raises(IllegalTransition) as caught:
        domain.check_write(None, referral(actions=[ref_action(RECEIVED, "2026-04-02T10:00:00Z")]))
    assert caught.value.allowed == [SENT, CANCELLED]


def test_every_transition_adds_an_action_never_overwrites_one():
    previous = reach(RECEIVED)
    overwritten = {
        **previous,
        "content": [*previous["content"][:-1], ref_action(ACCEPTED, "2026-04-03T10:00:00Z")],
    }
    with pytest.raises(ActionsRewritten):
        domain.check_write(previous, overwritten)


def test_turning_a_cancellation_into_a_rejection_is_an_overwrite():
    previous = reach(CANCELLED)
    content = list(previous["content"])
    content[-1] = domain.action_for(content[-1], REJECTED, content[-1]["time"]["value"])
    # same time and careflow step, but the status it records changed: that is a rewrite
    assert domain.status({**previous, "content": content}) == REJECTED
    with pytest.raises(ActionsRewritten):
        domain.check_write(previous, {**previous, "content": content})


def test_draft_is_the_absence_of_an_action():
    with pytest.raises(ValueError):
        domain.action_for(ref_action(SENT, "2026-04-02T10:00:00Z"), DRAFT, "2026-04-03T10:00:00Z")
    assert DRAFT not in domain.WORKFLOW.allowed(DRAFT)


# --- index ------------------------------------------------------------------------------------


def test_index_of_a_referral():
    assert domain.index(reach(SENT)) == {
        "status": SENT,
        "receiver": HSA,
        "urgency": "urgent",
        "date": datetime(2026, 4, 1, 11, 0, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("urgency", "expected"),
    [
        (("Akut", "at0136"), "emergency"),
        (("Brådskande", "at0137"), "urgent"),
        (("Rutin", "at0138"), "routine"),
        ({"_type": "DV_TEXT", "value": "Rutin"}, "routine"),
        ({"_type": "DV_TEXT", "value": "Akut"}, "emergency"),
        ({"_type": "DV_TEXT", "value": "snart"}, None),
        (None, None),
    ],
)
def test_urgency(urgency, expected):
    assert domain.urgency(referral(urgency=urgency)) == expected


def test_receiver_prefers_the_hsa_identifier():
    receiver = organisation({"_type": "DV_IDENTIFIER", "id": "12345", "type": "local"}, hsa_identifier())
    assert domain.receiver(referral(receiver=receiver)) == HSA


def test_receiver_recognises_an_hsa_id_by_its_form_and_accepts_text():
    assert domain.receiver(referral(receiver=organisation({"_type": "DV_TEXT", "value": HSA}))) == HSA
    assert domain.receiver(referral(receiver=organisation({"_type": "DV_IDENTIFIER", "id": "X1"}))) == "X1"


def test_the_requesters_organisation_is_not_the_receiver():
    requester = {
        "_type": "CLUSTER",
        "archetype_node_id": "openEHR-EHR-CLUSTER.person.v1",
        "items": [organisation(hsa_identifier("SE2321000131-E000000000101"))],
    }
    composition_ = referral(receiver=requester)
    composition_["content"][0]["protocol"]["items"].append(organisation(hsa_identifier()))
    assert domain.receiver(composition_) == HSA
    composition_["content"][0]["protocol"]["items"].pop()
    assert domain.receiver(composition_) is None


def test_receiver_that_is_a_person_is_not_an_organisation():
    person = organisation(hsa_identifier(), archetype="openEHR-EHR-CLUSTER.person.v1")
    assert domain.receiver(referral(receiver=person)) is None


def test_receiver_from_the_action_when_the_request_names_none():
    composition_ = referral(
        receiver={
            "_type": "ELEMENT",
            "archetype_node_id": "at0010",
            "value": {"_type": "DV_TEXT", "value": "R-1"},
        }
    )
    received = ref_action(RECEIVED, "2026-04-03T10:00:00Z")
    received["protocol"] = {
        "_type": "ITEM_TREE",
        "archetype_node_id": "at0015",
        "items": [organisation(hsa_identifier("SE2321000131-E000000099999"))],
    }
    composition_["content"].append(received)
    assert domain.receiver(composition_) == "SE2321000131-E000000099999"


def values_of(action_, at_code):
    return [i["value"]["value"] for i in action_["description"]["items"] if i["archetype_node_id"] == at_code]


def test_action_for_sets_scheduled_time_and_rejection_reason_and_drops_them_otherwise():
    scheduled = ref_action(SCHEDULED, "2026-04-05T10:00:00Z")
    assert domain.classify(scheduled) == SCHEDULED
    assert values_of(scheduled, "at0025") == ["2026-05-01T09:00:00+02:00"]
    rejected = domain.action_for(scheduled, REJECTED, "2026-04-06T10:00:00Z", reason="fel mottagare")
    assert domain.classify(rejected) == REJECTED
    assert values_of(rejected, "at0025") == []
    assert values_of(rejected, "at0012") == ["Avvisad: fel mottagare"]
    cancelled = domain.action_for(rejected, CANCELLED, "2026-04-07T10:00:00Z")
    assert domain.classify(cancelled) == CANCELLED
    assert values_of(cancelled, "at0012") == []
    noted = domain.action_for(rejected, CANCELLED, "2026-04-07T10:00:00Z", reason="Patienten avböjer")
    assert (domain.classify(noted), values_of(noted, "at0012")) == (CANCELLED, ["Patienten avböjer"])
