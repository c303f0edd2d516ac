"""What every clinical resource needs from its module: compositions by id and version, the
module's composition query (patient, dates, paging), and the Patient <-> EHR resolution."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.fhir.errors import FhirError
from gateway.fhir.http import fhir_instant
from gateway.fhir.search import DateParam, SearchRequest, parse_date
from gateway.modules import ModuleClient, expect, module_error, version_uid
from gateway.openehr import MappingError, VersionUid, split_joined_id
from gateway.patient.service import PatientService, mapping_error

REPRESENTATION = {"Prefer": "return=representation"}


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


def date_bounds(name: str, params: list[DateParam]) -> tuple[str | None, str | None]:
    """date_from / date_to (both inclusive, as the modules take them) from FHIR date prefixes."""
    low: datetime | None = None
    high: datetime | None = None
    tick = timedelta(microseconds=1)
    for p in params:
        start, end = date_range(p)
        lows: list[datetime] = []
        highs: list[datetime] = []
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
            raise FhirError(400, f"{name} prefix {p.prefix!r} is not supported", code="not-supported",
                            expression=[name])  # fmt: skip
        for value in lows:
            low = value if low is None else max(low, value)
        for value in highs:
            high = value if high is None else min(high, value)
    return (_iso(low) if low else None), (_iso(high) if high else None)


@dataclass
class StoredVersion:
    """One version of a composition; `resource` is set by the caller once mapped to FHIR."""

    data: dict | None
    version: VersionUid
    last_updated: str | None
    change: str
    resource: dict | None = None


class Compositions:
    """One clinical module's compositions, seen from the gateway."""

    def __init__(self, module: ModuleClient, patients: PatientService, template_id: str):
        self.module = module
        self.patients = patients
        self.template_id = template_id

    @property
    def name(self) -> str:
        return self.module.name

    async def get(self, ehr_id: str, object_id: str, what: str) -> tuple[dict, VersionUid, str | None]:
        response = await self.module.get(f"/ehr/{ehr_id}/composition/{object_id}")
        expect(self.name, response, 200, what=what)
        composition = response.json()
        updated = fhir_instant(response.headers.get("last-modified"))
        return composition, version_uid(self.name, response, composition), updated

    async def version(
        self, ehr_id: str, object_id: str, n: int, what: str
    ) -> tuple[dict, VersionUid, str | None]:
        """Version n of a composition (404 when there is none, 410 when it is a deletion)."""
        response = await self.module.get(f"/ehr/{ehr_id}/versioned_composition/{object_id}/revision_history")
        expect(self.name, response, 200, what=what)
        body = response.json()
        for item in body.get("items", []) if isinstance(body, dict) else body:
            uid = VersionUid.parse((item.get("version_id") or {}).get("value", ""))
            if uid.version != n:
                continue
            audit = (item.get("audits") or [{}])[0]
            if (audit.get("change_type") or {}).get("value") == "deleted":
                raise FhirError(410, f"{what} version {n} is a deletion", code="deleted")
            got = await self.module.get(f"/ehr/{ehr_id}/versioned_composition/{object_id}/version/{uid}")
            expect(self.name, got, 200, what=f"{what}/_history/{n}")
            data = got.json()
            return data.get("data", data), uid, fhir_instant((audit.get("time_committed") or {}).get("value"))
        raise FhirError(404, f"{what} has no version {n}")

    async def history(self, ehr_id: str, object_id: str, what: str) -> list[StoredVersion]:
        """Every version of a composition, newest first (a deletion has no data)."""
        response = await self.module.get(f"/ehr/{ehr_id}/versioned_composition/{object_id}/revision_history")
        expect(self.name, response, 200, what=what)
        body = response.json()
        items = body.get("items", []) if isinstance(body, dict) else body

        async def one(item: dict) -> StoredVersion:
            uid = VersionUid.parse((item.get("version_id") or {}).get("value", ""))
            audit = (item.get("audits") or [{}])[0]
            committed = fhir_instant((audit.get("time_committed") or {}).get("value"))
            change = (audit.get("change_type") or {}).get("value") or (
                "creation" if uid.version == 1 else "modification"
            )
            if change == "deleted":
                return StoredVersion(None, uid, committed, change)
            got = await self.module.get(f"/ehr/{ehr_id}/versioned_composition/{object_id}/version/{uid}")
            expect(self.name, got, 200, what=f"{what}/_history/{uid.version}")
            data = got.json()
            return StoredVersion(data.get("data", data), uid, committed, change)

        versions = await asyncio.gather(*(one(item) for item in items))
        return sorted(versions, key=lambda v: v.version.version, reverse=True)

    async def mapped_history(self, ehr_id: str, object_id: str, what: str, render) -> list[StoredVersion]:
        """history() with each version mapped by `render(data, uid, ehr_id, patient_id, last_updated)`."""
        versions = await self.history(ehr_id, object_id, what)
        patient_id = await self.patients.patient_id(ehr_id)
        for v in versions:
            if v.data is not None:
                v.resource = render(v.data, str(v.version), ehr_id, patient_id, v.last_updated)
        return versions

    async def create(self, ehr_id: str, composition: dict, what: str) -> tuple[dict, VersionUid, str | None]:
        response = await self.module.request(
            "POST", f"/ehr/{ehr_id}/composition", json=composition, headers=REPRESENTATION
        )
        expect(self.name, response, 201, 200, what=what)
        stored = response.json() if response.content else composition
        return (
            stored,
            version_uid(self.name, response, stored),
            fhir_instant(response.headers.get("last-modified")),
        )

    async def update(
        self, ehr_id: str, object_id: str, composition: dict, expected: VersionUid, what: str
    ) -> tuple[dict, VersionUid, str | None]:
        response = await self.module.request(
            "PUT", f"/ehr/{ehr_id}/composition/{object_id}", json=composition,
            headers={**REPRESENTATION, "If-Match": f'"{expected}"'},
        )  # fmt: skip
        expect(self.name, response, 200, 201, what=what)
        stored = response.json() if response.content else composition
        return (
            stored,
            version_uid(self.name, response, stored),
            fhir_instant(response.headers.get("last-modified")),
        )

    @staticmethod
    def ids(resource_type: str, resource_id: str) -> tuple[str, str]:
        """(ehr_id, object_id) of a resource id; 404 when it cannot be one of ours."""
        ids = split_joined_id(resource_id)
        if ids is None:
            raise FhirError(404, f"{resource_type}/{resource_id} is not known")
        return ids

    async def create_from(self, resource: dict, to_composition, to_fhir) -> dict:
        """Create a composition from a resource whose subject is a known Patient (422 otherwise),
        and answer the stored version as that resource."""
        rtype = resource["resourceType"]
        subject = (resource.get("subject") or {}).get("reference") or ""
        if not subject.startswith("Patient/"):
            raise FhirError(
                422, "subject must reference a Patient (Patient/{id})", expression=[f"{rtype}.subject"]
            )
        ehr_id = await self.subject_ehr(subject)
        if ehr_id is None:
            raise FhirError(422, f"{subject} is not known", expression=[f"{rtype}.subject"])
        try:
            composition = to_composition(resource, now())
        except MappingError as exc:
            raise mapping_error(exc) from None
        stored, uid, updated = await self.create(ehr_id, composition, f"{rtype} create")
        return to_fhir(stored, str(uid), ehr_id, subject.removeprefix("Patient/"), updated)

    async def delete_resource(self, resource_id: str) -> None:
        """Delete the composition behind a resource id (EHR id + object id): the transaction undo."""
        ehr_id, object_id = self.ids("composition", resource_id)
        _, uid, _ = await self.get(ehr_id, object_id, f"composition {object_id}")
        response = await self.module.request(
            "DELETE", f"/ehr/{ehr_id}/composition/{object_id}", headers={"If-Match": f'"{uid}"'}
        )
        if response.status_code not in (200, 204):
            raise module_error(self.name, response, f"composition {object_id}")

    async def subject_ehr(self, reference: str) -> str | None:
        """The EHR of a `patient`/`subject` search value (Patient/{id} or {id}); None: nothing matches."""
        patient_id = reference.removeprefix("Patient/")
        if "/" in patient_id:
            raise FhirError(
                400, f"patient must reference a Patient, got {reference!r}", expression=["patient"]
            )
        try:
            return await self.patients.ehr_id(patient_id)
        except FhirError as exc:
            if exc.status in (404, 410, 422):
                return None
            raise

    async def common_query(self, search: SearchRequest, date_param: str) -> list[tuple[str, Any]] | None:
        """template, patient and date parameters of a search; None when it cannot match anything."""
        query: list[tuple[str, Any]] = [("template_id", self.template_id)]
        references = search.values("patient") + search.values("subject")
        if len(references) > 1:
            raise FhirError(400, "One patient per search is supported", code="not-supported",
                            expression=["patient"])  # fmt: skip
        if references:
            ehr_id = await self.subject_ehr(references[0])
            if ehr_id is None:
                return None
            query.append(("ehr_id", ehr_id))
        date_from, date_to = date_bounds(
            date_param, [parse_date(date_param, v) for v in search.values(date_param)]
        )
        if date_from:
            query.append(("date_from", date_from))
        if date_to:
            query.append(("date_to", date_to))
        for key in search.sort:
            if key.lstrip("-") != date_param:
                raise FhirError(400, f"_sort {key!r} is not supported ({date_param} or -{date_param})",
                                code="not-supported", expression=["_sort"])  # fmt: skip
            query.append(("sort", "-date" if key.startswith("-") else "date"))
        return query

    async def query(self, query: list[tuple[str, Any]], offset: int, limit: int) -> tuple[list[dict], int]:
        response = await self.module.get(
            "/query/compositions", params=[*query, ("offset", offset), ("limit", limit)]
        )
        expect(self.name, response, 200, what=f"{self.name} search")
        body = response.json()
        items = body.get("items") or []
        return items, int(body.get("total", len(items)))

    async def query_all(self, query: list[tuple[str, Any]]) -> list[dict]:
        """Every page of a query (for searches the gateway must finish itself, and $everything)."""
        found: list[dict] = []
        while True:
            items, total = await self.query(query, len(found), 1000)
            found += items
            if not items or len(found) >= total:
                return found

    async def patients_of(self, items: list[dict]) -> dict[str, str | None]:
        ehrs = sorted({item["ehr_id"] for item in items})
        patient_ids = await asyncio.gather(*(self.patients.patient_id(e) for e in ehrs))
        return dict(zip(ehrs, patient_ids, strict=True))

    async def for_patients(self, patients: dict[str, str]) -> list[dict]:
        """Every composition item of these patients ({ehr_id: patient_id}), all pages."""
        if not patients:
            return []
        query = [
            ("template_id", self.template_id),
            *(("ehr_id", e) for e in sorted(patients)),
            ("sort", "date"),
        ]
        return await self.query_all(query)
