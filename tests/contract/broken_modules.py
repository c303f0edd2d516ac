"""Deliberately broken providers (uvicorn factories) that the pact verification must catch.

- demographics whose EHR answer says `ehrId` instead of `ehr_id` (a field the gateway and the
  clinical modules read);
- medication that answers a composition without its `ETag` (the gateway's version uid).
"""

from __future__ import annotations

import json
import re

from fastapi import FastAPI, Request
from fastapi.responses import Response

from services.demographics.app import create_app as demographics_app
from services.medication.app import create_app as medication_app

_EHR_PATH = re.compile(r"^/rest/openehr/v1/ehr/[^/]+$")
_COMPOSITION_PATH = re.compile(r"^/rest/openehr/v1/ehr/[^/]+/composition/[^/]+$")


async def _body(response) -> bytes:
    return b"".join([chunk async for chunk in response.body_iterator])


def _copy(response, body: bytes, drop: tuple[str, ...] = ()) -> Response:
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", *drop)}
    return Response(body, status_code=response.status_code, headers=headers)


def renamed_ehr_id() -> FastAPI:
    app = demographics_app()

    @app.middleware("http")
    async def rename(request: Request, call_next):
        response = await call_next(request)
        if request.method != "GET" or not _EHR_PATH.match(request.url.path) or response.status_code != 200:
            return response
        body = json.loads(await _body(response))
        body["ehrId"] = body.pop("ehr_id")
        return _copy(response, json.dumps(body).encode())

    return app


def no_etag() -> FastAPI:
    app = medication_app()

    @app.middleware("http")
    async def drop(request: Request, call_next):
        response = await call_next(request)
        if request.method != "GET" or not _COMPOSITION_PATH.match(request.url.path):
            return response
        return _copy(response, await _body(response), drop=("etag",))

    return app
