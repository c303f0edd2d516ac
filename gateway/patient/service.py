"""Patient use cases over the demographics module (HTTP only)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archetypes.identifiers import InvalidIdentifier, parse_person_identifier
from gateway.fhir.errors import FhirError
from gateway.fhir.http import fhir_instant
from gateway.fhir.search import SearchRequest, parse_date, parse_token
from gateway.modules import ModuleClient, expect, module_error, replaced_version, version_uid
from gateway.openehr import MappingError, VersionUid
from gateway.patient.mapping import (
    GENDER_TO_CODE,
    patient_to_person,
    person_identifiers,
    person_to_patient,
)

MODULE = "demographics"
SUBJECT_NAMESPACE = "vgr.demographics"
REPRESENTATION = {"Prefer": "return=representation"}
OPENED_EHRS_REMEMBERED = 10_000


@dataclass
class PatientVersion:
    patient: dict | None  # None for a deleted version
    version: VersionUid
    last_updated: str | None
    change: str  # creation | modification | deleted


def is_active(ehr: dict) -> bool:
    """Whether an EHR takes new content and is found by queries (its latest EHR_STATUS says so)."""
    status = ehr.get("ehr_status") or {}
    return status.get("is_modifiable") is not False and status.get("is_queryable") is not False


def mapping_error(exc: MappingError) -> FhirError:
    return FhirError(exc.status, str(exc), expression=[exc.expression] if exc.expression else [])


def known_form(patient_id: str) -> None:
    """Patient ids are the PERSON object ids (UUIDs): anything else is unknown (404), and is not
    sent to the module (which would call it a bad request)."""
    try:
        uuid.UUID(patient_id)
    except ValueError:
        raise FhirError(404, f"Patient/{patient_id} is not known", code="not-found") from None


class LRU:
    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key: str, value: str) -> None:
        if self.size <= 0:
            return
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)


def _name_part(patient: dict, part: str) -> str | None:
    names = patient.get("name") or []
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    value = name.get("family") if part == "family" else " ".join(name.get("given") or []) or None
    return value.casefold() if value else None


# The Patient _sort keys (FHIR search parameter names) and the value each sorts on.
SORT_VALUES: dict[str, Callable[[dict], Any]] = {
    "family": lambda p: _name_part(p, "family"),
    "given": lambda p: _name_part(p, "given"),
    "name": lambda p: (_name_part(p, "family") or "", _name_part(p, "given") or ""),
    "birthdate": lambda p: p.get("birthDate"),
    "gender": lambda p: p.get("gender"),
    "_id": lambda p: p["id"],
    "_lastUpdated": lambda p: (p.get("meta") or {}).get("lastUpdated"),
}


def sort_keys(sort: list[str]) -> list[tuple[str, bool]]:
    """[(key, descending)] of a Patient _sort, 400 for a key it cannot sort on."""
    keys = []
    for item in sort:
        key = item.removeprefix("-")
        if key not in SORT_VALUES:
            raise FhirError(400, f"Patient _sort supports {', '.join(SORT_VALUES)} (with - for descending), "
                            f"not {item!r}", code="not-supported", expression=["_sort"])  # fmt: skip
        keys.append((key, item.startswith("-")))
    return keys


class PatientService:
    def __init__(self, demographics: ModuleClient, cache_size: int = 10_000):
        self.module = demographics
        self._ehr_by_patient = LRU(cache_size)
        self._patient_by_ehr = LRU(cache_size)
        # Patient id -> the number whose EHR its create made or re-opened: what undoing the create closes.
        # Not a cache (its size is not the cache's, which may be 0): a transaction's undo follows its
        # creates within the one request; the bound keeps memory flat when nothing is undone.
        self._opened_by_create = LRU(OPENED_EHRS_REMEMBERED)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.sort_limit = 1000  # matches a _sort (other than the module's own order) may sort at most

    # -- reads -------------------------------------------------------------------------------

    async def _get_person(self, patient_id: str) -> tuple[dict, VersionUid, str | None]:
        known_form(patient_id)
        response = await self.module.get(f"/demographic/person/{patient_id}")
        expect(MODULE, response, 200, what=f"Patient/{patient_id}")
        person = response.json()
        return (
            person,
            version_uid(MODULE, response, person),
            fhir_instant(response.headers.get("last-modified")),
        )

    async def read(self, patient_id: str) -> dict:
        person, uid, updated = await self._get_person(patient_id)
        return person_to_patient(person, str(uid), updated)

    async def _revisions(self, patient_id: str) -> list[dict]:
        known_form(patient_id)
        response = await self.module.get(f"/demographic/versioned_party/{patient_id}/revision_history")
        expect(MODULE, response, 200, what=f"Patient/{patient_id}")
        body = response.json()
        items = body.get("items", []) if isinstance(body, dict) else body
        return [i for i in items if isinstance(i, dict)]

    async def _version(self, uid: VersionUid, item: dict) -> PatientVersion:
        audit = (item.get("audits") or [{}])[0] if isinstance(item.get("audits"), list) else {}
        change = audit.get("change_type") or {}
        deleted = (
            change.get("value") == "deleted"
            or (change.get("defining_code") or {}).get("code_string") == "523"
        )
        committed = fhir_instant((audit.get("time_committed") or {}).get("value"))
        if deleted:
            return PatientVersion(None, uid, committed, "deleted")
        response = await self.module.get(f"/demographic/versioned_party/{uid.object_id}/version/{uid}")
        expect(MODULE, response, 200, what=f"Patient/{uid.object_id}/_history/{uid.version}")
        body = response.json()
        person = body.get("data", body) if isinstance(body, dict) else {}
        if not committed:
            committed = fhir_instant(
                ((body.get("commit_audit") or {}).get("time_committed") or {}).get("value")
            ) or fhir_instant(response.headers.get("last-modified"))
        kind = "creation" if uid.version == 1 else "modification"
        return PatientVersion(person_to_patient(person, str(uid), committed), uid, committed, kind)

    async def vread(self, patient_id: str, version: int) -> PatientVersion:
        for item in await self._revisions(patient_id):
            uid = VersionUid.parse((item.get("version_id") or {}).get("value", ""))
            if uid.version == version:
                return await self._version(uid, item)
        raise FhirError(404, f"Patient/{patient_id} has no version {version}")

    async def history(self, patient_id: str) -> list[PatientVersion]:
        items = await self._revisions(patient_id)
        pairs = [(VersionUid.parse((i.get("version_id") or {}).get("value", "")), i) for i in items]
        versions = await asyncio.gather(*(self._version(uid, item) for uid, item in pairs))
        return sorted(versions, key=lambda v: v.version.version, reverse=True)

    async def search(self, search: SearchRequest) -> tuple[list[dict], int]:
        query: list[tuple[str, Any]] = []
        for name in ("name", "family", "given"):
            values = search.values(name)
            if len(values) > 1:
                raise FhirError(
                    400, f"Only one {name} value is supported", code="not-supported", expression=[name]
                )
            if values:
                query.append((name, values[0]))
        if values := search.values("identifier"):
            if len(values) > 1 or "," in values[0]:
                raise FhirError(
                    400,
                    "Only one identifier value is supported",
                    code="not-supported",
                    expression=["identifier"],
                )
            token = parse_token(values[0])
            try:
                parsed = parse_person_identifier(token.code)
            except InvalidIdentifier:
                return [], 0  # not a Swedish person number: nothing can match
            if token.system not in (None, parsed.system):
                return [], 0
            query.append(("identifier", parsed.value))
        if values := search.values("gender"):
            if len(values) > 1 or values[0] not in GENDER_TO_CODE:
                raise FhirError(400, f"gender must be one of {sorted(GENDER_TO_CODE)}", expression=["gender"])
            query.append(("gender", values[0]))
        for value in search.values("birthdate"):
            query.append(("birthdate", str(parse_date("birthdate", value))))
        ids = search.values("_id")
        if ids:
            wanted = {i for v in ids for i in v.split(",")}
            if not query:
                found = []
                for patient_id in sorted(wanted):
                    try:
                        found.append(await self.read(patient_id))
                    except FhirError as exc:
                        if exc.status not in (404, 410):
                            raise
                total = len(found)
                return found[search.offset : search.offset + search.count], total
        count_only = search.summary == "count" or search.count == 0
        sort = sort_keys(search.sort)
        whole = bool(ids) or bool(sort)  # the gateway filters or sorts all matches itself
        query += [
            ("offset", 0 if whole else search.offset),
            ("limit", 1 if count_only else (self.sort_limit if whole else search.count)),
        ]
        response = await self.module.get("/demographic/person", params=query)
        expect(MODULE, response, 200, what="Patient search")
        body = response.json()
        items = body.get("items") or []
        total = int(body.get("total", len(items)))
        if sort and not count_only and total > len(items):
            raise FhirError(400, f"_sort needs at most {self.sort_limit} matches, found {total}: narrow the "
                            "search, or sort by family (the module's own order)", code="too-costly",
                            expression=["_sort"])  # fmt: skip
        patients = [
            person_to_patient(item["person"], item["uid"], fhir_instant(item.get("time_committed")))
            for item in items
        ]
        if ids:
            patients = [p for p in patients if p["id"] in wanted]
            total = len(patients)
        for key, descending in reversed(sort):
            present = [p for p in patients if SORT_VALUES[key](p) is not None]
            present.sort(key=SORT_VALUES[key], reverse=descending)
            patients = present + [p for p in patients if SORT_VALUES[key](p) is None]  # missing last
        if whole:
            return ([] if count_only else patients[search.offset : search.offset + search.count]), total
        return ([] if count_only else patients), total

    # -- writes ------------------------------------------------------------------------------

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def create(
        self, patient: dict, if_none_exist: list[tuple[str, str]] | None = None
    ) -> tuple[dict, bool]:
        """Create a PERSON and its EHR. With If-None-Exist (identifier), return the existing
        Patient instead (created False); more than one match is 412."""
        try:
            person = patient_to_person(patient)
        except MappingError as exc:
            raise mapping_error(exc) from None
        identifiers = person_identifiers(person)
        key = identifiers[0][1]
        async with self._lock(key):
            if if_none_exist is not None:
                existing = await self._match(if_none_exist)
                if len(existing) > 1:
                    raise FhirError(
                        412, f"If-None-Exist matches {len(existing)} Patients", code="multiple-matches"
                    )
                if existing:
                    return existing[0], False
            response = await self.module.request(
                "POST", "/demographic/person", json=person, headers=REPRESENTATION
            )
            if response.status_code == 409 and if_none_exist is not None:
                existing = await self._match(if_none_exist)
                if len(existing) == 1:
                    return existing[0], False
            expect(MODULE, response, 201, 200, what="Patient create")
            stored = response.json() if response.content else person
            uid = version_uid(MODULE, response, stored)
            try:
                ehr_id, opened = await self._ensure_ehr(identifiers[0])
            except FhirError:
                await self._compensate(uid)
                raise
            self._ehr_by_patient.put(uid.object_id, ehr_id)
            self._patient_by_ehr.put(ehr_id, uid.object_id)  # an earlier, undone Patient had it before
            if opened:
                self._opened_by_create.put(uid.object_id, key)
            return person_to_patient(
                stored, str(uid), fhir_instant(response.headers.get("last-modified"))
            ), True

    async def _match(self, criteria: list[tuple[str, str]]) -> list[dict]:
        search = SearchRequest("Patient", count=2)
        for name, value in criteria:
            if name != "identifier":
                raise FhirError(
                    400,
                    "If-None-Exist supports only identifier=system|value",
                    code="not-supported",
                    expression=["If-None-Exist"],
                )
            search.params.setdefault(name, []).append((None, value))
        if not search.params:
            raise FhirError(400, "If-None-Exist needs identifier=system|value", expression=["If-None-Exist"])
        patients, _ = await self.search(search)
        return patients

    async def _compensate(self, uid: VersionUid) -> None:
        # When the module is down too, nothing more can be done from here.
        with contextlib.suppress(FhirError):
            await self.module.request(
                "DELETE", f"/demographic/person/{uid.object_id}", headers={"If-Match": f'"{uid}"'}
            )

    async def undo_create(self, patient_id: str) -> None:
        """Takes back a create (a failed transaction): deletes the Patient and, if its create made or
        re-opened the EHR, closes the EHR again with a new EHR_STATUS version (not modifiable, not
        queryable); demographics never deletes an EHR. An EHR that was open before stays open."""
        number = self._opened_by_create.data.pop(patient_id, None)
        ehr_id = self._ehr_by_patient.data.pop(patient_id, None)
        if ehr_id is not None:
            self._patient_by_ehr.data.pop(ehr_id, None)
        if number is None:
            await self.delete(patient_id)
            return
        async with self._lock(number):  # a create of the same number waits, then re-opens the EHR
            await self.delete(patient_id)
            await self._set_ehr_active(await self._ehr_for_subject(number), False)

    async def _ensure_ehr(self, identifier: tuple[str, str]) -> tuple[str, bool]:
        """(EHR id, whether this call created or re-opened it): the subject's EHR, open for writing."""
        kind, number = identifier
        ehr_status = {
            "_type": "EHR_STATUS",
            "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
            "name": {"_type": "DV_TEXT", "value": "EHR status"},
            "subject": {
                "_type": "PARTY_SELF",
                "external_ref": {
                    "_type": "PARTY_REF",
                    "id": {"_type": "GENERIC_ID", "value": number, "scheme": kind},
                    "namespace": SUBJECT_NAMESPACE,
                    "type": "PERSON",
                },
            },
            "is_queryable": True,
            "is_modifiable": True,
        }
        response = await self.module.request("POST", "/ehr", json=ehr_status, headers=REPRESENTATION)
        if response.status_code == 409:  # the subject has one: an undone create may have closed it
            ehr = await self._ehr_for_subject(number)
            if is_active(ehr):
                return ehr["ehr_id"]["value"], False
            await self._set_ehr_active(ehr, True)
            return ehr["ehr_id"]["value"], True
        expect(MODULE, response, 201, 200, what="EHR create")
        return response.json()["ehr_id"]["value"], True

    async def _ehr_for_subject(self, number: str) -> dict:
        response = await self.module.get(
            "/ehr", params={"subject_id": number, "subject_namespace": SUBJECT_NAMESPACE}
        )
        expect(MODULE, response, 200, what=f"EHR for {number}")
        return response.json()

    async def _set_ehr_active(self, ehr: dict, active: bool) -> None:
        """A new EHR_STATUS version with is_modifiable and is_queryable both `active`, the rest kept."""
        ehr_id, current = ehr["ehr_id"]["value"], ehr["ehr_status"]
        status = {k: v for k, v in current.items() if k != "uid"}
        status.update(is_modifiable=active, is_queryable=active)
        response = await self.module.request(
            "PUT", f"/ehr/{ehr_id}/ehr_status", json=status, headers={"If-Match": f'"{current["uid"]["value"]}"'}
        )
        expect(MODULE, response, 200, 204, what=f"EHR_STATUS of EHR {ehr_id}")

    async def update(self, patient_id: str, patient: dict, if_match: int | None) -> dict:
        try:
            person = patient_to_person(patient)
        except MappingError as exc:
            raise mapping_error(exc) from None
        current_person, current, _ = await self._get_person(patient_id)
        target = replaced_version(f"Patient/{patient_id}", current, if_match)
        response = await self.module.request(
            "PUT",
            f"/demographic/person/{patient_id}",
            json=person,
            headers={**REPRESENTATION, "If-Match": f'"{target}"'},
        )
        expect(MODULE, response, 200, 201, what=f"Patient/{patient_id}")
        stored = response.json() if response.content else person
        uid = version_uid(MODULE, response, stored)
        new_ids = person_identifiers(person)
        if new_ids and new_ids != person_identifiers(current_person):
            await self._ensure_ehr(new_ids[0])
            self._ehr_by_patient.data.pop(patient_id, None)
        return person_to_patient(stored, str(uid), fhir_instant(response.headers.get("last-modified")))

    async def delete(self, patient_id: str, if_match: int | None = None) -> None:
        try:
            _, current, _ = await self._get_person(patient_id)
        except FhirError as exc:
            if exc.status == 410:
                return  # already deleted: delete is idempotent
            raise
        expected = replaced_version(f"Patient/{patient_id}", current, if_match)
        response = await self.module.request(
            "DELETE", f"/demographic/person/{patient_id}", headers={"If-Match": f'"{expected}"'}
        )
        if response.status_code not in (200, 204):
            raise module_error(MODULE, response, f"Patient/{patient_id}")

    # -- EHR directory (used by the clinical resources) ---------------------------------------

    async def ehr_id(self, patient_id: str) -> str:
        """The EHR id of a Patient (cached: it never changes for a subject)."""
        cached = self._ehr_by_patient.get(patient_id)
        if cached:
            return cached
        person, _, _ = await self._get_person(patient_id)
        identifiers = person_identifiers(person)
        if not identifiers:
            raise FhirError(422, f"Patient/{patient_id} has no person identifier, so no EHR")
        ehr_id = (await self._ehr_for_subject(identifiers[0][1]))["ehr_id"]["value"]
        self._ehr_by_patient.put(patient_id, ehr_id)
        self._patient_by_ehr.put(ehr_id, patient_id)
        return ehr_id

    async def patient_id(self, ehr_id: str) -> str | None:
        """The Patient id of an EHR (cached), None when demographics knows no PERSON for it."""
        cached = self._patient_by_ehr.get(ehr_id)
        if cached:
            return cached
        response = await self.module.get(f"/ehr/{ehr_id}")
        if response.status_code == 404:
            return None
        expect(MODULE, response, 200, what=f"EHR {ehr_id}")
        status = response.json().get("ehr_status") or {}
        if status.get("is_queryable") is False:
            return None  # a closed EHR (an undone create) names no Patient, even if one has its number now
        subject = (status.get("subject") or {}).get("external_ref") or {}
        number = (subject.get("id") or {}).get("value")
        if not number:
            return None
        found = await self.module.get("/demographic/person", params={"identifier": number, "limit": 1})
        expect(MODULE, found, 200, what=f"Patient for EHR {ehr_id}")
        items = found.json().get("items") or []
        if not items:
            return None
        patient_id = VersionUid.parse(items[0]["uid"]).object_id
        self._patient_by_ehr.put(ehr_id, patient_id)
        self._ehr_by_patient.put(patient_id, ehr_id)
        return patient_id
