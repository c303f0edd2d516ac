"""The vendors' command line, run as a vendor would: a real `python -m archetypes` process."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import archetypes

EXAMPLES = Path(archetypes.__file__).parent / "examples" / "vgr.medication_order.v1"
VALID = sorted((EXAMPLES / "valid").glob("*.json"))
INVALID = EXAMPLES / "invalid" / "unit_not_allowed.json"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archetypes", *map(str, args)], capture_output=True, text=True)


def test_valid_files_exit_0_and_say_so():
    result = cli("validate", "--template", "vgr.medication_order.v1", *VALID)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(VALID)} valid, 0 invalid" in result.stdout


def test_an_invalid_file_exits_1_with_its_openehr_path_and_pointer():
    expected = json.loads((EXAMPLES / "expected.json").read_text())["unit_not_allowed.json"]
    result = cli("validate", "--template", "vgr.medication_order.v1", VALID[0], INVALID)
    assert result.returncode == 1
    assert "1 valid, 1 invalid" in result.stdout
    assert expected["path"] in result.stdout
    assert expected["pointer"] in result.stdout


@pytest.mark.parametrize("source", ["opt", "schema"])
def test_template_may_be_an_opt_or_a_schema_file(source):
    path = archetypes.opt_path("vgr.medication_order.v1") if source == "opt" else \
        archetypes.schema_path("vgr.medication_order.v1")
    assert cli("validate", "--template", path, VALID[0]).returncode == 0
    assert cli("validate", "--template", path, INVALID).returncode == 1


def test_json_report_lists_every_issue():
    result = cli("validate", "--json", "--template", "vgr.medication_order.v1", INVALID)
    [entry] = json.loads(result.stdout)
    assert entry["valid"] is False
    assert {"path", "pointer", "message", "keyword"} <= set(entry["issues"][0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "--template", "no.such.template", "x.json"], "unknown template"),
        (["validate", "--template", "vgr.medication_order.v1", "/no/such/file.json"], "cannot read"),
        (["validate", "--template", "/no/such.opt", "x.json"], "no such OPT file"),
        (["compile", "/no/such.opt"], "cannot read"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_usage_errors_exit_2_with_a_message(args, message):
    result = cli(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_file_that_is_not_json_is_a_usage_error(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = cli("validate", "--template", "vgr.medication_order.v1", broken)
    assert result.returncode == 2 and "is not JSON" in result.stderr


def test_compile_writes_the_committed_schema(tmp_path):
    out = tmp_path / "schema.json"
    assert cli("compile", archetypes.opt_path("vgr.referral.v1"), "-o", out).returncode == 0
    assert out.read_text() == archetypes.schema_path("vgr.referral.v1").read_text()


def test_list_names_every_template():
    listed = [line.split("\t")[0] for line in cli("list").stdout.splitlines()]
    assert listed == archetypes.template_ids()
    assert "vgr.person.v1" in listed
