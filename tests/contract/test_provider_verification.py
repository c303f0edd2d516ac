"""Provider side: each module, a real uvicorn process on a fresh SQLite database (clinical modules
with a real demographics), verified against every pact that names it, with provider states made
through its public API; and broken variants fail, naming the interaction."""

from __future__ import annotations

import pytest

from contracts.pact import MODULES, verify_module


@pytest.mark.parametrize("module", MODULES)
def test_module_honours_its_consumers_pacts(module):
    result = verify_module(module)
    assert result.passed, "\n".join(result.failures)
    expected = {"demographics": {"gateway", "journal", "medication", "referrals"}}.get(module, {"gateway"})
    assert set(result.by_consumer) == expected


def test_renamed_ehr_id_fails_verification_naming_the_interactions():
    result = verify_module("demographics", target="tests.contract.broken_modules:renamed_ehr_id")
    assert not result.passed
    text = "\n".join(result.failures)
    assert "gateway: a read of an EHR (given a person exists for 191212121212): $:" in text, text
    assert "journal: a lookup of a known EHR" in text, text
    assert "ehr_id" in text, text
    assert result.by_consumer["gateway"] is False


def test_missing_etag_fails_verification_naming_the_interaction():
    result = verify_module("medication", target="tests.contract.broken_modules:no_etag")
    assert not result.passed
    text = "\n".join(result.failures)
    assert "gateway: a read of a medication order" in text, text
    assert "ETag" in text, text
