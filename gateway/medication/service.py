"""MedicationRequest use cases over the medication module (HTTP only)."""

from __future__ import annotations

import asyncio

from gateway.clinical import Compositions, now
from gateway.fhir.errors import FhirError
from gateway.fhir.http import as_received, fhir_instant
from gateway.fhir.search import SearchRequest, parse_token
from gateway.medication.mapping import (
    ATC_SYSTEM,
    MODULE_STATUS,
    TEMPLATE_ID,
    composition_to_medication_request,
    medication_request_to_composition,
    status_of,
    with_status,
)
from gateway.modules import ModuleClient, replaced_version
from gateway.openehr import MappingError
from gateway.patient.service import PatientService, mapping_error

_COMPARED = ("content", "context", "composer")


class MedicationService:
    def __init__(self, medication: ModuleClient, patients: PatientService):
        self.compositions = Compositions(medication, patients, TEMPLATE_ID)
        self.patients = patients

    def _ids(self, resource_id: str) -> tuple[str, str]:
        return self.compositions.ids("MedicationRequest", resource_id)

    async def read(self, resource_id: str) -> dict:
        ehr_id, object_id = self._ids(resource_id)
        composition, uid, updated = await self.compositions.get(
            ehr_id, object_id, f"MedicationRequest/{resource_id}"
        )
        patient_id = await self.patients.patient_id(ehr_id)
        return composition_to_medication_request(composition, str(uid), ehr_id, patient_id, updated)

    async def vread(self, resource_id: str, version: int) -> dict:
        ehr_id, object_id = self._ids(resource_id)
        what = f"MedicationRequest/{resource_id}"
        composition, uid, committed = await self.compositions.version(ehr_id, object_id, version, what)
        patient_id = await self.patients.patient_id(ehr_id)
        return composition_to_medication_request(composition, str(uid), ehr_id, patient_id, committed)

    async def history(self, resource_id: str) -> list:
        ehr_id, object_id = self._ids(resource_id)
        return await self.compositions.mapped_history(
            ehr_id, object_id, f"MedicationRequest/{resource_id}", composition_to_medication_request
        )

    def _items_to_resources(self, items: list[dict], patient_ids: dict[str, str | None]) -> list[dict]:
        return [
            composition_to_medication_request(
                item["composition"], item["uid"], item["ehr_id"], patient_ids.get(item["ehr_id"]),
                fhir_instant(item.get("time_committed")),
            )
            for item in items
        ]  # fmt: skip

    async def search(self, search: SearchRequest) -> tuple[list[dict], int, list[dict]]:
        """(matches on this page, total, included Patients)."""
        query = await self.compositions.common_query(search, "authoredon")
        if query is None:
            return [], 0, []
        statuses = search.values("status")
        for value in (v for status in statuses for v in status.split(",")):
            if value not in MODULE_STATUS:
                raise FhirError(400, f"status {value!r} is not searchable (use {', '.join(MODULE_STATUS)})",
                                expression=["status"])  # fmt: skip
        if len(statuses) > 1 or any("," in s for s in statuses):
            raise FhirError(
                400, "One status per search is supported", code="not-supported", expression=["status"]
            )
        query += [("status", MODULE_STATUS[s]) for s in statuses]
        for code in search.values("code"):
            token = parse_token(code)
            if token.system not in (None, ATC_SYSTEM) or "," in code:
                return [], 0, []
            query.append(("atc_code", token.code))
        ids = {i for v in search.values("_id") for i in v.split(",")}
        count_only = search.summary == "count" or search.count == 0
        if ids:
            items = await self.compositions.query_all(query)
            found = self._items_to_resources(items, await self.compositions.patients_of(items))
            found = [mr for mr in found if mr["id"] in ids]
            total, found = len(found), found[search.offset : search.offset + search.count]
        else:
            items, total = await self.compositions.query(
                query, search.offset, 1 if count_only else search.count
            )
            found = self._items_to_resources(items, await self.compositions.patients_of(items))
        if count_only:
            found = []
        included: list[dict] = []
        if {"MedicationRequest:subject", "MedicationRequest:patient"} & set(search.includes):
            wanted = sorted({mr["subject"]["reference"].removeprefix("Patient/") for mr in found
                             if "reference" in mr["subject"]})  # fmt: skip
            included = [p for p in await asyncio.gather(*(self._patient_or_none(p) for p in wanted)) if p]
        return found, total, included

    async def for_patients(self, patients: dict[str, str]) -> list[dict]:
        """Every MedicationRequest of these patients ({ehr_id: patient_id}), all pages."""
        return self._items_to_resources(await self.compositions.for_patients(patients), dict(patients))

    async def _patient_or_none(self, patient_id: str) -> dict | None:
        try:
            return await self.patients.read(patient_id)
        except FhirError as exc:
            if exc.status in (404, 410):
                return None
            raise

    async def create(self, mr: dict) -> dict:
        return await self.compositions.create_from(
            mr, medication_request_to_composition, composition_to_medication_request
        )

    async def update(self, resource_id: str, mr: dict, if_match: int | None) -> dict:
        """Only the status (and its reason) can change: the module gets a new version with an ACTION."""
        ehr_id, object_id = self._ids(resource_id)
        what = f"MedicationRequest/{resource_id}"
        current, uid, _ = await self.compositions.get(ehr_id, object_id, what)
        expected = replaced_version(what, uid, if_match)
        patient_id = await self.patients.patient_id(ehr_id)
        current_mr = as_received(composition_to_medication_request(current, str(uid), ehr_id, patient_id))
        body_subject = (mr.get("subject") or {}).get("reference")
        if body_subject and body_subject != current_mr["subject"].get("reference"):
            raise FhirError(422, "The subject of a MedicationRequest cannot change",
                            expression=["MedicationRequest.subject"])  # fmt: skip
        try:
            stamp = "1970-01-01T00:00:00Z"
            unchanged = ("status", "statusReason")
            proposed = medication_request_to_composition(
                {**{k: v for k, v in mr.items() if k not in unchanged},
                 "authoredOn": mr.get("authoredOn") or current_mr.get("authoredOn")}, stamp)  # fmt: skip
            existing = medication_request_to_composition(
                {k: v for k, v in current_mr.items() if k not in unchanged}, stamp)  # fmt: skip
        except MappingError as exc:
            raise mapping_error(exc) from None
        if any(proposed[key] != existing[key] for key in _COMPARED):
            message = "Only status and statusReason of a MedicationRequest can change; create a new one"
            raise FhirError(422, message, code="business-rule")
        status = mr.get("status")
        if status == status_of(current):
            return composition_to_medication_request(current, str(uid), ehr_id, patient_id)
        try:
            updated = with_status(current, status, now(), (mr.get("statusReason") or {}).get("text"))
        except MappingError as exc:
            raise mapping_error(exc) from None
        stored, new_uid, changed = await self.compositions.update(ehr_id, object_id, updated, expected, what)
        return composition_to_medication_request(stored, str(new_uid), ehr_id, patient_id, changed)
