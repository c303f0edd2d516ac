import pytest

from tests.integration.journal.conftest import BASE
from tests.integration.journal.fakes import KNOWN_EHR, journal_note

pytestmark = pytest.mark.anyio


async def test_create_and_read(client):
    created = await client.post(f"{BASE}/ehr/{KNOWN_EHR}/composition", json=journal_note())
    assert created.status_code == 201, created.text
    read = await client.get(created.headers["Location"])
    assert read.status_code == 200, read.text
    print(read.json()["uid"], created.headers)
