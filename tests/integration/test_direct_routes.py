"""Direct routes (services/kernel/direct_routes.py): the hot routes served without FastAPI's per-request
machinery answer exactly as FastAPI answers them, errors included, and nothing else changes."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response

from services.demographics.app import create_app as demographics_app
from services.demographics.settings import DemographicsSettings
from services.journal.app import create_app as journal_app
from services.journal.settings import JournalSettings
from services.kernel.direct_routes import DirectRoute, DirectRoutes, direct_routes
from services.kernel.errors import NotFound, install_error_handlers
from tests.integration.clinical_support import BASE, KNOWN_EHR, UNKNOWN_EHR, FakeDemographics, example

pytestmark = pytest.mark.anyio
NOTE = example("vgr.journal_note.v1", "halsfluss_vardcentral")
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def without_direct_routes(app: FastAPI) -> FastAPI:
    """The app with every request routed by FastAPI (before its first request builds the middleware)."""
    assert app.middleware_stack is None
    app.user_middleware = [m for m in app.user_middleware if m.cls is not DirectRoutes]
    return app


def answer(response: httpx.Response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "date")}
    return response.status_code, headers, response.content


@pytest.fixture
async def journal(tmp_path):
    settings = JournalSettings(database_url=f"sqlite:///{tmp_path}/j.db", migrate_on_startup=True,
                               ehr_cache_ttl_seconds=0)  # fmt: skip
    direct_app = journal_app(settings, demographics_transport=FakeDemographics().transport())
    plain_app = journal_app(settings, demographics_transport=FakeDemographics().transport())
    plain = without_direct_routes(plain_app)
    base = "http://journal.test"
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(direct_app), base_url=base) as direct_client,
        httpx.AsyncClient(transport=httpx.ASGITransport(plain), base_url=base) as plain_client,
    ):
        yield direct_client, plain_client
    direct_app.state.service.store.engine.dispose()
    plain_app.state.service.store.engine.dispose()


def test_the_composition_routes_and_the_query_are_direct_and_the_rest_is_not(tmp_path):
    app = journal_app(JournalSettings(database_url=f"sqlite:///{tmp_path}/j.db", migrate_on_startup=True))
    served = {(method, f"{prefix}{route.path}") for prefix, route in direct_routes(app_api(app), BASE)
              for method in route.methods}  # fmt: skip
    composition, one = f"{BASE}/ehr/{{ehr_id}}/composition", f"{BASE}/ehr/{{ehr_id}}/composition/{{uid}}"
    query = f"{BASE}/query/compositions"
    assert {("POST", composition), ("GET", one), ("PUT", one), ("DELETE", one), ("GET", query)} <= served
    assert not any("versioned_composition" in path or "definition" in path for _, path in served)
    app.state.service.store.engine.dispose()


def app_api(app: FastAPI) -> APIRouter:
    """The module's API router as new_service_app included it (its direct routes are what DirectRoutes serves)."""
    for middleware in app.user_middleware:
        if middleware.cls is DirectRoutes:
            router = APIRouter()
            router.routes.extend(route for _, route in middleware.kwargs["routes"])
            return router
    raise AssertionError("no DirectRoutes in the app")


async def test_writes_and_reads_answer_the_same_through_either_path(journal):
    direct, plain = journal
    outcomes = []
    for client in (direct, plain):
        created = await client.post(f"{BASE}/ehr/{KNOWN_EHR}/composition", json=NOTE,
                                    headers={"Prefer": "return=representation"})  # fmt: skip
        uid = created.headers["ETag"].strip('"')
        object_id = uid.split("::")[0]
        one = f"{BASE}/ehr/{KNOWN_EHR}/composition/{object_id}"
        updated = await client.put(one, json=NOTE, headers={"If-Match": uid})
        stale = await client.put(one, json=NOTE, headers={"If-Match": uid})
        deleted = await client.delete(one, headers={"If-Match": updated.headers["ETag"]})
        gone = await client.get(one)
        outcomes.append([
            (r.status_code, sorted(k for k in r.headers if k not in ("date", "x-request-id")))
            for r in (created, updated, stale, deleted, gone)
        ])  # fmt: skip
        assert created.status_code == 201 and json.loads(created.content)["uid"]["value"] == uid
        assert created.headers["Location"] == f"http://journal.test{BASE}/ehr/{KNOWN_EHR}/composition/{uid}"
        assert gone.json()["code"] == "deleted"
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("GET", f"/ehr/{KNOWN_EHR}/composition/{{uid}}", None, {}),
        ("GET", f"/ehr/{KNOWN_EHR}/composition/{{version}}", None, {}),
        ("GET", f"/ehr/{UNKNOWN_EHR}/composition/{{uid}}", None, {}),
        ("GET", f"/ehr/{KNOWN_EHR}/composition/not-a-uuid", None, {}),
        ("GET", "/ehr/not-a-uuid/composition/{uid}", None, {}),
        ("GET", f"/ehr/{KNOWN_EHR}/composition/{{uid}}::other.system::1", None, {}),
        ("PUT", f"/ehr/{KNOWN_EHR}/composition/{{uid}}", NOTE, {}),  # no If-Match: 400
        ("PUT", f"/ehr/{KNOWN_EHR}/composition/{{uid}}", NOTE, {"If-Match": "{uid}::journal.vgr.se::9"}),  # 412
        ("PUT", f"/ehr/{KNOWN_EHR}/composition/{{uid}}", "{not json", {"If-Match": "{version}"}),
        ("POST", f"/ehr/{KNOWN_EHR}/composition", {"_type": "PARTY"}, {}),
        ("POST", f"/ehr/{KNOWN_EHR}/composition", {**NOTE, "name": 7}, {}),  # 422 with paths
        ("POST", f"/ehr/{UNKNOWN_EHR}/composition", NOTE, {}),  # 404: demographics does not know it
        ("DELETE", f"/ehr/{KNOWN_EHR}/composition/{{uid}}", None, {"If-Match": "{uid}::journal.vgr.se::2"}),
        ("PATCH", f"/ehr/{KNOWN_EHR}/composition/{{uid}}", None, {}),  # not a direct route: 405 by FastAPI
        ("GET", f"/ehr/{KNOWN_EHR}/versioned_composition/{{uid}}/revision_history", None, {}),  # not direct
        ("GET", f"/query/compositions?ehr_id={KNOWN_EHR}&ehr_id={UNKNOWN_EHR}&sort=date&limit=5", None, {}),
        ("GET", "/query/compositions?diagnosis_code=J06.9&date_from=2020-01-01&date_to=2030-01-01", None, {}),
        ("GET", "/query/compositions?offset=-1&limit=abc&sort=up", None, {}),  # three errors, each named
        ("GET", "/query/compositions?limit=1001&offset=5", None, {}),
        ("GET", "/query/compositions?date_from=yesterday", None, {}),
        ("GET", "/query/compositions?offset=3&limit=2", None, {}),  # past the end: the total still counted
    ],
)
async def test_a_request_gets_the_same_answer_through_either_path(journal, method, path, body, headers):
    direct, plain = journal
    created = await direct.post(f"{BASE}/ehr/{KNOWN_EHR}/composition", json=NOTE)
    version = created.headers["ETag"].strip('"')
    uid = version.split("::")[0]

    def filled(text: str) -> str:
        return text.replace("{uid}", uid).replace("{version}", version)

    content = body if isinstance(body, str) else None if body is None else json.dumps(body)
    request = {"headers": {**JSON, **{k: filled(v) for k, v in headers.items()}}, "content": content}
    through_direct = await direct.request(method, BASE + filled(path), **request)
    through_fastapi = await plain.request(method, BASE + filled(path), **request)
    assert answer(through_direct) == answer(through_fastapi)
    assert through_direct.status_code < 500


