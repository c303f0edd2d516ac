"""FHIR HTTP conventions: format negotiation, _pretty, absolute base URL, Prefer, bodies, dates."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pydantic
from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fhir.resources.R4B import get_fhir_model_class
from lxml import etree

from gateway.fhir.errors import FhirError, Issue

FHIR_JSON = "application/fhir+json"
FORM = "application/x-www-form-urlencoded"
FHIR_XML = "application/fhir+xml"

_FORMATS = {
    "json": "json",
    "application/json": "json",
    "application/fhir+json": "json",
    "application/json+fhir": "json",
    "xml": "xml",
    "text/xml": "xml",
    "application/xml": "xml",
    "application/fhir+xml": "xml",
    "application/xml+fhir": "xml",
}


_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: n for n, name in enumerate(_MONTH_NAMES, 1)}
_IMF_FIXDATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT")
_INSTANT = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _instant_of_imf_fixdate(text: str) -> str | None:
    """The HTTP date form servers send ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110) as a FHIR instant,
    read directly: email.utils' parser, and even a datetime's isoformat, cost more than the rest of a
    Patient's mapping (every read answer carries one)."""
    match = _IMF_FIXDATE.fullmatch(text)
    month = _MONTHS.get(match[2]) if match else None
    if month is None:
        return None
    day, _, year, hour, minute, second = match.groups()
    try:
        datetime(int(year), month, int(day), int(hour), int(minute), int(second))  # a real date and time of day
    except ValueError:
        return None
    return f"{year}-{month:02d}-{day}T{hour}:{minute}:{second}Z"


def http_date(instant: str) -> str:
    """A FHIR instant as an HTTP date (IMF-fixdate, whole seconds), e.g. for Last-Modified."""
    match = _INSTANT.fullmatch(instant)
    if match:  # UTC already, the form fhir_instant gives: no datetime arithmetic needed
        month = int(match[2])
        weekday = date(int(match[1]), month, int(match[3])).weekday()  # ValueError for no such day, as below
        return f"{_DAY_NAMES[weekday]}, {match[3]} {_MONTH_NAMES[month - 1]} {match[1]} {match[4]} GMT"
    return format_datetime(datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(UTC), usegmt=True)


def fhir_instant(text: str | None) -> str | None:
    """An ISO timestamp or an HTTP date as a FHIR instant (UTC, 'Z')."""
    if not text:
        return None
    if text.endswith(" GMT"):
        instant = _instant_of_imf_fixdate(text)
        if instant is not None:
            return instant
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    timespec = "milliseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def _media_type(text: str) -> str:
    return text.split(";", 1)[0].strip().lower()


def negotiate_format(request: Request) -> str:
    """`_format` wins over Accept; JSON is the default (also for */* and unknown types)."""
    fmt = request.query_params.get("_format")
    if fmt is not None:
        kind = _FORMATS.get(_media_type(fmt.replace(" ", "+")))
        if kind is None:
            raise FhirError(
                406,
                f"_format {fmt!r} is not supported (use json or xml)",
                code="not-supported",
                expression=["_format"],
            )
        return kind
    best, best_q = "json", -1.0
    for part in request.headers.get("accept", "").split(","):
        pieces = part.split(";")
        kind = _FORMATS.get(_media_type(pieces[0]))
        if kind is None:
            continue
        q = 1.0
        for p in pieces[1:]:
            name, _, value = p.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = kind, q
    return best


def check_format(request: Request) -> None:
    """Checks the format parameters before any module is called, so a bad _format is a 406 (and a
    bad _pretty a 400) on every interaction."""
    request.state.fhir_format = negotiate_format(request)
    pretty = request.query_params.get("_pretty")
    if pretty is not None and pretty.lower() not in ("true", "false"):
        raise FhirError(400, "_pretty must be true or false", expression=["_pretty"])


