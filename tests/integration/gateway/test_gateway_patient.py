"""Patient through the gateway against a demographics fake that follows services/README.md."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
from gateway_support import PNR, PNR_2, PNR_SYSTEM, SAM_SYSTEM, SAMORDNING, patient_body

FHIR_JSON = "application/fhir+json"


def create(client, body=None, **headers):
    return client.post(
        "/fhir/Patient", json=body or patient_body(), headers={"Content-Type": FHIR_JSON, **headers}
    )


def test_create_then_read(client, demographics):
    response = create(client)
    assert response.status_code == 201
    patient = response.json()
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"] == f"http://testserver/fhir/Patient/{patient['id']}/_history/1"
    assert patient["meta"]["versionId"] == "1" and patient["meta"]["lastUpdated"].endswith("Z")
    # creating a Patient creates its EHR in demographics
    assert [
        e["ehr_status"]["subject"]["external_ref"]["id"]["value"] for e in demographics.ehrs.values()
    ] == [PNR]
    read = client.get(f"/fhir/Patient/{patient['id']}")
    assert read.status_code == 200
    assert read.headers["content-type"].startswith(FHIR_JSON)
    assert read.headers["etag"] == 'W/"1"'
    assert read.json()["name"] == [{"use": "official", "family": "Tolvansson", "given": ["Tolvan"]}]
    assert read.json()["identifier"][0] == {"use": "official", "system": PNR_SYSTEM, "value": PNR}


def test_prefer_return_minimal_and_outcome(client):
    minimal = create(client, Prefer="return=minimal")
    assert minimal.status_code == 201 and minimal.content == b"" and minimal.headers["location"]
    outcome = create(client, patient_body(PNR_2), Prefer="return=OperationOutcome")
    assert outcome.json()["resourceType"] == "OperationOutcome"


def test_unknown_patient_is_404_outcome(client):
    response = client.get("/fhir/Patient/does-not-exist")
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"


def test_bad_bodies_are_400_with_expression(client):
    wrong = create(client, patient_body(gender="mal"))
    assert wrong.status_code == 400
    assert wrong.json()["issue"][0]["expression"] == ["Patient.gender"]
    bad_date = create(client, patient_body(birthDate="1912-13-45"))
    assert bad_date.status_code == 400
    assert bad_date.json()["issue"][0]["expression"] == ["Patient.birthDate"]
    check_digit = create(client, patient_body("191212121213"))
    assert check_digit.status_code == 400
    assert check_digit.json()["issue"][0]["expression"] == ["Patient.identifier[0].value"]
    not_json = client.post("/fhir/Patient", content=b"{nope", headers={"Content-Type": FHIR_JSON})
    assert not_json.status_code == 400
    wrong_type = client.post(
        "/fhir/Patient", json={"resourceType": "Observation"}, headers={"Content-Type": FHIR_JSON}
    )
    assert wrong_type.status_code == 400 and wrong_type.json()["issue"][0]["expression"] == ["resourceType"]
    unknown_element = create(client, patient_body(colour="blue"))
    assert unknown_element.status_code == 400
    assert unknown_element.json()["issue"][0]["expression"] == ["Patient.colour"]
    unsupported_media = client.post("/fhir/Patient", content=b"x", headers={"Content-Type": "text/plain"})
    assert unsupported_media.status_code == 415


def test_samordningsnummer(client):
    response = create(client, patient_body(SAMORDNING, SAM_SYSTEM, birthDate="2001-01-01"))
    assert response.status_code == 201
    assert response.json()["identifier"][0]["system"] == SAM_SYSTEM


def test_update_with_if_match_and_stale_412(client):
    patient = create(client).json()
    patient["name"][0]["given"] = ["Tolvan", "Maria"]
    updated = client.put(f"/fhir/Patient/{patient['id']}", json=patient, headers={"If-Match": 'W/"1"'})
    assert updated.status_code == 200
    assert updated.headers["etag"] == 'W/"2"'
    assert updated.json()["meta"]["versionId"] == "2"
    assert updated.json()["name"][0]["given"] == ["Tolvan", "Maria"]
    stale = client.put(f"/fhir/Patient/{patient['id']}", json=patient, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    garbage = client.put(f"/fhir/Patient/{patient['id']}", json=patient, headers={"If-Match": "yesterday"})
    assert garbage.status_code == 400
    mismatch = client.put("/fhir/Patient/other-id", json=patient)
    assert mismatch.status_code == 400 and mismatch.json()["issue"][0]["expression"] == ["Patient.id"]


def test_vread_and_history(client):
    patient = create(client).json()
    patient["gender"] = "other"
    client.put(f"/fhir/Patient/{patient['id']}", json=patient, headers={"If-Match": 'W/"1"'})
    first = client.get(f"/fhir/Patient/{patient['id']}/_history/1")
    assert first.status_code == 200 and first.json()["gender"] == "male"
    assert first.json()["meta"]["versionId"] == "1"
    second = client.get(f"/fhir/Patient/{patient['id']}/_history/2")
    assert second.json()["gender"] == "other"
    assert client.get(f"/fhir/Patient/{patient['id']}/_history/9").status_code == 404
    history = client.get(f"/fhir/Patient/{patient['id']}/_history").json()
    assert history["type"] == "history" and history["total"] == 2
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]


def test_delete_then_410_and_history_shows_it(client):
    patient = create(client).json()
    assert client.delete(f"/fhir/Patient/{patient['id']}").status_code == 204
    gone = client.get(f"/fhir/Patient/{patient['id']}")
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"
    assert client.delete(f"/fhir/Patient/{patient['id']}").status_code == 204  # idempotent
    history = client.get(f"/fhir/Patient/{patient['id']}/_history").json()
    assert history["entry"][0]["request"]["method"] == "DELETE" and "resource" not in history["entry"][0]
    assert client.get(f"/fhir/Patient/{patient['id']}/_history/2").status_code == 410
    assert client.get(f"/fhir/Patient/{patient['id']}/_history/1").status_code == 200
    assert client.delete("/fhir/Patient/never-was").status_code == 404


def test_conditional_create(client, demographics):
    first = create(client, **{"If-None-Exist": f"identifier={PNR_SYSTEM}|{PNR}"})
    assert first.status_code == 201
    again = create(client, **{"If-None-Exist": f"identifier={PNR_SYSTEM}|{PNR}"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert len(demographics.store.objects) == 1
    bad = create(client, **{"If-None-Exist": "name=Tolvan"})
    assert bad.status_code == 400


def seed(client):
    people = [
        patient_body(PNR),
        patient_body(
            PNR_2, name=[{"family": "Åkesson", "given": ["Anna"]}], gender="female", birthDate="1949-10-01"
        ),
        patient_body(
            SAMORDNING, SAM_SYSTEM, name=[{"family": "Svensson", "given": ["Sven"]}], birthDate="2001-01-01"
        ),
    ]
    return [create(client, p).json() for p in people]


def ids(bundle):
    return sorted(e["resource"]["id"] for e in bundle.get("entry", []))


def test_search_parameters(client):
    tolvan, anna, sven = seed(client)
    by_identifier = client.get("/fhir/Patient", params={"identifier": f"{PNR_SYSTEM}|{PNR}"}).json()
    assert by_identifier["type"] == "searchset" and by_identifier["total"] == 1
    assert ids(by_identifier) == [tolvan["id"]]
    assert by_identifier["entry"][0]["fullUrl"] == f"http://testserver/fhir/Patient/{tolvan['id']}"
    assert by_identifier["entry"][0]["search"] == {"mode": "match"}
    ten_digits = client.get("/fhir/Patient", params={"identifier": "121212+1212"}).json()
    assert ids(ten_digits) == [tolvan["id"]]
    wrong_system = client.get("/fhir/Patient", params={"identifier": f"{SAM_SYSTEM}|{PNR}"}).json()
    assert wrong_system["total"] == 0
    assert ids(client.get("/fhir/Patient", params={"family": "akesson"}).json()) == [anna["id"]]
    assert ids(client.get("/fhir/Patient", params={"name": "sve"}).json()) == [sven["id"]]
    assert ids(client.get("/fhir/Patient", params={"given": "Tol"}).json()) == [tolvan["id"]]
    assert ids(client.get("/fhir/Patient", params={"gender": "female"}).json()) == [anna["id"]]
    assert ids(client.get("/fhir/Patient", params={"birthdate": "1949-10-01"}).json()) == [anna["id"]]
    after = client.get("/fhir/Patient", params=[("birthdate", "ge1940-01-01"), ("birthdate", "lt2000-01-01")])
    assert ids(after.json()) == [anna["id"]]
    assert ids(client.get("/fhir/Patient", params={"_id": sven["id"]}).json()) == [sven["id"]]
    assert client.get("/fhir/Patient", params={"_id": "unknown"}).json()["total"] == 0


def test_search_errors_and_lenient_handling(client):
    seed(client)
    unknown = client.get("/fhir/Patient", params={"colour": "blue"})
    assert unknown.status_code == 400
    assert unknown.json()["issue"][0]["expression"] == ["colour"]
    lenient = client.get(
        "/fhir/Patient", params={"colour": "blue", "gender": "male"}, headers={"Prefer": "handling=lenient"}
    )
    assert lenient.status_code == 200 and lenient.json()["total"] == 2
    assert "colour" not in lenient.json()["link"][0]["url"]
    assert client.get("/fhir/Patient", params={"birthdate": "1949-13-01"}).status_code == 400
    assert client.get("/fhir/Patient", params={"gender": "mal"}).status_code == 400
    assert client.get("/fhir/Patient", params={"_count": "many"}).status_code == 400
    assert client.get("/fhir/Patient", params={"family:exact": "x"}).status_code == 400
    assert client.get("/fhir/Patient", params={"_summary": "maybe"}).status_code == 400


def test_paging_links_are_absolute_and_walkable(client):
    seed(client)
    page = client.get("/fhir/Patient", params={"_count": "2"}).json()
    assert page["total"] == 3 and len(page["entry"]) == 2
    links = {link["relation"]: link["url"] for link in page["link"]}
    assert set(links) == {"self", "next"}
    assert links["next"].startswith("http://testserver/fhir/Patient?")
    second = client.get(links["next"]).json()
    assert len(second["entry"]) == 1
    relations = {link["relation"]: link["url"] for link in second["link"]}
    assert "next" not in relations and "previous" in relations
    assert parse_qs(urlparse(relations["previous"]).query)["_offset"] == ["0"]
    seen = ids(page) + ids(second)
    assert len(set(seen)) == 3


def test_links_behind_a_proxy(client, make_client, settings):
    seed(client)
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "fhir.vgregion.se"}
    bundle = client.get("/fhir/Patient", params={"_count": "1"}, headers=headers).json()
    assert all(link["url"].startswith("https://fhir.vgregion.se/fhir/Patient?") for link in bundle["link"])
    assert bundle["entry"][0]["fullUrl"].startswith("https://fhir.vgregion.se/fhir/Patient/")
    # The configured public base is the whole FHIR base, as deploy/ sets it (make run, compose, Kubernetes).
    settings.public_base_url = "https://api.example.se/gw/fhir"
    with make_client() as configured:
        created = create(configured, patient_body(PNR_2))
        assert created.headers["location"].startswith("https://api.example.se/gw/fhir/Patient/")
        page = configured.get("/fhir/Patient", params={"_count": "1"}).json()
        assert page["link"][0]["url"].startswith("https://api.example.se/gw/fhir/Patient?")


def test_summary_count_total_none_and_elements(client):
    seed(client)
    count = client.get("/fhir/Patient", params={"_summary": "count"}).json()
    assert count["total"] == 3 and "entry" not in count
    no_total = client.get("/fhir/Patient", params={"_total": "none"}).json()
    assert "total" not in no_total and len(no_total["entry"]) == 3
    elements = client.get("/fhir/Patient", params={"_elements": "birthDate"}).json()
    resource = elements["entry"][0]["resource"]
    assert set(resource) == {"resourceType", "id", "meta", "birthDate"}
    assert resource["meta"]["tag"][0]["code"] == "SUBSETTED"
    summary = client.get("/fhir/Patient", params={"_summary": "true"}).json()
    assert "name" in summary["entry"][0]["resource"]


def test_xml_by_accept_and_format_and_pretty(client):
    patient = create(client).json()
    xml = client.get(f"/fhir/Patient/{patient['id']}", headers={"Accept": "application/fhir+xml"})
    assert xml.status_code == 200
    assert xml.headers["content-type"].startswith("application/fhir+xml")
    assert b'<Patient xmlns="http://hl7.org/fhir">' in xml.content
    by_format = client.get(f"/fhir/Patient/{patient['id']}", params={"_format": "xml"})
    assert by_format.headers["content-type"].startswith("application/fhir+xml")
    bundle = client.get("/fhir/Patient", params={"_format": "application/fhir+xml"})
    assert b"<Bundle" in bundle.content
    pretty = client.get(f"/fhir/Patient/{patient['id']}", params={"_pretty": "true"})
    assert b"\n  " in pretty.content
    error = client.get("/fhir/Patient/nope", headers={"Accept": "application/fhir+xml"})
    assert error.status_code == 404 and b"<OperationOutcome" in error.content
    assert client.get("/fhir/metadata", params={"_format": "pdf"}).status_code == 406


def test_xml_body_create(client):
    xml = (
        '<Patient xmlns="http://hl7.org/fhir"><identifier><system value="' + PNR_SYSTEM + '"/>'
        '<value value="' + PNR + '"/></identifier><name><family value="Tolvansson"/></name>'
        '<gender value="male"/></Patient>'
    )
    response = client.post("/fhir/Patient", content=xml, headers={"Content-Type": "application/fhir+xml"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == [{"family": "Tolvansson"}]


def test_demographics_down_is_503_naming_it(make_client, demographics):
    demographics.down = True
    with make_client() as client:
        response = client.get("/fhir/Patient/5b8e3c1a-4a7f-4f43-9a0e-2a9d1c3b7e10")
        assert response.status_code == 503
        assert "demographics" in response.json()["issue"][0]["diagnostics"]
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["modules"]["demographics"]["ready"] is False


def test_reads_are_retried_writes_are_not(make_client, demographics):
    failures = {"GET": 1, "POST": 1}

    def flaky(request: httpx.Request) -> httpx.Response:
        if failures.get(request.method, 0) > 0 and request.url.path.startswith("/rest"):
            failures[request.method] -= 1
            raise httpx.ConnectError("blip", request=request)
        return demographics(request)

    with make_client(demographics=httpx.MockTransport(flaky)) as client:
        assert create(client).status_code == 503  # the POST is not retried
        assert failures["POST"] == 0
        created = create(client).json()
        assert client.get(f"/fhir/Patient/{created['id']}").status_code == 200
        assert failures["GET"] == 0


def test_ehr_failure_compensates_the_person(make_client, demographics):
    def no_ehr(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ehr") and request.method == "POST":
            return httpx.Response(503, json={"message": "db down", "code": "unavailable", "details": []})
        return demographics(request)

    with make_client(demographics=httpx.MockTransport(no_ehr)) as client:
        response = create(client)
        assert response.status_code == 503
    # the PERSON written before the EHR failed was taken back (a deletion version)
    assert all(versions[-1]["data"] is None for versions in demographics.store.objects.values())


def test_template_violation_is_422_with_openehr_path(make_client, demographics):
    def strict(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/demographic/person"):
            return httpx.Response(
                422,
                json={
                    "message": "template violation",
                    "code": "template",
                    "details": [
                        {
                            "path": "/details[openEHR-DEMOGRAPHIC-ITEM_TREE.person_details.v0]/items[at0001]",
                            "pointer": "/details/items/0",
                            "message": "occurrences 0..1",
                        }
                    ],
                },
            )
        return demographics(request)

    with make_client(demographics=httpx.MockTransport(strict)) as client:
        response = create(client)
        assert response.status_code == 422
        diagnostics = " ".join(i["diagnostics"] for i in response.json()["issue"])
        assert "/details[openEHR-DEMOGRAPHIC-ITEM_TREE.person_details.v0]/items[at0001]" in diagnostics


def test_health_and_unknown_routes(client):
    assert client.get("/health").json() == {"status": "ok"}
    missing = client.get("/fhir/Nope")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    not_allowed = client.patch("/fhir/Patient/abc")
    assert not_allowed.status_code == 405 and not_allowed.json()["resourceType"] == "OperationOutcome"


def test_bad_format_parameters_fail_before_any_module_call(client, demographics):
    assert client.get("/fhir/Patient/abc", params={"_format": "pdf"}).status_code == 406
    assert client.get("/fhir/Patient", params={"_pretty": "maybe"}).status_code == 400
    assert demographics.calls == []


def test_concurrent_conditional_creates_make_one_patient(demographics, settings):
    import asyncio

    from gateway.app import create_app

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001)  # let the concurrent requests interleave at every module call
        return demographics(request)

    app = create_app(settings, transport={"demographics": httpx.MockTransport(slow)})

    async def run():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as gw:
            headers = {"If-None-Exist": f"identifier={PNR_SYSTEM}|{PNR}", "Content-Type": FHIR_JSON}
            return await asyncio.gather(
                *(gw.post("/fhir/Patient", json=patient_body(), headers=headers) for _ in range(10))
            )

    responses = asyncio.run(run())
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(demographics.store.objects) == 1 and len(demographics.ehrs) == 1


def test_ready_requires_only_the_configured_modules(make_client, settings):
    with make_client() as client:  # journal, medication and referrals are down
        assert client.get("/ready").status_code == 503
    settings.ready_modules = ["demographics"]
    with make_client() as client:
        ready = client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["modules"]["medication"]["ready"] is False


def test_delete_honours_if_match(client):
    patient = create(client).json()
    assert client.delete(f"/fhir/Patient/{patient['id']}", headers={"If-Match": 'W/"2"'}).status_code == 412
    assert client.get(f"/fhir/Patient/{patient['id']}").status_code == 200
    assert client.delete(f"/fhir/Patient/{patient['id']}", headers={"If-Match": 'W/"1"'}).status_code == 204


def test_search_by_post_reads_the_form_without_python_multipart(client):
    """schemathesis found POST _search answering 500: Starlette's form parser needs python-multipart,
    which is not a dependency. The body is now read as application/x-www-form-urlencoded directly."""
    tolvan, _, _ = seed(client)
    form = {"content-type": "application/x-www-form-urlencoded"}
    found = client.post("/fhir/Patient/_search", content="given=Tol&_count=5", headers=form)
    assert found.status_code == 200, found.text
    assert ids(found.json()) == [tolvan["id"]]
    assert client.post("/fhir/Patient/_search").json()["total"] == 3
    wrong = client.post("/fhir/Patient/_search", content=b"{}", headers={"content-type": "application/json"})
    assert wrong.status_code == 415
    assert wrong.json()["resourceType"] == "OperationOutcome"


def test_search_by_post_on_the_clinical_resources_reads_the_form(make_client):
    with make_client() as client:
        answer = client.post(
            "/fhir/Task/_search", content=b"_count=1", headers={"content-type": "application/x-www-form-urlencoded"}
        )
    assert answer.status_code != 500
    assert answer.json()["resourceType"] in ("Bundle", "OperationOutcome")


def test_a_closed_ehr_names_no_patient(make_client, demographics):
    """A Patient comes only from demographics' persons; the EHR -> Patient link the clinical resources
    use is cut when the EHR is not queryable, even while a person holds its number."""
    with make_client() as gateway:
        assert gateway.post("/fhir/Patient", json=patient_body()).status_code == 201
    (ehr,) = demographics.ehrs.values()
    ehr_id = ehr["ehr_id"]["value"]
    with make_client() as gateway:  # a fresh gateway: nothing cached
        assert gateway.portal.call(gateway.app.state.patients.patient_id, ehr_id) is not None
    ehr["ehr_status"] = {**ehr["ehr_status"], "is_queryable": False, "is_modifiable": False}
    with make_client() as gateway:
        assert gateway.portal.call(gateway.app.state.patients.patient_id, ehr_id) is None
