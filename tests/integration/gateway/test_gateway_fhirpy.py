"""An independent FHIR client (fhirpy) against the gateway served by a real uvicorn server, over
the real module apps in-process (SQLite): create, search, paging through next links, update,
delete."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound
from gateway_support import PNR_SYSTEM, order

from archetypes.identifiers import luhn_check_digit
from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.demographics.app import create_app as create_demographics
from services.demographics.settings import DemographicsSettings
from services.medication.app import create_app as create_medication
from services.medication.settings import MedicationSettings


def personnummer(yyyymmdd: str, serial: str) -> str:
    return yyyymmdd + serial + str(luhn_check_digit(yyyymmdd[2:] + serial))


NUMBERS = [personnummer(f"19{50 + i}0{1 + i}0{1 + i}", f"{100 + i}") for i in range(5)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fhirpy")
    demographics = create_demographics(
        DemographicsSettings(database_url=f"sqlite:///{folder / 'd.db'}", migrate_on_startup=True)
    )
    medication = create_medication(
        MedicationSettings(database_url=f"sqlite:///{folder / 'm.db'}", migrate_on_startup=True),
        demographics_transport=httpx.ASGITransport(app=demographics),
    )
    transports = {
        "demographics": httpx.ASGITransport(app=demographics),
        "medication": httpx.ASGITransport(app=medication),
        "journal": httpx.ASGITransport(app=medication),  # not used here
        "referrals": httpx.ASGITransport(app=medication),
    }
    app = create_app(GatewaySettings(read_retries=0), transport=transports)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/fhir"
    server.should_exit = True
    thread.join(timeout=5)
    demographics.state.engine.dispose()
    medication.state.service.store.engine.dispose()


def test_fhirpy_create_search_page_update_delete(base_url):
    client = SyncFHIRClient(base_url)
    numbers = NUMBERS
    created = []
    for index, number in enumerate(numbers):
        patient = client.resource(
            "Patient",
            identifier=[{"system": PNR_SYSTEM, "value": number}],
            name=[{"family": "Fhirpysson", "given": [f"Nummer{index}"]}],
            gender="female",
        )
        patient.save()
        assert patient.id and patient["meta"]["versionId"] == "1"
        created.append(patient)

    everyone = client.resources("Patient").search(family="fhirpys").limit(2).fetch_all()
    assert sorted(p.id for p in everyone) == sorted(p.id for p in created)
    first_page = client.resources("Patient").search(family="fhirpys").limit(2).fetch()
    assert len(first_page) == 2

    one = client.resources("Patient").search(identifier=f"{PNR_SYSTEM}|{numbers[0]}").get()
    assert one.id == created[0].id
    one["gender"] = "other"
    one.save()
    assert client.reference("Patient", one.id).to_resource()["gender"] == "other"
    assert client.reference("Patient", one.id).to_resource()["meta"]["versionId"] == "2"

    fields = {k: v for k, v in order(one.id).items() if k != "resourceType"}
    prescription = client.resource("MedicationRequest", **fields)
    prescription.save()
    found = client.resources("MedicationRequest").search(patient=one.id).fetch_all()
    assert [m.id for m in found] == [prescription.id]
    assert found[0]["subject"]["reference"] == f"Patient/{one.id}"

    created[1].delete()
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", created[1].id).to_resource()

    with pytest.raises(OperationOutcome) as caught:
        client.resources("Patient").search(colour="blue").fetch()
    assert "colour" in str(caught.value)
