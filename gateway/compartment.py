"""The patient compartment: which module holds which resources of a patient.

Used by Patient/$everything and Patient?_revinclude. Each source fetches the resources of a set
of patients ({ehr_id: patient_id}) from one module; a module that does not answer is reported in
an OperationOutcome instead of failing the whole answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.fhir.errors import FhirError, operation_outcome

# The resource types each module's source yields (a journal note also gives its Conditions, a
# referral its Task).
RESOURCE_TYPES = {
    "medication": ("MedicationRequest",),
    "journal": ("Composition", "Condition"),
    "referrals": ("ServiceRequest", "Task"),
}
# Patient?_revinclude values: every compartment resource by its patient or subject parameter.
REVINCLUDES = [f"{t}:{param}" for types in RESOURCE_TYPES.values() for t in types for param in ("subject", "patient")]


@dataclass(frozen=True)
class CompartmentSource:
    module: str
    resource_type: str
    fetch: Callable[[dict[str, str]], Awaitable[list[dict]]]

    def yields(self, resource_types: set[str]) -> bool:
        return bool(resource_types & set(RESOURCE_TYPES.get(self.module, (self.resource_type,))))


async def gather(
    sources: list[CompartmentSource], patients: dict[str, str]
) -> tuple[list[dict], dict | None]:
    """(resources of every source, an OperationOutcome naming the modules that failed, or None)."""
    results = await asyncio.gather(*(s.fetch(patients) for s in sources), return_exceptions=True)
    resources: list[dict] = []
    issues: list[dict] = []
    for source, result in zip(sources, results, strict=True):
        if isinstance(result, FhirError):
            issues.append(
                {
                    "severity": "error",
                    "code": "incomplete",
                    "diagnostics": f"The {source.module} module did not answer, so "
                    f"{source.resource_type} resources are missing: {result.issues[0].diagnostics}",
                }
            )
        elif isinstance(result, BaseException):
            raise result
        else:
            resources.extend(result)
    return resources, (operation_outcome(issues) if issues else None)
