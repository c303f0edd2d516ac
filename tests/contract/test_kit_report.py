"""The kit's report: verdict and exit code, and the three outputs."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from archetypes.identifiers import parse_person_identifier
from contracts.kit.archetypes_step import first_difference, fresh_identifiers, names_path, random_personnummer
from contracts.kit.report import FAIL, PASS, SKIP, Report


def report(*cases: tuple[str, str, str], allow_skip: bool = False) -> Report:
    result = Report("medication", "http://vendor.example", allow_skip=allow_skip)
    for step, status, message in cases:
        result.add(step, f"{step} case", status, message)
    return result


def test_conforms_only_without_failures_and_with_every_step_run():
    all_pass = report(("pacts", PASS, ""), ("openapi", PASS, ""), ("archetypes", PASS, ""))
    assert all_pass.conforms and all_pass.exit_code == 0 and "CONFORMS (exit 0)" in all_pass.summary()
    failed = report(("pacts", PASS, ""), ("openapi", PASS, ""), ("archetypes", FAIL, "accepted an invalid one"))
    assert failed.exit_code == 1 and "DOES NOT CONFORM" in failed.summary()
    assert "accepted an invalid one" in failed.summary()
    skipped = report(("pacts", SKIP, "no pact names medication"), ("openapi", PASS, ""), ("archetypes", PASS, ""))
    assert skipped.exit_code == 1
    assert "Steps that did not run: pacts" in skipped.summary() and "--allow-skip" in skipped.summary()
    skipped.allow_skip = True
    assert skipped.exit_code == 0 and "allowed by --allow-skip" in skipped.summary()
    assert "no pact names medication" in skipped.summary()


def test_junit_and_json(tmp_path):
    result = report(("pacts", SKIP, "no pacts"), ("openapi", PASS, ""), ("archetypes", FAIL, "answered 200"))
    written = result.write(tmp_path)
    assert sorted(p.name for p in written) == ["junit.xml", "report.json", "summary.txt"]
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    cases = {c.get("classname"): c for c in root.iter("testcase")}
    assert cases["medication.archetypes"].find("failure").get("message") == "answered 200"
    assert cases["medication.pacts"].find("skipped").get("message") == "no pacts"
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["conforms"] is False and data["counts"] == {"pass": 1, "fail": 1, "skip": 1}
    assert data["cases"][2] == {"step": "archetypes", "name": "archetypes case", "status": "fail",
                                "message": "answered 200", "seconds": 0.0}


def test_helpers():
    import random

    rng = random.Random(3)
    assert parse_person_identifier(random_personnummer(rng)).kind == "personnummer"
    assert parse_person_identifier(random_personnummer(rng, samordningsnummer=True)).kind == "samordningsnummer"
    person = {"details": {"items": [{"_type": "DV_IDENTIFIER", "type": "personnummer", "id": "19121212-1212"}]}}
    fresh = fresh_identifiers(person, rng)["details"]["items"][0]["id"]
    assert fresh.startswith("19121212-") and parse_person_identifier(fresh).value.startswith("19121212")
    assert first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]}).startswith("/a/1/b")
    assert first_difference({"a": 1}, {"a": 1}) is None
    assert "missing" in first_difference({"a": 1, "c": 2}, {"a": 1})
    body = {"details": [{"path": "/x/items", "pointer": "/x/items", "message": "at least 1 of (at0070)"}]}
    assert names_path(body, "", "/x/items[at0070]", "/x/items")[0]
    assert names_path(body, "", "/x/items[at0070]", "/other")[0]  # the node id in the message
    assert names_path({"details": []}, "", "/x/items[at0070]", "/x")[0] is None