class FhirRoute(APIRoute):
    """The route class of every FHIR interaction: `check_format` runs before the endpoint. A route
    class rather than a FastAPI dependency, whose solving cost more than the check itself on every
    request (bench/gateway_cpu.py)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def fhir_handler(request: Request) -> Response:
            check_format(request)
            return await handle(request)

        return fhir_handler


def is_pretty(request: Request) -> bool:
    return request.query_params.get("_pretty", "").lower() == "true"


def base_url(request: Request, public_base_url: str | None) -> str:
    """The absolute URL of the FHIR base (`.../fhir`) as the client sees it: the configured public base
    (the whole FHIR base, `https://host/fhir`, as deploy/ and SETTINGS.md give it), else from the
    X-Forwarded-* headers, else from the request itself."""
    if public_base_url:
        return public_base_url.rstrip("/")
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
    prefix = request.headers.get("x-forwarded-prefix", "").split(",")[0].strip().rstrip("/")
    if host:
        root = f"{proto or request.url.scheme}://{host}{prefix}"
    else:
        root = f"{proto or request.url.scheme}://{request.url.netloc}{prefix}"
    return root + "/fhir"


def prefer(request: Request, name: str) -> str | None:
    """A token of the Prefer header, e.g. prefer(request, 'return') -> 'minimal'."""
    for part in request.headers.get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"').lower()
    return None


def render(
    request: Request,
    body: dict | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    fmt: str | None = None,
) -> Response:
    """Serialize a plain FHIR dict as JSON (fast path) or XML (through the fhir.resources model)."""
    fmt = fmt or getattr(request.state, "fhir_format", None)
    if fmt is None:
        try:
            fmt = negotiate_format(request)
        except FhirError:
            fmt = "json"  # the error about the format itself is rendered as JSON
    pretty = is_pretty(request)
    if body is None:
        return Response(status_code=status, headers=headers)
    if fmt == "xml":
        model = get_fhir_model_class(body["resourceType"]).model_validate(body)
        content = model.model_dump_xml(pretty_print=pretty)
        media = FHIR_XML
    else:
        content = orjson.dumps(body, option=orjson.OPT_INDENT_2 if pretty else 0)
        media = FHIR_JSON
    return Response(
        content=content, status_code=status, headers=headers, media_type=f"{media}; charset=utf-8"
    )


def loc_to_expression(resource_type: str, loc: tuple[Any, ...]) -> str:
    out = resource_type
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "__root__":
            out += f".{part}"
    return out


def as_received(resource: dict) -> dict:
    """A resource as read_resource would hand it over (the model's normal form, e.g. of date-times),
    so that what the gateway produced compares equal to what a client sends back."""
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return json.loads(model.model_dump_json())


async def search_form(request: Request) -> list[tuple[str, str]]:
    """The parameters of a `POST [type]/_search` body (application/x-www-form-urlencoded, the only form
    FHIR defines for it), read without Starlette's form parser (which needs python-multipart)."""
    raw = await request.body()
    if not raw.strip():
        return []
    media = _media_type(request.headers.get("content-type", ""))
    if media != FORM:
        raise FhirError(415, f"A _search body must be {FORM}, got {media or 'no Content-Type'!r}")
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise FhirError(400, "The _search body is not UTF-8", code="structure") from None


async def read_resource(request: Request, resource_type: str) -> dict:
    """Parse and validate a request body (JSON or XML) as `resource_type`; 400 on anything wrong,
    with the failing elements in issue.expression. Returns the resource as a plain JSON dict."""
    media = _media_type(request.headers.get("content-type", FHIR_JSON)) or FHIR_JSON
    kind = _FORMATS.get(media)
    if kind is None:
        raise FhirError(415, f"Content-Type {media!r} is not supported; use {FHIR_JSON} or {FHIR_XML}")
    raw = await request.body()
    if not raw.strip():
        raise FhirError(400, f"The request body must be a {resource_type} resource", code="required")
    model_class = get_fhir_model_class(resource_type)
    try:
        if kind == "xml":
            try:
                root = etree.fromstring(raw)
            except etree.XMLSyntaxError as exc:
                raise FhirError(400, f"The body is not well-formed XML: {exc}", code="structure") from None
            found = etree.QName(root).localname
            if found != resource_type:
                raise FhirError(
                    400, f"Expected a {resource_type} resource, got {found}", expression=["resourceType"]
                )
            model = model_class.model_validate_xml(raw)
        else:
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise FhirError(400, f"The body is not valid JSON: {exc}", code="structure") from None
            if not isinstance(data, dict):
                raise FhirError(400, "The body must be a JSON object", code="structure")
            if data.get("resourceType") != resource_type:
                raise FhirError(
                    400,
                    f"Expected resourceType {resource_type!r}, got {data.get('resourceType')!r}",
                    expression=["resourceType"],
                )
            model = model_class.model_validate(data)
    except pydantic.ValidationError as exc:
        issues = [
            Issue(
                f"{e['msg']}",
                code="invalid" if e["type"] != "extra_forbidden" else "structure",
                expression=[loc_to_expression(resource_type, e["loc"])],
            )
            for e in exc.errors()
        ]
        raise FhirError(400, f"Invalid {resource_type}", issues=issues) from None
    except FhirError:
        raise
    except (ValueError, TypeError, etree.LxmlError) as exc:
        raise FhirError(400, f"Invalid {resource_type}: {exc}", code="structure") from None
    return json.loads(model.model_dump_json())
