"""The journal app in-process, with a fake demographics, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.integration.journal.conftest import BASE
from tests.integration.journal.fakes import (
    KNOWN_EHR,
    OTHER_EHR,
    TEMPLATE_ID,
    UNKNOWN_EHR,
    changed,
    journal_note,
)

pytestmark = pytest.mark.anyio
COMPOSITIONS = f"{BASE}/ehr/{KNOWN_EHR}/composition"
DOCTOR = {"X-Committer-Name": "Anna L%C3%A4kare", "X-Committer-Hsa-Id": "SE2321000131-P000000000001"}


async def create(client, note=None, ehr_id=KNOWN_EHR):
    response = await client.post(
        f"{BASE}/ehr/{ehr_id}/composition", json=note or journal_note(), headers=DOCTOR
    )
    assert response.status_code == 201, response.text
    return response


def object_id(response) -> str:
    return response.headers["ETag"].strip('"').split("::")[0]


async def test_create_answers_201_with_location_and_etag(client):
    response = await create(client)
    uid = response.headers["ETag"].strip('"')
    assert uid.endswith("::journal.vgr.se::1")
    assert response.headers["Location"] == f"http://journal.test{COMPOSITIONS}/{uid}"
    assert response.content == b""  # Prefer: return=minimal is the default


async def test_create_with_prefer_representation_returns_the_stored_composition(client):
    response = await client.post(
        COMPOSITIONS, json=journal_note(), headers={"Prefer": "return=representation"}
    )
    assert response.status_code == 201
    assert response.json()["uid"]["value"] == response.headers["ETag"].strip('"')
    assert response.json()["context"]["start_time"]["value"] == "2026-11-20T10:15:00+01:00"


async def test_read_by_object_id_and_by_version_uid(client):
    created = await create(client)
    uid = created.headers["ETag"].strip('"')
    latest = await client.get(f"{COMPOSITIONS}/{object_id(created)}")
    exact = await client.get(f"{COMPOSITIONS}/{uid}")
    assert latest.status_code == exact.status_code == 200
    assert latest.json()["uid"]["value"] == uid and latest.headers["ETag"] == f'"{uid}"'
    assert "Last-Modified" in latest.headers
    assert exact.json() == latest.json()


async def test_update_with_if_match_makes_version_two(client):
    created = await create(client)
    updated = await client.put(
        f"{COMPOSITIONS}/{object_id(created)}",
        json=journal_note(text="Bättre idag."),
        headers={"If-Match": created.headers["ETag"], **DOCTOR},
    )
    assert updated.status_code == 204, updated.text
    assert updated.headers["ETag"].endswith('::journal.vgr.se::2"')
    latest = await client.get(f"{COMPOSITIONS}/{object_id(created)}")
    assert (
        latest.json()["content"][0]["data"]["events"][0]["data"]["items"][0]["value"]["value"]
        == "Bättre idag."
    )


async def test_stale_if_match_is_412_with_the_current_etag(client):
    created = await create(client)
    url = f"{COMPOSITIONS}/{object_id(created)}"
    second = await client.put(url, json=journal_note(), headers={"If-Match": created.headers["ETag"]})
    stale = await client.put(url, json=journal_note(), headers={"If-Match": created.headers["ETag"]})
    assert stale.status_code == 412
    assert stale.headers["ETag"] == second.headers["ETag"]
    assert stale.json()["code"] == "precondition_failed"


async def test_missing_if_match_is_400(client):
    created = await create(client)
    url = f"{COMPOSITIONS}/{object_id(created)}"
    for response in (await client.put(url, json=journal_note()), await client.delete(url)):
        assert response.status_code == 400
        assert response.json()["code"] == "if_match_required"


async def test_delete_then_read_is_404_deleted_and_history_keeps_every_version(client):
    created = await create(client)
    url = f"{COMPOSITIONS}/{object_id(created)}"
    deleted = await client.delete(url, headers={"If-Match": created.headers["ETag"]})
    assert deleted.status_code == 204
    gone = await client.get(url)
    assert gone.status_code == 404 and gone.json()["code"] == "deleted"
    still_there = await client.get(f"{COMPOSITIONS}/{created.headers['ETag'].strip(chr(34))}")
    assert still_there.status_code == 200  # the first version is never physically removed


async def test_revision_history_lists_every_version_with_its_audit(client):
    created = await create(client)
    oid = object_id(created)
    updated = await client.put(
        f"{COMPOSITIONS}/{oid}", json=journal_note(), headers={"If-Match": created.headers["ETag"]}
    )
    await client.delete(f"{COMPOSITIONS}/{oid}", headers={"If-Match": updated.headers["ETag"], **DOCTOR})

    history = await client.get(f"{BASE}/ehr/{KNOWN_EHR}/versioned_composition/{oid}/revision_history")
    assert history.status_code == 200
    items = history.json()
    assert [i["version_id"]["value"].rsplit("::", 1)[1] for i in items] == ["1", "2", "3"]
    audits = [i["audits"][0] for i in items]
    assert [a["change_type"]["value"] for a in audits] == ["creation", "modification", "deleted"]
    assert [a["change_type"]["defining_code"]["code_string"] for a in audits] == ["249", "251", "523"]
    assert audits[0]["committer"]["name"] == "Anna Läkare"
    assert audits[0]["committer"]["identifiers"][0]["id"] == "SE2321000131-P000000000001"
    assert audits[1]["committer"]["name"] == "unknown"


async def test_committer_names_in_raw_utf8_headers_keep_their_letters(client):
    created = await client.post(
        COMPOSITIONS, json=journal_note(), headers={"X-Committer-Name": "Åsa Öberg".encode()}
    )
    history = await client.get(
        f"{BASE}/ehr/{KNOWN_EHR}/versioned_composition/{object_id(created)}/revision_history"
    )
    assert history.json()[0]["audits"][0]["committer"]["name"] == "Åsa Öberg"


async def test_version_at_time_and_by_uid(client):
    created = await create(client)
    oid = object_id(created)
    await asyncio.sleep(0.01)
    updated = await client.put(
        f"{COMPOSITIONS}/{oid}", json=journal_note(), headers={"If-Match": created.headers["ETag"]}
    )
    versions = f"{BASE}/ehr/{KNOWN_EHR}/versioned_composition/{oid}/version"
    history = (
        await client.get(f"{BASE}/ehr/{KNOWN_EHR}/versioned_composition/{oid}/revision_history")
    ).json()
    first_time = history[0]["audits"][0]["time_committed"]["value"]

    at_first = await client.get(versions, params={"version_at_time": first_time})
    assert at_first.status_code == 200
    assert at_first.json()["uid"]["value"] == created.headers["ETag"].strip('"')
    assert (
        at_first.json()["_type"] == "ORIGINAL_VERSION"
        and at_first.json()["lifecycle_state"]["value"] == "complete"
    )
    now = await client.get(versions)
    assert now.json()["uid"]["value"] == updated.headers["ETag"].strip('"')
    assert now.json()["preceding_version_uid"]["value"] == created.headers["ETag"].strip('"')
    before = await client.get(versions, params={"version_at_time": "2000-01-01T00:00:00Z"})
    assert before.status_code == 404
    bad = await client.get(versions, params={"version_at_time": "yesterday"})
    assert bad.status_code == 400

    by_uid = await client.get(f"{versions}/{created.headers['ETag'].strip(chr(34))}")
    assert by_uid.status_code == 200 and by_uid.json()["data"]["_type"] == "COMPOSITION"
    missing = await client.get(f"{versions}/{oid}::journal.vgr.se::9")
    assert missing.status_code == 404


async def test_template_violation_is_422_naming_every_path(client):
    note = journal_note()
    del note["language"]
    note["context"]["start_time"] = {}
    response = await client.post(COMPOSITIONS, json=note)
    assert response.status_code == 422
    assert response.json()["code"] == "template_violation"
    assert {d["path"] for d in response.json()["details"]} == {"/context/start_time", "/language"}
    assert {d["pointer"] for d in response.json()["details"]} == {"/context/start_time", "/language"}


async def test_unknown_or_missing_template_is_422(client):
    note = journal_note()
    note["archetype_details"]["template_id"]["value"] = "vgr.not_a_template.v1"
    unknown = await client.post(COMPOSITIONS, json=note)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_template"
    assert unknown.json()["details"][0]["path"] == "/archetype_details/template_id/value"
    del note["archetype_details"]
    missing = await client.post(COMPOSITIONS, json=note)
    assert missing.status_code == 422 and missing.json()["code"] == "template_missing"
    for details in ({"template_id": 5}, {"template_id": {"value": ["x"]}}, "x"):  # a template_id of 5 was a 500
        odd = await client.post(COMPOSITIONS, json={**note, "archetype_details": details})
        assert odd.status_code == 422 and odd.json()["code"] == "template_missing"


async def test_malformed_json_and_wrong_type_are_400(client):
    malformed = await client.post(
        COMPOSITIONS, content=b'{"_type": "COMPOSITION",', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_json"
    wrong = await client.post(COMPOSITIONS, json=changed(journal_note(), _type="EHR_STATUS"))
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_type"
    not_an_object = await client.post(COMPOSITIONS, json=[1, 2])
    assert not_an_object.status_code == 400


async def test_strings_no_text_column_can_hold_are_400_and_nothing_is_stored(client):
    # A lone surrogate is valid JSON grammar but not Unicode text; U+0000 is, but PostgreSQL's text cannot
    # hold it. Either in an indexed value (the diagnosis code) failed the commit with a 500.
    cases = (
        (journal_note(diagnoses=("J06.9\ud800",)), "\\ud800"),
        (journal_note(text="Ont\udfff"), "\\udfff"),
        (journal_note(diagnoses=("J06.9\x00",)), "U+0000"),
    )
    for note, named in cases:
        body = json.dumps(note).encode()  # escaped as \ud800 and \u0000, as a client would send them
        response = await client.post(COMPOSITIONS, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["code"] == "unstorable_text"
        assert named in response.json()["message"]
    listed = await client.get(f"{BASE}/query/compositions", params={"ehr_id": KNOWN_EHR})
    assert listed.json()["total"] == 0
    # The six characters \u0000 written out in a text are just text.
    assert (await client.post(COMPOSITIONS, json=journal_note(text="Se \\u0000 i loggen"))).status_code == 201


async def test_what_the_database_could_not_keep_is_refused_before_it_and_nothing_is_stored(client):
    # Each was stored on SQLite and a 500 from the driver on PostgreSQL.
    long_code = await client.post(COMPOSITIONS, json=journal_note(diagnoses=("J" * 201,)))
    assert long_code.status_code == 422 and long_code.json()["code"] == "index_value_too_long"
    assert "diagnosis_code" in long_code.json()["message"]
    for headers in ({"X-Committer-Name": "x" * 201}, {"openEHR-AUDIT_DETAILS.committer": 'name="Dr%00X"'},
                    {"X-Committer-HSA-Id": "SE" + "1" * 63}):  # fmt: skip
        response = await client.post(COMPOSITIONS, json=journal_note(), headers=headers)
        assert response.status_code == 400 and response.json()["code"] == "bad_committer", headers
    listed = await client.get(f"{BASE}/query/compositions", params={"ehr_id": KNOWN_EHR})
    assert listed.json()["total"] == 0
    at_the_limits = {"X-Committer-Name": "x" * 200, "X-Committer-HSA-Id": "SE" + "1" * 62}
    stored = await client.post(COMPOSITIONS, json=journal_note(diagnoses=("J" * 200,)), headers=at_the_limits)
    assert stored.status_code == 201


def _nested_note(levels: int) -> bytes:
    """A journal note whose context holds CLUSTERs nested `levels` deep (written as text: the standard
    library's encoder would itself run out of recursion)."""
    note = journal_note()
    note["context"]["other_context"] = "@@"
    name = '"name":{"_type":"DV_TEXT","value":"n"}'
    leaf = '{"_type":"ELEMENT","archetype_node_id":"at0009",' + name + ',"value":{"_type":"DV_TEXT","value":"v"}}'
    cluster = '{"_type":"CLUSTER","archetype_node_id":"at0008",' + name + ',"items":['
    tree = '{"_type":"ITEM_TREE","archetype_node_id":"at0007",' + name + ',"items":['
    nested = tree + cluster * levels + leaf + "]}" * levels + "]}"
    return json.dumps(note).replace('"@@"', nested).encode()


async def test_a_note_nested_too_deep_is_400_and_nothing_is_stored(client):
    # 505 CLUSTERs are ~1,015 levels of JSON: orjson parses them (it stops at 1,024), the index walk
    # cannot (it recursed into a 500); 2,000 are refused by the parser.
    for levels, code in ((505, "nested_too_deep"), (2000, "malformed_json")):
        response = await client.post(
            COMPOSITIONS, content=_nested_note(levels), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400 and response.json()["code"] == code
    listed = await client.get(f"{BASE}/query/compositions", params={"ehr_id": KNOWN_EHR})
    assert listed.json()["total"] == 0
    assert (await client.post(COMPOSITIONS, content=_nested_note(20),
                              headers={"Content-Type": "application/json"})).status_code == 201  # fmt: skip


async def test_unknown_ehr_is_404(client):
    response = await client.post(f"{BASE}/ehr/{UNKNOWN_EHR}/composition", json=journal_note())
    assert response.status_code == 404 and response.json()["code"] == "ehr_not_found"


async def test_demographics_down_is_503_never_500(client, demographics):
    demographics.down = True
    response = await client.post(COMPOSITIONS, json=journal_note())
    assert response.status_code == 503
    assert response.json()["code"] == "demographics_unavailable"
    assert "Demographics" in response.json()["message"]
    ready = await client.get("/ready")
    assert ready.status_code == 503 and "demographics" in ready.json()["checks"]


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "demographics": "ok"}


async def test_a_composition_is_not_found_through_another_ehr(client):
    created = await create(client)
    response = await client.get(f"{BASE}/ehr/{OTHER_EHR}/composition/{object_id(created)}")
    assert response.status_code == 404


async def test_concurrent_updates_with_the_same_if_match_exactly_one_wins(client):
    created = await create(client)
    url = f"{COMPOSITIONS}/{object_id(created)}"
    responses = await asyncio.gather(
        *[
            client.put(
                url, json=journal_note(text=f"writer {n}"), headers={"If-Match": created.headers["ETag"]}
            )
            for n in range(6)
        ]
    )
    assert sorted(r.status_code for r in responses) == [204] + [412] * 5
    history = await client.get(
        f"{BASE}/ehr/{KNOWN_EHR}/versioned_composition/{object_id(created)}/revision_history"
    )
    assert len(history.json()) == 2


async def test_bad_uid_is_400_and_unknown_object_is_404(client):
    assert (await client.get(f"{COMPOSITIONS}/not-a-uuid")).status_code == 400
    assert (await client.get(f"{COMPOSITIONS}/{UNKNOWN_EHR}")).status_code == 404


async def test_templates_are_listed(client):
    response = await client.get(f"{BASE}/definition/template/adl1.4")
    assert response.status_code == 200
    assert [t["template_id"] for t in response.json()] == [TEMPLATE_ID]
    assert (await client.get(f"{BASE}/definition/template/adl1.4/vgr.nothing.v1")).status_code == 404


async def test_stale_delete_is_412_and_a_deleted_note_cannot_be_updated(client):
    created = await create(client)
    url = f"{COMPOSITIONS}/{object_id(created)}"
    updated = await client.put(url, json=journal_note(), headers={"If-Match": created.headers["ETag"]})
    stale = await client.delete(url, headers={"If-Match": created.headers["ETag"]})
    assert stale.status_code == 412 and stale.headers["ETag"] == updated.headers["ETag"]
    assert (await client.delete(url, headers={"If-Match": updated.headers["ETag"]})).status_code == 204
    history = await client.get(
        f"{BASE}/ehr/{KNOWN_EHR}/versioned_composition/{object_id(created)}/revision_history"
    )
    deletion = history.json()[-1]["version_id"]["value"]
    after = await client.put(url, json=journal_note(), headers={"If-Match": deletion})
    assert after.status_code == 404 and after.json()["code"] == "deleted"
