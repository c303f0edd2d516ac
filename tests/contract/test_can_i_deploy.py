"""can-i-deploy from a synthetic matrix: yes, no (failed), no (never verified), no (pact changed)."""

from __future__ import annotations

import json

import pytest

from contracts import can_i_deploy as cli
from contracts.pact.matrix import can_i_deploy, load, matrix_table, pact_hash, record
from contracts.pact.verify import VerificationResult


def _pact(directory, consumer, provider, description="a read of an EHR"):
    path = directory / f"{consumer}-{provider}.json"
    pact = {
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [{"description": description, "type": "Synchronous/HTTP"}],
        "metadata": {"pactSpecification": {"version": "4.0"}, "pactRust": {"ffi": "x"}},
    }
    path.write_text(json.dumps(pact), encoding="utf-8")
    return path


def _row(provider, version, consumer, digest, result="passed", time="2026-11-24T05:00:00Z", failures=()):
    return {
        "provider": provider, "provider_version": version, "consumer": consumer, "pact": f"{consumer}-{provider}.json",
        "pact_sha256": digest, "result": result, "failures": list(failures), "time": time,
    }  # fmt: skip


@pytest.fixture
def pacts(tmp_path):
    return {
        ("gateway", "demographics"): _pact(tmp_path, "gateway", "demographics"),
        ("journal", "demographics"): _pact(tmp_path, "journal", "demographics"),
        ("gateway", "journal"): _pact(tmp_path, "gateway", "journal"),
    }


def test_yes_when_every_consumer_pact_passed_for_that_version(tmp_path, pacts):
    rows = [
        _row("demographics", "1.2", "gateway", pact_hash(pacts["gateway", "demographics"])),
        _row("demographics", "1.2", "journal", pact_hash(pacts["journal", "demographics"])),
    ]
    decision = can_i_deploy("demographics", "1.2", verifications=rows, pact_dir=tmp_path)
    assert decision.deployable, str(decision)
    assert str(decision).startswith("yes: demographics 1.2 can be deployed")


def test_no_when_a_verification_failed(tmp_path, pacts):
    rows = [
        _row(
            "demographics",
            "1.2",
            "gateway",
            pact_hash(pacts["gateway", "demographics"]),
            "failed",
            failures=["gateway: a read of an EHR: $.ehr_id: missing"],
        ),  # fmt: skip
        _row("demographics", "1.2", "journal", pact_hash(pacts["journal", "demographics"])),
    ]
    decision = can_i_deploy("demographics", "1.2", verifications=rows, pact_dir=tmp_path)
    assert not decision.deployable
    assert "gateway pact (gateway-demographics.json) FAILED" in str(decision)
    assert "a read of an EHR" in str(decision)


def test_latest_result_counts(tmp_path, pacts):
    digest = pact_hash(pacts["gateway", "demographics"])
    rows = [
        _row("demographics", "1.2", "gateway", digest, "failed", time="2026-11-24T05:00:00Z"),
        _row("demographics", "1.2", "gateway", digest, "passed", time="2026-11-24T06:00:00Z"),
        _row("demographics", "1.2", "journal", pact_hash(pacts["journal", "demographics"])),
    ]
    assert can_i_deploy("demographics", "1.2", verifications=rows, pact_dir=tmp_path).deployable


def test_no_when_a_consumer_pact_was_never_verified_by_that_version(tmp_path, pacts):
    rows = [
        _row("demographics", "1.2", "gateway", pact_hash(pacts["gateway", "demographics"])),
        _row("demographics", "1.1", "journal", pact_hash(pacts["journal", "demographics"])),
    ]
    decision = can_i_deploy("demographics", "1.2", verifications=rows, pact_dir=tmp_path)
    assert not decision.deployable
    assert "journal pact (journal-demographics.json" in str(decision)
    assert "never verified by 1.2" in str(decision)


def test_no_when_the_pact_changed_since_verification(tmp_path, pacts):
    rows = [
        _row("demographics", "1.2", "gateway", pact_hash(pacts["gateway", "demographics"])),
        _row("demographics", "1.2", "journal", pact_hash(pacts["journal", "demographics"])),
    ]
    _pact(tmp_path, "journal", "demographics", description="a lookup of a known EHR")  # the consumer changed it
    decision = can_i_deploy("demographics", "1.2", verifications=rows, pact_dir=tmp_path)
    assert not decision.deployable
    assert "journal pact (journal-demographics.json) changed since 1.2 was verified" in str(decision)


def test_a_consumer_needs_its_own_pacts_verified_by_its_provider(tmp_path, pacts):
    gateway_journal = _row("journal", "2.0", "gateway", pact_hash(pacts["gateway", "journal"]))
    decision = can_i_deploy("journal", "2.0", verifications=[gateway_journal], pact_dir=tmp_path)
    assert not decision.deployable
    assert "its pact with demographics" in str(decision)
    rows = [gateway_journal, _row("demographics", "1.0", "journal", pact_hash(pacts["journal", "demographics"]))]
    assert can_i_deploy("journal", "2.0", verifications=rows, pact_dir=tmp_path).deployable


def test_the_hash_ignores_the_writer_version_and_interaction_order(tmp_path):
    path = _pact(tmp_path, "gateway", "demographics")
    before = pact_hash(path)
    pact = json.loads(path.read_text())
    pact["metadata"]["pactRust"] = {"ffi": "y"}
    path.write_text(json.dumps(pact, indent=2))
    assert pact_hash(path) == before


def test_record_then_decide(tmp_path, pacts):
    result = VerificationResult(
        "demographics", passed=True, pacts=[pacts["gateway", "demographics"], pacts["journal", "demographics"]],
        by_consumer={"gateway": True, "journal": True},
    )  # fmt: skip
    lines = record(result, "1.3", tmp_path / "verifications")
    assert [line["result"] for line in lines] == ["passed", "passed"]
    rows = load(tmp_path / "verifications")
    assert can_i_deploy("demographics", "1.3", verifications=rows, pact_dir=tmp_path).deployable
    assert "demographics" in matrix_table(rows, pact_dir=tmp_path)


def test_cli_answers_yes_or_no_from_the_committed_matrix(capsys):
    code = cli.main(["--module", "medication", "--version", "never-released"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("no: medication never-released cannot be deployed")
    assert "never verified by never-released" in out
