"""Gateway settings, read from the environment with the prefix GATEWAY_."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MODULES = ("demographics", "journal", "medication", "referrals")


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    demographics_url: str = "http://127.0.0.1:8081"
    journal_url: str = "http://127.0.0.1:8082"
    medication_url: str = "http://127.0.0.1:8083"
    referrals_url: str = "http://127.0.0.1:8084"

    connect_timeout: float = Field(2.0, gt=0, description="seconds to open a connection to a module")
    read_timeout: float = Field(10.0, gt=0, description="seconds to wait for a module's answer")
    read_retries: int = Field(2, ge=0, description="extra attempts for idempotent reads (GET) only")
    # Calls beyond this many in flight to one module wait for a free connection (within read_timeout).
    # No smaller than the requests the gateway serves at once: with 8, 32 clients' Patient reads waited
    # for a connection and the p99 was 143 ms at a p50 of 25 ms; with 32, p99 26.5 ms (2,000 patients).
    max_connections: int = Field(
        32, gt=0, description="connections kept per module (no fewer than the requests served at once)"
    )
    ready_timeout: float = Field(2.0, gt=0, description="seconds /ready waits for each module")
    # The modules /ready requires (503 when one of them is not ready); the others are reported only.
    # A deployment that should keep serving Patient reads while, say, referrals is down lists fewer.
    ready_modules: list[str] = Field(default_factory=lambda: list(MODULES))

    # The absolute FHIR base URL clients see behind a proxy, `/fhir` included (https://host/fhir).
    # Without it, X-Forwarded-Proto/Host/Prefix and then the request's own URL decide.
    public_base_url: str | None = None

    default_page_size: int = Field(20, gt=0)
    max_page_size: int = Field(1000, gt=0)
    # Patient id <-> EHR id lookups are cached (they never change for a subject).
    ehr_cache_size: int = Field(10_000, ge=0)
    # Garbage collection, set when the app starts (lifespan): what is alive then (modules, routes,
    # models) is frozen out of later collections, and the youngest generation is collected after
    # this many allocations instead of Python's 700. A $everything parses and builds some ten
    # thousand dicts; with the defaults, collections cost about a fifth of its CPU. 0: leave both.
    gc_threshold: int = Field(
        7_000, ge=0, description="allocations between collections of the youngest generation (Python: 700); "
        "what is alive at startup is frozen out of collections; 0: Python's defaults"
    )

    def module_url(self, module: str) -> str:
        return getattr(self, f"{module}_url").rstrip("/")
