"""The conformance kit passes our modules and fails deliberately broken variants, naming the fault.

In-process (httpx.ASGITransport) for speed; test_kit_cli.py runs the command line against real
processes. Each variant is the real module with one fault (tests/contract/kit_broken_modules.py).
"""

from __future__ import annotations

import pytest

from tests.contract.kit_broken_modules import (
    CreatedAsOk,
    DropsHeader,
    IgnoresIfMatch,
    RenamesKey,
    RewritesStatus,
    accept_everything,
)
from tests.contract.kit_support import failures, run_in_process


@pytest.mark.parametrize("module", ["demographics", "journal", "medication", "referrals"])
def test_our_modules_conform(module, tmp_path):
    report = run_in_process(module, tmp_path)
    assert failures(report) == []
    names = [c.name for c in report.of("archetypes")]
    assert any("valid/" in n for n in names) and any("invalid/" in n for n in names)
    assert any("stale If-Match" in n for n in names)
    # Only the steps that need a URL were not run, and the summary says so.
    assert report.skipped_steps() == ["pacts", "openapi"]
    assert not report.conforms and "Steps that did not run: pacts, openapi" in report.summary()
    report.allow_skip = True
    assert report.conforms and report.exit_code == 0


def test_a_module_without_validation_fails_on_every_invalid_example(tmp_path):
    report = run_in_process("medication", tmp_path, validator=accept_everything)
    found = failures(report)
    invalid = [f for f in found if "invalid/" in f]
    assert len(invalid) == 9, found
    assert all("accepted an invalid composition" in f and "does not validate against template" in f
               for f in invalid)
    assert "expected 422" in invalid[0] and "/content[openEHR-EHR-" in invalid[0]
    assert report.exit_code == 1


def test_a_person_module_without_validation_fails(tmp_path):
    report = run_in_process("demographics", tmp_path, validator=accept_everything)
    assert any("accepted an invalid composition" in f and "vgr.person.v1" in f for f in failures(report))


def test_200_instead_of_201_on_create_fails(tmp_path):
    report = run_in_process("medication", tmp_path, wrap=CreatedAsOk)
    found = failures(report)
    assert found and all("answered 200, expected 201" in f for f in found), found
    assert "a create answers 201 Created" in found[0]


def test_ignoring_if_match_fails(tmp_path):
    report = run_in_process("medication", tmp_path, wrap=IgnoresIfMatch)
    found = "\n".join(failures(report))
    assert "PUT with a stale If-Match (version 1 while the latest is version 2) answered 204, expected 412" in found
    assert "If-Match is not checked" in found
    assert "PUT without If-Match answered 204, expected 400" in found
    assert "DELETE with a stale If-Match answered 204, expected 412" in found


def test_renaming_a_query_field_the_gateway_reads_fails(tmp_path):
    report = run_in_process("medication", tmp_path, wrap=lambda app: RenamesKey(app, "ehr_id", "ehrId"))
    found = failures(report)
    assert found and all("lacks field(s) ehr_id that the gateway reads" in f for f in found), found


def test_renaming_the_ehr_id_of_demographics_fails(tmp_path):
    report = run_in_process("demographics", tmp_path, wrap=lambda app: RenamesKey(app, "ehr_id", "ehrId"))
    assert any("ehr_id.value" in f for f in failures(report)), failures(report)


def test_renaming_a_field_of_the_composition_fails_the_read_back(tmp_path):
    """A module that does not give back what it stored (here a renamed RM attribute)."""
    report = run_in_process("medication", tmp_path, wrap=lambda app: RenamesKey(app, "archetype_node_id", "node_id"))
    found = failures(report)
    assert any("reads back different from what was sent" in f and "archetype_node_id" in f for f in found), found


# Faults the kit was not written against: it checks behaviour, so they fail too.

def test_400_instead_of_422_for_a_template_violation_fails(tmp_path):
    report = run_in_process("referrals", tmp_path, wrap=lambda app: RewritesStatus(app, 422, 400))
    found = [f for f in failures(report) if "invalid/" in f]
    assert len(found) == 9 and all("answered 400, expected 422" in f for f in found), found


def test_a_module_without_etags_fails(tmp_path):
    report = run_in_process("journal", tmp_path, wrap=lambda app: DropsHeader(app, "ETag"))
    found = failures(report)
    assert found and any("no ETag header" in f for f in found), found


def test_a_module_that_does_not_delete_fails(tmp_path):
    report = run_in_process("medication", tmp_path, wrap=lambda app: RewritesStatus(app, 404, 200))
    assert any("GET after DELETE answered 200, expected 404" in f for f in failures(report)), failures(report)
