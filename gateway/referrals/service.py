"""ServiceRequest and Task use cases over the referrals module (HTTP only)."""

from __future__ import annotations

from gateway.clinical import Compositions, now
from gateway.fhir.errors import FhirError
from gateway.fhir.http import as_received, fhir_instant
from gateway.fhir.search import SearchRequest, parse_token
from gateway.modules import ModuleClient, replaced_version
from gateway.openehr import MappingError
from gateway.patient.service import PatientService, mapping_error
from gateway.referrals.mapping import (
    PRIORITY_TO_MODULE,
    SR_TO_MODULE,
    STATUSES,
    TASK_TO_MODULE,
    TEMPLATE_ID,
    composition_to_service_request,
    composition_to_task,
    module_status,
    service_request_to_composition,
    with_status,
)

HSA = "urn:oid:1.2.752.29.4.19"
_FIXED = ("status", "statusReason", "businessStatus", "lastModified", "meta", "text")


class ReferralService:
    def __init__(self, referrals: ModuleClient, patients: PatientService):
        self.compositions = Compositions(referrals, patients, TEMPLATE_ID)
        self.patients = patients

    def _ids(self, resource_type: str, resource_id: str) -> tuple[str, str]:
        return self.compositions.ids(resource_type, resource_id)

    def _render(
        self, resource_type: str, composition: dict, uid: str, ehr_id: str, patient_id, updated
    ) -> dict:
        render = composition_to_service_request if resource_type == "ServiceRequest" else composition_to_task
        return render(composition, uid, ehr_id, patient_id, updated)

    async def read(self, resource_type: str, resource_id: str) -> dict:
        ehr_id, object_id = self._ids(resource_type, resource_id)
        composition, uid, updated = await self.compositions.get(
            ehr_id, object_id, f"{resource_type}/{resource_id}"
        )
        patient_id = await self.patients.patient_id(ehr_id)
        return self._render(resource_type, composition, str(uid), ehr_id, patient_id, updated)

    async def vread(self, resource_type: str, resource_id: str, version: int) -> dict:
        ehr_id, object_id = self._ids(resource_type, resource_id)
        what = f"{resource_type}/{resource_id}"
        composition, uid, committed = await self.compositions.version(ehr_id, object_id, version, what)
        patient_id = await self.patients.patient_id(ehr_id)
        return self._render(resource_type, composition, str(uid), ehr_id, patient_id, committed)

    async def history(self, resource_type: str, resource_id: str) -> list:
        ehr_id, object_id = self._ids(resource_type, resource_id)
        render = composition_to_service_request if resource_type == "ServiceRequest" else composition_to_task
        return await self.compositions.mapped_history(
            ehr_id, object_id, f"{resource_type}/{resource_id}", render
        )

    async def search(self, resource_type: str, search: SearchRequest) -> tuple[list[dict], int]:
        date_param = "authored" if resource_type == "ServiceRequest" else "authored-on"
        query = await self.compositions.common_query(search, date_param)
        if query is None:
            return [], 0
        statuses: list[str] | None = None
        for value in search.values("status"):
            wanted = []
            for part in value.split(","):
                table = (
                    SR_TO_MODULE
                    if resource_type == "ServiceRequest"
                    else {k: [v] for k, v in TASK_TO_MODULE.items()}
                )
                if part not in table:
                    raise FhirError(
                        400,
                        f"status {part!r} is not a {resource_type} status here ({', '.join(table)})",
                        expression=["status"],
                    )
                wanted += table[part]
            statuses = wanted if statuses is None else [s for s in statuses if s in wanted]
        for value in search.values("priority"):
            if value not in PRIORITY_TO_MODULE or len(search.values("priority")) > 1:
                raise FhirError(
                    400, f"priority must be one of {', '.join(PRIORITY_TO_MODULE)}", expression=["priority"]
                )
            query.append(("urgency", PRIORITY_TO_MODULE[value]))
        for name in ("performer", "owner"):
            for value in search.values(name):
                token = parse_token(value)
                if token.system not in (None, HSA):
                    return [], 0
                query.append(("receiver", token.code))
        if statuses is not None and not statuses:
            return [], 0
        count_only = search.summary == "count" or search.count == 0
        if statuses is not None and len(statuses) > 1:
            # the module takes one status: ask once per status, page here
            items = []
            for status in statuses:
                items += await self.compositions.query_all([*query, ("status", status)])
            items.sort(key=lambda item: item.get("index", {}).get("date") or "", reverse=True)
            total, items = len(items), items[search.offset : search.offset + search.count]
        else:
            if statuses:
                query.append(("status", statuses[0]))
            items, total = await self.compositions.query(
                query, search.offset, 1 if count_only else search.count
            )
        if count_only:
            return [], total
        patients = await self.compositions.patients_of(items)
        found = [
            self._render(
                resource_type,
                item["composition"],
                item["uid"],
                item["ehr_id"],
                patients.get(item["ehr_id"]),
                fhir_instant(item.get("time_committed")),
            )
            for item in items
        ]
        return found, total

    async def create(self, sr: dict) -> dict:
        return await self.compositions.create_from(
            sr, service_request_to_composition, composition_to_service_request
        )

    async def update(self, resource_type: str, resource_id: str, body: dict, if_match: int | None) -> dict:
        """A status change (Task: the workflow; ServiceRequest: send a draft, revoke) becomes a new
        version with one more ACTION; anything else that differs is refused (422)."""
        ehr_id, object_id = self._ids(resource_type, resource_id)
        what = f"{resource_type}/{resource_id}"
        current, uid, _ = await self.compositions.get(ehr_id, object_id, what)
        expected = replaced_version(what, uid, if_match)
        patient_id = await self.patients.patient_id(ehr_id)
        shown = self._render(resource_type, current, str(uid), ehr_id, patient_id, None)
        normal = as_received(shown)
        changed = sorted(
            k for k in set(body) | set(normal) if k not in _FIXED and body.get(k) != normal.get(k)
        )
        if changed:
            raise FhirError(
                422,
                f"Only the status of a {resource_type} can change here (changed: {', '.join(changed)})",
                code="business-rule",
                expression=[f"{resource_type}.{changed[0]}"],
            )
        old = module_status(current)
        new = self._target(resource_type, old, body.get("status"))
        if new == old:
            return shown
        reason = (body.get("statusReason") or {}).get("text")
        try:
            updated = with_status(current, new, now(), reason)
        except MappingError as exc:
            raise mapping_error(exc) from None
        stored, new_uid, changed_at = await self.compositions.update(
            ehr_id, object_id, updated, expected, what
        )
        return self._render(resource_type, stored, str(new_uid), ehr_id, patient_id, changed_at)

    @staticmethod
    def _target(resource_type: str, old: str, status: str | None) -> str:
        if resource_type == "Task":
            if status not in TASK_TO_MODULE:
                raise FhirError(
                    422,
                    f"Task status {status!r} is not part of the referral workflow "
                    f"({', '.join(TASK_TO_MODULE)})",
                    expression=["Task.status"],
                )
            return TASK_TO_MODULE[status]
        if status == STATUSES[old][1]:
            return old
        if status == "active" and old == "draft":
            return "sent"
        if status == "revoked":
            return "cancelled"
        raise FhirError(
            422,
            "ServiceRequest status can go from draft to active (send) or to revoked (cancel); "
            "the rest of the workflow is the Task's",
            expression=["ServiceRequest.status"],
        )

    async def for_patients(self, patients: dict[str, str]) -> list[dict]:
        """Every ServiceRequest and Task of these patients ({ehr_id: patient_id})."""
        out = []
        for item in await self.compositions.for_patients(patients):
            args = (
                item["composition"],
                item["uid"],
                item["ehr_id"],
                patients.get(item["ehr_id"]),
                fhir_instant(item.get("time_committed")),
            )
            out += [composition_to_service_request(*args), composition_to_task(*args)]
        return out
