"""Demographics use cases: the EHR registry and versioned PERSONs with their search.

Framework-free: the routes (api.py) turn HTTP into calls here, the composition root (app.py)
hands in the store, the repositories, the validator and the clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from archetypes.identifiers import InvalidIdentifier
from services.demographics.ehr_status import (
    EhrStatusViolation,
    MalformedEhrStatus,
    Subject,
    check_ehr_status,
)
from services.demographics.person import RuleViolation, extract, swedish_identifier
from services.demographics.repository import EhrAlreadyExists, EhrRecord, EhrRepository, PersonSearch
from services.demographics.search import PersonQuery
from services.kernel.errors import (
    BadRequest,
    Conflict,
    Deleted,
    ErrorDetail,
    NotFound,
    PreconditionFailed,
    UnprocessableEntity,
)
from services.kernel.store import VersionedStore
from services.kernel.templates import TemplateRegistry, Validator, check_against_template
from services.kernel.versioning import Committer, Version, VersionUid, parse_object_id, parse_uid


def _details(issues) -> list[ErrorDetail]:
    return [ErrorDetail(issue.path, issue.pointer, issue.message) for issue in issues]


@dataclass(frozen=True)
class Page:
    total: int
    offset: int
    limit: int
    items: list[Version]


class EhrService:
    def __init__(self, repository: EhrRepository, statuses: VersionedStore, system_id: str, namespace: str,
                 today: Callable[[], date] = date.today):  # fmt: skip
        self.repository = repository
        self.statuses = statuses  # the EHR_STATUS versions (VERSIONED_EHR_STATUS), in the kernel's store
        self.system_id = system_id
        self.namespace = namespace
        self.today = today

    def _checked(self, body: Any) -> tuple[Subject, dict]:
        """The subject and the EHR_STATUS to store: 400 for what is not an EHR_STATUS, 422 with paths."""
        try:
            subject, status = check_ehr_status(body, self.namespace, self.today())
        except MalformedEhrStatus as error:
            raise BadRequest(str(error), "malformed_ehr_status") from error
        except EhrStatusViolation as error:
            raise UnprocessableEntity("The EHR_STATUS is not acceptable", _details(error.issues),
                                      "invalid_ehr_status") from error  # fmt: skip
        status.pop("uid", None)  # every version gets its uid from the store
        return subject, status

    def create(self, body: Any, committer: Committer, ehr_id: str | None = None) -> EhrRecord:
        """A new EHR for the subject of the EHR_STATUS; Conflict when the subject (or the id) has one."""
        ehr_id = parse_object_id(ehr_id) if ehr_id is not None else str(uuid.uuid4())
        subject, status = self._checked(body)
        try:
            return self.repository.add(ehr_id, self.system_id, subject, status, committer)
        except EhrAlreadyExists as error:
            if error.field == "ehr_id":
                raise Conflict(f"EHR {ehr_id} already exists", "ehr_exists") from error
            existing = f" ({error.existing.ehr_id})" if error.existing else ""
            raise Conflict(f"The subject already has an EHR{existing}", "ehr_exists_for_subject") from error

    def get(self, ehr_id: str) -> EhrRecord:
        record = self.repository.get(parse_object_id(ehr_id))
        if record is None:
            raise NotFound(f"No EHR {ehr_id}", "ehr_not_found")
        return record

    def by_subject(self, subject_id: str, namespace: str | None) -> EhrRecord:
        try:
            canonical = swedish_identifier(subject_id, None, self.today()).value
        except InvalidIdentifier as error:
            raise BadRequest(f"subject_id: {error}", "bad_parameter") from error
        record = self.repository.by_subject(namespace or self.namespace, canonical)
        if record is None:
            raise NotFound(f"No EHR for subject {canonical} in {namespace or self.namespace}", "ehr_not_found")
        return record

    # --- EHR_STATUS (VERSIONED_EHR_STATUS) ----------------------------------------------------

    def update_status(self, ehr_id: str, expected: VersionUid, body: Any, committer: Committer) -> Version:
        """A new EHR_STATUS version. The subject is whose EHR it is and never changes (422); the
        EHR_STATUS can always be written, also when the EHR is not modifiable (that is how it is re-opened)."""
        record = self.get(ehr_id)
        subject, status = self._checked(body)
        if subject.value != record.subject_id:
            path = "/subject/external_ref/id/value"
            raise UnprocessableEntity("The subject of an EHR cannot change", [ErrorDetail(
                path, path, f"this EHR belongs to {record.subject_id}, not {subject.value}")],
                "subject_changed")  # fmt: skip
        if expected.object_id != record.status_id:
            raise PreconditionFailed(f"If-Match {expected} is not a version of this EHR's EHR_STATUS",
                                     record.status.uid.etag)  # fmt: skip
        return self.statuses.update(
            expected=expected, ehr_id=record.ehr_id, data=status, template_id=None, committer=committer
        )

    def status(self, ehr_id: str, at: datetime | None = None) -> Version:
        """The latest EHR_STATUS version, or the one that was the latest at `at`."""
        record = self.get(ehr_id)
        if at is None:
            return record.status
        return self.statuses.at_time(record.status_id, at, record.ehr_id)

    def status_version(self, ehr_id: str, version_uid: str) -> Version:
        uid = VersionUid.parse(version_uid)
        record = self.get(ehr_id)
        if uid.object_id != record.status_id:
            raise NotFound(f"{version_uid} is not a version of the EHR_STATUS of EHR {ehr_id}",
                           "version_not_found")  # fmt: skip
        return self.statuses.version(uid, record.ehr_id)

    def status_history(self, ehr_id: str) -> list[Version]:
        record = self.get(ehr_id)
        return self.statuses.history(record.status_id, record.ehr_id)

    def ping(self) -> None:
        self.repository.ping()


class PersonService:
    def __init__(self, store: VersionedStore, search: PersonSearch, templates: TemplateRegistry,
                 validate: Validator, today: Callable[[], date] = date.today):  # fmt: skip
        self.store = store
        self.search_repository = search
        self.templates = templates
        self.validate = validate
        self.today = today

    # --- writes -------------------------------------------------------------------------------

    def _check(self, body: Any, object_id: str | None = None) -> tuple[dict, str]:
        """400 for what is not a PERSON, 422 for template and identifier issues, 409 for a taken number."""
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object (a PERSON)", "malformed_person")
        if body.get("_type") != "PERSON":
            raise BadRequest(f"_type must be PERSON, not {body.get('_type')!r}", "wrong_type")
        template_id = check_against_template(body, self.templates, self.validate)
        try:
            fields = extract(body, self.today())
        except RuleViolation as error:
            raise UnprocessableEntity("The PERSON has invalid identifiers", _details(error.issues),
                                      "invalid_identifier") from error  # fmt: skip
        swedish = [identifier.value for identifier in fields.identifiers if identifier.swedish]
        taken = self.search_repository.holders(swedish, other_than=object_id)
        if taken:
            owners = "; ".join(f"{number} belongs to person {holder}" for number, holder in taken.items())
            raise Conflict(owners, "identifier_in_use")
        data = dict(body)
        data.pop("uid", None)
        return data, template_id

    def _commit(self, write: Callable[[], Version]) -> Version:
        try:
            return write()
        except sa.exc.IntegrityError as error:
            # Two writers registered the same number at once: the unique index let one of them in.
            raise Conflict("A personnummer or samordningsnummer of this person was just registered "
                           "for another person", "identifier_in_use") from error  # fmt: skip

    def create(self, body: Any, committer: Committer) -> Version:
        data, template_id = self._check(body)
        return self._commit(
            lambda: self.store.create(ehr_id=None, data=data, template_id=template_id, committer=committer)
        )

    def update(self, uid: str, expected: VersionUid, body: Any, committer: Committer) -> Version:
        object_id = self._object_id(uid, expected)
        data, template_id = self._check(body, object_id)
        return self._commit(
            lambda: self.store.update(
                expected=expected, ehr_id=None, data=data, template_id=template_id, committer=committer
            )  # fmt: skip
        )

    def delete(self, uid: str, expected: VersionUid, committer: Committer) -> Version:
        self._object_id(uid, expected)
        return self.store.delete(expected=expected, ehr_id=None, committer=committer)

    @staticmethod
    def _object_id(uid: str, expected: VersionUid) -> str:
        object_id, _ = parse_uid(uid)
        if expected.object_id != object_id:
            raise BadRequest(f"If-Match {expected} is a version of another object than {object_id}",
                             "if_match_mismatch")  # fmt: skip
        return object_id

    # --- reads --------------------------------------------------------------------------------

    async def read(self, uid: str) -> Version:
        """The latest version (object id) or the given version (version uid); deleted -> 404 `deleted`."""
        object_id, version_uid = parse_uid(uid)
        version = await self.store.read(object_id, uid=version_uid)
        if version.is_deleted:
            raise Deleted(f"Person {version.uid.object_id} was deleted in version {version.uid}")
        return version

    def history(self, object_id: str) -> list[Version]:
        return self.store.history(parse_object_id(object_id))

    def version(self, object_id: str, version_uid: str) -> Version:
        uid = VersionUid.parse(version_uid)
        if uid.object_id != parse_object_id(object_id):
            raise NotFound(f"{version_uid} is not a version of {object_id}", "version_not_found")
        return self.store.version(uid)

    def search(self, query: PersonQuery) -> Page:
        total, versions = self.search_repository.search(query)
        return Page(total, query.offset, query.limit, versions)

    def ping(self) -> None:
        self.store.ping()
