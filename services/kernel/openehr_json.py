"""Versions rendered as openEHR canonical JSON (ORIGINAL_VERSION, AUDIT_DETAILS, REVISION_HISTORY_ITEM)."""

from __future__ import annotations

from services.kernel import jsontext
from services.kernel.versioning import Version


def _coded(value: str, code: str) -> dict:
    return {
        "_type": "DV_CODED_TEXT",
        "value": value,
        "defining_code": {
            "_type": "CODE_PHRASE",
            "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"},
            "code_string": code,
        },
    }


def audit_json(version: Version) -> dict:
    return {
        "_type": "AUDIT_DETAILS",
        "system_id": version.uid.system_id,
        "committer": {
            "_type": "PARTY_IDENTIFIED",
            "name": version.committer.name,
            "identifiers": [
                {
                    "_type": "DV_IDENTIFIER",
                    "id": version.committer.hsa_id,
                    "issuer": "Inera",
                    "assigner": "HSA",
                    "type": "HSA-id",
                }
            ],
        },
        "time_committed": {"_type": "DV_DATE_TIME", "value": version.time_committed.isoformat()},
        "change_type": _coded(version.change_type.value, version.change_type.openehr_code),
    }


def with_uid(version: Version) -> dict | None:
    """The stored object with `uid` set to this version's uid (what GET composition returns)."""
    if version.data is None:
        return None
    return {
        "_type": version.data.get("_type"),
        "uid": {"_type": "OBJECT_VERSION_ID", "value": str(version.uid)},
        **{k: v for k, v in version.data.items() if k not in ("_type", "uid")},
    }


def document_with_uid(version: Version) -> bytes | None:
    """`with_uid` as JSON text. The store writes every document with `_type` first and without `uid`
    (`VersionedStore`), so the uid is spliced into the stored text after `_type`, without parsing it;
    a document in any other form is parsed and written again."""
    document = version.document
    if document is None:
        return None
    if document.startswith(_TYPE_FIRST):
        closing = document.find(b'"', len(_TYPE_FIRST))
        if closing > 0 and document[closing + 1 : closing + 2] == b"," and b"\\" not in document[:closing]:
            uid = jsontext.dumps({"_type": "OBJECT_VERSION_ID", "value": str(version.uid)})
            return document[: closing + 2] + b'"uid":' + uid + b"," + document[closing + 2 :]
    return jsontext.dumps(with_uid(version))


_TYPE_FIRST = b'{"_type":"'


def original_version_json(version: Version) -> dict:
    preceding = version.preceding_uid
    return {
        "_type": "ORIGINAL_VERSION",
        "uid": {"_type": "OBJECT_VERSION_ID", "value": str(version.uid)},
        "preceding_version_uid": {"_type": "OBJECT_VERSION_ID", "value": str(preceding)}
        if preceding
        else None,
        "contribution": {
            "id": {"_type": "HIER_OBJECT_ID", "value": version.contribution_id},
            "namespace": "local",
            "type": "CONTRIBUTION",
        },
        "commit_audit": audit_json(version),
        "lifecycle_state": _coded(version.lifecycle_state.value, version.lifecycle_state.openehr_code),
        "data": with_uid(version),
    }


def revision_history_json(versions: list[Version]) -> list[dict]:
    return [{"version_id": {"value": str(v.uid)}, "audits": [audit_json(v)]} for v in versions]
