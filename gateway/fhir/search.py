"""Search parameter parsing (strict / lenient handling) and searchset Bundles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import Request
from fhir.resources.R4B import get_fhir_model_class

from gateway.fhir.errors import FhirError, bad_request
from gateway.fhir.http import prefer
from gateway.fhir.registry import ResourceDef
from gateway.settings import GatewaySettings

# Result parameters the gateway handles for every search.
CONTROL = {
    "_count",
    "_offset",
    "_summary",
    "_total",
    "_elements",
    "_format",
    "_pretty",
    "_sort",
    "_include",
    "_revinclude",
}
SUMMARY_MODES = {"true", "false", "count", "data", "text"}
SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_DATE = re.compile(
    r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?"
    r"(?P<value>\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?)$"
)


@dataclass(frozen=True)
class DateParam:
    prefix: str
    value: str  # as given (partial dates allowed)

    def __str__(self) -> str:
        return f"{self.prefix}{self.value}"


def parse_date(name: str, text: str) -> DateParam:
    match = _DATE.match(text)
    if not match:
        raise bad_request(f"{name}: {text!r} is not a FHIR date search value (e.g. ge1950-01-01)", name)
    value = match["value"]
    try:
        if len(value) == 10:
            date.fromisoformat(value)
        elif len(value) == 7:
            date.fromisoformat(value + "-01")
        elif len(value) > 10:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{name}: {text!r} is not a valid date", name) from None
    return DateParam(match["prefix"] or "eq", value)


@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system; "": no system
    code: str


def parse_token(text: str) -> Token:
    if "|" in text:
        system, _, code = text.partition("|")
        return Token(system, code)
    return Token(None, text)


@dataclass
class SearchRequest:
    resource_type: str
    params: dict[str, list[tuple[str | None, str]]] = field(
        default_factory=dict
    )  # name -> [(modifier, value)]
    count: int = 20
    offset: int = 0
    summary: str | None = None
    total: str = "accurate"
    elements: list[str] | None = None
    sort: list[str] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    revincludes: list[str] = field(default_factory=list)
    fmt: str | None = None
    ignored: list[str] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [v for _, v in self.params.get(name, [])]

    def one(self, name: str) -> str | None:
        values = self.values(name)
        return values[0] if values else None

    def link_params(self, offset: int) -> list[tuple[str, str]]:
        """The parameters the search actually used, for self/next/previous links."""
        out: list[tuple[str, str]] = []
        for name, values in self.params.items():
            for modifier, value in values:
                out.append((f"{name}:{modifier}" if modifier else name, value))
        if self.sort:
            out.append(("_sort", ",".join(self.sort)))
        out += [("_include", include) for include in self.includes]
        out += [("_revinclude", include) for include in self.revincludes]
        if self.summary:
            out.append(("_summary", self.summary))
        if self.elements:
            out.append(("_elements", ",".join(self.elements)))
        if self.total != "accurate":
            out.append(("_total", self.total))
        if self.fmt:
            out.append(("_format", self.fmt))
        out.append(("_count", str(self.count)))
        out.append(("_offset", str(offset)))
        return out


def _int(name: str, text: str, minimum: int = 0) -> int:
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"{name} must be an integer, got {text!r}", name) from None
    if value < minimum:
        raise bad_request(f"{name} must be at least {minimum}", name)
    return value


def parse_search(
    request: Request,
    definition: ResourceDef,
    settings: GatewaySettings,
    extra: list[tuple[str, str]] | None = None,
) -> SearchRequest:
    """Read the query (and a POST _search form, passed as `extra`) against the registry.

    Unknown parameters or modifiers: 400 unless `Prefer: handling=lenient`, then ignored
    (and left out of the self link, as the spec says)."""
    handling = prefer(request, "handling") or "strict"
    if handling not in ("strict", "lenient"):
        raise bad_request(f"Prefer: handling={handling} is not known (strict or lenient)", "Prefer")
    lenient = handling == "lenient"
    search = SearchRequest(definition.type, count=settings.default_page_size)
    items = list(request.query_params.multi_items()) + list(extra or [])
    for key, value in items:
        if key in ("_include", "_revinclude"):
            allowed = definition.search_include if key == "_include" else definition.search_rev_include
            if value in allowed:
                (search.includes if key == "_include" else search.revincludes).append(value)
            elif lenient:
                search.ignored.append(f"{key}={value}")
            else:
                supported = ", ".join(allowed) or "none"
                raise FhirError(
                    400,
                    f"{key}={value} is not supported (supported: {supported})",
                    code="not-supported",
                    expression=[key],
                )
            continue
        if key in CONTROL:
            _control(search, key, value, settings)
            continue
        name, _, modifier = key.partition(":")
        param = definition.search_params.get(name)
        problem = None
        if param is None:
            problem = f"Unknown search parameter {key!r} for {definition.type}"
        elif modifier and modifier not in param.modifiers:
            problem = f"Modifier {modifier!r} is not supported on {definition.type} search parameter {name!r}"
        if problem:
            if lenient:
                search.ignored.append(key)
                continue
            known = ", ".join(sorted(definition.search_params))
            raise FhirError(
                400,
                f"{problem} (supported: {known}; Prefer: handling=lenient ignores it)",
                code="not-supported",
                expression=[key],
            )
        if value == "":
            continue  # a parameter without a value is ignored (FHIR search rules)
        search.params.setdefault(name, []).append((modifier or None, value))
    return search


def _control(search: SearchRequest, key: str, value: str, settings: GatewaySettings) -> None:
    if key == "_count":
        search.count = min(_int(key, value), settings.max_page_size)
    elif key == "_offset":
        search.offset = _int(key, value)
    elif key == "_summary":
        if value not in SUMMARY_MODES:
            raise bad_request(f"_summary must be one of {sorted(SUMMARY_MODES)}", key)
        search.summary = None if value == "false" else value
    elif key == "_total":
        if value not in ("none", "estimate", "accurate"):
            raise bad_request("_total must be none, estimate or accurate", key)
        search.total = value
    elif key == "_elements":
        search.elements = [e.strip() for e in value.split(",") if e.strip()]
    elif key == "_sort":
        search.sort = [s.strip() for s in value.split(",") if s.strip()]
    elif key == "_format":
        search.fmt = value


# -- shaping resources (_summary, _elements) -------------------------------------------------

_MANDATORY = {"resourceType", "id", "meta"}
_summary_cache: dict[str, frozenset[str]] = {}


def summary_elements(resource_type: str) -> frozenset[str]:
    if resource_type not in _summary_cache:
        model = get_fhir_model_class(resource_type)
        names = set()
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if extra.get("summary_element_property"):
                names.add(info.alias or name)
        _summary_cache[resource_type] = frozenset(names)
    return _summary_cache[resource_type]


def shape(resource: dict, summary: str | None, elements: list[str] | None) -> dict:
    """Apply _summary (true, text, data) or _elements; marks the result SUBSETTED."""
    if not summary and not elements:
        return resource
    rtype = resource["resourceType"]
    if summary == "data":
        keep = None
        out = {k: v for k, v in resource.items() if k != "text"}
    else:
        if summary == "true":
            keep = summary_elements(rtype) | _MANDATORY
        elif summary == "text":
            keep = _MANDATORY | {"text"}
        else:
            keep = _MANDATORY | set(elements or [])
        out = {k: v for k, v in resource.items() if k in keep}
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    out["meta"] = meta
    return out


def searchset(
    base: str,
    search: SearchRequest,
    resources: list[dict],
    total: int | None,
    included: list[dict] | None = None,
    outcome: dict | None = None,
) -> dict:
    """A searchset Bundle with absolute self/next/previous links (offset paging)."""
    rtype = search.resource_type

    def link(relation: str, offset: int) -> dict:
        return {"relation": relation, "url": f"{base}/{rtype}?{urlencode(search.link_params(offset))}"}

    links = [link("self", search.offset)]
    page_full = search.count > 0 and len(resources) >= search.count
    more = (total is not None and search.offset + search.count < total) or (total is None and page_full)
    if search.summary != "count" and search.count > 0 and more:
        links.append(link("next", search.offset + search.count))
    if search.offset > 0 and search.count > 0:
        links.append(link("previous", max(0, search.offset - search.count)))
    bundle: dict = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None and search.total != "none":
        bundle["total"] = total
    bundle["link"] = links
    entries = []
    if search.summary != "count":
        for resource in resources:
            entries.append(
                {
                    "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                    "resource": shape(resource, search.summary, search.elements),
                    "search": {"mode": "match"},
                }
            )
        for resource in included or []:
            entries.append(
                {
                    "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                    "resource": resource,
                    "search": {"mode": "include"},
                }
            )
    if outcome:
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    if entries:
        bundle["entry"] = entries
    return bundle
