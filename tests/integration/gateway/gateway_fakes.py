"""Small in-memory fakes of the modules, following services/README.md, for httpx.MockTransport.

They are replaced by the real apps (httpx.ASGITransport) in later integration tests; keep them
faithful to the README rather than to what the gateway happens to need.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx

from archetypes.identifiers import InvalidIdentifier, parse_person_identifier

API = "/rest/openehr/v1"


def now() -> datetime:
    return datetime.now(UTC)


def error(status: int, message: str, code: str, details: list | None = None, headers=None) -> httpx.Response:
    body = {"message": message, "code": code, "details": details or []}
    return httpx.Response(status, json=body, headers=headers)


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


class Versioned:
    """The versioned store: object_id -> [(uid, data or None when deleted, time, change type)]."""

    def __init__(self, system_id: str):
        self.system_id = system_id
        self.objects: dict[str, list[dict]] = {}

    def commit(self, object_id: str, data: dict | None, change: str) -> dict:
        versions = self.objects.setdefault(object_id, [])
        uid = f"{object_id}::{self.system_id}::{len(versions) + 1}"
        if data is not None:
            data = {**data, "uid": {"_type": "OBJECT_VERSION_ID", "value": uid}}
        version = {"uid": uid, "data": data, "time": now(), "change": change}
        versions.append(version)
        return version

    def find(self, uid: str) -> tuple[dict | None, httpx.Response | None]:
        """(version, None) or (None, error response); object id -> latest, version uid -> that one."""
        object_id = uid.split("::")[0]
        versions = self.objects.get(object_id)
        if not versions:
            return None, error(404, f"{uid} not found", "not_found")
        if "::" in uid:
            for v in versions:
                if v["uid"] == uid:
                    return v, None
            return None, error(404, f"version {uid} not found", "not_found")
        latest = versions[-1]
        if latest["data"] is None:
            return None, error(404, f"{uid} was deleted", "deleted")
        return latest, None


def version_headers(version: dict, base: str) -> dict:
    return {
        "ETag": f'"{version["uid"]}"',
        "Location": f"{base}/{version['uid']}",
        "Last-Modified": format_datetime(version["time"], usegmt=True),
    }


def check_if_match(request: httpx.Request, latest: dict) -> httpx.Response | None:
    header = request.headers.get("if-match")
    if not header:
        return error(400, "If-Match is required", "missing_if_match")
    if header.strip().strip('"') != latest["uid"]:
        return error(412, "stale If-Match", "precondition_failed", headers={"ETag": f'"{latest["uid"]}"'})
    return None


def wants_representation(request: httpx.Request) -> bool:
    return "return=representation" in request.headers.get("prefer", "")


class FakeDemographics:
    """PERSONs (template vgr.person.v1) and the EHR registry with versioned EHR_STATUSes."""

    base = "http://127.0.0.1:8081" + API

    def __init__(self, system_id: str = "demographics.vgr.se"):
        self.store = Versioned(system_id)
        self.statuses = Versioned(system_id)  # EHR_STATUS versions
        self.ehrs: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        self.calls.append((request.method, path))
        if path in ("/health", "/ready"):
            return httpx.Response(200, json={"status": "ok"})
        if not path.startswith(API):
            return error(404, "no such route", "not_found")
        path = path[len(API) :]
        method = request.method
        try:
            body = json.loads(request.content) if request.content else None
        except ValueError:
            return error(400, "malformed JSON", "malformed")
        if path == "/ehr" and method == "POST":
            return self.create_ehr(body)
        if path == "/ehr" and method == "GET":
            sid = request.url.params.get("subject_id")
            for ehr in self.ehrs.values():
                if ehr["ehr_status"]["subject"]["external_ref"]["id"]["value"] == sid:
                    return httpx.Response(200, json=ehr)
            return error(404, "no EHR for that subject", "not_found")
        if m := re.fullmatch(r"/ehr/([^/]+)", path):
            ehr = self.ehrs.get(m[1])
            return httpx.Response(200, json=ehr) if ehr else error(404, "unknown EHR", "not_found")
        if (m := re.fullmatch(r"/ehr/([^/]+)/ehr_status", path)) and method == "PUT":
            return self.update_ehr_status(request, m[1], body)
        if path == "/demographic/person" and method == "POST":
            return self.create_person(request, body)
        if path == "/demographic/person" and method == "GET":
            return self.search(request)
        if m := re.fullmatch(r"/demographic/person/([^/]+)", path):
            return self.person(request, m[1], body)
        if m := re.fullmatch(r"/demographic/versioned_party/([^/]+)/revision_history", path):
            versions = self.store.objects.get(m[1])
            if not versions:
                return error(404, "unknown object", "not_found")
            return httpx.Response(
                200,
                json=[
                    {
                        "version_id": {"value": v["uid"]},
                        "audits": [
                            {
                                "_type": "AUDIT_DETAILS",
                                "system_id": self.store.system_id,
                                "time_committed": {"value": v["time"].isoformat()},
                                "change_type": {"value": v["change"]},
                                "committer": {"_type": "PARTY_IDENTIFIED", "name": "unknown"},
                            }
                        ],
                    }
                    for v in versions
                ],
            )
        if m := re.fullmatch(r"/demographic/versioned_party/([^/]+)/version/([^/]+)", path):
            version, problem = self.store.find(m[2])
            if problem:
                return problem
            return httpx.Response(
                200,
                json={
                    "_type": "ORIGINAL_VERSION",
                    "uid": {"value": version["uid"]},
                    "data": version["data"],
                    "commit_audit": {
                        "time_committed": {"value": version["time"].isoformat()},
                        "change_type": {"value": version["change"]},
                    },
                },
                headers=version_headers(version, self.base + "/demographic/person"),
            )
        return error(404, f"no route {method} {path}", "not_found")

    def create_ehr(self, body) -> httpx.Response:
        if not isinstance(body, dict) or body.get("_type") != "EHR_STATUS":
            return error(400, "body must be an EHR_STATUS", "wrong_type")
        ref = (body.get("subject") or {}).get("external_ref") or {}
        number = (ref.get("id") or {}).get("value", "")
        try:
            parse_person_identifier(number)
        except InvalidIdentifier as exc:
            return error(
                422,
                str(exc),
                "invalid",
                [
                    {
                        "path": "/subject/external_ref/id/value",
                        "pointer": "/subject/external_ref/id/value",
                        "message": str(exc),
                    }
                ],
            )
        for ehr in self.ehrs.values():
            if ehr["ehr_status"]["subject"]["external_ref"]["id"]["value"] == number:
                return error(409, "an EHR exists for that subject", "conflict")
        ehr_id = str(uuid.uuid4())
        ehr = {
            "system_id": {"value": "demographics.vgr.se"},
            "ehr_id": {"value": ehr_id},
            "ehr_status": self.statuses.commit(str(uuid.uuid4()), body, "creation")["data"],
            "time_created": {"value": now().isoformat()},
        }
        self.ehrs[ehr_id] = ehr
        return httpx.Response(201, json=ehr, headers={"Location": f"{self.base}/ehr/{ehr_id}"})

    def update_ehr_status(self, request: httpx.Request, ehr_id: str, body) -> httpx.Response:
        ehr = self.ehrs.get(ehr_id)
        if ehr is None:
            return error(404, "unknown EHR", "ehr_not_found")
        latest, _ = self.statuses.find(ehr["ehr_status"]["uid"]["value"].split("::")[0])
        if problem := check_if_match(request, latest):
            return problem
        if not isinstance(body, dict) or body.get("_type") != "EHR_STATUS":
            return error(400, "body must be an EHR_STATUS", "malformed_ehr_status")
        if body.get("subject") != ehr["ehr_status"]["subject"]:
            return error(422, "the subject cannot change", "subject_changed")
        version = self.statuses.commit(latest["uid"].split("::")[0], body, "modification")
        ehr["ehr_status"] = version["data"]
        headers = version_headers(version, f"{self.base}/ehr/{ehr_id}/ehr_status")
        if wants_representation(request):
            return httpx.Response(200, json=version["data"], headers=headers)
        return httpx.Response(204, headers=headers)

    def validate(self, body) -> httpx.Response | None:
        if not isinstance(body, dict) or body.get("_type") != "PERSON":
            return error(400, "body must be a PERSON", "wrong_type")
        template = ((body.get("archetype_details") or {}).get("template_id") or {}).get("value")
        if template != "vgr.person.v1":
            return error(
                422,
                "template violation",
                "template",
                [
                    {
                        "path": "/archetype_details/template_id",
                        "pointer": "/archetype_details/template_id/value",
                        "message": f"template {template!r} is not vgr.person.v1",
                    }
                ],
            )
        return None

    def create_person(self, request, body) -> httpx.Response:
        if problem := self.validate(body):
            return problem
        version = self.store.commit(str(uuid.uuid4()), body, "creation")
        headers = version_headers(version, self.base + "/demographic/person")
        if wants_representation(request):
            return httpx.Response(201, json=version["data"], headers=headers)
        return httpx.Response(201, headers=headers)

    def person(self, request, uid: str, body) -> httpx.Response:
        version, problem = self.store.find(uid)
        if problem:
            return problem
        headers = version_headers(version, self.base + "/demographic/person")
        if request.method == "GET":
            return httpx.Response(200, json=version["data"], headers=headers)
        latest = self.store.objects[uid.split("::")[0]][-1]
        if problem := check_if_match(request, latest):
            return problem
        object_id = uid.split("::")[0]
        if request.method == "DELETE":
            self.store.commit(object_id, None, "deleted")
            return httpx.Response(204)
        if request.method == "PUT":
            if problem := self.validate(body):
                return problem
            version = self.store.commit(object_id, body, "modification")
            headers = version_headers(version, self.base + "/demographic/person")
            if wants_representation(request):
                return httpx.Response(200, json=version["data"], headers=headers)
            return httpx.Response(204, headers=headers)
        return error(405, "method not allowed", "method")

    def search(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        try:
            offset = int(params.get("offset", 0))
            limit = int(params.get("limit", 20))
        except ValueError:
            return error(400, "offset and limit are integers", "bad_parameter")
        if offset < 0 or not 0 < limit <= 1000:
            return error(400, "bad offset or limit", "bad_parameter")
        identifier = params.get("identifier")
        if identifier:
            try:
                identifier = parse_person_identifier(identifier).value
            except InvalidIdentifier as exc:
                return error(400, str(exc), "bad_parameter")
        matches = []
        for versions in self.store.objects.values():
            latest = versions[-1]
            person = latest["data"]
            if person is None:
                continue
            facts = person_facts(person)
            if identifier and identifier not in facts["identifiers"]:
                continue
            if not all(
                any(fold(n).startswith(fold(v)) for n in facts[key])
                for key in ("name", "family", "given")
                for v in params.get_list(key)
            ):
                continue
            if params.get("gender") and facts["gender"] != params["gender"]:
                continue
            if not all(date_matches(facts["birthdate"], v) for v in params.get_list("birthdate")):
                continue
            matches.append(
                {"uid": latest["uid"], "time_committed": latest["time"].isoformat(), "person": person}
            )
        return httpx.Response(
            200,
            json={
                "total": len(matches),
                "offset": offset,
                "limit": limit,
                "items": matches[offset : offset + limit],
            },
        )


_SEX = {"at0310": "male", "at0311": "female", "at0312": "other", "at0313": "unknown"}


def person_facts(person: dict) -> dict:
    """What the demographics search indexes, read from the PERSON by archetype node ids
    (template vgr.person.v1: gender at0031 in details; identifiers in any accepted form)."""
    facts = {"identifiers": set(), "family": [], "given": [], "name": [], "gender": None, "birthdate": None}
    for item in (person.get("details") or {}).get("items", []):
        if item["archetype_node_id"] == "at0031":
            facts["gender"] = _SEX.get(item["value"]["defining_code"]["code_string"])
        for el in item.get("items", []):
            value = el.get("value") or {}
            if value.get("_type") == "DV_IDENTIFIER":
                try:
                    facts["identifiers"].add(parse_person_identifier(value["id"]).value)
                except InvalidIdentifier:
                    facts["identifiers"].add(value["id"])
            elif value.get("_type") == "DV_DATE" and el["archetype_node_id"] == "at0010":
                facts["birthdate"] = value["value"]
    for identity in person.get("identities", []):
        for el in (identity.get("details") or {}).get("items", []):
            if el["archetype_node_id"] == "at0002":
                facts["given"].append(el["value"]["value"])
            elif el["archetype_node_id"] == "at0003":
                facts["family"].append(el["value"]["value"])
    facts["name"] = facts["given"] + facts["family"]
    return facts


def date_matches(actual: str | None, query: str) -> bool:
    m = re.fullmatch(r"(eq|ne|gt|lt|ge|le)?(\d{4}(-\d{2}(-\d{2})?)?)", query)
    if not m or actual is None:
        return False
    prefix, value = m[1] or "eq", m[2]
    head = actual[: len(value)]
    return {
        "eq": head == value,
        "ne": head != value,
        "gt": head > value,
        "lt": head < value,
        "ge": head >= value,
        "le": head <= value,
    }[prefix]


class Down:
    """A module that does not answer."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


