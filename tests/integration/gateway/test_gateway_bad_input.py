"""Bad input is a 4xx OperationOutcome on every route, never a 500."""

from __future__ import annotations

import pytest
from gateway_support import patient_body

JSON = {"Content-Type": "application/fhir+json"}
ZERO = "0" * 64
# Nested deeper than JSON parsing and the resource models recurse: each was a 500 (RecursionError).
DEEP_PATIENT = (
    b'{"resourceType":"Patient","extension":[' + b'{"url":"http://example.org/x","extension":[' * 600
    + b'{"url":"http://example.org/y","valueString":"z"}' + b"]}" * 600 + b"]}"
)  # fmt: skip
DEEP_BUNDLE = b'{"resourceType":"Bundle","type":"batch","entry":[' + b"[" * 3000 + b"]" * 3000 + b"]}"

REQUESTS = [
    ("GET", "/fhir/Patient?_count=-1", None),
    ("GET", "/fhir/Patient?_offset=x", None),
    ("GET", "/fhir/Patient?birthdate=ge2026-99", None),
    ("GET", "/fhir/Patient?identifier=%00%ff", None),
    ("GET", "/fhir/Patient?_total=maybe", None),
    ("GET", "/fhir/Patient/..", None),
    ("GET", "/fhir/Patient/x/_history/-1", None),
    ("POST", "/fhir/Patient", b"[]"),
    ("POST", "/fhir/Patient", b'{"resourceType":"Patient","identifier":[{"system":1,"value":{}}]}'),
    ("POST", "/fhir/Patient", b'{"resourceType":"Patient","name":"Tolvan"}'),
    ("POST", "/fhir/Patient", b'{"resourceType":"Patient","birthDate":"1912-12-12T00:00"}'),
    ("PUT", "/fhir/Patient/5b8e3c1a-4a7f-4f43-9a0e-2a9d1c3b7e10", b'{"resourceType":"Patient"}'),
    ("DELETE", "/fhir/Patient/not-an-id", None),
    ("GET", "/fhir/MedicationRequest?authoredon=2026-02-30", None),
    ("GET", "/fhir/MedicationRequest?patient=Observation/1", None),
    ("GET", "/fhir/MedicationRequest?patient=a&patient=b", None),
    ("POST", "/fhir/MedicationRequest", b'{"resourceType":"MedicationRequest"}'),
    (
        "POST",
        "/fhir/MedicationRequest",
        b'{"resourceType":"MedicationRequest","status":"active","intent":"order",'
        b'"subject":{"reference":"Patient/x"}}',
    ),
    (
        "PUT",
        f"/fhir/MedicationRequest/{ZERO}",
        b'{"resourceType":"MedicationRequest","id":"' + ZERO.encode() + b'",'
        b'"status":"stopped","intent":"order","subject":{"reference":"P/x"}}',
    ),
    ("POST", "/fhir/Composition", b'{"resourceType":"Composition"}'),
    ("GET", "/fhir/Condition/abc-x", None),
    ("GET", "/fhir/Condition?code=", None),
    ("PUT", f"/fhir/Task/{ZERO}", b'{"resourceType":"Task","id":"' + ZERO.encode() + b'","intent":"order"}'),
    (
        "POST",
        "/fhir/ServiceRequest",
        b'{"resourceType":"ServiceRequest","status":"active","intent":"order",'
        b'"subject":{"reference":"Patient/x"}}',
    ),
    (
        "POST",
        "/fhir",
        b'{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST"}}]}',
    ),
    (
        "POST",
        "/fhir",
        b'{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Nope/1"}}]}',
    ),
    ("POST", "/fhir", b"<Bundle"),
    ("GET", "/fhir/Patient/x/$everything?_count=1", None),
    ("POST", "/fhir/Patient", DEEP_PATIENT),
    ("POST", "/fhir", DEEP_BUNDLE),
]


@pytest.mark.parametrize(("method", "url", "body"), REQUESTS)
def test_never_a_500(med_client, method, url, body):
    med_client.post("/fhir/Patient", json=patient_body())
    response = med_client.request(method, url, content=body, headers=JSON)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"
