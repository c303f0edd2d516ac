import asyncio
from datetime import date

import pytest

from services.demographics.examples import make_person, personnummer
from services.kernel.errors import Conflict
from services.kernel.versioning import Committer, VersionUid
from tests.integration.demographics.conftest import BASE

pytestmark = pytest.mark.anyio
PERSON = f"{BASE}/demographic/person"
AUDIT = {"X-Committer-Name": "Karin Skoterska", "X-Committer-Hsa-Id": "SE2321000131-P000000000001"}


async def create(client, person=None, **headers):
    response = await client.post(PERSON, json=person or make_person(), headers={**AUDIT, **headers})
    assert response.status_code == 201, response.text
    return response


async def test_create_gives_201_location_and_etag_then_read(client):
    response = await create(client)
    assert response.content == b""  # return=minimal is the default
    etag = response.headers["ETag"]
    uid = etag.strip('"')
    object_id, system_id, version = uid.split("::")
    assert (system_id, version) == ("demographics.vgr.se", "1")
    assert response.headers["Location"] == f"http://demographics.test{PERSON}/{uid}"
    assert response.headers["Last-Modified"]

    latest = await client.get(f"{PERSON}/{object_id}")
    assert latest.status_code == 200
    assert latest.headers["ETag"] == etag
    body = latest.json()
    assert body["uid"]["value"] == uid
    assert body["_type"] == "PERSON"
    assert body["identities"] == make_person()["identities"]
    by_version = await client.get(f"{PERSON}/{uid}")
    assert by_version.json() == body


async def test_prefer_representation_returns_the_person(client):
    response = await create(client, Prefer="return=representation")
    assert response.json()["uid"]["value"] == response.headers["ETag"].strip('"')
    object_id = response.headers["ETag"].strip('"').split("::")[0]
    headers = {"If-Match": response.headers["ETag"], "Prefer": "return=representation"}
    updated = await client.put(f"{PERSON}/{object_id}", json=make_person(given="Åsa"), headers=headers)
    assert updated.status_code == 200
    assert updated.json()["uid"]["value"] == updated.headers["ETag"].strip('"')
    assert updated.headers["Location"].endswith(updated.json()["uid"]["value"])


async def test_update_with_if_match_then_stale_412_and_missing_400(client):
    first = (await create(client)).headers["ETag"]
    object_id = first.strip('"').split("::")[0]
    renamed = make_person(family="Åkesson")
    updated = await client.put(f"{PERSON}/{object_id}", json=renamed, headers={"If-Match": first, **AUDIT})
    assert updated.status_code == 204, updated.text
    assert updated.content == b""
    second = updated.headers["ETag"]
    assert second.endswith('::2"')
    assert (await client.get(f"{PERSON}/{object_id}")).json()["identities"] == renamed["identities"]
    # the first version is still there, unchanged
    old = await client.get(f"{PERSON}/{first.strip(chr(34))}")
    assert old.json()["identities"] == make_person()["identities"]

    stale = await client.put(f"{PERSON}/{object_id}", json=renamed, headers={"If-Match": first})
    assert stale.status_code == 412
    assert stale.headers["ETag"] == second
    missing = await client.put(f"{PERSON}/{object_id}", json=renamed)
    assert missing.status_code == 400
    assert missing.json()["code"] == "if_match_required"


async def test_delete_then_404_deleted_and_history(client):
    etag = (await create(client)).headers["ETag"]
    object_id = etag.strip('"').split("::")[0]
    assert (await client.delete(f"{PERSON}/{object_id}")).status_code == 400
    deleted = await client.delete(f"{PERSON}/{object_id}", headers={"If-Match": etag, **AUDIT})
    assert deleted.status_code == 204
    gone = await client.get(f"{PERSON}/{object_id}")
    assert gone.status_code == 404
    assert gone.json()["code"] == "deleted"
    # the version before the deletion can still be read by its uid
    assert (await client.get(f"{PERSON}/{etag.strip(chr(34))}")).status_code == 200

    history = await client.get(f"{BASE}/demographic/versioned_party/{object_id}/revision_history")
    assert history.status_code == 200
    items = history.json()
    assert [item["version_id"]["value"].rsplit("::", 1)[1] for item in items] == ["1", "2"]
    assert [item["audits"][0]["change_type"]["value"] for item in items] == ["creation", "deleted"]
    assert items[0]["audits"][0]["committer"]["name"] == "Karin Skoterska"
    assert items[0]["audits"][0]["committer"]["identifiers"][0]["id"] == "SE2321000131-P000000000001"


