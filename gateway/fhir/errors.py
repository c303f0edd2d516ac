"""Every error the gateway returns is an OperationOutcome with the right HTTP status."""

from __future__ import annotations

from dataclasses import dataclass, field

# HTTP status -> OperationOutcome issue type (http://hl7.org/fhir/issue-type)
_ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    415: "not-supported",
    422: "processing",
    500: "exception",
    502: "transient",
    503: "transient",
    504: "timeout",
}


@dataclass
class Issue:
    diagnostics: str
    code: str | None = None
    severity: str = "error"
    expression: list[str] = field(default_factory=list)

    def as_dict(self, status: int) -> dict:
        issue: dict = {
            "severity": self.severity,
            "code": self.code or _ISSUE_CODE.get(status, "processing"),
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


class FhirError(Exception):
    """Raised anywhere in the gateway; rendered as an OperationOutcome with `status`."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        *,
        code: str | None = None,
        expression: list[str] | None = None,
        issues: list[Issue] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(diagnostics)
        self.status = status
        self.issues = issues or [Issue(diagnostics, code, expression=expression or [])]
        self.headers = headers or {}

    def outcome(self) -> dict:
        return operation_outcome([i.as_dict(self.status) for i in self.issues])


def operation_outcome(issues: list[dict]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": issues}


def information(diagnostics: str) -> dict:
    return operation_outcome(
        [{"severity": "information", "code": "informational", "diagnostics": diagnostics}]
    )


def bad_request(diagnostics: str, expression: str | list[str] | None = None) -> FhirError:
    if isinstance(expression, str):
        expression = [expression]
    return FhirError(400, diagnostics, expression=expression)


def not_found(resource_type: str, resource_id: str) -> FhirError:
    return FhirError(404, f"{resource_type}/{resource_id} is not known")
