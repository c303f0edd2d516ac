"""The referrals module in process, on SQLite and PostgreSQL, with the real template and validator."""

from __future__ import annotations

import copy

import pytest

from services.referrals import domain
from services.referrals.app import create_app
from services.referrals.settings import ReferralsSettings
from tests.integration.clinical_support import (
    BASE,
    OTHER_EHR,
    Api,
    added,
    entries,
    example,
    module_client,
    object_id_of,
    with_start_time,
    without,
)

pytestmark = pytest.mark.anyio
TEMPLATE = domain.TEMPLATE_ID
ACTION = domain.ACTION_ARCHETYPE
KARDIOLOGI = "SE2321000131-E000000033003"  # the receiver in the example
ORTOPEDI = "SE2321000131-E000000000202"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(database_url):
    async with module_client(create_app, ReferralsSettings, database_url) as c:
        yield c


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def sent_example() -> dict:
    return example(TEMPLATE, "ekg_remiss_skickad")


@pytest.fixture
def draft(sent_example) -> dict:
    """The ECG referral before it was sent: the request without ACTIONs."""
    return without(sent_example, ACTION)


@pytest.fixture
def prototype(sent_example) -> dict:
    return entries(sent_example, ACTION)[0]


class Referral:
    """One referral moved through its workflow by PUTs, each adding one ACTION."""

    def __init__(self, api: Api, prototype: dict):
        self.api, self.prototype = api, prototype
        self.day = 1

    async def create(self, composition: dict) -> Referral:
        created = await self.api.create(composition)
        self.object_id, self.etag, self.composition = (
            object_id_of(created),
            created.headers["ETag"],
            composition,
        )
        return self

    def next(self, status: str, **kwargs) -> dict:
        self.day += 1
        moment = f"2026-12-{self.day:02d}T09:00:00+01:00"
        return added(self.composition, domain.action_for(self.prototype, status, moment, **kwargs))

    async def move(self, *statuses: str) -> Referral:
        for status in statuses:
            body = self.next(status, scheduled_for="2027-01-15T10:00:00+01:00")
            response = await self.api.update(self.object_id, self.etag, body)
            self.etag, self.composition = response.headers["ETag"], response.json()
        return self


async def test_a_draft_is_created_and_indexed(api, draft):
    await api.create(draft)
    item = (await api.query(status="draft"))["items"][0]
    assert item["index"]["status"] == ["draft"]
    assert item["index"]["receiver"] == [KARDIOLOGI]
    assert item["index"]["urgency"] == ["urgent"]
    assert item["index"]["date"].startswith("2026-11-24T09:05:00")


async def test_the_whole_workflow_is_a_version_per_transition(api, draft, prototype):
    referral = await Referral(api, prototype).create(draft)
    for version, status in enumerate(["sent", "received", "accepted", "scheduled", "completed"], start=2):
        await referral.move(status)
        assert referral.etag.endswith(f'::{version}"')
        page = await api.query(status=status)
        assert page["total"] == 1 and page["items"][0]["uid"] == referral.etag.strip('"')
        assert len(entries(page["items"][0]["composition"], ACTION)) == version - 1
    history = await api.history(referral.object_id)
    assert len(history) == 6
    scheduled = await api.client.get(
        f"{BASE}/ehr/{api.ehr_id}/composition/{referral.object_id}::referrals.vgr.se::5"
    )
    assert domain.status(scheduled.json()) == "scheduled"


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "received"),
        (["sent"], "accepted"),
        (["sent", "received"], "scheduled"),
        (["sent", "received", "accepted"], "completed"),
        (["sent", "received", "rejected"], "accepted"),
        (["sent", "received", "accepted", "scheduled", "completed"], "cancelled"),
        (["sent", "cancelled"], "sent"),
    ],
)
async def test_illegal_transition_is_409_and_nothing_is_saved(api, draft, prototype, path, illegal):
    referral = await Referral(api, prototype).create(draft)
    await referral.move(*path)
    current = path[-1] if path else "draft"
    refused = await api.update(referral.object_id, referral.etag, referral.next(illegal), expect=409)
    body = refused.json()
    assert body["code"] == "illegal_transition"
    allowed = ", ".join(domain.WORKFLOW.allowed(current)) or "none (final status)"
    assert body["message"].endswith(f"{current} -> {illegal}; allowed from {current}: {allowed}")
    latest = await api.latest(referral.object_id)
    assert latest.headers["ETag"] == referral.etag
    assert len(await api.history(referral.object_id)) == len(path) + 1
    assert [i["index"]["status"] for i in (await api.query())["items"]] == [[current]]


