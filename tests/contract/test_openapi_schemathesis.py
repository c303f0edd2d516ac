"""schemathesis runs each module's committed OpenAPI document against the real app, in-process
(ASGI), on a fresh SQLite database: examples, coverage (positive and negative) and fuzzing phases,
bounded and seeded. No 5xx, only documented status codes and content types, responses that match
their schemas, malformed requests rejected. The same runner is what the vendor kit uses on a URL."""

from __future__ import annotations

import os

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from contracts.openapi import check_api
from contracts.openapi.documents import SERVICES, create_module_app

# Small and fixed by default (the whole suite stays fast and repeatable); a nightly job can search wider
# with OPENAPI_FUZZ_EXAMPLES=200 OPENAPI_FUZZ_SEED=$RANDOM (a finding prints its curl reproduction).
MAX_EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("OPENAPI_FUZZ_SEED", "20261124"))


def every_ehr_exists(request: httpx.Request) -> httpx.Response:
    """A demographics that knows every EHR, so generated ehr_ids reach the composition use cases."""
    if request.url.path in ("/health", "/ready"):
        return httpx.Response(200, json={"status": "ok"})
    return httpx.Response(200, json={"ehr_id": {"value": request.url.path.rsplit("/", 1)[-1]}})


def dispose(*apps: FastAPI) -> None:
    for app in apps:
        engine = getattr(app.state, "engine", None) or getattr(getattr(app.state, "service", None), "store", None)
        engine = getattr(engine, "engine", engine)
        if engine is not None:
            engine.dispose()


def assert_conforms(module: str, findings) -> None:
    assert not findings, f"schemathesis found {len(findings)} problem(s) in {module}:\n" + "\n".join(
        str(finding) for finding in findings
    )


@pytest.mark.parametrize("module", SERVICES)
def test_each_module_conforms_to_its_committed_document(module, tmp_path):
    extra = {} if module == "demographics" else {"demographics_transport": httpx.MockTransport(every_ehr_exists)}
    app = create_module_app(module, f"sqlite:///{tmp_path}/{module}.db", **extra)
    try:
        findings = check_api(module, f"http://{module}.test", max_examples=MAX_EXAMPLES, seed=SEED, app=app)
    finally:
        dispose(app)
    assert_conforms(module, findings)


def test_the_gateway_conforms_to_its_committed_document_in_front_of_the_real_modules(tmp_path):
    demographics = create_module_app("demographics", f"sqlite:///{tmp_path}/demographics.db")
    modules = {"demographics": demographics}
    for name in ("journal", "medication", "referrals"):
        modules[name] = create_module_app(
            name, f"sqlite:///{tmp_path}/{name}.db", demographics_transport=httpx.ASGITransport(demographics)
        )
    gateway = create_module_app("gateway", "", transport={n: httpx.ASGITransport(a) for n, a in modules.items()})
    try:
        findings = check_api("gateway", "http://gateway.test", max_examples=MAX_EXAMPLES, seed=SEED, app=gateway)
    finally:
        dispose(*modules.values())
    assert_conforms("gateway", findings)


# -- the runner catches what it must (a broken implementation of a tiny documented API) --------------

ERROR = {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
THING = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}


def tiny_document() -> dict:
    def operation(responses: dict, parameters: list | None = None) -> dict:
        return {"parameters": parameters or [], "responses": responses}

    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": THING}}}}
    count = [{"in": "query", "name": "n", "required": True, "schema": {"type": "integer", "minimum": 0}}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "tiny", "version": "1"},
        "paths": {
            "/crash": {"get": operation(ok)},
            "/teapot": {"get": operation(ok)},
            "/shape": {"get": operation(ok)},
            "/text": {"get": operation(ok)},
            "/lenient": {
                "get": operation(
                    {**ok, "400": {"description": "bad", "content": {"application/json": {"schema": ERROR}}}}, count
                )
            },  # fmt: skip
        },
    }


def broken_app() -> FastAPI:
    app = FastAPI()

    @app.get("/crash")
    def crash() -> Response:
        return JSONResponse({"message": "boom"}, status_code=500)

    @app.get("/teapot")
    def teapot() -> Response:
        return JSONResponse({"message": "no"}, status_code=418)

    @app.get("/shape")
    def shape() -> Response:
        return JSONResponse({"identifier": "not an integer id"})

    @app.get("/text")
    def text() -> Response:
        return Response("id=1", media_type="text/plain")

    @app.get("/lenient")
    def lenient() -> Response:  # accepts a missing or negative `n`
        return JSONResponse({"id": 1})

    return app


def test_the_runner_names_each_kind_of_fault_with_a_reproduction():
    findings = check_api("tiny", "http://tiny.test", max_examples=5, seed=SEED, app=broken_app(),
                         document=tiny_document())  # fmt: skip
    by_operation = {}
    for finding in findings:
        by_operation.setdefault(finding.operation, set()).add(finding.check)
    assert "not_a_server_error" in by_operation["GET /crash"]
    assert "status_code_conformance" in by_operation["GET /teapot"]
    assert "response_schema_conformance" in by_operation["GET /shape"]
    assert "content_type_conformance" in by_operation["GET /text"]
    assert "negative_data_rejection" in by_operation["GET /lenient"]
    crash = next(f for f in findings if f.operation == "GET /crash")
    assert crash.status == 500 and "curl" in crash.reproduction and "/crash" in crash.reproduction
