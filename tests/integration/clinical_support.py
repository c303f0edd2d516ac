"""What the medication and referrals integration tests share: the templates' example compositions,
a fake demographics (httpx.MockTransport) and an in-process client for an app (httpx.ASGITransport)."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.kernel.careflow import with_added_action
from services.kernel.settings import ClinicalSettings

BASE = "/rest/openehr/v1"
EXAMPLES = Path(__file__).resolve().parents[2] / "archetypes" / "examples"
KNOWN_EHR = "5b0c4f0e-3f9e-4c5e-9d59-1a7d1f3b2c11"
OTHER_EHR = "9e2d7a61-8c0b-4f1e-a6d3-2b4c5d6e7f80"
UNKNOWN_EHR = "00000000-0000-4000-8000-00000000dead"


def example(template_id: str, name: str, folder: str = "valid") -> dict:
    return json.loads((EXAMPLES / template_id / folder / f"{name}.json").read_text(encoding="utf-8"))


def entries(composition: dict, archetype_id: str) -> list[dict]:
    return [e for e in composition["content"] if e.get("archetype_node_id") == archetype_id]


def without(composition: dict, archetype_id: str) -> dict:
    """A copy without the top-level entries of an archetype (e.g. an order without its ACTIONs)."""
    return {
        **copy.deepcopy(composition),
        "content": [e for e in composition["content"] if e.get("archetype_node_id") != archetype_id],
    }


def added(composition: dict, action: dict) -> dict:
    return with_added_action({k: v for k, v in composition.items() if k != "uid"}, action)


def with_start_time(composition: dict, start_time: str) -> dict:
    result = copy.deepcopy(composition)
    result["context"]["start_time"]["value"] = start_time
    return result


class FakeDemographics:
    """Knows KNOWN_EHR and OTHER_EHR."""

    def __init__(self):
        self.known = {KNOWN_EHR, OTHER_EHR}

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        ehr_id = request.url.path.rsplit("/", 1)[-1]
        if ehr_id in self.known:
            return httpx.Response(200, json={"ehr_id": {"value": ehr_id}})
        return httpx.Response(404, json={"message": "no such EHR", "code": "not_found", "details": []})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


@asynccontextmanager
async def module_client(
    create_app: Callable[..., FastAPI], settings_class: type[ClinicalSettings], database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of a module's app on that database, with the real templates and archetype
    validator and a fake demographics."""
    settings = settings_class(database_url=database_url, migrate_on_startup=True, ehr_cache_ttl_seconds=0)
    app = create_app(settings, demographics_transport=FakeDemographics().transport())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://module.test") as client:
        yield client
    app.state.service.store.engine.dispose()


class Api:
    """The composition endpoints of one module, for one EHR, with the assertions every test makes."""

    def __init__(self, client: httpx.AsyncClient, ehr_id: str = KNOWN_EHR):
        self.client = client
        self.ehr_id = ehr_id

    async def create(self, composition: dict, expect: int = 201) -> httpx.Response:
        response = await self.client.post(f"{BASE}/ehr/{self.ehr_id}/composition", json=composition)
        assert response.status_code == expect, response.text
        return response

    async def update(self, object_id: str, etag: str, composition: dict, expect: int = 200) -> httpx.Response:
        response = await self.client.put(
            f"{BASE}/ehr/{self.ehr_id}/composition/{object_id}",
            json=composition,
            headers={"If-Match": etag, "Prefer": "return=representation"},
        )
        assert response.status_code == expect, response.text
        return response

    async def latest(self, object_id: str) -> httpx.Response:
        response = await self.client.get(f"{BASE}/ehr/{self.ehr_id}/composition/{object_id}")
        assert response.status_code == 200, response.text
        return response

    async def history(self, object_id: str) -> list[dict]:
        response = await self.client.get(
            f"{BASE}/ehr/{self.ehr_id}/versioned_composition/{object_id}/revision_history"
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def query(self, **params) -> dict:
        response = await self.client.get(f"{BASE}/query/compositions", params=params)
        assert response.status_code == 200, response.text
        return response.json()


def object_id_of(response: httpx.Response) -> str:
    return response.headers["ETag"].strip('"').split("::")[0]
