"""Demographics settings, from the environment with the prefix DEMOGRAPHICS_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.kernel.settings import ServiceSettings


class DemographicsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMOGRAPHICS_", extra="ignore")

    module_name: str = "demographics"
    # PARTY_REF.namespace of EHR subjects: the persons this module registers.
    subject_namespace: str = "vgr.demographics"
    person_template_id: str = "vgr.person.v1"
