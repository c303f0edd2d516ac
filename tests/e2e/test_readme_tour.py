"""The integrator's tour in README.md, run as written (curl, jq, fhirpy) against the real processes,
so the README cannot drift from what the gateway does."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from deploy.run import DEFAULT_PORTS, Stack, free_port

README = Path(__file__).resolve().parents[2] / "README.md"
DEFAULT_BASE = "http://127.0.0.1:8080/fhir"


def integrator_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## Five minutes as an integrator", 1)[1].split("\n## ", 1)[0]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", integrator_section(), flags=re.S)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("data"), ports={name: free_port() for name in DEFAULT_PORTS},
                  log_stream=io.StringIO())  # fmt: skip
    with stack:
        yield f"{stack.url('gateway')}/fhir"


@pytest.fixture(scope="module")
def toured(base_url) -> str:
    """The curl tour's output (it also makes the data the fhirpy snippet reads)."""
    if not (shutil.which("curl") and shutil.which("jq")):
        pytest.skip("the tour uses curl and jq")
    [script] = blocks("sh")
    assert DEFAULT_BASE in script
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace(DEFAULT_BASE, base_url)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_curl_tour_runs_as_written(toured):
    out = toured
    assert '"Patient"' in out and '"Task"' in out  # metadata
    assert '"resourceType":"Patient"' in out.replace(" ", "")  # created
    assert '"stopped"\n"2"' in out  # the status update made version 2
    assert '"MedicationRequest"' in out.split('"stopped"')[-1]  # in $everything


def test_the_fhirpy_snippet_runs_as_written(base_url, toured):
    [snippet] = blocks("python")
    assert DEFAULT_BASE in snippet
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(snippet.replace(DEFAULT_BASE, base_url), "README.md", "exec"), {})
    lines = printed.getvalue().splitlines()
    assert lines[0].endswith("1912-12-12") and "Paracetamol stopped" in lines


def test_links_and_locations_of_the_running_stack_lead_back_to_it(base_url, toured):
    """`make run` configures the gateway's public base (GATEWAY_PUBLIC_BASE_URL, the FHIR base): the
    Bundle links and Location headers a client follows must be URLs of this stack ("/fhir/fhir" was not)."""
    for number, given in (("194211012382", "Anna"), ("194211012390", "Berit")):  # valid personnummer
        identifier = {"system": "http://electronichealth.se/identifier/personnummer", "value": number}
        created = httpx.post(f"{base_url}/Patient", json={
            "resourceType": "Patient", "name": [{"family": "Länkström", "given": [given]}], "identifier": [identifier]})
        assert created.status_code == 201, created.text
        assert created.headers["location"].startswith(f"{base_url}/Patient/")
        assert httpx.get(created.headers["location"]).status_code == 200
    first = httpx.get(f"{base_url}/Patient", params={"family": "länkström", "_count": "1"}).json()
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert links["self"].startswith(f"{base_url}/Patient?")
    second = httpx.get(links["next"])
    assert second.status_code == 200, links["next"]
    assert second.json()["entry"][0]["resource"]["id"] != first["entry"][0]["resource"]["id"]
