"""The settings every module shares; a module subclasses it with its own environment prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Subclass with `model_config = SettingsConfigDict(env_prefix="JOURNAL_")` and the module's defaults."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    module_name: str = Field("module", description="the module's name: default file name, system id, log field")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the module's own database (`postgresql+psycopg://user:pw@host/db` "
        "in production); empty: a SQLite file under `data/`",
    )
    system_id: str = Field("", description="openEHR system id in version uids and audits; empty: `<module>.vgr.se`")
    # On for the embedded SQLite default; production runs `python -m services.<name> migrate` instead.
    migrate_on_startup: bool | None = Field(
        None,
        description="apply the Alembic migrations when the app starts; unset: only on SQLite "
        "(production runs `python -m services.<name> migrate`)",
    )
    base_path: str = Field("/rest/openehr/v1", description="base path of the openEHR REST API (EHRbase's)")
    # With Python's default of 700, a commit (a 9 KB composition parsed, validated and indexed: thousands
    # of objects) ran several collections of the youngest generation.
    gc_threshold: int = Field(
        7_000, ge=0, description="allocations between collections of the youngest generation (Python: 700); "
        "what is alive at startup is frozen out of collections; 0: Python's defaults"
    )

    def model_post_init(self, _context) -> None:
        if not self.database_url:
            self.database_url = f"sqlite:///data/{self.module_name}.db"
        if not self.system_id:
            self.system_id = f"{self.module_name}.vgr.se"
        if self.migrate_on_startup is None:
            self.migrate_on_startup = self.database_url.startswith("sqlite")


class ClinicalSettings(ServiceSettings):
    """A clinical module also asks demographics whether an EHR exists."""

    demographics_url: str = Field("http://127.0.0.1:8081", description="base URL of the demographics module")
    ehr_lookup_timeout_seconds: float = Field(2.0, description="seconds to wait for demographics' answer (then 503)")
    ehr_cache_ttl_seconds: float = Field(60.0, description="seconds an EHR known to exist stays cached")
