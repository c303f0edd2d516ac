"""The referrals module's use cases: the kernel's composition use cases with the referral's own
template, search index and workflow rule (every write is checked by `domain.WORKFLOW`)."""

from __future__ import annotations

from services.kernel.careflow import transition_rule
from services.kernel.compositions import ClinicalModule, CompositionService
from services.kernel.ehr_directory import EhrDirectory
from services.kernel.store import VersionedStore
from services.kernel.templates import TemplateRegistry, Validator
from services.referrals import domain
from services.referrals.index import REFERRALS_INDEX

REFERRALS_TEMPLATE_IDS = (domain.TEMPLATE_ID,)


def referrals_module(templates: TemplateRegistry) -> ClinicalModule:
    return ClinicalModule(
        name="referrals",
        templates=templates,
        index=REFERRALS_INDEX,
        check_transition=transition_rule(domain.WORKFLOW),
    )


def referrals_service(
    templates: TemplateRegistry, store: VersionedStore, validator: Validator, ehrs: EhrDirectory
) -> CompositionService:
    return CompositionService(referrals_module(templates), store, validator, ehrs)
