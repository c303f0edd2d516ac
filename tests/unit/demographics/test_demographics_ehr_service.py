"""EhrService with an in-memory registry: the use case's rules without a database."""

from datetime import date

import pytest

from services.demographics.examples import ehr_status
from services.demographics.repository import EhrAlreadyExists, EhrRecord
from services.demographics.service import EhrService
from services.kernel.errors import BadRequest, Conflict, NotFound, UnprocessableEntity


class InMemoryEhrs:
    def __init__(self):
        self.records: dict[str, EhrRecord] = {}

    def add(self, record: EhrRecord) -> None:
        if record.ehr_id in self.records:
            raise EhrAlreadyExists("ehr_id", self.records[record.ehr_id])
        existing = self.by_subject(record.subject_namespace, record.subject_id)
        if existing:
            raise EhrAlreadyExists("subject", existing)
        self.records[record.ehr_id] = record

    def get(self, ehr_id: str) -> EhrRecord | None:
        return self.records.get(ehr_id)

    def by_subject(self, namespace: str, subject_id: str) -> EhrRecord | None:
        key = (namespace, subject_id)
        matches = (r for r in self.records.values() if (r.subject_namespace, r.subject_id) == key)
        return next(matches, None)


@pytest.fixture
def service():
    return EhrService(
        InMemoryEhrs(), "demographics.test", "vgr.demographics", today=lambda: date(2026, 11, 24)
    )


def test_create_and_find_in_any_form(service):
    record = service.create(ehr_status("121212-1212"))
    assert record.subject_id == "201212121212"
    assert record.ehr_status["uid"]["value"].endswith("::demographics.test::1")
    assert service.get(record.ehr_id) == record
    assert service.by_subject("20121212-1212", None) == record


def test_conflicts_name_what_is_taken(service):
    first = service.create(ehr_status())
    with pytest.raises(Conflict) as subject:
        service.create(ehr_status("121212+1212"))
    assert subject.value.code == "ehr_exists_for_subject" and first.ehr_id in subject.value.message
    with pytest.raises(Conflict) as same_id:
        service.create(ehr_status("20121212-1212"), first.ehr_id)
    assert same_id.value.code == "ehr_exists"


def test_errors(service):
    with pytest.raises(BadRequest):
        service.create({"_type": "PERSON"})
    with pytest.raises(UnprocessableEntity) as bad:
        service.create(ehr_status("19121212-1213", "personnummer"))
    assert bad.value.details[0].path == "/subject/external_ref/id/value"
    with pytest.raises(BadRequest):
        service.create(ehr_status(), "not-a-uuid")
    with pytest.raises(NotFound):
        service.get("00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFound):
        service.by_subject("191212121212", "another.namespace")
    with pytest.raises(BadRequest):
        service.by_subject("1912", None)
