"""MedicationRequest use cases over the medication module (HTTP only)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from gateway.fhir.errors import FhirError
from gateway.fhir.search import DateParam, SearchRequest, parse_date, parse_token
from gateway.medication.mapping import (
    ATC_SYSTEM,
    MODULE_STATUS,
    TEMPLATE_ID,
    composition_to_medication_request,
    medication_request_to_composition,
    split_id,
    status_of,
    with_status,
)
from gateway.modules import ModuleClient, expect
from gateway.openehr import MappingError, VersionUid, fhir_instant
from gateway.patient.service import PatientService, mapping_error

MODULE = "medication"
REPRESENTATION = {"Prefer": "return=representation"}
_COMPARED = ("content", "context", "composer")


def _version_uid(response: httpx.Response, body: dict | None) -> VersionUid:
    etag = response.headers.get("etag", "").removeprefix("W/").strip('"')
    text = etag or (((body or {}).get("uid") or {}).get("value")) or ""
    try:
        return VersionUid.parse(text)
    except ValueError:
        raise FhirError(
            502, f"The {MODULE} module answered without a version uid", code="exception"
        ) from None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def date_range(param: DateParam) -> tuple[datetime, datetime]:
    """[start, end) of a partial FHIR date or dateTime."""
    value = param.value
    if len(value) == 4:
        start = datetime(int(value), 1, 1, tzinfo=UTC)
        return start, start.replace(year=start.year + 1)
    if len(value) == 7:
        start = datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=UTC)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
        return start, end
    if len(value) == 10:
        start = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return start, start + timedelta(days=1)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, moment + timedelta(seconds=1)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def date_bounds(params: list[DateParam]) -> tuple[str | None, str | None]:
    """date_from / date_to (both inclusive) for the module from FHIR date prefixes."""
    low: datetime | None = None
    high: datetime | None = None
    tick = timedelta(microseconds=1)
    for p in params:
        start, end = date_range(p)
        lows, highs = [], []
        if p.prefix in ("eq", "ap"):
            lows, highs = [start], [end - tick]
        elif p.prefix == "ge":
            lows = [start]
        elif p.prefix in ("gt", "sa"):
            lows = [end]
        elif p.prefix == "le":
            highs = [end - tick]
        elif p.prefix in ("lt", "eb"):
            highs = [start - tick]
        else:
            raise FhirError(
                400,
                f"authoredon prefix {p.prefix!r} is not supported",
                code="not-supported",
                expression=["authoredon"],
            )
        for value in lows:
            low = value if low is None else max(low, value)
        for value in highs:
            high = value if high is None else min(high, value)
    return (_iso(low) if low else None), (_iso(high) if high else None)


class MedicationService:
    def __init__(self, medication: ModuleClient, patients: PatientService):
        self.module = medication
        self.patients = patients

    def _ids(self, resource_id: str) -> tuple[str, str]:
        ids = split_id(resource_id)
        if ids is None:
            raise FhirError(404, f"MedicationRequest/{resource_id} is not known")
        return ids

    async def _get(self, ehr_id: str, object_id: str, what: str) -> tuple[dict, VersionUid, str | None]:
        response = await self.module.get(f"/ehr/{ehr_id}/composition/{object_id}")
        expect(MODULE, response, 200, what=what)
        composition = response.json()
        return (
            composition,
            _version_uid(response, composition),
            fhir_instant(response.headers.get("last-modified")),
        )

    async def read(self, resource_id: str) -> dict:
        ehr_id, object_id = self._ids(resource_id)
        composition, uid, updated = await self._get(ehr_id, object_id, f"MedicationRequest/{resource_id}")
        patient_id = await self.patients.patient_id(ehr_id)
        return composition_to_medication_request(composition, str(uid), ehr_id, patient_id, updated)

    async def vread(self, resource_id: str, version: int) -> dict:
        ehr_id, object_id = self._ids(resource_id)
        response = await self.module.get(f"/ehr/{ehr_id}/versioned_composition/{object_id}/revision_history")
        expect(MODULE, response, 200, what=f"MedicationRequest/{resource_id}")
        body = response.json()
        items = body.get("items", []) if isinstance(body, dict) else body
        for item in items:
            uid = VersionUid.parse((item.get("version_id") or {}).get("value", ""))
            if uid.version != version:
                continue
            audit = (item.get("audits") or [{}])[0]
            if (audit.get("change_type") or {}).get("value") == "deleted":
                raise FhirError(
                    410, f"MedicationRequest/{resource_id} version {version} is a deletion", code="deleted"
                )
            got = await self.module.get(f"/ehr/{ehr_id}/versioned_composition/{object_id}/version/{uid}")
            expect(MODULE, got, 200, what=f"MedicationRequest/{resource_id}/_history/{version}")
            data = got.json()
            composition = data.get("data", data)
            committed = fhir_instant((audit.get("time_committed") or {}).get("value"))
            patient_id = await self.patients.patient_id(ehr_id)
            return composition_to_medication_request(composition, str(uid), ehr_id, patient_id, committed)
        raise FhirError(404, f"MedicationRequest/{resource_id} has no version {version}")

    async def search(self, search: SearchRequest) -> tuple[list[dict], int, list[dict]]:
        """(matches on this page, total, included Patients)."""
        query: list[tuple[str, Any]] = [("template_id", TEMPLATE_ID)]
        references = search.values("patient") + search.values("subject")
        if len(references) > 1:
            raise FhirError(
                400, "One patient is supported per search", code="not-supported", expression=["patient"]
            )
        if references:
            reference = references[0]
            patient_id = reference.removeprefix("Patient/")
            if "/" in patient_id:
                raise FhirError(
                    400, f"patient must reference a Patient, got {reference!r}", expression=["patient"]
                )
            try:
                query.append(("ehr_id", await self.patients.ehr_id(patient_id)))
            except FhirError as exc:
                if exc.status in (404, 410, 422):
                    return [], 0, []
                raise
        for status in search.values("status"):
            for value in status.split(","):
                if value not in MODULE_STATUS:
                    raise FhirError(
                        400,
                        f"status {value!r} is not searchable (use {', '.join(MODULE_STATUS)})",
                        expression=["status"],
                    )
            if "," in status or len(search.values("status")) > 1:
                raise FhirError(
                    400, "One status per search is supported", code="not-supported", expression=["status"]
                )
            query.append(("status", MODULE_STATUS[status]))
        for code in search.values("code"):
            token = parse_token(code)
            if token.system not in (None, ATC_SYSTEM) or "," in code:
                return [], 0, []
            query.append(("atc_code", token.code))
        dates = [parse_date("authoredon", v) for v in search.values("authoredon")]
        date_from, date_to = date_bounds(dates)
        if date_from:
            query.append(("date_from", date_from))
        if date_to:
            query.append(("date_to", date_to))
        for key in search.sort:
            if key.lstrip("-") != "authoredon":
                raise FhirError(
                    400,
                    f"_sort {key!r} is not supported (authoredon or -authoredon)",
                    code="not-supported",
                    expression=["_sort"],
                )
            query.append(("sort", "-date" if key.startswith("-") else "date"))
        count_only = search.summary == "count" or search.count == 0
        query += [("offset", search.offset), ("limit", 1 if count_only else search.count)]
        ids = {i for v in search.values("_id") for i in v.split(",")}
        if ids:
            query[-2:] = [("offset", 0), ("limit", 1000)]
        response = await self.module.get("/query/compositions", params=query)
        expect(MODULE, response, 200, what="MedicationRequest search")
        body = response.json()
        items = body.get("items") or []
        ehrs = sorted({item["ehr_id"] for item in items})
        patient_ids = dict(
            zip(ehrs, await asyncio.gather(*(self.patients.patient_id(e) for e in ehrs)), strict=True)
        )
        found = [
            composition_to_medication_request(
                item["composition"],
                item["uid"],
                item["ehr_id"],
                patient_ids.get(item["ehr_id"]),
                fhir_instant(item.get("time_committed")),
            )
            for item in items
        ]
        total = int(body.get("total", len(found)))
        if ids:
            found = [mr for mr in found if mr["id"] in ids]
            total = len(found)
            found = found[search.offset : search.offset + search.count]
        if count_only:
            found = []
        included: list[dict] = []
        if "MedicationRequest:subject" in search.includes or "MedicationRequest:patient" in search.includes:
            wanted = sorted({p for p in patient_ids.values() if p})
            for patient in await asyncio.gather(*(self._patient_or_none(p) for p in wanted)):
                if patient:
                    included.append(patient)
        return found, total, included

    async def for_patients(self, patient_ids: dict[str, str]) -> list[dict]:
        """Every MedicationRequest of these patients ({ehr_id: patient_id}), all pages."""
        if not patient_ids:
            return []
        found: list[dict] = []
        offset, limit = 0, 1000
        while True:
            query = [("template_id", TEMPLATE_ID), *(("ehr_id", e) for e in sorted(patient_ids))]
            query += [("sort", "date"), ("offset", offset), ("limit", limit)]
            response = await self.module.get("/query/compositions", params=query)
            expect(MODULE, response, 200, what="MedicationRequests of the patients")
            body = response.json()
            items = body.get("items") or []
            found += [
                composition_to_medication_request(
                    item["composition"],
                    item["uid"],
                    item["ehr_id"],
                    patient_ids.get(item["ehr_id"]),
                    fhir_instant(item.get("time_committed")),
                )
                for item in items
            ]
            offset += len(items)
            if not items or offset >= int(body.get("total", 0)):
                return found

    async def _patient_or_none(self, patient_id: str) -> dict | None:
        try:
            return await self.patients.read(patient_id)
        except FhirError as exc:
            if exc.status in (404, 410):
                return None
            raise

    async def create(self, mr: dict) -> dict:
        subject = (mr.get("subject") or {}).get("reference") or ""
        if not subject.startswith("Patient/"):
            raise FhirError(
                422,
                "subject must reference a Patient (Patient/{id})",
                expression=["MedicationRequest.subject"],
            )
        patient_id = subject.removeprefix("Patient/")
        try:
            ehr_id = await self.patients.ehr_id(patient_id)
        except FhirError as exc:
            if exc.status in (404, 410):
                raise FhirError(
                    422, f"{subject} is not known", expression=["MedicationRequest.subject"]
                ) from None
            raise
        try:
            composition = medication_request_to_composition(mr, now())
        except MappingError as exc:
            raise mapping_error(exc) from None
        response = await self.module.request(
            "POST", f"/ehr/{ehr_id}/composition", json=composition, headers=REPRESENTATION
        )
        expect(MODULE, response, 201, 200, what="MedicationRequest create")
        stored = response.json() if response.content else composition
        uid = _version_uid(response, stored)
        return composition_to_medication_request(
            stored, str(uid), ehr_id, patient_id, fhir_instant(response.headers.get("last-modified"))
        )

    async def update(self, resource_id: str, mr: dict, if_match: int | None) -> dict:
        """Only the status (and its reason) can change: the module gets a new version with an ACTION."""
        ehr_id, object_id = self._ids(resource_id)
        current, uid, _ = await self._get(ehr_id, object_id, f"MedicationRequest/{resource_id}")
        if if_match is not None and if_match != uid.version:
            raise FhirError(
                412,
                f"MedicationRequest/{resource_id} is at version {uid.version}, not {if_match}",
                code="conflict",
                headers={"ETag": f'W/"{uid.version}"'},
            )
        patient_id = await self.patients.patient_id(ehr_id)
        current_mr = composition_to_medication_request(current, str(uid), ehr_id, patient_id)
        body_subject = (mr.get("subject") or {}).get("reference")
        if body_subject and body_subject != current_mr["subject"].get("reference"):
            raise FhirError(
                422,
                "The subject of a MedicationRequest cannot change",
                expression=["MedicationRequest.subject"],
            )
        try:
            stamp = "1970-01-01T00:00:00Z"
            proposed = medication_request_to_composition(
                {
                    **{k: v for k, v in mr.items() if k not in ("status", "statusReason")},
                    "authoredOn": mr.get("authoredOn") or current_mr.get("authoredOn"),
                },
                stamp,
            )
            existing = medication_request_to_composition(
                {k: v for k, v in current_mr.items() if k not in ("status", "statusReason")}, stamp
            )
        except MappingError as exc:
            raise mapping_error(exc) from None
        if any(proposed[key] != existing[key] for key in _COMPARED):
            raise FhirError(
                422,
                "Only status (and statusReason) of a MedicationRequest can change; "
                "create a new MedicationRequest for a new order",
                code="business-rule",
            )
        status = mr.get("status")
        if status == status_of(current):
            return composition_to_medication_request(current, str(uid), ehr_id, patient_id)
        try:
            updated = with_status(current, status, now(), (mr.get("statusReason") or {}).get("text"))
        except MappingError as exc:
            raise mapping_error(exc) from None
        target = uid.with_version(if_match) if if_match is not None else uid
        response = await self.module.request(
            "PUT",
            f"/ehr/{ehr_id}/composition/{object_id}",
            json=updated,
            headers={**REPRESENTATION, "If-Match": f'"{target}"'},
        )
        expect(MODULE, response, 200, 201, what=f"MedicationRequest/{resource_id}")
        stored = response.json() if response.content else updated
        new_uid = _version_uid(response, stored)
        return composition_to_medication_request(
            stored, str(new_uid), ehr_id, patient_id, fhir_instant(response.headers.get("last-modified"))
        )