async def test_versioned_party_version(client):
    uid = (await create(client)).headers["ETag"].strip('"')
    object_id = uid.split("::")[0]
    version = await client.get(f"{BASE}/demographic/versioned_party/{object_id}/version/{uid}")
    assert version.status_code == 200
    body = version.json()
    assert body["_type"] == "ORIGINAL_VERSION"
    assert body["uid"]["value"] == uid
    assert body["data"]["uid"]["value"] == uid
    other = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"{BASE}/demographic/versioned_party/{other}/version/{uid}")).status_code == 404
    assert (
        await client.get(f"{BASE}/demographic/versioned_party/{other}/revision_history")
    ).status_code == 404


async def test_unknown_person_is_404_and_bad_ids_400(client):
    assert (await client.get(f"{PERSON}/00000000-0000-4000-8000-000000000000")).status_code == 404
    assert (await client.get(f"{PERSON}/nonsense")).status_code == 400


async def test_bad_personnummer_is_422_with_the_path(client):
    good = personnummer(date(1950, 4, 2), 123)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    response = await client.post(PERSON, json=make_person(identifiers=[good, bad]))
    assert response.status_code == 422
    [detail] = response.json()["details"]
    assert detail["pointer"] == "/details/items/3/items/0/value/id"
    assert detail["path"].endswith(
        "/items[openEHR-DEMOGRAPHIC-CLUSTER.person_identifier.v0]/items[at0001]/value/id"
    )


async def test_template_violations_are_422_and_wrong_type_400(client):
    person = make_person()
    person["identities"] = []
    response = await client.post(PERSON, json=person)
    assert response.status_code == 422
    assert response.json()["details"][0]["path"] == "/identities"
    wrong = await client.post(PERSON, json={**make_person(), "_type": "ORGANISATION"})
    assert wrong.status_code == 400
    other_template = make_person()
    other_template["archetype_details"]["template_id"]["value"] = "vgr.journal_note.v1"
    assert (await client.post(PERSON, json=other_template)).status_code == 422
    assert (
        await client.post(PERSON, content=b"{", headers={"Content-Type": "application/json"})
    ).status_code == 400


async def test_a_personnummer_belongs_to_one_live_person(client):
    etag = (await create(client, make_person(identifiers=["19121212-1212"]))).headers["ETag"]
    twin = await client.post(PERSON, json=make_person(given="Bo", identifiers=["121212+1212"]))
    assert twin.status_code == 409
    assert twin.json()["code"] == "identifier_in_use"
    # the holder may keep its own number when it changes
    object_id = etag.strip('"').split("::")[0]
    same = await client.put(
        f"{PERSON}/{object_id}", json=make_person(given="Anna Maria"), headers={"If-Match": etag}
    )
    assert same.status_code == 204
    # once the holder is deleted the number is free again
    await client.delete(f"{PERSON}/{object_id}", headers={"If-Match": same.headers["ETag"]})
    await create(client, make_person(given="Bo", identifiers=["121212+1212"]))


async def test_concurrent_updates_with_the_same_if_match_one_wins(client):
    etag = (await create(client)).headers["ETag"]
    object_id = etag.strip('"').split("::")[0]
    responses = await asyncio.gather(*(
        client.put(f"{PERSON}/{object_id}", json=make_person(given=f"Namn{i}"), headers={"If-Match": etag})
        for i in range(8)
    ))  # fmt: skip
    assert sorted(r.status_code for r in responses) == [204] + [412] * 7
    history = (await client.get(f"{BASE}/demographic/versioned_party/{object_id}/revision_history")).json()
    assert len(history) == 2


async def test_concurrent_creates_with_one_personnummer_make_one_person(client):
    responses = await asyncio.gather(
        *(client.post(PERSON, json=make_person(given=f"P{i}")) for i in range(8))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7, [r.text for r in responses]


async def test_template_listing(client):
    templates = await client.get(f"{BASE}/definition/template/adl1.4")
    assert [t["template_id"] for t in templates.json()] == ["vgr.person.v1"]


async def test_the_unique_index_refuses_a_taken_number_even_past_the_check(client, demographics_app):
    """The pre-check can be raced; the database cannot: an update that slipped past it is a 409, not a 412."""
    await create(client, make_person(identifiers=["19121212-1212"]))
    other = (await create(client, make_person(given="Bo", identifiers=["20121212-1212"]))).headers["ETag"]
    persons = demographics_app.state.persons
    expected = VersionUid.parse(other)
    persons.search_repository.holders = (
        lambda numbers, other_than=None: {}
    )  # as if the other commit came later
    with pytest.raises(Conflict) as refused:
        persons.update(expected.object_id, expected, make_person(given="Bo", identifiers=["19121212-1212"]),
                       Committer())  # fmt: skip
    assert refused.value.code == "identifier_in_use"
    assert (await client.get(f"{PERSON}/{expected.object_id}")).headers["ETag"] == other  # nothing half-saved
