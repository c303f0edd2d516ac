"""What the journal's FHIR searches need: the note's clinical date and its ICD-10-SE diagnosis codes."""

from __future__ import annotations

from services.kernel.search import IndexField, SearchIndex, coded_values, time_at

JOURNAL_INDEX = SearchIndex(
    clinical_time=time_at("context", "start_time", "value"),
    fields={
        "diagnosis_code": IndexField(
            coded_values("ICD-10-SE", within="openEHR-EVALUATION.problem_diagnosis"),
            description="ICD-10-SE code of a diagnosis in the note (e.g. J06.9)",
        ),
    },
)
