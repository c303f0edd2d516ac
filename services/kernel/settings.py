"""The settings every module shares; a module subclasses it with its own environment prefix."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Subclass with `model_config = SettingsConfigDict(env_prefix="JOURNAL_")` and the module's defaults."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    module_name: str = "module"
    database_url: str = ""
    system_id: str = ""
    # On for the embedded SQLite default; production runs `python -m services.<name> migrate` instead.
    migrate_on_startup: bool | None = None
    base_path: str = "/rest/openehr/v1"

    def model_post_init(self, _context) -> None:
        if not self.database_url:
            self.database_url = f"sqlite:///data/{self.module_name}.db"
        if not self.system_id:
            self.system_id = f"{self.module_name}.vgr.se"
        if self.migrate_on_startup is None:
            self.migrate_on_startup = self.database_url.startswith("sqlite")


class ClinicalSettings(ServiceSettings):
    """A clinical module also asks demographics whether an EHR exists."""

    demographics_url: str = "http://127.0.0.1:8081"
    ehr_lookup_timeout_seconds: float = 2.0
    ehr_cache_ttl_seconds: float = 60.0
