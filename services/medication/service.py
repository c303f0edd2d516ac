"""The medication module's use cases: the kernel's composition use cases with the medication
order's own template, search index and status rule (every write is checked by `domain.WORKFLOW`)."""

from __future__ import annotations

from services.kernel.careflow import transition_rule
from services.kernel.compositions import ClinicalModule, CompositionService
from services.kernel.ehr_directory import EhrDirectory
from services.kernel.store import VersionedStore
from services.kernel.templates import TemplateRegistry, Validator
from services.medication import domain
from services.medication.index import MEDICATION_INDEX

MEDICATION_TEMPLATE_IDS = (domain.TEMPLATE_ID,)


def medication_module(templates: TemplateRegistry) -> ClinicalModule:
    return ClinicalModule(
        name="medication",
        templates=templates,
        index=MEDICATION_INDEX,
        check_transition=transition_rule(domain.WORKFLOW),
    )


def medication_service(
    templates: TemplateRegistry, store: VersionedStore, validator: Validator, ehrs: EhrDirectory
) -> CompositionService:
    return CompositionService(medication_module(templates), store, validator, ehrs)
