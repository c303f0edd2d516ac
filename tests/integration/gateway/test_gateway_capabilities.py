"""/fhir/metadata lists exactly what the routes implement (both come from one registry)."""

from __future__ import annotations

import re

from gateway.fhir.registry import CREATE, DELETE, HISTORY_INSTANCE, READ, SEARCH, UPDATE, VREAD

ROUTE_OF = {
    READ: ("GET", "/fhir/{type}/{id}"),
    VREAD: ("GET", "/fhir/{type}/{id}/_history/{vid}"),
    HISTORY_INSTANCE: ("GET", "/fhir/{type}/{id}/_history"),
    SEARCH: ("GET", "/fhir/{type}"),
    CREATE: ("POST", "/fhir/{type}"),
    UPDATE: ("PUT", "/fhir/{type}/{id}"),
    DELETE: ("DELETE", "/fhir/{type}/{id}"),
}


def routes(app) -> set[tuple[str, str]]:
    """(method, path with {} for parameters) of every route the app serves (from its OpenAPI)."""
    out = set()
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            out.add((method.upper(), re.sub(r"\{[^}]+\}", "{}", path)))
    return out


def test_capability_statement_matches_the_routes(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = response.json()
    assert statement["fhirVersion"] == "4.0.1" and statement["kind"] == "instance"
    assert statement["implementation"]["url"] == "http://testserver/fhir"
    available = routes(client.app)
    listed = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(listed) == {
        "Patient",
        "MedicationRequest",
        "Composition",
        "Condition",
        "ServiceRequest",
        "Task",
    }
    for rtype, resource in listed.items():
        interactions = {i["code"] for i in resource["interaction"]}
        for code, (method, template) in ROUTE_OF.items():
            path = template.replace("{type}", rtype).replace("{id}", "{}").replace("{vid}", "{}")
            assert ((method, path) in available) == (code in interactions), (rtype, code)
    patient_params = {p["name"] for p in listed["Patient"]["searchParam"]}
    assert patient_params == {"_id", "identifier", "name", "family", "given", "birthdate", "gender"}
    assert listed["Patient"]["conditionalCreate"] is True
    assert listed["MedicationRequest"]["searchInclude"] == [
        "MedicationRequest:subject",
        "MedicationRequest:patient",
    ]


def test_every_listed_search_parameter_is_accepted(client):
    statement = client.get("/fhir/metadata").json()
    for resource in statement["rest"][0]["resource"]:
        for param in resource.get("searchParam", []):
            response = client.get(f"/fhir/{resource['type']}", params={param["name"]: ""})
            # an empty value is ignored, so the parameter is accepted; a module may be down (503)
            assert response.status_code in (200, 503), (resource["type"], param["name"], response.text)


def test_metadata_in_xml(client):
    response = client.get("/fhir/metadata", headers={"Accept": "application/fhir+xml"})
    assert response.status_code == 200 and b"<CapabilityStatement" in response.content
    assert b'<fhirVersion value="4.0.1"/>' in response.content
