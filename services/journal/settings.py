from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.kernel.settings import ClinicalSettings


class JournalSettings(ClinicalSettings):
    model_config = SettingsConfigDict(env_prefix="JOURNAL_", extra="ignore")

    module_name: str = "journal"
    port: int = 8082
