"""EhrService with an in-memory registry: the use case's rules without a database."""

import uuid
from datetime import UTC, date, datetime

import pytest

from services.demographics.ehr_status import Subject
from services.demographics.examples import ehr_status
from services.demographics.repository import EhrAlreadyExists, EhrRecord
from services.demographics.service import EhrService
from services.kernel.errors import BadRequest, Conflict, NotFound, UnprocessableEntity
from services.kernel.versioning import ChangeType, Committer, LifecycleState, Version, VersionUid

WHO = Committer()


class InMemoryEhrs:
    def __init__(self):
        self.records: dict[str, EhrRecord] = {}

    def add(self, ehr_id: str, system_id: str, subject: Subject, status: dict, committer: Committer) -> EhrRecord:
        if ehr_id in self.records:
            raise EhrAlreadyExists("ehr_id", self.records[ehr_id])
        existing = self.by_subject(subject.namespace, subject.value)
        if existing:
            raise EhrAlreadyExists("subject", existing)
        now = datetime.now(UTC)
        first = Version(VersionUid(str(uuid.uuid4()), system_id, 1), ehr_id, str(uuid.uuid4()), now, committer,
                        ChangeType.CREATION, LifecycleState.COMPLETE, None, status)  # fmt: skip
        record = EhrRecord(ehr_id, system_id, subject.namespace, subject.value, subject.scheme, now, first)
        self.records[ehr_id] = record
        return record

    def get(self, ehr_id: str) -> EhrRecord | None:
        return self.records.get(ehr_id)

    def by_subject(self, namespace: str, subject_id: str) -> EhrRecord | None:
        key = (namespace, subject_id)
        matches = (r for r in self.records.values() if (r.subject_namespace, r.subject_id) == key)
        return next(matches, None)


@pytest.fixture
def service():
    # No EHR_STATUS versions beyond the first are written here: those tests run on the real store.
    return EhrService(
        InMemoryEhrs(), None, "demographics.test", "vgr.demographics", today=lambda: date(2026, 11, 24)
    )


def test_create_and_find_in_any_form(service):
    record = service.create(ehr_status("121212-1212"), Committer("Åsa", "SE2321000016-1234"))
    assert record.subject_id == "201212121212"
    assert str(record.status.uid).endswith("::demographics.test::1")
    assert record.status.committer.name == "Åsa"
    assert "uid" not in record.status.data
    assert service.get(record.ehr_id) == record
    assert service.by_subject("20121212-1212", None) == record


def test_conflicts_name_what_is_taken(service):
    first = service.create(ehr_status(), WHO)
    with pytest.raises(Conflict) as subject:
        service.create(ehr_status("121212+1212"), WHO)
    assert subject.value.code == "ehr_exists_for_subject" and first.ehr_id in subject.value.message
    with pytest.raises(Conflict) as same_id:
        service.create(ehr_status("20121212-1212"), WHO, first.ehr_id)
    assert same_id.value.code == "ehr_exists"


def test_errors(service):
    with pytest.raises(BadRequest):
        service.create({"_type": "PERSON"}, WHO)
    with pytest.raises(UnprocessableEntity) as bad:
        service.create(ehr_status("19121212-1213", "personnummer"), WHO)
    assert bad.value.details[0].path == "/subject/external_ref/id/value"
    with pytest.raises(BadRequest):
        service.create(ehr_status(), WHO, "not-a-uuid")
    with pytest.raises(NotFound):
        service.get("00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFound):
        service.by_subject("191212121212", "another.namespace")
    with pytest.raises(BadRequest):
        service.by_subject("1912", None)
