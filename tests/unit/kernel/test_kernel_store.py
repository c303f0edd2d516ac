"""The versioned store on SQLite and PostgreSQL: append-only versions, optimistic locking, atomic commits."""

from __future__ import annotations

import multiprocessing
import random
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.kernel.database import create_database_engine
from services.kernel.errors import Conflict, Deleted, NotFound, PreconditionFailed
from services.kernel.migrations import upgrade
from services.kernel.schema import contribution, index_entry, original_version
from services.kernel.search import IndexField, SearchIndex, text_at, time_at
from services.kernel.store import SearchQuery, VersionedStore
from services.kernel.versioning import ChangeType, Committer, LifecycleState, VersionUid
from tests.unit.kernel.coalescing import statements_sent

MIGRATIONS = Path(__file__).parent / "store_migrations"
NURSE = Committer("Sara Sköterska", "SE2321000131-S000000000001")


def _refuse_marked(composition: dict) -> list[str]:
    if composition.get("explode"):
        raise RuntimeError("index extraction failed half-way through the commit")
    return [composition["status"]] if "status" in composition else []


INDEX = SearchIndex(
    clinical_time=time_at("time"),
    fields={"status": IndexField(_refuse_marked), "ward": text_at("ward")},
)


@pytest.fixture
def store(database_url):
    upgrade(MIGRATIONS, database_url)
    engine = create_database_engine(database_url)
    yield VersionedStore(engine, "test.vgr.se", INDEX)
    engine.dispose()


def doc(status="active", time="2026-11-20T10:00:00Z", **more) -> dict:
    return {"_type": "COMPOSITION", "status": status, "time": time, **more}


def count(store: VersionedStore, table: sa.Table) -> int:
    with store.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_versions_are_appended_never_overwritten(store):
    first = store.create(ehr_id="e1", data=doc("active"), template_id="t", committer=NURSE)
    second = store.update(
        expected=first.uid, ehr_id="e1", data=doc("stopped"), template_id="t", committer=NURSE
    )
    gone = store.delete(expected=second.uid, ehr_id="e1", committer=NURSE)

    history = store.history(first.uid.object_id)
    assert [str(v.uid) for v in history] == [f"{first.uid.object_id}::test.vgr.se::{n}" for n in (1, 2, 3)]
    assert [v.change_type for v in history] == [
        ChangeType.CREATION,
        ChangeType.MODIFICATION,
        ChangeType.DELETED,
    ]
    assert history[0].data["status"] == "active" and history[1].data["status"] == "stopped"
    assert gone.lifecycle_state is LifecycleState.DELETED and store.latest(first.uid.object_id).is_deleted
    assert history[0].committer == NURSE
    assert count(store, original_version) == 3 and count(store, contribution) == 3


def test_stale_expected_version_is_refused_with_the_current_one(store):
    first = store.create(ehr_id="e1", data=doc(), template_id="t", committer=NURSE)
    second = store.update(expected=first.uid, ehr_id="e1", data=doc("x"), template_id="t", committer=NURSE)
    with pytest.raises(PreconditionFailed) as refused:
        store.update(expected=first.uid, ehr_id="e1", data=doc("y"), template_id="t", committer=NURSE)
    assert refused.value.headers["ETag"] == second.uid.etag


def test_a_deleted_object_cannot_change_again(store):
    first = store.create(ehr_id="e1", data=doc(), template_id="t", committer=NURSE)
    gone = store.delete(expected=first.uid, ehr_id="e1", committer=NURSE)
    with pytest.raises(Deleted):
        store.update(expected=gone.uid, ehr_id="e1", data=doc(), template_id="t", committer=NURSE)


def test_objects_are_only_found_in_their_own_ehr(store):
    first = store.create(ehr_id="e1", data=doc(), template_id="t", committer=NURSE)
    with pytest.raises(NotFound):
        store.latest(first.uid.object_id, "e2")
    with pytest.raises(NotFound):
        store.update(expected=first.uid, ehr_id="e2", data=doc(), template_id="t", committer=NURSE)


