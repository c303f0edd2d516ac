"""The gateway in-process against the real demographics app (httpx.ASGITransport, SQLite), with
the demographics tests' stand-in validator (this branch has not merged the archetype validator)."""

from __future__ import annotations

import warnings

import httpx
import pytest
from gateway_fakes import Down
from gateway_support import PNR, PNR_2, PNR_SYSTEM, SAM_SYSTEM, SAMORDNING, patient_body, strict_check

from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.demographics.app import create_app as create_demographics
from services.demographics.settings import DemographicsSettings
from tests.integration.demographics.fakes import FAKE_TEMPLATES, fake_validator

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def demographics_app(sqlite_url):
    app = create_demographics(
        DemographicsSettings(database_url=sqlite_url, migrate_on_startup=True),
        validator=fake_validator,
        templates=FAKE_TEMPLATES,
    )
    yield app
    app.state.engine.dispose()


@pytest.fixture
def gw(demographics_app):
    down = httpx.MockTransport(Down())
    transports = {
        "demographics": httpx.ASGITransport(app=demographics_app),
        "journal": down,
        "medication": down,
        "referrals": down,
    }
    app = create_app(GatewaySettings(read_retries=0), transport=transports)
    with TestClient(app, base_url="http://testserver") as client:
        client.event_hooks = {"request": [], "response": [strict_check]}
        yield client


def test_patient_lifecycle_against_the_real_module(gw):
    created = gw.post("/fhir/Patient", json=patient_body())
    assert created.status_code == 201, created.text
    patient = created.json()
    pid = patient["id"]
    assert created.headers["etag"] == 'W/"1"'
    read = gw.get(f"/fhir/Patient/{pid}")
    assert read.status_code == 200
    assert read.json()["identifier"][0] == {"use": "official", "system": PNR_SYSTEM, "value": PNR}
    assert read.json()["name"][0]["family"] == "Tolvansson"
    assert read.json()["meta"]["lastUpdated"].endswith("Z")

    patient["gender"] = "other"
    updated = gw.put(f"/fhir/Patient/{pid}", json=patient, headers={"If-Match": 'W/"1"'})
    assert updated.status_code == 200, updated.text
    assert updated.json()["meta"]["versionId"] == "2"
    assert gw.put(f"/fhir/Patient/{pid}", json=patient, headers={"If-Match": 'W/"1"'}).status_code == 412

    assert gw.get(f"/fhir/Patient/{pid}/_history/1").json()["gender"] == "male"
    history = gw.get(f"/fhir/Patient/{pid}/_history").json()
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"2"', 'W/"1"']

    assert gw.delete(f"/fhir/Patient/{pid}").status_code == 204
    assert gw.get(f"/fhir/Patient/{pid}").status_code == 410
    assert gw.get(f"/fhir/Patient/{pid}/_history").json()["entry"][0]["request"]["method"] == "DELETE"
    assert gw.get("/fhir/Patient/not-a-uuid").status_code == 404
    assert gw.get("/fhir/Patient/5b8e3c1a-4a7f-4f43-9a0e-2a9d1c3b7e10").status_code == 404


def test_search_against_the_real_module(gw):
    tolvan = gw.post("/fhir/Patient", json=patient_body()).json()
    anna = gw.post(
        "/fhir/Patient",
        json=patient_body(
            PNR_2, name=[{"family": "Åkesson", "given": ["Anna"]}], gender="female", birthDate="1949-10-01"
        ),
    ).json()
    sven = gw.post(
        "/fhir/Patient",
        json=patient_body(
            SAMORDNING, SAM_SYSTEM, name=[{"family": "Svensson", "given": ["Sven"]}], birthDate="2001-01-01"
        ),
    ).json()

    def ids(params):
        response = gw.get("/fhir/Patient", params=params)
        assert response.status_code == 200, response.text
        return sorted(e["resource"]["id"] for e in response.json().get("entry", []))

    assert ids({"identifier": f"{PNR_SYSTEM}|{PNR}"}) == [tolvan["id"]]
    assert ids({"identifier": "121212+1212"}) == [tolvan["id"]]
    assert ids({"family": "akesson"}) == [anna["id"]]
    assert ids({"given": "sve"}) == [sven["id"]]
    assert ids([("birthdate", "ge1940"), ("birthdate", "lt2000-01-01")]) == [anna["id"]]
    page = gw.get("/fhir/Patient", params={"_count": "2"}).json()
    assert page["total"] == 3 and len(page["entry"]) == 2
    following = next(link["url"] for link in page["link"] if link["relation"] == "next")
    assert len(gw.get(following).json()["entry"]) == 1


def test_conditional_create_and_ehr_against_the_real_module(gw, demographics_app):
    headers = {"If-None-Exist": f"identifier={PNR_SYSTEM}|{PNR}"}
    first = gw.post("/fhir/Patient", json=patient_body(), headers=headers)
    second = gw.post("/fhir/Patient", json=patient_body(), headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert demographics_app.state.ehrs.by_subject(PNR, "vgr.demographics") is not None


def test_a_patient_the_template_cannot_hold_is_422_before_the_module(gw, demographics_app):
    nameless = patient_body()
    del nameless["name"]
    response = gw.post("/fhir/Patient", json=nameless)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Patient.name"]


def test_gender_search_against_the_real_module(gw):
    gw.post("/fhir/Patient", json=patient_body())
    anna = gw.post(
        "/fhir/Patient",
        json=patient_body(
            PNR_2, name=[{"family": "Åkesson", "given": ["Anna"]}], gender="female", birthDate="1949-10-01"
        ),
    ).json()
    bundle = gw.get("/fhir/Patient", params={"gender": "female"}).json()
    assert [e["resource"]["id"] for e in bundle.get("entry", [])] == [anna["id"]]
