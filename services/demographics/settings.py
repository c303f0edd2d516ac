"""Demographics settings, from the environment with the prefix DEMOGRAPHICS_."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.kernel.settings import ServiceSettings


class DemographicsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMOGRAPHICS_", extra="ignore")

    module_name: str = "demographics"
    # PARTY_REF.namespace of EHR subjects: the persons this module registers.
    subject_namespace: str = Field("vgr.demographics", description="PARTY_REF.namespace of EHR subjects")
    person_template_id: str = Field("vgr.person.v1", description="the template persons are validated against")
