from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.kernel.settings import ClinicalSettings


class MedicationSettings(ClinicalSettings):
    """Environment: MEDICATION_DATABASE_URL, MEDICATION_DEMOGRAPHICS_URL, MEDICATION_SYSTEM_ID, ..."""

    model_config = SettingsConfigDict(env_prefix="MEDICATION_", extra="ignore")

    module_name: str = "medication"
