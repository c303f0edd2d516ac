from __future__ import annotations

import httpx
import pytest

from services.journal.app import create_app
from services.journal.settings import JournalSettings
from tests.integration.journal.fakes import FAKE_TEMPLATES, FakeDemographics, fake_validator

BASE = "/rest/openehr/v1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def demographics() -> FakeDemographics:
    return FakeDemographics()


@pytest.fixture
def journal_app(database_url, demographics):
    settings = JournalSettings(database_url=database_url, migrate_on_startup=True, ehr_cache_ttl_seconds=0)
    return create_app(
        settings,
        validator=fake_validator,
        templates=FAKE_TEMPLATES,
        demographics_transport=demographics.transport(),
    )


@pytest.fixture
async def client(journal_app):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(journal_app), base_url="http://journal.test"
    ) as c:
        yield c
    journal_app.state.service.store.engine.dispose()
