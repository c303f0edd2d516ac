"""Provider states set up through a module's PUBLIC REST API (what a vendor's module also offers).

A state handler is `handler(state: str, params: dict) -> dict[str, str]`: it brings the module into
the named state and answers the values the pact's provider-state generators need (`ehr_id`,
`object_id`, `version_uid`, `person_id`), so a verified request carries the ids the module really
made. Handlers are idempotent: the verifier calls them before every interaction against one
running module, so they reuse what an earlier interaction created.

State names (the vocabulary the consumer pacts use; `{number}` is a personnummer):
- demographics: "a person exists for {number}", "an EHR exists for {number}",
  "no person exists for {number}", "no EHR exists for {number}", "no EHR exists with id {uuid}"
- journal, medication, referrals: "an EHR exists for {number}",
  "a journal note exists for {number}", "a medication order exists in status active for {number}",
  "a referral exists in status sent for {number}", "no composition exists"
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx

StateHandler = Callable[[str, dict], dict[str, str]]

API = "/rest/openehr/v1"
EXAMPLES = Path(__file__).resolve().parents[2] / "archetypes" / "examples"
NAMESPACE = "vgr.demographics"

# The document each clinical state creates: a template's valid example (so it is valid anywhere).
CLINICAL_EXAMPLES = {
    "journal": ("vgr.journal_note.v1", "diabetes_arskontroll.json"),
    "medication": ("vgr.medication_order.v1", "metformin_new_order.json"),
    "referrals": ("vgr.referral.v1", "ekg_remiss_skickad.json"),
}
PERSON_EXAMPLE = ("vgr.person.v1", "tolvan_tolvansson.json")

_NUMBER = re.compile(r"\b(\d{12})\b")
_UUID = re.compile(r"\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")


class StateError(RuntimeError):
    """A provider state could not be set up (the message says which and why)."""


def example(template_id: str, name: str, kind: str = "valid") -> dict:
    return json.loads((EXAMPLES / template_id / kind / name).read_text(encoding="utf-8"))


def person_document(number: str) -> dict:
    """The person example with its personnummer replaced by `number` (twelve digits)."""
    text = json.dumps(example(*PERSON_EXAMPLE))
    formatted = f"{number[:8]}-{number[8:]}"
    return json.loads(text.replace("19121212-1212", formatted))


def ehr_status(number: str) -> dict:
    scheme = "samordningsnummer" if int(number[6:8]) > 60 else "personnummer"
    return {
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": {"_type": "DV_TEXT", "value": "EHR status"},
        "subject": {
            "_type": "PARTY_SELF",
            "external_ref": {
                "_type": "PARTY_REF",
                "id": {"_type": "GENERIC_ID", "value": number, "scheme": scheme},
                "namespace": NAMESPACE,
                "type": "PERSON",
            },
        },
        "is_queryable": True,
        "is_modifiable": True,
    }


def _number(state: str, params: dict) -> str:
    if params.get("personnummer"):
        return str(params["personnummer"])
    found = _NUMBER.search(state)
    if not found:
        raise StateError(f"state {state!r} names no personnummer")
    return found.group(1)


def _version_uid(response: httpx.Response) -> str:
    """The version uid of a write or read: its ETag, else the body's uid (a state handler is lenient:
    the interactions, not the state set-up, judge the module's headers)."""
    etag = response.headers.get("etag", "").removeprefix("W/").strip('"')
    if etag:
        return etag
    try:
        return str(((response.json() or {}).get("uid") or {}).get("value") or "")
    except ValueError:
        return ""


def _with_stale(values: dict[str, str]) -> dict[str, str]:
    """Adds `stale_version_uid`: a version uid that is not the latest (for If-Match conflicts)."""
    object_id, system_id, n = values["version_uid"].rsplit("::", 2)
    return {**values, "stale_version_uid": f"{object_id}::{system_id}::{int(n) + 1}"}


def _fail(state: str, what: str, response: httpx.Response) -> StateError:
    return StateError(f"state {state!r}: {what} answered {response.status_code}: {response.text[:300]}")


