from __future__ import annotations

import httpx
import pytest

from services.demographics.app import create_app
from services.demographics.settings import DemographicsSettings
from tests.integration.demographics.fakes import FAKE_TEMPLATES, fake_validator

BASE = "/rest/openehr/v1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(database_url) -> DemographicsSettings:
    return DemographicsSettings(database_url=database_url, migrate_on_startup=True)


@pytest.fixture
def demographics_app(settings):
    app = create_app(settings, validator=fake_validator, templates=FAKE_TEMPLATES)
    yield app
    app.state.engine.dispose()


@pytest.fixture
async def client(demographics_app):
    transport = httpx.ASGITransport(demographics_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demographics.test") as c:
        yield c