def test_two_writers_with_the_same_expected_version_exactly_one_wins(store):
    first = store.create(ehr_id="e1", data=doc(), template_id="t", committer=NURSE)
    writers = 8
    start = threading.Barrier(writers)
    outcomes: list[str] = []

    def write(n: int) -> None:
        start.wait()
        try:
            store.update(expected=first.uid, ehr_id="e1", data=doc(f"s{n}"), template_id="t", committer=NURSE)
            outcomes.append("won")
        except PreconditionFailed:
            outcomes.append("412")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["412"] * (writers - 1) + ["won"]
    assert [v.uid.version for v in store.history(first.uid.object_id)] == [1, 2]


def test_a_failure_in_the_middle_of_a_commit_leaves_no_partial_version(store):
    first = store.create(ehr_id="e1", data=doc(), template_id="t", committer=NURSE)
    before = (count(store, original_version), count(store, contribution))

    with pytest.raises(RuntimeError, match="half-way"):
        store.update(
            expected=first.uid, ehr_id="e1", data=doc(explode=True), template_id="t", committer=NURSE
        )
    with pytest.raises(RuntimeError, match="half-way"):
        store.create(ehr_id="e1", data=doc(explode=True), template_id="t", committer=NURSE)

    assert (count(store, original_version), count(store, contribution)) == before
    assert store.latest(first.uid.object_id).uid == first.uid
    assert store.search(SearchQuery(fields={"status": "active"})).total == 1
    # and the object is still writable from the version that really is the latest
    assert store.update(expected=first.uid, ehr_id="e1", data=doc("ok"), template_id="t", committer=NURSE)


def test_version_at_time_is_the_one_that_was_latest_then(store):
    first = store.create(ehr_id="e1", data=doc("a"), template_id="t", committer=NURSE)
    second = store.update(expected=first.uid, ehr_id="e1", data=doc("b"), template_id="t", committer=NURSE)
    oid = first.uid.object_id
    assert store.at_time(oid, first.time_committed).uid == first.uid
    assert store.at_time(oid, second.time_committed + timedelta(seconds=1)).uid == second.uid
    with pytest.raises(NotFound):
        store.at_time(oid, first.time_committed - timedelta(seconds=1))


def test_search_filters_sorts_and_pages_on_the_latest_versions(store):
    days = ["2026-11-01", "2026-11-03", "2026-11-02", "2026-11-04"]
    made = [
        store.create(
            ehr_id="e1" if i < 3 else "e2",
            data=doc("active", f"{d}T08:00:00Z", ward="A"),
            template_id="t",
            committer=NURSE,
        )
        for i, d in enumerate(days)
    ]
    store.update(
        expected=made[0].uid,
        ehr_id="e1",
        data=doc("stopped", "2026-11-01T08:00:00Z"),
        template_id="t",
        committer=NURSE,
    )
    store.delete(expected=made[1].uid, ehr_id="e1", committer=NURSE)

    active = store.search(SearchQuery(fields={"status": "active"}))
    assert active.total == 2
    assert [h.clinical_time.day for h in active.hits] == [4, 2]
    assert active.hits[0].index == {"status": ["active"], "ward": ["A"]}

    in_e1 = store.search(SearchQuery(ehr_ids=["e1"], newest_first=False))
    assert [h.version.data["status"] for h in in_e1.hits] == ["stopped", "active"]
    page = store.search(SearchQuery(limit=1, offset=1))
    assert page.total == 3 and len(page.hits) == 1 and page.hits[0].clinical_time.day == 2
    assert count(store, index_entry) == 4  # the deleted one stays, marked deleted, never listed


def _write_in_another_process(database_url: str, expected: str, n: int, start, outcomes) -> None:
    engine = create_database_engine(database_url)
    store = VersionedStore(engine, "test.vgr.se", INDEX)
    start.wait()
    try:
        store.update(
            expected=VersionUid.parse(expected),
            ehr_id="e1",
            data=doc(f"p{n}"),
            template_id="t",
            committer=NURSE,
        )
        outcomes.put("won")
    except PreconditionFailed:
        outcomes.put("412")
    finally:
        engine.dispose()