@pytest.mark.parametrize(
    "before",
    [
        [],
        ["sent"],
        ["sent", "received"],
        ["sent", "received", "accepted"],
        ["sent", "received", "accepted", "scheduled"],
    ],
)
async def test_cancellable_before_completed(api, draft, prototype, before):
    referral = await Referral(api, prototype).create(draft)
    await referral.move(*before, "cancelled")
    assert (await api.query(status="cancelled"))["total"] == 1


async def test_rejection_is_recorded_with_its_reason(api, draft, prototype):
    referral = await Referral(api, prototype).create(draft)
    await referral.move("sent", "received")
    body = referral.next("rejected", reason="remissen avser öppenvård")
    response = await api.update(referral.object_id, referral.etag, body)
    assert domain.status(response.json()) == "rejected"
    assert (await api.query(status="rejected"))["total"] == 1
    assert (await api.query(status="cancelled"))["total"] == 0


async def test_overwriting_an_action_instead_of_adding_one_is_409(api, draft, prototype):
    referral = await Referral(api, prototype).create(draft)
    await referral.move("sent")
    overwritten = copy.deepcopy(referral.composition)
    last = entries(overwritten, ACTION)[-1]
    last.update(domain.action_for(prototype, "cancelled", last["time"]["value"]))
    refused = await api.update(referral.object_id, referral.etag, overwritten, expect=409)
    assert refused.json()["code"] == "actions_rewritten"


async def test_query_by_status_receiver_urgency_and_date_with_paging(api, client, draft, prototype):
    def variant(start_time: str, urgency: tuple[str, str] | None, receiver: str | None) -> dict:
        composition = with_start_time(draft, start_time)
        request = entries(composition, domain.INSTRUCTION_ARCHETYPE)[0]
        items = request["activities"][0]["description"]["items"]
        element = next(i for i in items if i["archetype_node_id"] == "at0068")
        if urgency:
            element["value"]["value"], element["value"]["defining_code"]["code_string"] = urgency
        if receiver:
            for organisation in domain.direct_organisations(request["protocol"]):
                organisation["items"][-1]["value"]["id"] = receiver
        return composition

    plans = [
        ("2026-01-05T10:00:00+01:00", ("Akut", "at0136"), None, ["sent"]),
        ("2026-02-05T10:00:00+01:00", ("Rutin", "at0138"), ORTOPEDI, ["sent", "received"]),
        ("2026-03-05T10:00:00+01:00", ("Rutin", "at0138"), ORTOPEDI, []),
        ("2026-04-05T10:00:00+01:00", None, None, ["sent", "received", "accepted", "scheduled"]),
        ("2026-05-05T10:00:00+01:00", ("Rutin", "at0138"), ORTOPEDI, ["sent"]),
    ]
    for start_time, urgency, receiver, path in plans:
        referral = await Referral(api, prototype).create(variant(start_time, urgency, receiver))
        await referral.move(*path)
    await Referral(Api(client, OTHER_EHR), prototype).create(variant("2026-06-05T10:00:00+01:00", None, None))

    assert (await api.query())["total"] == 6
    assert (await api.query(ehr_id=api.ehr_id))["total"] == 5
    assert (await api.query(status="sent"))["total"] == 2
    assert (await api.query(receiver=ORTOPEDI))["total"] == 3
    assert (await api.query(receiver=KARDIOLOGI))["total"] == 3
    assert (await api.query(urgency="routine", receiver=ORTOPEDI, status="sent"))["total"] == 1
    assert (await api.query(urgency="emergency"))["items"][0]["index"]["date"][:10] == "2026-01-05"
    assert (await api.query(urgency="urgent"))["total"] == 2
    assert (await api.query(status="scheduled"))["items"][0]["index"]["urgency"] == ["urgent"]
    window = await api.query(date_from="2026-02-01", date_to="2026-04-05", sort="date")
    assert [i["index"]["date"][:10] for i in window["items"]] == ["2026-02-05", "2026-03-05", "2026-04-05"]
    page = await api.query(receiver=ORTOPEDI, sort="date", offset=2, limit=2)
    assert (page["total"], len(page["items"]), page["items"][0]["index"]["date"][:10]) == (3, 1, "2026-05-05")


async def test_bad_urgency_parameter_is_400(client):
    response = await client.get(f"{BASE}/query/compositions", params={"urgency": "asap"})
    assert response.status_code == 400


async def test_template_violation_is_422(api):
    refused = await api.create(example(TEMPLATE, "missing_mandatory", "invalid"), expect=422)
    assert refused.json()["details"]
