"""One error model for every module: the openEHR error body, raised as exceptions, rendered by handlers.

Routes never build error responses themselves; they raise one of these and
`install_error_handlers` turns it into `{"message", "code", "details"}` with the right status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from services.kernel import jsontext


@dataclass(frozen=True)
class ErrorDetail:
    """One issue: where (openEHR path and JSON pointer) and what."""

    path: str
    pointer: str
    message: str

    def as_json(self) -> dict:
        return {"path": self.path, "pointer": self.pointer, "message": self.message}


@dataclass
class ServiceError(Exception):
    """Base of every error a module reports to its callers."""

    message: str
    code: str = "error"
    details: list[ErrorDetail] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    status = 500

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict:
        return {"message": self.message, "code": self.code, "details": [d.as_json() for d in self.details]}


class BadRequest(ServiceError):
    status = 400

    def __init__(self, message: str, code: str = "bad_request", details: list[ErrorDetail] | None = None):
        super().__init__(message, code, details or [])


class NotFound(ServiceError):
    status = 404

    def __init__(self, message: str, code: str = "not_found"):
        super().__init__(message, code)


class Deleted(NotFound):
    """The object exists but its latest version is a deletion (the gateway maps it to 410)."""

    def __init__(self, message: str):
        super().__init__(message, "deleted")


class Conflict(ServiceError):
    status = 409

    def __init__(self, message: str, code: str = "conflict", details: list[ErrorDetail] | None = None):
        super().__init__(message, code, details or [])


class PreconditionFailed(ServiceError):
    """Stale If-Match: carries the current version's ETag so the client can re-read and retry."""

    status = 412

    def __init__(self, message: str, current_etag: str | None):
        super().__init__(message, "precondition_failed", [], {"ETag": current_etag} if current_etag else {})


class UnprocessableEntity(ServiceError):
    status = 422

    def __init__(self, message: str, details: list[ErrorDetail], code: str = "template_violation"):
        super().__init__(message, code, details)


class ServiceUnavailable(ServiceError):
    status = 503

    def __init__(self, message: str, code: str = "dependency_unavailable"):
        super().__init__(message, code)


def error_response(error: ServiceError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def _pointer(location: tuple) -> str:
    # FastAPI locations start with where the value came from ("query", "body", ...).
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in location[1:]]
    return "/" + "/".join(parts) if parts else ""


async def _service_error(_: Request, error: ServiceError) -> JSONResponse:
    return error_response(error)


async def _database_unavailable(_: Request, error: sa.exc.OperationalError) -> JSONResponse:
    # The server is down or unreachable, the connection broke, SQLite's file is locked or unreadable:
    # nothing was written (every write is one transaction), and the client may try again. The driver's
    # message goes to the log only (it can name hosts and files).
    logging.getLogger("openehr.database").error("database unavailable: %s: %s", type(error.orig).__name__, error.orig)
    return error_response(ServiceUnavailable("The module's database is unavailable; try again later",
                                             "database_unavailable"))  # fmt: skip


async def _request_validation(_: Request, error: RequestValidationError) -> JSONResponse:
    # Bad parameters and undecodable bodies are the client's fault: 400, never 422 (422 means template).
    details = [
        ErrorDetail(
            path=".".join(str(p) for p in e.get("loc", ())),
            pointer=_pointer(tuple(e.get("loc", ()))),
            message=e.get("msg", "invalid"),
        )
        for e in error.errors()
    ]
    return error_response(BadRequest("The request is malformed", "bad_request", details))


async def _nested_too_deep(_: Request, error: RecursionError) -> JSONResponse:
    # The walks over a document (index, care flow) and the standard library's encoder recurse once per
    # level: a document nested deeper than they reach is the client's (orjson parses up to 1,024 levels,
    # and a template's open ITEM_STRUCTUREs let CLUSTERs nest without bound). Whatever the request wrote
    # was rolled back with the exception (a savepoint or a transaction).
    return error_response(BadRequest("The document is nested too deep to process", "nested_too_deep"))


async def _http_exception(_: Request, error: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable"}.get(
        error.status_code, "error"
    )
    return JSONResponse(
        {"message": str(error.detail), "code": code, "details": []},
        status_code=error.status_code,
        headers=getattr(error, "headers", None),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(sa.exc.OperationalError, _database_unavailable)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RecursionError, _nested_too_deep)


async def json_body(request: Request) -> object:
    """The request body parsed as JSON, or 400 (FastAPI's own body parsing would answer 422)."""
    try:
        raw = await request.body()
    except ClientDisconnect:
        # The client left mid-upload: nothing was read, nothing is stored, nobody gets the answer.
        raise BadRequest("The client disconnected before the body was complete", "incomplete_body") from None
    try:
        return jsontext.loads(raw, storable=True)
    except jsontext.UnstorableText as error:
        raise BadRequest(f"The body cannot be stored: {error}", "unstorable_text") from error
    except ValueError as error:  # also UnicodeDecodeError and json.JSONDecodeError
        raise BadRequest(f"The body is not valid JSON: {error}", "malformed_json") from error


ERROR_BODY_SCHEMA = {
    "type": "object",
    "required": ["message", "code", "details"],
    "properties": {
        "message": {"type": "string"},
        "code": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "pointer": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI `responses=` entries for the error statuses a route can return."""
    text = {
        400: "Malformed request",
        404: "Not found (or deleted, code `deleted`)",
        409: "Conflict",
        412: "Stale If-Match (the current ETag is in the ETag header)",
        422: "Template violation",
        503: "Unavailable: the module's database or a module it depends on (code `database_unavailable` or"
        " `dependency_unavailable`)",
    }
    return {
        s: {
            "description": text.get(s, "Error"),
            "content": {"application/json": {"schema": ERROR_BODY_SCHEMA}},
        }
        for s in statuses
    }
