"""What the medication module's FHIR searches need: order status, ATC code and order date."""

from __future__ import annotations

from services.kernel.careflow import status_values
from services.kernel.search import IndexField, SearchIndex
from services.medication import domain

MEDICATION_INDEX = SearchIndex(
    clinical_time=domain.order_date,
    fields={
        "status": IndexField(
            status_values(domain.WORKFLOW),
            description="Order status, from the latest ACTION.medication.v1",
            allowed=domain.STATUSES,
        ),
        "atc_code": IndexField(
            lambda composition: [domain.atc_code(composition)],
            description="ATC code of the ordered medication (e.g. C09AA05)",
        ),
    },
)