class DemographicsStates:
    """EHRs and persons through demographics' REST API."""

    def __init__(self, base_url: str, *, timeout: float = 10.0):
        self.http = httpx.Client(base_url=base_url.rstrip("/") + API, timeout=timeout)

    def ensure_ehr(self, number: str, state: str = "") -> dict:
        """The subject's EHR (created when missing)."""
        response = self.http.post("/ehr", json=ehr_status(number), headers={"Prefer": "return=representation"})
        if response.status_code in (200, 201):
            return response.json()
        if response.status_code != 409:
            raise _fail(state, "POST /ehr", response)
        found = self.http.get("/ehr", params={"subject_id": number, "subject_namespace": NAMESPACE})
        if found.status_code != 200:
            raise _fail(state, "GET /ehr?subject_id", found)
        return found.json()

    def find_person(self, number: str, state: str = "") -> dict | None:
        response = self.http.get("/demographic/person", params={"identifier": number, "limit": 1})
        if response.status_code != 200:
            raise _fail(state, "GET /demographic/person", response)
        items = response.json().get("items") or []
        return items[0] if items else None

    def ensure_person(self, number: str, state: str = "") -> str:
        """The version uid of the live person with that number (created when missing)."""
        found = self.find_person(number, state)
        if found:
            return found["uid"]
        response = self.http.post("/demographic/person", json=person_document(number))
        if response.status_code != 201:
            raise _fail(state, "POST /demographic/person", response)
        uid = response.headers.get("etag", "").removeprefix("W/").strip('"')
        found = None if uid else self.find_person(number, state)
        return uid or (found or {}).get("uid") or ""

    def remove_person(self, number: str, state: str = "") -> None:
        found = self.find_person(number, state)
        if found:
            object_id = found["uid"].split("::")[0]
            response = self.http.delete(f"/demographic/person/{object_id}", headers={"If-Match": found["uid"]})
            if response.status_code not in (200, 204):
                raise _fail(state, "DELETE /demographic/person", response)

    def ehr_exists(self, number: str) -> bool:
        response = self.http.get("/ehr", params={"subject_id": number, "subject_namespace": NAMESPACE})
        return response.status_code == 200

    def __call__(self, state: str, params: dict) -> dict[str, str]:
        if state.startswith(("no EHR exists with id", "no person exists with id")):
            return {}
        number = _number(state, params)
        if state.startswith("a person exists"):
            uid = self.ensure_person(number, state)
            ehr = self.ensure_ehr(number, state)
            return {"person_id": uid.split("::")[0], "version_uid": uid, "ehr_id": ehr["ehr_id"]["value"],
                    "ehr_status_uid": ehr["ehr_status"]["uid"]["value"], "personnummer": number}  # fmt: skip
        if state.startswith("an EHR exists"):
            return {"ehr_id": self.ensure_ehr(number, state)["ehr_id"]["value"], "personnummer": number}
        if state.startswith("no person exists"):
            self.remove_person(number, state)
            return {"personnummer": number}
        if state.startswith("no EHR exists for"):
            if self.ehr_exists(number):
                raise StateError(
                    f"state {state!r}: an EHR exists for {number} and EHRs cannot be deleted "
                    "through the API (verify against a fresh database)"
                )
            return {"personnummer": number}
        raise StateError(f"demographics has no provider state {state!r}")


class ClinicalStates:
    """Compositions through a clinical module's REST API; EHRs through demographics'."""

    def __init__(self, module: str, base_url: str, demographics_url: str, *, timeout: float = 10.0):
        if module not in CLINICAL_EXAMPLES:
            raise ValueError(f"{module} is not a clinical module ({', '.join(CLINICAL_EXAMPLES)})")
        self.module = module
        self.http = httpx.Client(base_url=base_url.rstrip("/") + API, timeout=timeout)
        self.demographics = DemographicsStates(demographics_url, timeout=timeout)
        self.created: dict[str, dict[str, str]] = {}

    def ensure_composition(self, ehr_id: str, state: str) -> dict[str, str]:
        if state in self.created:  # the same document again: reuse it (idempotent)
            values = self.created[state]
            current = self.http.get(f"/ehr/{ehr_id}/composition/{values['object_id']}")
            if current.status_code == 200:
                return _with_stale({**values, "version_uid": _version_uid(current) or values["version_uid"]})
        response = self.http.post(f"/ehr/{ehr_id}/composition", json=example(*CLINICAL_EXAMPLES[self.module]))
        if response.status_code != 201:
            raise _fail(state, f"POST /ehr/{ehr_id}/composition", response)
        uid = _version_uid(response)
        if not uid:
            raise StateError(f"state {state!r}: POST composition answered neither an ETag nor a uid")
        values = {"ehr_id": ehr_id, "object_id": uid.split("::")[0], "version_uid": uid}
        self.created[state] = values
        return _with_stale(values)

    def __call__(self, state: str, params: dict) -> dict[str, str]:
        if state.startswith("no composition exists"):
            return {}
        number = _number(state, params)
        ehr_id = self.demographics.ensure_ehr(number, state)["ehr_id"]["value"]
        if state.startswith("an EHR exists"):
            return {"ehr_id": ehr_id, "personnummer": number}
        if state.startswith(("a journal note exists", "a medication order exists", "a referral exists")):
            return {**self.ensure_composition(ehr_id, state), "personnummer": number}
        raise StateError(f"{self.module} has no provider state {state!r}")


def public_api_states(module: str, base_url: str, demographics_url: str | None = None) -> StateHandler:
    """The state handler for `module` at `base_url` (clinical modules need demographics' URL)."""
    if module == "demographics":
        return DemographicsStates(base_url)
    if demographics_url is None:
        raise ValueError(f"{module} needs a demographics URL to create EHRs")
    return ClinicalStates(module, base_url, demographics_url)