_ISM_STATUS = {"245": "active", "530": "suspended", "531": "stopped", "532": "completed", "528": "stopped"}
_MEDICATION_NEXT = {  # the medication module's rule (an order without ACTION is active)
    None: {"active"},
    "active": {"active", "suspended", "stopped", "completed"},
    "suspended": {"suspended", "active", "stopped"},
    "stopped": set(),
    "completed": set(),
}


def medication_index(composition: dict) -> dict:
    """The search fields the medication module extracts (README: index)."""
    index = {
        "date": ((composition.get("context") or {}).get("start_time") or {}).get("value"),
        "status": "active",
        "atc_code": None,
    }
    actions = [c for c in composition.get("content", []) if c.get("_type") == "ACTION"]
    if actions:
        latest = max(enumerate(actions), key=lambda p: (p[1]["time"]["value"], p[0]))[1]
        code = latest["ism_transition"]["current_state"]["defining_code"]["code_string"]
        index["status"] = _ISM_STATUS.get(code)
    for c in composition.get("content", []):
        if c.get("_type") == "INSTRUCTION":
            for el in c["activities"][0]["description"]["items"]:
                code = (el.get("value") or {}).get("defining_code") or {}
                if (
                    el["archetype_node_id"] == "at0070"
                    and code.get("terminology_id", {}).get("value") == "ATC"
                ):
                    index["atc_code"] = code["code_string"]
    return index


