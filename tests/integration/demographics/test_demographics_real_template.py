"""Demographics with the real validator and the project's vgr.person.v1 (what production runs)."""

import json
from pathlib import Path

import httpx
import pytest

from services.demographics.app import create_app
from services.demographics.examples import TEMPLATE_ID
from services.demographics.settings import DemographicsSettings
from tests.integration.demographics.conftest import BASE

pytestmark = pytest.mark.anyio
EXAMPLES = Path(__file__).resolve().parents[3] / "archetypes" / "examples" / TEMPLATE_ID
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture
async def real_client(database_url):
    app = create_app(DemographicsSettings(database_url=database_url, migrate_on_startup=True))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://demographics.test"
    ) as c:
        yield c
    app.state.engine.dispose()


async def test_the_template_examples_are_stored_and_found(real_client):
    for path in sorted((EXAMPLES / "valid").glob("*.json")):
        response = await real_client.post(f"{BASE}/demographic/person", content=path.read_bytes(),
                                          headers={"Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 201, (path.name, response.text)
    found = (await real_client.get(f"{BASE}/demographic/person", params={"name": "tolv"})).json()
    assert found["total"] == 1
    assert found["items"][0]["person"]["archetype_details"]["template_id"]["value"] == TEMPLATE_ID
    by_number = await real_client.get(f"{BASE}/demographic/person", params={"identifier": "550361-4025"})
    assert by_number.json()["total"] == 1
    reserve = await real_client.get(f"{BASE}/demographic/person", params={"identifier": "VGR-R-2026-000317"})
    assert reserve.json()["total"] == 1
    listed = await real_client.get(f"{BASE}/definition/template/adl1.4")
    assert [t["template_id"] for t in listed.json()] == [TEMPLATE_ID]


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_template_violations_are_422_with_the_validator_path(real_client, name):
    content = (EXAMPLES / "invalid" / name).read_bytes()
    response = await real_client.post(
        f"{BASE}/demographic/person", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    details = response.json()["details"]
    # the validator may point deeper than the example's expectation (at the attribute that is wrong)
    assert any(detail["pointer"].startswith(EXPECTED[name]["pointer"]) for detail in details), details
