"""The module's own database server unreachable: 503 with the openEHR error body, on reads and writes.

(An embedded SQLite file that cannot be opened stops the module at startup instead: its schema is made
or checked then.)"""

from __future__ import annotations

import httpx
import pytest

from services.journal.app import create_app
from services.journal.settings import JournalSettings
from tests.integration.journal.conftest import BASE
from tests.integration.journal.fakes import FAKE_TEMPLATES, KNOWN_EHR, FakeDemographics, fake_validator, journal_note

pytestmark = pytest.mark.anyio
NOTE_ID = "0f6a9a4e-55b5-4c55-8c3c-3f1f3e0f3c2b"


async def test_an_unreachable_database_server_answers_503_database_unavailable():
    database_url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
    app = create_app(JournalSettings(database_url=database_url, ehr_cache_ttl_seconds=0), validator=fake_validator,
                     templates=FAKE_TEMPLATES, demographics_transport=FakeDemographics().transport())  # fmt: skip
    compositions = f"{BASE}/ehr/{KNOWN_EHR}/composition"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://journal.test") as client:
        answers = [
            await client.get(f"{compositions}/{NOTE_ID}"),
            await client.get(f"{compositions}/{NOTE_ID}::journal.test::1"),
            await client.get(f"{BASE}/ehr/{KNOWN_EHR}/versioned_composition/{NOTE_ID}/revision_history"),
            await client.get(f"{BASE}/query/compositions", params={"ehr_id": KNOWN_EHR}),
            await client.post(compositions, json=journal_note()),
            await client.put(f"{compositions}/{NOTE_ID}", json=journal_note(),
                             headers={"If-Match": f'"{NOTE_ID}::journal.test::1"'}),
            await client.delete(f"{compositions}/{NOTE_ID}", headers={"If-Match": f'"{NOTE_ID}::journal.test::1"'}),
        ]  # fmt: skip
    for answer in answers:
        assert answer.status_code == 503, (answer.request.url, answer.text)
        assert answer.json() == {"message": "The module's database is unavailable; try again later",
                                 "code": "database_unavailable", "details": []}  # fmt: skip
    app.state.service.store.engine.dispose()