def journal_index(composition: dict) -> dict:
    """The journal module's search fields: clinical date and ICD-10-SE codes of its diagnoses."""
    codes = [
        el["value"]["defining_code"]["code_string"]
        for c in composition.get("content", [])
        if c["archetype_node_id"] == "openEHR-EHR-EVALUATION.problem_diagnosis.v1"
        for el in c["data"]["items"]
        if el["archetype_node_id"] == "at0002" and el["value"].get("defining_code")
    ]
    return {"date": composition["context"]["start_time"]["value"], "diagnosis_code": codes}


class FakeClinical:
    """A clinical module (here: medication) storing COMPOSITIONs per EHR, EHRs checked against
    the demographics fake (the real module asks demographics over HTTP)."""

    def __init__(
        self,
        demographics: FakeDemographics,
        template_id: str = "vgr.medication_order.v1",
        system_id: str = "medication.vgr.se",
        port: int = 8083,
        index=None,
        workflow: dict | None = _MEDICATION_NEXT,
    ):
        self.index = index or medication_index
        self.workflow = workflow
        self.demographics = demographics
        self.template_id = template_id
        self.store = Versioned(system_id)
        self.ehr_of: dict[str, str] = {}  # object_id -> ehr_id
        self.base = f"http://127.0.0.1:{port}{API}"
        self.calls: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append((request.method, str(request.url)))
        if path in ("/health", "/ready"):
            return httpx.Response(200, json={"status": "ok"})
        path = path.removeprefix(API)
        try:
            body = json.loads(request.content) if request.content else None
        except ValueError:
            return error(400, "malformed JSON", "malformed")
        if path == "/query/compositions":
            return self.query(request)
        m = re.fullmatch(r"/ehr/([^/]+)/(composition|versioned_composition)(?:/([^/]+))?(/.*)?", path)
        if not m:
            return error(404, f"no route {path}", "not_found")
        ehr_id, kind, uid, rest = m[1], m[2], m[3], m[4]
        if ehr_id not in self.demographics.ehrs:
            return error(404, f"EHR {ehr_id} is not known", "not_found")
        if uid and self.ehr_of.get(uid.split("::")[0]) != ehr_id:
            return error(404, f"{uid} not found in EHR {ehr_id}", "not_found")
        if kind == "composition" and uid is None and request.method == "POST":
            return self.create(request, ehr_id, body)
        if kind == "composition" and uid and rest is None:
            return self.composition(request, uid, body)
        if kind == "versioned_composition" and rest == "/revision_history":
            return httpx.Response(
                200,
                json=[
                    {
                        "version_id": {"value": v["uid"]},
                        "audits": [
                            {
                                "time_committed": {"value": v["time"].isoformat()},
                                "change_type": {"value": v["change"]},
                            }
                        ],
                    }
                    for v in self.store.objects[uid]
                ],
            )
        if kind == "versioned_composition" and rest and rest.startswith("/version/"):
            version, problem = self.store.find(rest.removeprefix("/version/"))
            if problem:
                return problem
            return httpx.Response(
                200,
                json={
                    "uid": {"value": version["uid"]},
                    "data": version["data"],
                    "commit_audit": {"time_committed": {"value": version["time"].isoformat()}},
                },
            )
        return error(404, f"no route {path}", "not_found")

    def validate(self, body) -> httpx.Response | None:
        if not isinstance(body, dict) or body.get("_type") != "COMPOSITION":
            return error(400, "body must be a COMPOSITION", "wrong_type")
        template = ((body.get("archetype_details") or {}).get("template_id") or {}).get("value")
        if template != self.template_id:
            return error(
                422,
                "template violation",
                "template",
                [
                    {
                        "path": "/archetype_details/template_id",
                        "pointer": "/archetype_details/template_id/value",
                        "message": f"unknown template {template!r}",
                    }
                ],
            )
        facility = (body.get("context") or {}).get("health_care_facility") or {}
        if not facility.get("identifiers"):
            return error(
                422,
                "template violation",
                "template",
                [
                    {
                        "path": "/context/health_care_facility/identifiers",
                        "pointer": "/context/health_care_facility",
                        "message": "the care unit's HSA-id is required",
                    }
                ],
            )
        return None

    def create(self, request, ehr_id, body) -> httpx.Response:
        if problem := self.validate(body):
            return problem
        status = self.index(body).get("status")
        if self.workflow and status not in self.workflow[None]:
            allowed = ", ".join(sorted(self.workflow[None]))
            return error(409, f"a new composition cannot be {status}; allowed: {allowed}", "conflict")
        object_id = str(uuid.uuid4())
        self.ehr_of[object_id] = ehr_id
        version = self.store.commit(object_id, body, "creation")
        headers = version_headers(version, f"{self.base}/ehr/{ehr_id}/composition")
        if wants_representation(request):
            return httpx.Response(201, json=version["data"], headers=headers)
        return httpx.Response(201, headers=headers)

    def composition(self, request, uid, body) -> httpx.Response:
        version, problem = self.store.find(uid)
        if problem:
            return problem
        ehr_id = self.ehr_of[uid.split("::")[0]]
        headers = version_headers(version, f"{self.base}/ehr/{ehr_id}/composition")
        if request.method == "GET":
            return httpx.Response(200, json=version["data"], headers=headers)
        object_id = uid.split("::")[0]
        latest = self.store.objects[object_id][-1]
        if problem := check_if_match(request, latest):
            return problem
        if request.method == "DELETE":
            self.store.commit(object_id, None, "deleted")
            return httpx.Response(204)
        if problem := self.validate(body):
            return problem
        old, new = self.index(latest["data"]).get("status"), self.index(body).get("status")
        if self.workflow and old != new and new not in self.workflow.get(old, set()):
            allowed = ", ".join(sorted(self.workflow.get(old, set()))) or "none"
            return error(409, f"illegal transition {old} -> {new}; allowed from {old}: {allowed}", "conflict")
        version = self.store.commit(object_id, body, "modification")
        headers = version_headers(version, f"{self.base}/ehr/{ehr_id}/composition")
        if wants_representation(request):
            return httpx.Response(200, json=version["data"], headers=headers)
        return httpx.Response(204, headers=headers)

    def query(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        try:
            offset, limit = int(params.get("offset", 0)), int(params.get("limit", 20))
        except ValueError:
            return error(400, "offset and limit are integers", "bad_parameter")
        if offset < 0 or not 0 < limit <= 1000:
            return error(400, "bad offset or limit", "bad_parameter")
        ehr_ids = set(params.get_list("ehr_id"))
        rows = []
        for object_id, versions in self.store.objects.items():
            latest = versions[-1]
            if latest["data"] is None or (ehr_ids and self.ehr_of[object_id] not in ehr_ids):
                continue
            index = self.index(latest["data"])
            if params.get("template_id") and params["template_id"] != self.template_id:
                continue
            if not all(
                (
                    params[key] in index.get(key)
                    if isinstance(index.get(key), list)
                    else index.get(key) == params[key]
                )
                for key in ("status", "atc_code", "diagnosis_code", "receiver", "urgency")
                if params.get(key)
            ):
                continue
            moment = datetime.fromisoformat(index["date"].replace("Z", "+00:00"))
            if params.get("date_from") and moment < datetime.fromisoformat(
                params["date_from"].replace("Z", "+00:00")
            ):
                continue
            if params.get("date_to") and moment > datetime.fromisoformat(
                params["date_to"].replace("Z", "+00:00")
            ):
                continue
            rows.append(
                {
                    "ehr_id": self.ehr_of[object_id],
                    "uid": latest["uid"],
                    "time_committed": latest["time"].isoformat(),
                    "index": index,
                    "composition": latest["data"],
                }
            )
        if params.get("sort") in ("date", "-date"):
            rows.sort(key=lambda row: row["index"]["date"], reverse=params["sort"] == "-date")
        return httpx.Response(
            200,
            json={
                "total": len(rows),
                "offset": offset,
                "limit": limit,
                "items": rows[offset : offset + limit],
            },
        )


_REFERRAL_STEPS = {
    "at0026": "sent",
    "at0035": "received",
    "at0002": "accepted",
    "at0003": "scheduled",
    "at0004": "scheduled",
    "at0005": "completed",
    "at0009": "cancelled",
    "at0006": "cancelled",
}
REFERRAL_NEXT = {  # the referrals module's rule: draft is the absence of an ACTION
    None: {"draft", "sent", "cancelled"},
    "draft": {"draft", "sent", "cancelled"},
    "sent": {"sent", "received", "cancelled"},
    "received": {"received", "accepted", "rejected", "cancelled"},
    "accepted": {"accepted", "scheduled", "cancelled"},
    "scheduled": {"scheduled", "completed", "cancelled"},
    "rejected": set(),
    "completed": set(),
    "cancelled": set(),
}


def referral_index(composition: dict) -> dict:
    """The referrals module's search fields: status, receiver HSA-id, urgency, date."""
    actions = [
        c for c in composition.get("content", []) if c["archetype_node_id"] == "openEHR-EHR-ACTION.service.v1"
    ]
    status = "draft"
    if actions:
        latest = max(enumerate(actions), key=lambda p: (p[1]["time"]["value"], p[0]))[1]
        status = _REFERRAL_STEPS[latest["ism_transition"]["careflow_step"]["defining_code"]["code_string"]]
        reasons = [
            i["value"]["value"] for i in latest["description"]["items"] if i["archetype_node_id"] == "at0012"
        ]
        if status == "cancelled" and reasons and reasons[0].lower().startswith("avvisad"):
            status = "rejected"
    instruction = next(c for c in composition["content"] if c["_type"] == "INSTRUCTION")
    receiver = urgency = None
    for item in instruction["protocol"]["items"]:
        if item["archetype_node_id"] == "openEHR-EHR-CLUSTER.organisation.v1":
            receiver = next(i["value"]["id"] for i in item["items"] if i["archetype_node_id"] == "at0003")
    for item in instruction["activities"][0]["description"]["items"]:
        if item["archetype_node_id"] == "at0068":
            code = item["value"]["defining_code"]["code_string"]
            urgency = {"at0136": "emergency", "at0137": "urgent", "at0138": "routine"}[code]
    return {
        "date": composition["context"]["start_time"]["value"],
        "status": status,
        "receiver": receiver,
        "urgency": urgency,
    }
