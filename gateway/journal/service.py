"""Composition and Condition use cases over the journal module (HTTP only)."""

from __future__ import annotations

from gateway.clinical import Compositions
from gateway.fhir.errors import FhirError
from gateway.fhir.http import fhir_instant
from gateway.fhir.search import SearchRequest, parse_token
from gateway.journal.mapping import (
    ICD10SE_SYSTEM,
    LOINC,
    TEMPLATE_ID,
    composition_to_fhir,
    condition_to_fhir,
    condition_to_note,
    conditions_to_fhir,
    diagnoses,
    fhir_to_composition,
    note_to_condition,
    split_condition_id,
)
from gateway.modules import ModuleClient
from gateway.patient.service import PatientService


class JournalService:
    def __init__(self, journal: ModuleClient, patients: PatientService):
        self.compositions = Compositions(journal, patients, TEMPLATE_ID)
        self.patients = patients

    # -- Composition ---------------------------------------------------------------------------

    def _composition_ids(self, resource_id: str) -> tuple[str, str]:
        return self.compositions.ids("Composition", resource_id)

    async def read(self, resource_id: str) -> dict:
        ehr_id, object_id = self._composition_ids(resource_id)
        composition, uid, updated = await self.compositions.get(
            ehr_id, object_id, f"Composition/{resource_id}"
        )
        return composition_to_fhir(
            composition, str(uid), ehr_id, await self.patients.patient_id(ehr_id), updated
        )

    async def vread(self, resource_id: str, version: int) -> dict:
        ehr_id, object_id = self._composition_ids(resource_id)
        composition, uid, committed = await self.compositions.version(
            ehr_id, object_id, version, f"Composition/{resource_id}"
        )
        return composition_to_fhir(
            composition, str(uid), ehr_id, await self.patients.patient_id(ehr_id), committed
        )

    async def history(self, resource_id: str) -> list:
        ehr_id, object_id = self._composition_ids(resource_id)
        return await self.compositions.mapped_history(
            ehr_id, object_id, f"Composition/{resource_id}", composition_to_fhir
        )

    async def search(self, search: SearchRequest) -> tuple[list[dict], int]:
        query = await self.compositions.common_query(search, "date")
        if query is None:
            return [], 0
        for value in search.values("type"):
            token = parse_token(value)
            if token.code != "11506-3" or token.system not in (None, LOINC):
                return [], 0  # every journal note is a progress note
        count_only = search.summary == "count" or search.count == 0
        items, total = await self.compositions.query(query, search.offset, 1 if count_only else search.count)
        if count_only:
            return [], total
        patients = await self.compositions.patients_of(items)
        return [self._composition(item, patients) for item in items], total

    def _composition(self, item: dict, patients: dict) -> dict:
        patient_id = patients.get(item["ehr_id"])
        updated = fhir_instant(item.get("time_committed"))
        return composition_to_fhir(item["composition"], item["uid"], item["ehr_id"], patient_id, updated)

    async def create(self, resource: dict) -> dict:
        return await self.compositions.create_from(resource, fhir_to_composition, composition_to_fhir)

    # -- Condition (the diagnoses of the notes) ------------------------------------------------

    async def create_condition(self, resource: dict) -> dict:
        """A Condition created on its own becomes a journal note holding only that diagnosis."""
        return await self.compositions.create_from(resource, condition_to_note, note_to_condition)

    async def read_condition(self, resource_id: str) -> dict:
        ids = split_condition_id(resource_id)
        if ids is None:
            raise FhirError(404, f"Condition/{resource_id} is not known")
        ehr_id, object_id, index = ids
        composition, uid, updated = await self.compositions.get(ehr_id, object_id, f"Condition/{resource_id}")
        if index >= len(diagnoses(composition)):
            raise FhirError(404, f"Condition/{resource_id} is not known")
        patient_id = await self.patients.patient_id(ehr_id)
        return condition_to_fhir(composition, str(uid), ehr_id, patient_id, index, updated)

    def _conditions(self, item: dict, patients: dict, codes: set[str] | None = None) -> list[dict]:
        updated = fhir_instant(item.get("time_committed"))
        conditions = conditions_to_fhir(item["composition"], item["uid"], item["ehr_id"],
                                        patients.get(item["ehr_id"]), updated)  # fmt: skip
        if codes is None:
            return conditions
        return [c for c in conditions if {coding.get("code") for coding in c["code"].get("coding", [])} & codes]

    async def search_conditions(self, search: SearchRequest) -> tuple[list[dict], int]:
        """Conditions are entries of notes: the module finds the notes, the gateway the entries, so
        the gateway pages this search itself."""
        query = await self.compositions.common_query(search, "recorded-date")
        if query is None:
            return [], 0
        codes: set[str] | None = None
        for value in search.values("code"):
            wanted = set()
            for part in value.split(","):
                token = parse_token(part)
                if token.system in (None, ICD10SE_SYSTEM):
                    wanted.add(token.code)
            codes = wanted if codes is None else codes & wanted
        if codes is not None:
            if not codes:
                return [], 0
            if len(codes) == 1:
                query.append(("diagnosis_code", next(iter(codes))))
        items = await self.compositions.query_all(query)
        patients = await self.compositions.patients_of(items)
        found = [c for item in items for c in self._conditions(item, patients, codes)]
        return found[search.offset : search.offset + search.count], len(found)

    async def for_patients(self, patients: dict[str, str]) -> list[dict]:
        """Every Composition and Condition of these patients ({ehr_id: patient_id})."""
        items = await self.compositions.for_patients(patients)
        known = dict(patients)
        out = []
        for item in items:
            args = (item["composition"], item["uid"], item["ehr_id"], known.get(item["ehr_id"]),
                    fhir_instant(item.get("time_committed")))  # fmt: skip
            out.append(composition_to_fhir(*args))
            out += conditions_to_fhir(*args)
        return out
