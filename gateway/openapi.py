"""The gateway's OpenAPI document says what its FHIR routes really answer.

FastAPI cannot see it from the route functions (they read and render FHIR bodies themselves), so
this completes the generated document: FHIR media types (JSON and XML) on every /fhir answer and
request body, the success status of each interaction (201 on create, 204 on delete), and the
OperationOutcome error statuses of the FHIR error model instead of FastAPI's 422 "Validation Error".
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

FHIR_MEDIA_TYPES = ("application/fhir+json", "application/fhir+xml")
_RESOURCE = {"type": "object", "properties": {"resourceType": {"type": "string"}}, "required": ["resourceType"]}
_OUTCOME = {
    "type": "object",
    "properties": {"resourceType": {"const": "OperationOutcome"}, "issue": {"type": "array", "minItems": 1}},
    "required": ["resourceType", "issue"],
}
_ERRORS = {
    400: "Invalid request (bad parameter, malformed or invalid resource)",
    404: "Unknown resource, version or endpoint",
    410: "The resource was deleted",
    502: "A module answered something the gateway could not use",
    503: "A module this request needs is unavailable",
}
_WRITE_ERRORS = {
    409: "Conflict (e.g. an illegal workflow transition)",
    412: "If-Match names a version that is not the current one",
    415: "The request body is neither FHIR JSON nor FHIR XML (a _search body: not form-urlencoded)",
    422: "The resource breaks a business rule or profile",
}

_SEARCH_415 = _WRITE_ERRORS[415]


def fhir_openapi(app: FastAPI) -> dict:
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, routes=app.routes)
        for path, operations in document.get("paths", {}).items():
            if path.startswith("/fhir"):
                for method, operation in operations.items():
                    _describe(path, method, operation)
        components = document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas.update({"OperationOutcome": _OUTCOME, "Resource": _RESOURCE})
        components["responses"] = {
            f"Error{status}": {
                "description": f"{text} (OperationOutcome)",
                "content": _content(_ref("OperationOutcome")),
            }
            for status, text in sorted({**_ERRORS, **_WRITE_ERRORS, 415: _SEARCH_415}.items())
        }
        app.openapi_schema = document
    return app.openapi_schema


def _content(schema: dict) -> dict:
    return {media: {"schema": schema} for media in FHIR_MEDIA_TYPES}


def _describe(path: str, method: str, operation: dict) -> None:
    resource_type = path.removeprefix("/fhir").strip("/").split("/")[0] or "Bundle"
    writes = method in ("post", "put", "delete") and not path.endswith("/_search")
    success = {"get": {200: "OK"}, "put": {200: "Updated"}, "delete": {204: "Deleted"}}.get(method, {200: "OK"})
    if method == "post" and path.endswith("/_search"):
        operation["requestBody"] = {
            "required": False,
            "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
        }
    elif method == "post" and path == "/fhir":
        operation["requestBody"] = {"required": True, "content": _content(_of_type("Bundle"))}
    elif method in ("post", "put"):
        operation["requestBody"] = {"required": True, "content": _content(_of_type(resource_type))}
        if method == "post":
            success = {201: "Created", 200: "An existing resource matched If-None-Exist (conditional create)"}
    responses = {}
    for status, description in success.items():
        # Prefer: return=minimal answers a write with an empty body.
        responses[str(status)] = {"description": description}
        if status != 204:
            responses[str(status)]["content"] = _content(_ref("Resource"))
    errors = {**_ERRORS, **(_WRITE_ERRORS if writes else {})}
    if method == "post" and path.endswith("/_search"):
        errors[415] = _SEARCH_415
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    operation["responses"] = responses


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _of_type(resource_type: str) -> dict:
    return {
        "type": "object",
        "properties": {"resourceType": {"const": resource_type}},
        "required": ["resourceType"],
    }
