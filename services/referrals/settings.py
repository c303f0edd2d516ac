from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.kernel.settings import ClinicalSettings


class ReferralsSettings(ClinicalSettings):
    """Environment: REFERRALS_DATABASE_URL, REFERRALS_DEMOGRAPHICS_URL, REFERRALS_SYSTEM_ID, ..."""

    model_config = SettingsConfigDict(env_prefix="REFERRALS_", extra="ignore")

    module_name: str = "referrals"