def test_writers_in_separate_processes_exactly_one_wins(store, database_url):
    """Several app processes (uvicorn workers) on one database: the database still picks one winner."""
    first = store.create(ehr_id="e1", data=doc(), template_id="t", committer=NURSE)
    context = multiprocessing.get_context("spawn")
    writers = 4
    start, outcomes = context.Barrier(writers), context.Queue()
    processes = [
        context.Process(
            target=_write_in_another_process, args=(database_url, str(first.uid), n, start, outcomes)
        )
        for n in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    results = sorted(outcomes.get(timeout=5) for _ in range(writers))
    assert results == ["412"] * (writers - 1) + ["won"]
    assert [v.uid.version for v in store.history(first.uid.object_id)] == [1, 2]


def test_a_version_comes_back_exactly_as_committed_key_order_included(store):
    data = {
        "_type": "COMPOSITION",
        "zeta": 1,
        "alpha": {"y": 1.0, "x": [3, 2, 1]},
        "status": "ö",
        "time": "2026",
    }
    created = store.create(ehr_id="e1", data=data, template_id="t", committer=NURSE)
    again = store.version(created.uid).data
    assert again == data and list(again) == list(data) and list(again["alpha"]) == ["y", "x"]


def test_creating_an_object_id_twice_is_a_conflict_and_changes_nothing(store):
    oid = "0b8e2f44-54a4-4a8b-9a43-5ad3c3a3e001"
    store.create(ehr_id="e1", data=doc("a"), template_id="t", committer=NURSE, object_id=oid)
    with pytest.raises(Conflict):
        store.create(ehr_id="e1", data=doc("b"), template_id="t", committer=NURSE, object_id=oid)
    assert [v.data["status"] for v in store.history(oid)] == ["a"]
    assert count(store, contribution) == 1


def test_search_agrees_with_its_definition_on_random_data(store):
    """The search's SQL against the search's meaning, written out in Python over the latest versions:
    filters (EHRs, template, clinical dates, index fields), order (clinical date, no date last, then object
    id), paging and total, on random data with updates, deletions and compositions without a date."""
    rng = random.Random(7)
    latest: dict[str, dict] = {}  # object id -> {"ehr", "template", "time", "status", "ward", "deleted"}
    for _ in range(60):
        facts = {"ehr": rng.choice(["e1", "e2", "e3"]), "template": rng.choice(["t", "u"]),
                 "time": rng.choice([None, *(f"2026-11-{d:02d}T{h:02d}:00:00Z" for d in (1, 2, 3) for h in (8, 20))]),
                 "status": rng.choice(["active", "stopped"]), "ward": rng.choice(["A", "B", None])}  # fmt: skip
        data = doc(facts["status"], facts["time"], **({"ward": facts["ward"]} if facts["ward"] else {}))
        if data["time"] is None:
            del data["time"]
        version = store.create(ehr_id=facts["ehr"], data=data, template_id=facts["template"], committer=NURSE)
        if rng.random() < 0.3:
            facts["status"] = data["status"] = "stopped"
            version = store.update(expected=version.uid, ehr_id=facts["ehr"], data=data,
                                   template_id=facts["template"], committer=NURSE)  # fmt: skip
        if rng.random() < 0.15:
            store.delete(expected=version.uid, ehr_id=facts["ehr"], committer=NURSE)
            facts["deleted"] = True
        latest[version.uid.object_id] = facts

    def moment(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None

    def expected(query: SearchQuery) -> tuple[int, list[str]]:
        chosen = [
            (object_id, facts) for object_id, facts in latest.items()
            if not facts.get("deleted")
            and (not query.ehr_ids or facts["ehr"] in query.ehr_ids)
            and (not query.template_id or facts["template"] == query.template_id)
            and (not query.date_from or (facts["time"] and moment(facts["time"]) >= query.date_from))
            and (not query.date_to or (facts["time"] and moment(facts["time"]) <= query.date_to))
            and all(facts.get(name) == value for name, value in query.fields.items())
        ]  # fmt: skip
        dated = sorted((f for f in chosen if f[1]["time"]), key=lambda f: f[0])
        dated.sort(key=lambda f: moment(f[1]["time"]), reverse=query.newest_first)
        ordered = dated + sorted((f for f in chosen if not f[1]["time"]), key=lambda f: f[0])
        return len(chosen), [object_id for object_id, _ in ordered][query.offset : query.offset + query.limit]

    for _ in range(150):
        query = SearchQuery(
            ehr_ids=rng.sample(["e1", "e2", "e3", "e9"], rng.choice([0, 1, 2])),
            template_id=rng.choice([None, "t", "u"]),
            date_from=rng.choice([None, moment("2026-11-02T00:00:00Z")]),
            date_to=rng.choice([None, moment("2026-11-02T20:00:00Z")]),
            fields=rng.choice([{}, {"status": "active"}, {"ward": "A"}, {"status": "stopped", "ward": "B"}]),
            newest_first=rng.random() < 0.5, offset=rng.choice([0, 0, 3, 40]), limit=rng.choice([1, 5, 100]),
        )  # fmt: skip
        page = store.search(query)
        assert (page.total, [hit.version.uid.object_id for hit in page.hits]) == expected(query), query
        for hit in page.hits:
            facts = latest[hit.version.uid.object_id]
            assert hit.version.ehr_id == facts["ehr"] and hit.clinical_time == moment(facts["time"])
            assert hit.index == {"status": [facts["status"]], **({"ward": [facts["ward"]]} if facts["ward"] else {})}


def test_creates_that_arrive_together_are_stored_as_each_alone_and_one_at_fault_fails_alone(store):
    """`add` from many requests at once (PostgreSQL: one statement; SQLite: one group commit): each object
    reads back, is indexed and searchable as a `create` makes it; a create the database refuses (a committer
    without a name: NOT NULL) fails alone and leaves nothing."""
    import asyncio

    documents = [doc(status, f"2026-11-2{n}T10:00:00Z", ward=f"ward {n}") for n, status in enumerate(
        ["active", "stopped", "active", "completed", "active"])]  # fmt: skip
    sent = statements_sent(store._creates)

    async def together():
        adds = [store.add(ehr_id="e1", data=d, template_id="t", committer=NURSE) for d in documents]
        refused = store.add(ehr_id="e1", data=doc(), template_id="t", committer=Committer(None, "SE1"))
        return await asyncio.gather(*adds[:2], refused, *adds[2:], return_exceptions=True)

    outcomes = asyncio.run(together())
    failure = outcomes.pop(2)
    assert isinstance(failure, sa.exc.IntegrityError), failure
    for version, document in zip(outcomes, documents, strict=True):
        stored = store.latest(version.uid.object_id, "e1")
        assert stored.uid == version.uid and stored.data == document
        assert stored.committer == NURSE and stored.change_type is ChangeType.CREATION
        assert stored.time_committed == version.time_committed
    for status in ("active", "stopped", "completed"):
        found = store.search(SearchQuery(ehr_ids=["e1"], fields={"status": status}))
        assert sorted(h.version.uid.object_id for h in found.hits) == sorted(
            v.uid.object_id for v, d in zip(outcomes, documents, strict=True) if d["status"] == status)  # fmt: skip
    newest = store.search(SearchQuery(ehr_ids=["e1"], limit=1)).hits[0]
    assert newest.version.uid == outcomes[-1].uid and newest.index == {"status": ["active"], "ward": ["ward 4"]}
    assert count(store, original_version) == count(store, contribution) == count(store, index_entry) == 5
    if store.engine.dialect.name == "postgresql":
        assert sent == [6, 1, 1, 1, 1, 1, 1], "one statement for all, then each alone after the refusal"
