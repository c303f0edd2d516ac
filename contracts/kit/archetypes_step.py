"""Step 3 of the kit: archetype conformance of a module, through its public openEHR REST API only.

For each of the module's templates: every valid example composition is accepted (201 + Location +
ETag) and reads back equal (the server-assigned `uid` aside); every invalid example is rejected with
422 and an error naming its openEHR path; versions, ETag and If-Match behave as the openEHR REST
spec and the project's rules say. Clinical modules need an EHR: it is created in demographics (or
found there by subject). Everything the kit creates is deleted again where the API allows it.

Nothing here imports a module's code: a vendor's implementation is reached only over HTTP.
"""

from __future__ import annotations

import copy
import json
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from archetypes import template_ids
from archetypes.identifiers import luhn_check_digit
from contracts.kit.report import FAIL, PASS, SKIP, Report

STEP = "archetypes"
EXAMPLES = Path(__file__).resolve().parents[2] / "archetypes" / "examples"
MODULE_TEMPLATES = {
    "demographics": ("vgr.person.v1",),
    "journal": ("vgr.journal_note.v1",),
    "medication": ("vgr.medication_order.v1",),
    "referrals": ("vgr.referral.v1",),
}
# Fields of the module's answers that the gateway (and other consumers) read: renaming one breaks them.
QUERY_ITEM_FIELDS = ("ehr_id", "uid", "time_committed", "index", "composition")
VERSION_UID = re.compile(r"^(?P<object_id>[^:]+)::(?P<system_id>[^:]+)::(?P<n>[0-9]+)$")


class CaseFailed(Exception):
    """A check of one case failed; the message names the fault."""


class CaseSkipped(Exception):
    """The case does not apply to this module (the message says why)."""


def templates_of(module: str) -> list[str]:
    known = set(template_ids())
    return [t for t in MODULE_TEMPLATES[module] if t in known]


def examples(template_id: str, folder: str) -> list[tuple[str, dict]]:
    return [(path.stem, json.loads(path.read_text(encoding="utf-8")))
            for path in sorted((EXAMPLES / template_id / folder).glob("*.json"))]


def expected_errors(template_id: str) -> dict[str, dict]:
    return json.loads((EXAMPLES / template_id / "expected.json").read_text(encoding="utf-8"))


def random_personnummer(rng: random.Random, samordningsnummer: bool = False) -> str:
    """A valid twelve-digit number for a random date in 1930-1999 (day + 60 for a samordningsnummer)."""
    year, month, day = rng.randint(1930, 1999), rng.randint(1, 12), rng.randint(1, 28)
    day += 60 if samordningsnummer else 0
    serial = f"{rng.randint(0, 999):03d}"
    nine = f"{year % 100:02d}{month:02d}{day:02d}{serial}"
    return f"{year:04d}{month:02d}{day:02d}{serial}{luhn_check_digit(nine)}"


def ehr_status(number: str) -> dict:
    return {
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": {"_type": "DV_TEXT", "value": "EHR Status"},
        "subject": {"_type": "PARTY_SELF", "external_ref": {
            "_type": "PARTY_REF", "namespace": "vgr.demographics", "type": "PERSON",
            "id": {"_type": "GENERIC_ID", "value": number, "scheme": "personnummer"},
        }},
        "is_queryable": True,
        "is_modifiable": True,
    }


def fresh_identifiers(person: dict, rng: random.Random) -> dict:
    """A copy whose personnummer/samordningsnummer get a new serial (same birth date, valid check digit),
    so running the kit again does not collide with the persons of an earlier run."""
    result = copy.deepcopy(person)

    def visit(node):
        if isinstance(node, dict):
            if node.get("_type") == "DV_IDENTIFIER" and node.get("type") in ("personnummer", "samordningsnummer"):
                digits = re.sub(r"\D", "", node.get("id", ""))
                if len(digits) == 12:
                    serial = f"{rng.randint(0, 999):03d}"
                    check = luhn_check_digit(digits[2:8] + serial)
                    node["id"] = f"{digits[:8]}-{serial}{check}"
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result


