"""An independent FHIR client (fhirpy) against the gateway served by a real uvicorn server
(modules faked with httpx.MockTransport): create, search, paging through next links, update,
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
from gateway_fakes import Down, FakeClinical, FakeDemographics
from gateway_support import PNR_SYSTEM

from archetypes.identifiers import luhn_check_digit
from gateway.app import create_app
from gateway.settings import GatewaySettings


def personnummer(yyyymmdd: str, serial: str) -> str:
    return yyyymmdd + serial + str(luhn_check_digit(yyyymmdd[2:] + serial))


NUMBERS = [personnummer(f"19{50 + i}0{1 + i}0{1 + i}", f"{100 + i}") for i in range(5)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url():
    demographics = FakeDemographics()
    transports = {
        "demographics": httpx.MockTransport(demographics),
        "medication": httpx.MockTransport(FakeClinical(demographics)),
        "journal": httpx.MockTransport(Down()),
        "referrals": httpx.MockTransport(Down()),
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

    one.delete()
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", one.id).to_resource()

    with pytest.raises(OperationOutcome) as caught:
        client.resources("Patient").search(colour="blue").fetch()
    assert "colour" in str(caught.value)
