"""`python -m contracts.kit` against real module processes (uvicorn on free ports): our medication
module conforms; a variant that answers 200 on create does not, and the report says why."""

from __future__ import annotations

import json
import subprocess
import sys
from xml.etree import ElementTree as ET

import pytest

from bench._harness import serve

ROOT_ENV = {"PYTHONPATH": "."}


@pytest.fixture(scope="module")
def demographics(tmp_path_factory):
    data = tmp_path_factory.mktemp("demographics")
    with serve("services.demographics.app:create_app", env={
        **ROOT_ENV, "DEMOGRAPHICS_DATABASE_URL": f"sqlite:///{data}/demographics.db"}) as url:
        yield url


def medication(target: str, data, demographics: str):
    return serve(target, env={**ROOT_ENV, "MEDICATION_DATABASE_URL": f"sqlite:///{data}/medication.db",
                              "MEDICATION_DEMOGRAPHICS_URL": demographics})


def kit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "contracts.kit", *args], capture_output=True, text=True,
                          timeout=600)


def test_our_medication_module_conforms(demographics, tmp_path):
    with medication("services.medication.app:create_app", tmp_path, demographics) as url:
        result = kit("--module", "medication", "--base-url", url, "--demographics-url", demographics,
                     "--max-examples", "2", "--allow-skip", "--report", str(tmp_path / "report"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Result: medication CONFORMS (exit 0)" in result.stdout
    assert "FAIL" not in result.stdout
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["counts"]["fail"] == 0 and report["conforms"]
    # Every step ran, except the pacts when none names medication yet (said plainly, not hidden).
    assert set(report["skipped_steps"]) <= {"pacts"}
    steps = {case["step"] for case in report["cases"] if case["status"] == "pass"}
    assert {"openapi", "archetypes"} <= steps
    suites = ET.parse(tmp_path / "report" / "junit.xml").getroot()
    assert suites.get("failures") == "0" and int(suites.get("tests")) == len(report["cases"])
    assert (tmp_path / "report" / "summary.txt").read_text() == result.stdout.split("wrote ")[0]


def test_a_module_answering_200_on_create_does_not_conform(demographics, tmp_path):
    with medication("tests.contract.kit_broken_modules:medication_created_as_ok", tmp_path, demographics) as url:
        result = kit("--module", "medication", "--base-url", url, "--demographics-url", demographics,
                     "--steps", "archetypes", "--allow-skip", "--report", str(tmp_path / "report"))
    assert result.returncode == 1
    assert "answered 200, expected 201" in result.stdout
    failures = [case.find("failure") for case in ET.parse(tmp_path / "report" / "junit.xml").iter("testcase")]
    assert any(f is not None and "expected 201" in f.get("message") for f in failures)


def test_a_clinical_module_needs_demographics():
    result = kit("--module", "journal", "--base-url", "http://127.0.0.1:9")
    assert result.returncode == 2 and "--demographics-url is needed" in result.stderr


def test_a_module_renaming_a_field_the_gateway_reads_fails_its_pact_and_the_query_check(demographics, tmp_path):
    with medication("tests.contract.kit_broken_modules:medication_renaming_ehr_id", tmp_path, demographics) as url:
        result = kit("--module", "medication", "--base-url", url, "--demographics-url", demographics,
                     "--steps", "pacts,archetypes", "--allow-skip")
    assert result.returncode == 1
    assert "FAIL  gateway -> medication: a search for the medication orders of an EHR" in result.stdout
    assert "missing the following keys: ehr_id" in result.stdout
    assert "lacks field(s) ehr_id that the gateway reads" in result.stdout
