"""POST /fhir with a batch or transaction Bundle.

Each entry is sent to the gateway's own routes in process (httpx.ASGITransport), so an entry
behaves exactly as the same request on its own. A transaction creates in dependency order,
replaces `urn:uuid:` references by the ids it created, and when an entry fails it undoes what
the earlier entries wrote (deletes the Patients and compositions it created, closes the EHRs its
Patient creates made or re-opened, and puts back the content an update replaced, as one more
version), so nothing is left behind; the answer is then
that entry's OperationOutcome with its status.

Transactions take POST, PUT, DELETE and GET entries, run in the order POST, PUT, DELETE, GET. A
delete cannot be undone (the modules never resurrect a deleted object), so a transaction holds at
most one DELETE, and it runs after every write that might still fail. An update whose undo the
module refuses (a workflow step cannot go back) is named in the answer's OperationOutcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.fhir.errors import FhirError, operation_outcome
from gateway.fhir.http import FHIR_JSON, FhirRoute, read_resource, render
from gateway.fhir.responses import fhir_base
from gateway.journal.mapping import composition_id, split_condition_id

router = APIRouter(tags=["batch"], route_class=FhirRoute)
TRANSACTION_METHODS = {"POST", "PUT", "DELETE", "GET"}
_RUN_ORDER = {"POST": 0, "PUT": 1, "DELETE": 2, "GET": 3}


@dataclass
class Done:
    index: int
    status: int
    body: dict | None
    headers: dict[str, str] = field(default_factory=dict)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _replace_references(value, resolved: dict[str, str]):
    if isinstance(value, dict):
        return {
            k: (
                resolved.get(v, v)
                if k == "reference" and isinstance(v, str)
                else _replace_references(v, resolved)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_replace_references(v, resolved) for v in value]
    return value


def _references(value) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                found.add(v)
            else:
                found |= _references(v)
    elif isinstance(value, list):
        for v in value:
            found |= _references(v)
    return found


async def _send(
    client: httpx.AsyncClient, entry: dict, resolved: dict[str, str]
) -> tuple[int, dict | None, dict]:
    req = entry.get("request") or {}
    method, url = (req.get("method") or "").upper(), req.get("url") or ""
    headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON, "Prefer": "return=representation"}
    for key, header in (
        ("ifMatch", "If-Match"),
        ("ifNoneExist", "If-None-Exist"),
        ("ifNoneMatch", "If-None-Match"),
    ):
        if req.get(key):
            headers[header] = req[key]
    body = None
    if entry.get("resource") is not None and method in ("POST", "PUT"):
        body = json.dumps(_replace_references(entry["resource"], resolved)).encode()
    response = await client.request(method, "/" + url.lstrip("/"), content=body, headers=headers)
    parsed = response.json() if response.content else None
    kept = {k: v for k, v in response.headers.items() if k.lower() in ("location", "etag", "last-modified")}
    return response.status_code, parsed, kept


def _response_entry(done: Done) -> dict:
    entry: dict = {}
    if done.body is not None and done.body.get("resourceType") != "OperationOutcome":
        entry["resource"] = done.body
    out: dict = {"status": _status_line(done.status)}
    if "location" in done.headers:
        out["location"] = done.headers["location"]
    if "etag" in done.headers:
        out["etag"] = done.headers["etag"]
    if done.body is not None and done.body.get("resourceType") == "OperationOutcome":
        out["outcome"] = done.body
    entry["response"] = out
    return entry


def _order(entries: list[dict]) -> list[int]:
    """Creates before reads, and a create after the creates whose urn:uuid it references."""
    urns = {e.get("fullUrl"): i for i, e in enumerate(entries) if (e.get("fullUrl") or "").startswith("urn:")}
    pending = [
        i for i, e in enumerate(entries) if (e.get("request") or {}).get("method", "").upper() == "POST"
    ]
    ordered: list[int] = []
    while pending:
        ready = [
            i
            for i in pending
            if all(
                urns[r] in ordered or urns[r] == i
                for r in _references(entries[i].get("resource"))
                if r in urns
            )
        ]
        if not ready:
            raise FhirError(
                400,
                "The transaction's urn:uuid references form a cycle",
                code="invalid",
                expression=["Bundle.entry"],
            )
        ordered += ready
        pending = [i for i in pending if i not in ready]
    rest = [i for i in range(len(entries)) if i not in ordered]
    return ordered + sorted(rest, key=lambda i: _RUN_ORDER.get(_method(entries[i]), 4))


def _method(entry: dict) -> str:
    return ((entry.get("request") or {}).get("method") or "").upper()


@router.post("/fhir")
async def batch_or_transaction(request: Request) -> Response:
    bundle = await read_resource(request, "Bundle")
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise FhirError(400, "POST /fhir takes a batch or transaction Bundle", expression=["Bundle.type"])
    entries = bundle.get("entry") or []
    for i, entry in enumerate(entries):
        method = ((entry.get("request") or {}).get("method") or "").upper()
        if not method or not (entry.get("request") or {}).get("url"):
            raise FhirError(
                400,
                "Every entry needs request.method and request.url",
                expression=[f"Bundle.entry[{i}].request"],
            )
        if kind == "transaction" and method not in TRANSACTION_METHODS:
            raise FhirError(
                400,
                f"Transactions here take POST, PUT, DELETE and GET entries (entry {i} is {method})",
                code="not-supported",
                expression=[f"Bundle.entry[{i}].request.method"],
            )
    if kind == "transaction" and sum(_method(e) == "DELETE" for e in entries) > 1:
        raise FhirError(400, "A transaction holds at most one DELETE: a delete cannot be undone",
                        code="not-supported", expression=["Bundle.entry"])  # fmt: skip
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=fhir_base(request), timeout=None) as client:
        if kind == "batch":
            done = [Done(i, *await _send(client, e, {})) for i, e in enumerate(entries)]
            return render(
                request,
                {
                    "resourceType": "Bundle",
                    "type": "batch-response",
                    "entry": [_response_entry(d) for d in done],
                },
            )
        return await _transaction(request, client, entries)


async def _transaction(request: Request, client: httpx.AsyncClient, entries: list[dict]) -> Response:
    resolved: dict[str, str] = {}
    done: dict[int, Done] = {}
    written: list[tuple[dict, str | None, dict | None]] = []  # (resource, url it was updated at, before)
    for index in _order(entries):
        entry = entries[index]
        url = "/" + ((entry.get("request") or {}).get("url") or "").lstrip("/")
        before = None
        if _method(entry) == "PUT":
            current = await client.get(url, headers={"Accept": FHIR_JSON})
            before = current.json() if current.status_code == 200 else None
        status, body, headers = await _send(client, entry, resolved)
        if status >= 400:
            not_undone = await _undo(request, client, written)
            outcome = (
                body if body and body.get("resourceType") == "OperationOutcome" else operation_outcome([])
            )
            issues = outcome.get("issue") or [
                {"severity": "error", "code": "processing", "diagnostics": "failed"}
            ]
            saved = "nothing was saved" if not not_undone else "could not undo " + ", ".join(not_undone)
            for issue in issues:
                issue["diagnostics"] = f"Bundle.entry[{index}]: {issue.get('diagnostics', '')} ({saved})"
            return render(request, {"resourceType": "OperationOutcome", "issue": issues}, status)
        done[index] = Done(index, status, body, headers)
        if body and status == 201 and body.get("id"):
            written.append((body, None, None))
            full_url = entry.get("fullUrl")
            if full_url:
                resolved[full_url] = f"{body['resourceType']}/{body['id']}"
        elif body and before and _method(entry) == "PUT":
            written.append((body, url, before))
    return render(
        request,
        {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [_response_entry(done[i]) for i in range(len(entries))],
        },
    )


async def _undo(request: Request, client: httpx.AsyncClient, written: list[tuple[dict, str | None, dict | None]]
                ) -> list[str]:  # fmt: skip
    """Compensation, newest first: delete what the transaction created, put back what it updated.
    Returns the resources it could not undo."""
    state = request.app.state
    failed: list[str] = []
    for resource, url, before in reversed(written):
        rtype, rid = resource["resourceType"], resource["id"]
        if url and before:
            version = (resource.get("meta") or {}).get("versionId")
            content = {k: v for k, v in before.items() if k != "meta"}
            status, _, _ = await _send(client, {"resource": content, "request": {
                "method": "PUT", "url": url, "ifMatch": f'W/"{version}"' if version else None}}, {})  # fmt: skip
            if status >= 400:
                failed.append(f"the update of {rtype}/{rid} ({status})")
            continue
        try:
            if rtype == "Patient":
                await state.patients.undo_create(rid)
            elif rtype == "MedicationRequest":
                await state.medications.compositions.delete_resource(rid)
            elif rtype == "Composition":
                await state.journal.compositions.delete_resource(rid)
            elif rtype == "Condition" and (ids := split_condition_id(rid)):  # its note holds only it
                await state.journal.compositions.delete_resource(composition_id(*ids[:2]))
            elif rtype == "ServiceRequest":
                await state.referrals.compositions.delete_resource(rid)
        except FhirError as exc:  # e.g. the module went down meanwhile: the client must know what stays
            failed.append(f"the create of {rtype}/{rid} ({exc.status})")
    return failed
