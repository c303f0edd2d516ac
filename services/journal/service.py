"""The journal's use cases are the kernel's composition use cases; this declares what is the journal's own.

Journal notes have no workflow: any valid note may follow any other, so there is no transition rule.
"""

from __future__ import annotations

from services.journal.index import JOURNAL_INDEX
from services.kernel.compositions import ClinicalModule, CompositionService
from services.kernel.ehr_directory import EhrDirectory
from services.kernel.store import VersionedStore
from services.kernel.templates import TemplateRegistry, Validator

JOURNAL_TEMPLATE_IDS = ("vgr.journal_note.v1",)


def journal_module(templates: TemplateRegistry) -> ClinicalModule:
    return ClinicalModule(name="journal", templates=templates, index=JOURNAL_INDEX)


def journal_service(
    templates: TemplateRegistry, store: VersionedStore, validator: Validator, ehrs: EhrDirectory
) -> CompositionService:
    return CompositionService(journal_module(templates), store, validator, ehrs)