def first_difference(expected, actual, pointer: str = "") -> str | None:
    """The JSON pointer of the first place where two JSON values differ (None when equal)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                return f"{pointer}/{key} (missing in what the server returned)"
            if key not in expected:
                return f"{pointer}/{key} (added by the server)"
            found = first_difference(expected[key], actual[key], f"{pointer}/{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{pointer} ({len(expected)} items sent, {len(actual)} returned)"
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            found = first_difference(a, b, f"{pointer}/{i}")
            if found:
                return found
        return None
    if expected != actual:
        return f"{pointer or '/'} (sent {json.dumps(expected, ensure_ascii=False)[:80]}, " \
               f"got {json.dumps(actual, ensure_ascii=False)[:80]})"
    return None


def without_uid(obj):
    return {k: v for k, v in obj.items() if k != "uid"} if isinstance(obj, dict) else obj


def short(response: httpx.Response, limit: int = 300) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("..." if len(text) > limit else "")


def parse_etag(response: httpx.Response, what: str) -> re.Match:
    etag = response.headers.get("etag")
    if not etag:
        raise CaseFailed(f"{what}: no ETag header (openEHR REST: the version uid, quoted)")
    match = VERSION_UID.match(etag.removeprefix("W/").strip('"'))
    if not match:
        raise CaseFailed(f"{what}: ETag {etag!r} is not a version uid object_id::system_id::n")
    return match


def json_body(response: httpx.Response, what: str):
    try:
        return response.json()
    except ValueError:
        raise CaseFailed(f"{what}: the body is not JSON: {short(response)}") from None


def expect_status(response: httpx.Response, expected: int | tuple[int, ...], what: str, why: str = "") -> None:
    allowed = expected if isinstance(expected, tuple) else (expected,)
    if response.status_code not in allowed:
        wanted = " or ".join(str(s) for s in allowed)
        raise CaseFailed(f"{what} answered {response.status_code}, expected {wanted}"
                         f"{' (' + why + ')' if why else ''}: {short(response)}")


def names_path(body, text: str, path: str, pointer: str) -> tuple[str | None, list[str]]:
    """How the error names the expected openEHR path (None when it does not), and the details' paths.

    Exactly in `details[].path`; or, for a missing or surplus node, the container's path with the
    same JSON pointer (or the node id in the detail's message); or the path anywhere in the body."""
    details = body.get("details") if isinstance(body, dict) else None
    details = [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
    paths = [str(d.get("path")) for d in details]
    if path in paths:
        return "details[].path", paths
    node = re.search(r"\[([^\]]+)\]$", path)
    for detail in details:
        container = str(detail.get("path") or "")
        if container and path.startswith(container) and (
            detail.get("pointer") == pointer or (node and node[1] in str(detail.get("message", "")))
        ):
            return f"the container {container} and the node {node[1] if node else ''}", paths
    if path in text:
        return "the body (not in details[].path)", paths
    return None, paths


@dataclass
class Api:
    """The URLs of one module kind (compositions under an EHR, or demographic persons)."""

    collection: str
    one: str  # format with uid
    history: str  # format with object_id


def composition_api(ehr_id: str) -> Api:
    return Api(f"/ehr/{ehr_id}/composition", f"/ehr/{ehr_id}/composition/{{uid}}",
               f"/ehr/{ehr_id}/versioned_composition/{{object_id}}/revision_history")


PERSON_API = Api("/demographic/person", "/demographic/person/{uid}",
                 "/demographic/versioned_party/{object_id}/revision_history")


class ArchetypeConformance:
    def __init__(self, report: Report, module: str, client: httpx.AsyncClient,
                 demographics: httpx.AsyncClient | None, base_path: str, seed: int | None = None):
        self.report, self.module, self.client, self.demographics = report, module, client, demographics
        self.base_path = base_path.rstrip("/")
        self.rng = random.Random(seed)
        self.created: list[tuple[str, str]] = []  # (object url, etag) to delete at the end

    # -- running cases ----------------------------------------------------------------------------

    async def case(self, name: str, check: Callable[[], Awaitable[str | None]]) -> bool:
        started = time.monotonic()
        try:
            note = await check()
        except CaseFailed as failure:
            self.report.add(STEP, name, FAIL, str(failure), time.monotonic() - started)
            return False
        except CaseSkipped as reason:
            self.report.add(STEP, name, SKIP, str(reason), time.monotonic() - started)
            return False
        except httpx.HTTPError as error:
            self.report.add(STEP, name, FAIL, f"HTTP error: {type(error).__name__}: {error}",
                            time.monotonic() - started)
            return False
        except Exception as error:  # noqa: BLE001 - an answer of a shape the kit did not expect is a failure
            self.report.add(STEP, name, FAIL, f"unexpected answer ({type(error).__name__}: {error})",
                            time.monotonic() - started)
            return False
        self.report.add(STEP, name, PASS, note or "", time.monotonic() - started)
        return True

    def url(self, path: str) -> str:
        return self.base_path + path

    async def run(self) -> None:
        templates = templates_of(self.module)
        if not templates:
            self.report.add(STEP, "templates", SKIP, f"no templates known for module {self.module}")
            return
        if self.module == "demographics":
            await self.ehr_cases()
            api = PERSON_API
        else:
            ehr_id = await self.ensure_ehr()
            if ehr_id is None:
                for template_id in templates:
                    self.report.add(STEP, f"{template_id}: every case", SKIP,
                                    "no EHR to write to (see the failed EHR setup case above)")
                return
            api = composition_api(ehr_id)
        for template_id in templates:
            await self.template_cases(template_id, api, ehr_id=None if self.module == "demographics" else ehr_id)
        await self.cleanup()

    # -- EHR (demographics) -----------------------------------------------------------------------

    async def ensure_ehr(self) -> str | None:
        holder: dict[str, str] = {}

        async def setup() -> str:
            if self.demographics is None:
                raise CaseFailed("a clinical module needs an EHR: give --demographics-url (the demographics "
                                 "module the clinical module asks about EHRs)")
            number = random_personnummer(self.rng)
            response = await self.demographics.post(self.url("/ehr"), json=ehr_status(number))
            if response.status_code == 409:
                response = await self.demographics.get(self.url("/ehr"), params={"subject_id": number})
            expect_status(response, (200, 201), "POST /ehr in demographics")
            body = json_body(response, "POST /ehr")
            ehr_id = (body.get("ehr_id") or {}).get("value") if isinstance(body, dict) else None
            if not ehr_id:
                raise CaseFailed(f"demographics' EHR has no ehr_id.value: {short(response)}")
            holder["ehr_id"] = ehr_id
            return f"EHR {ehr_id} for test personnummer {number}"

        await self.case("setup: EHR in demographics", setup)
        return holder.get("ehr_id")

    async def ehr_cases(self) -> None:
        number = random_personnummer(self.rng)
        state: dict[str, str] = {}

        async def create() -> str:
            response = await self.client.post(self.url("/ehr"), json=ehr_status(number))
            expect_status(response, 201, "POST /ehr", "openEHR REST: create EHR → 201 Created")
            if not response.headers.get("location"):
                raise CaseFailed("POST /ehr: no Location header")
            if not response.headers.get("etag"):
                raise CaseFailed("POST /ehr: no ETag header")
            body = json_body(response, "POST /ehr")
            ehr_id = (body.get("ehr_id") or {}).get("value") if isinstance(body, dict) else None
            if not ehr_id:
                raise CaseFailed(f"POST /ehr: the EHR has no ehr_id.value (consumers read it): {short(response)}")
            state["ehr_id"] = ehr_id
            return None

        async def read() -> None:
            response = await self.client.get(self.url(f"/ehr/{state['ehr_id']}"))
            expect_status(response, 200, "GET /ehr/{ehr_id}")
            body = json_body(response, "GET /ehr/{ehr_id}")
            if (body.get("ehr_id") or {}).get("value") != state["ehr_id"]:
                raise CaseFailed(f"GET /ehr/{{ehr_id}}: ehr_id.value is not {state['ehr_id']}: {short(response)}")

        async def by_subject() -> None:
            response = await self.client.get(self.url("/ehr"), params={
                "subject_id": number, "subject_namespace": "vgr.demographics"})
            expect_status(response, 200, "GET /ehr?subject_id=")
            body = json_body(response, "GET /ehr?subject_id=")
            if (body.get("ehr_id") or {}).get("value") != state["ehr_id"]:
                raise CaseFailed(f"GET /ehr?subject_id=: ehr_id.value is not {state['ehr_id']}: {short(response)}")

        async def duplicate() -> None:
            response = await self.client.post(self.url("/ehr"), json=ehr_status(number))
            expect_status(response, 409, "a second POST /ehr for the same subject", "an EHR exists for it")

        async def bad_number() -> None:
            digits = number[:-1] + str((int(number[-1]) + 1) % 10)
            response = await self.client.post(self.url("/ehr"), json=ehr_status(digits))
            expect_status(response, 422, f"POST /ehr with personnummer {digits} (wrong check digit)")
            if "subject" not in response.text:
                raise CaseFailed(f"POST /ehr with a wrong check digit: 422 but no error names the subject's path: "
                                 f"{short(response)}")

        if await self.case("ehr: create (201, Location, ETag, ehr_id)", create):
            await self.case("ehr: read by ehr_id", read)
            await self.case("ehr: find by subject", by_subject)
            await self.case("ehr: second EHR for a subject → 409", duplicate)
        await self.case("ehr: invalid personnummer → 422 with path", bad_number)

    # -- compositions / persons -------------------------------------------------------------------

    def prepare(self, document: dict) -> dict:
        return fresh_identifiers(document, self.rng) if self.module == "demographics" else copy.deepcopy(document)

    async def create(self, api: Api, document: dict, what: str, prefer: str | None = None,
                     workflow_may_refuse: bool = False) -> httpx.Response:
        headers = {"Prefer": prefer} if prefer else {}
        response = await self.client.post(self.url(api.collection), json=document, headers=headers)
        if response.status_code in (200, 201) and response.headers.get("etag"):
            match = VERSION_UID.match(response.headers["etag"].strip('"'))
            if match:
                self.created.append((api.one.format(uid=match["object_id"]), response.headers["etag"]))
        if response.status_code == 409 and workflow_may_refuse:
            raise CaseSkipped(f"not applicable as a new document: the module's workflow rules answered 409 "
                              f"({short(response, 200)}); the example records a later status")
        expect_status(response, 201, what, "openEHR REST: a create answers 201 Created")
        if not response.headers.get("location"):
            raise CaseFailed(f"{what}: no Location header (openEHR REST: the URL of the new version)")
        etag = parse_etag(response, what)
        if etag["n"] != "1":
            raise CaseFailed(f"{what}: a new object's ETag {response.headers['etag']} is not version 1")
        return response

    async def read_back(self, api: Api, uid: str, sent: dict, what: str, etag: str | None = None) -> httpx.Response:
        response = await self.client.get(self.url(api.one.format(uid=uid)))
        expect_status(response, 200, f"{what}: GET {api.one}")
        got = parse_etag(response, f"{what}: GET {api.one}")
        if etag is not None and got[0] != etag.strip('"'):
            raise CaseFailed(f"{what}: GET {api.one} has ETag {response.headers['etag']}, expected {etag} "
                             "(the latest version)")
        body = json_body(response, what)
        difference = first_difference(without_uid(sent), without_uid(body))
        if difference:
            raise CaseFailed(f"{what}: reads back different from what was sent, at {difference}")
        return response

    async def template_cases(self, template_id: str, api: Api, ehr_id: str | None) -> None:
        valid = examples(template_id, "valid")
        accepted_examples = []
        for name, document in valid:
            async def accepted(document=document, name=name) -> None:
                sent = self.prepare(document)
                response = await self.create(api, sent, f"POST valid/{name}", workflow_may_refuse=True)
                accepted_examples.append((name, document))
                etag = parse_etag(response, "POST")
                await self.read_back(api, etag["object_id"], sent, f"valid/{name}", response.headers["etag"])
                if ehr_id is not None:
                    await self.listed(template_id, ehr_id, response.headers["etag"].strip('"'), sent)
            await self.case(f"{template_id} valid/{name}: accepted (201), reads back equal, listed by the query",
                            accepted)

        expected = expected_errors(template_id)
        for name, document in examples(template_id, "invalid"):
            rule = expected.get(f"{name}.json", {})

            async def rejected(document=document, name=name, rule=rule) -> str:
                response = await self.client.post(self.url(api.collection), json=self.prepare(document))
                path = rule.get("path", "")
                if 200 <= response.status_code < 300:
                    etag = response.headers.get("etag", "")
                    match = VERSION_UID.match(etag.strip('"'))
                    if match:
                        self.created.append((api.one.format(uid=match["object_id"]), etag))
                    raise CaseFailed(
                        f"accepted an invalid composition ({response.status_code}): it breaks rule "
                        f"{rule.get('rule', name)} at {path}; expected 422 — the module does not validate "
                        f"against template {template_id}")
                expect_status(response, 422, f"POST invalid/{name}", "422 Unprocessable Entity for a template "
                              f"violation: rule {rule.get('rule', name)}")
                body = response.json() if "json" in response.headers.get("content-type", "") else None
                found, paths = names_path(body, response.text, path, rule.get("pointer", ""))
                if not found:
                    raise CaseFailed(f"422 but no error names the openEHR path {path} "
                                     f"(details[].path: {paths or 'none'})")
                return f"path named in {found}"
            await self.case(f"{template_id} invalid/{name}: rejected (422) naming {rule.get('path', '?')}",
                            rejected)

        if valid and all(c.status == SKIP for c in self.report.cases
                         if c.step == STEP and c.name.startswith(f"{template_id} valid/")):
            self.report.add(STEP, f"{template_id}: at least one valid example accepted", FAIL,
                            "every valid example was refused (409) as a new document")
        if accepted_examples:
            await self.version_cases(template_id, api, accepted_examples[0])

    async def listed(self, template_id: str, ehr_id: str, uid: str, sent: dict) -> None:
        """The module's search finds the new composition, with the fields consumers (the gateway) read."""
        response = await self.client.get(self.url("/query/compositions"),
                                         params={"ehr_id": ehr_id, "template_id": template_id, "limit": 1000})
        expect_status(response, 200, "GET /query/compositions?ehr_id=&template_id=")
        body = json_body(response, "query")
        if not isinstance(body, dict) or not isinstance(body.get("items"), list) or "total" not in body:
            raise CaseFailed(f"GET /query/compositions: the body is not {{total, offset, limit, items}}: "
                             f"{short(response)}")
        for item in body["items"]:
            missing = [f for f in QUERY_ITEM_FIELDS if f not in item] if isinstance(item, dict) else ["(not an object)"]
            if missing:
                has = sorted(item) if isinstance(item, dict) else item
                raise CaseFailed(f"GET /query/compositions: an item lacks field(s) {', '.join(missing)} "
                                 f"that the gateway reads (item has {has})")
        mine = [i for i in body["items"] if i["uid"] == uid]
        if not mine:
            raise CaseFailed(f"GET /query/compositions?ehr_id={ehr_id}&template_id={template_id} does not list "
                             f"the new composition {uid}")
        item = mine[0]
        if item["ehr_id"] != ehr_id:
            raise CaseFailed(f"GET /query/compositions: item ehr_id {item['ehr_id']!r} is not {ehr_id}")
        difference = first_difference(without_uid(sent), without_uid(item["composition"]))
        if difference:
            raise CaseFailed(f"GET /query/compositions: the item's composition differs from what was sent, "
                             f"at {difference}")

    async def version_cases(self, template_id: str, api: Api, example: tuple[str, dict]) -> None:
        name, document = example
        prefix = f"{template_id} versions ({name})"
        state: dict = {}

        async def prefer_representation() -> None:
            sent = self.prepare(document)
            response = await self.create(api, sent, "POST with Prefer: return=representation",
                                         prefer="return=representation")
            body = json_body(response, "POST with Prefer: return=representation")
            if not isinstance(body, dict):
                raise CaseFailed("POST with Prefer: return=representation: the body is not the object")
            difference = first_difference(without_uid(sent), without_uid(body))
            if difference:
                raise CaseFailed(f"POST with Prefer: return=representation: the body differs from what was sent, "
                                 f"at {difference}")
            state.update(sent=sent, object_id=parse_etag(response, "POST")["object_id"],
                         v1=response.headers["etag"])

        if not await self.case(f"{prefix}: Prefer: return=representation returns the object", prefer_representation):
            return
        one = api.one.format(uid=state["object_id"])

        async def put_current() -> None:
            changed = copy.deepcopy(state["sent"])
            if isinstance(changed.get("composer"), dict) and isinstance(changed["composer"].get("name"), str):
                changed["composer"]["name"] += " (ändrad)"
            response = await self.client.put(self.url(one), json=changed, headers={
                "If-Match": state["v1"], "Prefer": "return=representation"})
            expect_status(response, (200, 204), f"PUT with the current If-Match {state['v1']}")
            etag = parse_etag(response, "PUT")
            if etag["n"] != "2" or etag["object_id"] != state["object_id"]:
                raise CaseFailed(f"PUT with the current If-Match: ETag {response.headers['etag']} is not "
                                 f"version 2 of {state['object_id']}")
            if response.headers["etag"] == state["v1"]:
                raise CaseFailed("PUT: the ETag did not change")
            if response.status_code == 200:
                difference = first_difference(without_uid(changed), without_uid(json_body(response, "PUT")))
                if difference:
                    raise CaseFailed(f"PUT with Prefer: return=representation: the body differs at {difference}")
            else:
                raise CaseFailed("PUT with Prefer: return=representation answered 204 without the object")
            await self.read_back(api, state["object_id"], changed, "after PUT", response.headers["etag"])
            state.update(v2=response.headers["etag"])
            self.created.append((one, state["v2"]))

        if not await self.case(f"{prefix}: PUT with the current If-Match → version 2, new ETag", put_current):
            return

        async def put_stale() -> None:
            response = await self.client.put(self.url(one), json=state["sent"], headers={"If-Match": state["v1"]})
            if 200 <= response.status_code < 300:
                state["v2"] = response.headers.get("etag", state["v2"])
                self.created.append((one, state["v2"]))
                raise CaseFailed(f"PUT with a stale If-Match (version 1 while the latest is version 2) answered "
                                 f"{response.status_code}, expected 412 Precondition Failed — If-Match is not "
                                 "checked (lost updates)")
            expect_status(response, 412, "PUT with a stale If-Match", "Precondition Failed")

        async def put_without() -> None:
            response = await self.client.put(self.url(one), json=state["sent"])
            if 200 <= response.status_code < 300:
                state["v2"] = response.headers.get("etag", state["v2"])
                self.created.append((one, state["v2"]))
                raise CaseFailed(f"PUT without If-Match answered {response.status_code}, expected 400 — If-Match "
                                 "is required on PUT (the project's rule; openEHR REST requires it)")
            expect_status(response, 400, "PUT without If-Match", "If-Match is required")

        async def history() -> None:
            response = await self.client.get(self.url(api.history.format(object_id=state["object_id"])))
            expect_status(response, 200, f"GET {api.history}")
            body = json_body(response, "revision history")
            items = body.get("items", []) if isinstance(body, dict) else body
            try:
                uids = [i["version_id"]["value"] for i in items]
            except (TypeError, KeyError):
                raise CaseFailed(f"revision history: items are not REVISION_HISTORY_ITEM with "
                                 f"version_id.value: {short(response)}") from None
            wanted = [state["v1"].strip('"'), state["v2"].strip('"')]
            if uids[:2] != wanted:
                raise CaseFailed(f"revision history lists {uids}, expected {wanted} first (oldest first)")

        async def first_version() -> None:
            response = await self.client.get(self.url(api.one.format(uid=state["v1"].strip('"'))))
            expect_status(response, 200, "GET by the version uid of version 1")
            difference = first_difference(without_uid(state["sent"]), without_uid(json_body(response, "GET v1")))
            if difference:
                raise CaseFailed(f"version 1 read by its version uid differs at {difference}")

        async def delete() -> None:
            stale = await self.client.delete(self.url(one), headers={"If-Match": state["v1"]})
            if 200 <= stale.status_code < 300:
                raise CaseFailed(f"DELETE with a stale If-Match answered {stale.status_code}, expected 412 — "
                                 "If-Match is not checked")
            expect_status(stale, 412, "DELETE with a stale If-Match")
            response = await self.client.delete(self.url(one), headers={"If-Match": state["v2"]})
            expect_status(response, 204, f"DELETE with the current If-Match {state['v2']}")
            gone = await self.client.get(self.url(one))
            expect_status(gone, 404, "GET after DELETE")
            self.created = [(u, e) for u, e in self.created if u != one]

        await self.case(f"{prefix}: PUT with a stale If-Match → 412", put_stale)
        await self.case(f"{prefix}: PUT without If-Match → 400", put_without)
        await self.case(f"{prefix}: revision history lists the versions", history)
        await self.case(f"{prefix}: version 1 readable by its version uid", first_version)
        await self.case(f"{prefix}: DELETE (stale If-Match → 412, current → 204) then GET → 404", delete)

    async def cleanup(self) -> None:
        """Best effort: delete what the kit created (a vendor's test system should not keep it)."""
        latest: dict[str, str] = {}
        for url, etag in self.created:
            latest[url] = etag
        for url, etag in latest.items():
            try:
                response = await self.client.delete(self.url(url), headers={"If-Match": etag})
                if response.status_code == 412 and response.headers.get("etag"):
                    await self.client.delete(self.url(url), headers={"If-Match": response.headers["etag"]})
            except httpx.HTTPError:
                pass
