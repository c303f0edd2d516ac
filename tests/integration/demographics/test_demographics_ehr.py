import asyncio
import uuid

import httpx
import pytest

from services.demographics.examples import ehr_status
from services.kernel.ehr_directory import EhrDirectory
from tests.integration.demographics.conftest import BASE

pytestmark = pytest.mark.anyio


async def test_create_then_get_and_find_by_subject_in_any_form(client):
    response = await client.post(f"{BASE}/ehr", json=ehr_status("19121212-1212"))
    assert response.status_code == 201, response.text
    ehr = response.json()
    ehr_id = ehr["ehr_id"]["value"]
    assert uuid.UUID(ehr_id)
    assert ehr["system_id"]["value"] == "demographics.vgr.se"
    assert ehr["ehr_status"]["subject"]["external_ref"]["id"]["value"] == "191212121212"
    assert ehr["ehr_status"]["uid"]["value"].endswith("::demographics.vgr.se::1")
    assert ehr["time_created"]["value"]
    assert response.headers["Location"] == f"http://demographics.test{BASE}/ehr/{ehr_id}"
    assert response.headers["ETag"] == f'"{ehr_id}"'

    got = await client.get(f"{BASE}/ehr/{ehr_id}")
    assert got.status_code == 200
    assert got.json() == ehr

    for form in ("191212121212", "19121212-1212", "121212+1212"):
        found = await client.get(
            f"{BASE}/ehr", params={"subject_id": form, "subject_namespace": "vgr.demographics"}
        )
        assert found.status_code == 200, form
        assert found.json()["ehr_id"]["value"] == ehr_id


async def test_prefer_minimal_gives_headers_only(client):
    response = await client.post(f"{BASE}/ehr", json=ehr_status(), headers={"Prefer": "return=minimal"})
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["Location"].endswith(response.headers["ETag"].strip('"'))


async def test_second_ehr_for_the_same_subject_is_409(client):
    assert (await client.post(f"{BASE}/ehr", json=ehr_status("19121212-1212"))).status_code == 201
    again = await client.post(f"{BASE}/ehr", json=ehr_status("121212+1212"))
    assert again.status_code == 409
    assert again.json()["code"] == "ehr_exists_for_subject"


async def test_put_with_a_fixed_id(client):
    ehr_id = str(uuid.uuid4())
    response = await client.put(f"{BASE}/ehr/{ehr_id}", json=ehr_status())
    assert response.status_code == 201
    assert response.json()["ehr_id"]["value"] == ehr_id
    other = await client.put(f"{BASE}/ehr/{ehr_id}", json=ehr_status("20121212-1212"))
    assert other.status_code == 409
    assert other.json()["code"] == "ehr_exists"
    assert (await client.put(f"{BASE}/ehr/not-a-uuid", json=ehr_status())).status_code == 400


async def test_bad_personnummer_is_422_with_the_path(client):
    response = await client.post(f"{BASE}/ehr", json=ehr_status("19121212-1213", "personnummer"))
    assert response.status_code == 422
    body = response.json()
    assert body["details"][0]["path"] == "/subject/external_ref/id/value"
    assert "check digit" in body["details"][0]["message"]


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b'{"_type": "COMPOSITION"}', 400),
        (b"[]", 400),
        (b'{"_type": "EHR_STATUS"}', 422),
    ],
)
async def test_malformed_bodies(client, content, status):
    response = await client.post(f"{BASE}/ehr", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert set(response.json()) == {"message", "code", "details"}


async def test_unknown_ehr_and_subject_are_404(client):
    assert (await client.get(f"{BASE}/ehr/{uuid.uuid4()}")).status_code == 404
    missing = await client.get(f"{BASE}/ehr", params={"subject_id": "191212121212"})
    assert missing.status_code == 404
    other_namespace = await client.get(
        f"{BASE}/ehr", params={"subject_id": "191212121212", "subject_namespace": "x"}
    )
    assert other_namespace.status_code == 404
    assert (await client.get(f"{BASE}/ehr", params={"subject_id": "19121212-1213"})).status_code == 400
    assert (await client.get(f"{BASE}/ehr/not-a-uuid")).status_code == 400


async def test_concurrent_creates_for_one_subject_make_one_ehr(client):
    responses = await asyncio.gather(*(client.post(f"{BASE}/ehr", json=ehr_status()) for _ in range(12)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 11, [r.text for r in responses if r.status_code not in (201, 409)]


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


async def test_the_kernel_ehr_directory_understands_demographics(client, demographics_app):
    """What the clinical modules do: ask demographics whether an EHR exists (kernel EhrDirectory)."""
    ehr_id = (await client.post(f"{BASE}/ehr", json=ehr_status())).json()["ehr_id"]["value"]
    directory = EhrDirectory("http://demographics.test", transport=httpx.ASGITransport(demographics_app))
    try:
        assert await directory.exists(ehr_id) is True
        assert await directory.exists(str(uuid.uuid4())) is False
        assert await directory.exists("not-a-uuid") is False
        assert await directory.ping() is True
    finally:
        await directory.aclose()
