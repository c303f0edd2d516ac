"""The vendor conformance kit: `python -m contracts.kit --module medication --base-url URL`.

Runs, against any implementation of a module and through its public HTTP API only, the module's
Pact contracts, its OpenAPI checks and archetype conformance, and writes a readable summary,
JUnit XML and JSON. See contracts/README.md.
"""

from contracts.kit.report import Case, Report
from contracts.kit.runner import KitConfig, run_kit

__all__ = ["Case", "KitConfig", "Report", "run_kit"]
