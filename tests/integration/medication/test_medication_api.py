"""The medication module in process, on SQLite and PostgreSQL, with the real template and validator."""

from __future__ import annotations

import asyncio
import copy

import pytest

from services.kernel.careflow import iter_locatables
from services.medication import domain
from services.medication.app import create_app
from services.medication.settings import MedicationSettings
from tests.integration.clinical_support import (
    BASE,
    OTHER_EHR,
    UNKNOWN_EHR,
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


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(database_url):
    async with module_client(create_app, MedicationSettings, database_url) as c:
        yield c


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def started() -> dict:
    """An amoxicillin order with its 'commenced' ACTION (status active)."""
    return example(TEMPLATE, "amoxicillin_order_started")


@pytest.fixture
def prototype(started) -> dict:
    return entries(started, ACTION)[0]


def with_atc(node: dict, atc: str) -> dict:
    """A copy of an order or ACTION naming another ATC code (order item at0070, ACTION item at0020)."""
    result = copy.deepcopy(node)
    for element, _, _ in iter_locatables(result):
        if element.get("archetype_node_id") in ("at0070", "at0020"):
            element["value"]["defining_code"]["code_string"] = atc
    return result


def change(composition: dict, prototype: dict, status: str, time: str) -> dict:
    return added(composition, domain.action_for(prototype, status, time))


async def test_create_indexes_status_atc_and_date(api, started):
    created = await api.create(started)
    assert created.headers["ETag"].endswith('::1"')
    page = await api.query(status="active")
    assert page["total"] == 1
    item = page["items"][0]
    assert item["index"]["status"] == ["active"]
    assert item["index"]["atc_code"] == ["J01CA04"]
    assert item["index"]["date"].startswith("2026-11-20T13:30:00")
    assert item["uid"] == created.headers["ETag"].strip('"')


async def test_a_new_order_without_action_is_active(api):
    await api.create(example(TEMPLATE, "metformin_new_order"))
    page = await api.query(atc_code="A10BA02")
    assert [i["index"]["status"] for i in page["items"]] == [["active"]]


async def test_status_change_is_a_new_version_with_an_added_action(api, started, prototype):
    created = await api.create(started)
    object_id = object_id_of(created)
    suspended = change(started, prototype, "suspended", "2026-11-21T08:00:00+01:00")
    updated = await api.update(object_id, created.headers["ETag"], suspended)
    assert updated.headers["ETag"] == f'"{object_id}::medication.vgr.se::2"'
    assert len(entries(updated.json(), ACTION)) == 2

    assert (await api.query(status="suspended"))["total"] == 1
    assert (await api.query(status="active"))["total"] == 0
    resumed = change(suspended, prototype, "active", "2026-11-25T08:00:00+01:00")
    await api.update(object_id, updated.headers["ETag"], resumed)
    stopped = change(resumed, prototype, "stopped", "2026-11-28T08:00:00+01:00")
    final = await api.update(object_id, f'"{object_id}::medication.vgr.se::3"', stopped)
    assert final.headers["ETag"].endswith('::4"')

    history = await api.history(object_id)
    assert [h["version_id"]["value"].rsplit("::", 1)[1] for h in history] == ["1", "2", "3", "4"]
    first = await api.client.get(f"{BASE}/ehr/{api.ehr_id}/composition/{object_id}::medication.vgr.se::1")
    assert len(entries(first.json(), ACTION)) == 1  # the first version is untouched
    page = await api.query(status="stopped")
    assert page["total"] == 1 and page["items"][0]["uid"].endswith("::4")


@pytest.mark.parametrize(
    ("path", "illegal", "allowed"),
    [
        (["stopped"], "active", "none (final status)"),
        (["completed"], "suspended", "none (final status)"),
        (["suspended"], "completed", "active, suspended, stopped"),
    ],
)
async def test_illegal_transition_is_409_and_nothing_is_saved(
    api, started, prototype, path, illegal, allowed
):
    created = await api.create(started)
    object_id, etag = object_id_of(created), created.headers["ETag"]
    current = started
    for day, status in enumerate(path, start=21):
        current = change(current, prototype, status, f"2026-11-{day}T08:00:00+01:00")
        etag = (await api.update(object_id, etag, current)).headers["ETag"]
    before = await api.latest(object_id)

    refused = await api.update(
        object_id, etag, change(current, prototype, illegal, "2026-11-29T08:00:00+01:00"), expect=409
    )
    body = refused.json()
    assert body["code"] == "illegal_transition"
    assert f"{path[-1]} -> {illegal}" in body["message"]
    assert f"allowed from {path[-1]}: {allowed}" in body["message"]
    assert body["details"][0]["path"].startswith(f"/content[{ACTION}]")

    after = await api.latest(object_id)
    assert after.headers["ETag"] == before.headers["ETag"] == etag
    assert len(await api.history(object_id)) == len(path) + 1
    assert (await api.query(status=illegal if illegal != path[-1] else "none"))["total"] == 0


async def test_removing_an_action_is_409(api, started):
    created = await api.create(started)
    refused = await api.update(
        object_id_of(created), created.headers["ETag"], without(started, ACTION), expect=409
    )
    assert refused.json()["code"] == "actions_rewritten"


async def test_creating_an_order_with_an_illegal_history_is_409_and_stores_nothing(api, started, prototype):
    history = change(
        change(started, prototype, "completed", "2026-11-21T08:00:00+01:00"),
        prototype,
        "active",
        "2026-11-22T08:00:00+01:00",
    )
    refused = await api.create(history, expect=409)
    assert "completed -> active" in refused.json()["message"]
    assert (await api.query())["total"] == 0


async def test_template_violation_is_422_with_paths(api):
    refused = await api.create(example(TEMPLATE, "careflow_state_mismatch", "invalid"), expect=422)
    assert refused.json()["details"] and all(d["path"] for d in refused.json()["details"])


async def test_unknown_ehr_is_404(client, started):
    await Api(client, UNKNOWN_EHR).create(started, expect=404)


async def test_deleting_a_stopped_order_is_allowed(api, started, prototype):
    created = await api.create(started)
    object_id = object_id_of(created)
    stopped = await api.update(
        object_id, created.headers["ETag"], change(started, prototype, "stopped", "2026-11-21T08:00:00+01:00")
    )
    deleted = await api.client.delete(
        f"{BASE}/ehr/{api.ehr_id}/composition/{object_id}", headers={"If-Match": stopped.headers["ETag"]}
    )
    assert deleted.status_code == 204, deleted.text
    assert (await api.query(status="stopped"))["total"] == 0


async def test_two_writers_with_the_same_if_match_one_wins(api, started, prototype):
    created = await api.create(started)
    object_id, etag = object_id_of(created), created.headers["ETag"]
    suspend = change(started, prototype, "suspended", "2026-11-21T08:00:00+01:00")
    stop = change(started, prototype, "stopped", "2026-11-21T08:00:00+01:00")
    results = await asyncio.gather(
        *(
            api.client.put(
                f"{BASE}/ehr/{api.ehr_id}/composition/{object_id}", json=body, headers={"If-Match": etag}
            )
            for body in (suspend, stop)
        )
    )
    assert sorted(r.status_code for r in results) == [204, 412]
    assert len(await api.history(object_id)) == 2


async def test_query_by_status_atc_date_and_ehr_with_paging(api, client, started, prototype):
    orders = [
        ("C09AA05", "2026-01-10T09:00:00+01:00", "active"),
        ("C09AA05", "2026-02-10T09:00:00+01:00", "suspended"),
        ("A10BA02", "2026-03-10T09:00:00+01:00", "active"),
        ("C09AA05", "2026-04-10T09:00:00+01:00", "active"),
        ("N02BE01", "2026-05-10T09:00:00+01:00", "completed"),
    ]
    for atc, start_time, status in orders:
        order = with_atc(with_start_time(started, start_time), atc)
        created = await api.create(order)
        if status != "active":
            await api.update(
                object_id_of(created),
                created.headers["ETag"],
                change(order, with_atc(prototype, atc), status, "2026-11-21T08:00:00+01:00"),
            )
    await Api(client, OTHER_EHR).create(with_start_time(started, "2026-06-10T09:00:00+01:00"))

    assert (await api.query())["total"] == 6
    assert (await api.query(ehr_id=api.ehr_id))["total"] == 5
    ramipril = await api.query(atc_code="C09AA05", sort="date")
    assert [i["index"]["date"][:10] for i in ramipril["items"]] == ["2026-01-10", "2026-02-10", "2026-04-10"]
    active_ramipril = await api.query(atc_code="C09AA05", status="active")
    assert active_ramipril["total"] == 2
    in_spring = await api.query(date_from="2026-02-01", date_to="2026-04-10", ehr_id=api.ehr_id)
    assert in_spring["total"] == 3
    page = await api.query(ehr_id=api.ehr_id, sort="-date", offset=1, limit=2)
    assert (page["total"], page["offset"], page["limit"]) == (5, 1, 2)
    assert [i["index"]["date"][:10] for i in page["items"]] == ["2026-04-10", "2026-03-10"]
    assert (await api.query(status="completed"))["items"][0]["index"]["atc_code"] == ["N02BE01"]


async def test_unknown_status_parameter_is_400(client):
    response = await client.get(f"{BASE}/query/compositions", params={"status": "paused"})
    assert response.status_code == 400
    assert "active, suspended, stopped, completed" in response.json()["message"]


async def test_an_action_on_another_order_does_not_change_this_ones_status(api):
    """One composition stops atorvastatin (an order stored elsewhere) and starts rosuvastatin."""
    switch = example(TEMPLATE, "atorvastatin_stopped_rosuvastatin_started")
    await api.create(switch)
    item = (await api.query())["items"][0]
    assert (item["index"]["status"], item["index"]["atc_code"]) == (["active"], ["C10AA07"])


async def test_templates_are_listed(client):
    response = await client.get(f"{BASE}/definition/template/adl1.4")
    assert [t["template_id"] for t in response.json()] == [TEMPLATE]


async def test_a_commit_and_a_transition_leave_no_reference_cycles_behind(api, started, prototype):
    """What a commit builds is freed by reference counting, not left to the garbage collector: a closure
    that called itself while finding the ACTIONs once kept parts of every committed order alive until
    the collector's next pass (about 90 objects a commit; its pauses were most of the commit p99). The
    in-process HTTP client (httpx) leaves cycles of its own; those are not the module's."""
    import gc

    suspended = change(started, prototype, "suspended", "2026-11-21T08:00:00Z")

    async def commit_and_suspend() -> None:
        created = await api.create(started)
        await api.update(object_id_of(created), created.headers["ETag"], suspended)

    await commit_and_suspend()  # first-use caches (statements, templates) filled
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds unreachable stays in gc.garbage to be looked at
    try:
        await commit_and_suspend()
        gc.collect()
        closures = [o.__qualname__ for o in gc.garbage if type(o).__name__ == "function"]
        document_parts = [o for o in gc.garbage if isinstance(o, dict) and ("_type" in o or "archetype_node_id" in o)]
        assert closures == [] and document_parts == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