async def test_person_reads_and_searches_answer_the_same_through_either_path(tmp_path):
    settings = DemographicsSettings(database_url=f"sqlite:///{tmp_path}/d.db", migrate_on_startup=True)
    app = demographics_app(settings)
    plain = without_direct_routes(demographics_app(settings))
    person = example("vgr.person.v1", "tolvan_tolvansson")
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://d.test") as direct,
        httpx.AsyncClient(transport=httpx.ASGITransport(plain), base_url="http://d.test") as fastapi,
    ):
        created = await direct.post(f"{BASE}/demographic/person", json=person)
        uid = created.headers["ETag"].strip('"')
        for path in (f"/demographic/person/{uid}", f"/demographic/person/{uid.split('::')[0]}",
                     "/demographic/person/nope", "/demographic/person?family=x", "/demographic/person?limit=x",
                     "/demographic/person?birthdate=ap2000"):  # fmt: skip
            assert answer(await direct.get(BASE + path)) == answer(await fastapi.get(BASE + path)), path


# --- the layer itself, on a small app -----------------------------------------------------------------


def small_app() -> FastAPI:
    direct = APIRouter(route_class=DirectRoute)

    @direct.get("/things/{thing_id:int}")
    async def thing(request: Request) -> Response:
        thing_id = request.path_params["thing_id"]
        if thing_id == 0:
            raise NotFound("no thing 0", "thing_not_found")
        if thing_id == 13:
            raise RuntimeError("unlucky")
        # FastAPI's request handling leaves its exit stacks in the scope; the direct layer does not.
        served_by = "fastapi" if "fastapi_inner_astack" in request.scope else "direct"
        body = {"id": thing_id, "type": type(thing_id).__name__, "served_by": served_by}
        return Response(json.dumps(body), media_type="application/json")

    app = FastAPI()
    app.include_router(direct, prefix="/api")
    install_error_handlers(app)
    app.add_middleware(DirectRoutes, routes=direct_routes(direct, "/api"), exception_handlers=app.exception_handlers)
    return app


async def test_without_the_layer_fastapi_serves_the_same_endpoint():
    app = without_direct_routes(small_app())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://x.test") as client:
        assert (await client.get("/api/things/7")).json() == {"id": 7, "type": "int", "served_by": "fastapi"}


async def test_path_parameters_are_converted_and_errors_go_to_the_apps_handlers():
    app = small_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app, raise_app_exceptions=False),
                                 base_url="http://x.test") as client:  # fmt: skip
        assert (await client.get("/api/things/7")).json() == {"id": 7, "type": "int", "served_by": "direct"}
        missing = await client.get("/api/things/0")
        assert missing.status_code == 404 and missing.json()["code"] == "thing_not_found"
        assert (await client.get("/api/things/seven")).status_code == 404  # no route: FastAPI's 404
        assert (await client.get("/api/things/13")).status_code == 500  # not a service error: a 500


async def test_a_root_path_is_stripped_as_starlette_strips_it():
    app = small_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app, root_path="/proxied"),
                                 base_url="http://x.test") as client:  # fmt: skip
        assert (await client.get("/proxied/api/things/7")).json() == {"id": 7, "type": "int", "served_by": "direct"}


def test_a_direct_route_must_take_the_request_and_be_async():
    router = APIRouter(route_class=DirectRoute)

    def blocking(request: Request) -> Response:
        return Response()

    async def with_parameters(request: Request, thing_id: int) -> Response:
        return Response()

    for endpoint in (blocking, with_parameters):
        with pytest.raises(TypeError, match="direct route"):
            router.add_api_route("/x/{thing_id}", endpoint)
