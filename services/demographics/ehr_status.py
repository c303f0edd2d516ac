"""EHR_STATUS rules for the EHR registry: whose EHR it is, and that the number is a real one.

The subject is a PARTY_SELF whose external_ref is a PARTY_REF
`{"id": {"_type": "GENERIC_ID", "value": <personnummer or samordningsnummer>, "scheme": ...},
"namespace": "vgr.demographics", "type": "PERSON"}`. The number is checked (date and check
digit) and stored in its canonical twelve-digit form, so every accepted way of writing it
finds the same EHR.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from typing import Any

from archetypes.identifiers import PERSONNUMMER, SAMORDNINGSNUMMER, InvalidIdentifier
from services.demographics.person import Issue, swedish_identifier

SUBJECT_SCHEMES = (PERSONNUMMER, SAMORDNINGSNUMMER)
DEFAULT_ARCHETYPE_NODE_ID = "openEHR-EHR-EHR_STATUS.generic.v1"


class MalformedEhrStatus(ValueError):
    """Not an EHR_STATUS at all (400)."""


class EhrStatusViolation(ValueError):
    """An EHR_STATUS that breaks a rule, each issue with its path (422)."""

    def __init__(self, issues: list[Issue]):
        super().__init__("; ".join(f"{issue.path}: {issue.message}" for issue in issues))
        self.issues = issues


@dataclass(frozen=True)
class Subject:
    value: str  # canonical twelve digits
    scheme: str  # personnummer | samordningsnummer
    namespace: str


def _issue(path: str, message: str) -> Issue:
    return Issue(path, path, message)


def check_ehr_status(body: Any, namespace: str, today: date | None = None) -> tuple[Subject, dict[str, Any]]:
    """The subject and the EHR_STATUS to store (defaults filled in, the number canonical)."""
    if not isinstance(body, dict):
        raise MalformedEhrStatus("the body must be a JSON object (an EHR_STATUS)")
    if body.get("_type", "EHR_STATUS") != "EHR_STATUS":
        raise MalformedEhrStatus(f"_type must be EHR_STATUS, not {body.get('_type')!r}")
    status = copy.deepcopy(body)
    status["_type"] = "EHR_STATUS"
    status.setdefault("archetype_node_id", DEFAULT_ARCHETYPE_NODE_ID)
    status.setdefault("name", {"_type": "DV_TEXT", "value": "EHR Status"})
    status.setdefault("is_queryable", True)
    status.setdefault("is_modifiable", True)
    issues = [
        _issue(f"/{flag}", f"{flag} must be true or false")
        for flag in ("is_queryable", "is_modifiable")
        if not isinstance(status[flag], bool)
    ]

    subject = status.get("subject")
    ref = subject.get("external_ref") if isinstance(subject, dict) else None
    ref_id = ref.get("id") if isinstance(ref, dict) else None
    if not isinstance(ref_id, dict):
        issues.append(_issue("/subject/external_ref/id", "the subject must be a PARTY_REF to a person "
                             "(a GENERIC_ID with a personnummer or samordningsnummer)"))  # fmt: skip
        raise EhrStatusViolation(issues)

    scheme = ref_id.get("scheme")
    if scheme not in SUBJECT_SCHEMES:
        issues.append(_issue("/subject/external_ref/id/scheme", f"scheme must be one of {SUBJECT_SCHEMES}"))
    if ref.get("namespace") != namespace:
        issues.append(_issue("/subject/external_ref/namespace", f"namespace must be {namespace!r}"))
    if ref.get("type", "PERSON") != "PERSON":
        issues.append(_issue("/subject/external_ref/type", "type must be PERSON"))
    value = ref_id.get("value")
    canonical = None
    if not isinstance(value, str):
        issues.append(
            _issue("/subject/external_ref/id/value", "a personnummer or samordningsnummer is needed")
        )
    else:
        try:
            canonical = swedish_identifier(value, scheme if scheme in SUBJECT_SCHEMES else None, today)
        except InvalidIdentifier as error:
            issues.append(_issue("/subject/external_ref/id/value", str(error)))
    if issues or canonical is None:
        raise EhrStatusViolation(issues)

    status["subject"] = {
        **subject,
        "_type": subject.get("_type", "PARTY_SELF"),
        "external_ref": {
            **ref,
            "_type": ref.get("_type", "PARTY_REF"),
            "id": {**ref_id, "_type": ref_id.get("_type", "GENERIC_ID"), "value": canonical.value},
            "type": "PERSON",
        },
    }
    return Subject(canonical.value, canonical.kind, namespace), status
