"""What the referrals module's FHIR searches need: status, receiver organisation, urgency and date."""

from __future__ import annotations

from services.kernel.careflow import status_values
from services.kernel.search import IndexField, SearchIndex
from services.referrals import domain

REFERRALS_INDEX = SearchIndex(
    clinical_time=domain.referral_date,
    fields={
        "status": IndexField(
            status_values(domain.WORKFLOW),
            description="Referral status, from the latest ACTION.service.v1 (draft when there is none)",
            allowed=domain.STATUSES,
        ),
        "receiver": IndexField(
            lambda composition: [domain.receiver(composition)],
            description="HSA-id of the receiving organisation (e.g. SE2321000131-E000000000201)",
        ),
        "urgency": IndexField(
            lambda composition: [domain.urgency(composition)],
            description="Urgency of the request",
            allowed=tuple(domain.URGENCY_CODES.values()),
        ),
    },
)
