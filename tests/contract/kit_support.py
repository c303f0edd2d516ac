"""What the kit's tests share: our modules in-process (httpx.ASGITransport), optionally wrapped in a
broken variant, with a real demographics app behind the clinical module's EHR lookup."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from contracts.kit import KitConfig, Report, run_kit
from contracts.kit.report import FAIL
from services.demographics.app import create_app as create_demographics
from services.demographics.settings import DemographicsSettings
from services.journal.app import create_app as create_journal
from services.journal.settings import JournalSettings
from services.medication.app import create_app as create_medication
from services.medication.settings import MedicationSettings
from services.referrals.app import create_app as create_referrals
from services.referrals.settings import ReferralsSettings

CLINICAL = {
    "journal": (create_journal, JournalSettings),
    "medication": (create_medication, MedicationSettings),
    "referrals": (create_referrals, ReferralsSettings),
}
DEMOGRAPHICS_URL = "http://demographics.kit"


def run_in_process(module: str, data: Path, wrap: Callable = lambda app: app, **app_options) -> Report:
    """The kit's archetype step against our `module`, wrapped by `wrap` (a broken variant)."""
    demographics = create_demographics(
        DemographicsSettings(database_url=f"sqlite:///{data}/demographics.db", migrate_on_startup=True),
        **(app_options if module == "demographics" else {}),
    )
    demographics_transport = httpx.ASGITransport(demographics)
    if module == "demographics":
        app = demographics
    else:
        create, settings = CLINICAL[module]
        app = create(settings(database_url=f"sqlite:///{data}/{module}.db", migrate_on_startup=True,
                              demographics_url=DEMOGRAPHICS_URL, ehr_cache_ttl_seconds=0),
                     demographics_transport=demographics_transport, **app_options)
    return run_kit(KitConfig(
        module=module, base_url=f"http://{module}.kit", demographics_url=DEMOGRAPHICS_URL,
        steps=("archetypes",), transport=httpx.ASGITransport(wrap(app)),
        demographics_transport=demographics_transport,
    ))


def failures(report: Report) -> list[str]:
    return [f"{c.name}: {c.message}" for c in report.cases if c.status == FAIL]
