"""Composition and Condition through the gateway against journal and demographics fakes."""

from __future__ import annotations

from gateway_support import PNR, PNR_2, patient_body

HSA = "urn:oid:1.2.752.29.4.19"
ICD = "urn:oid:1.2.752.116.1.1.1"
XHTML = "http://www.w3.org/1999/xhtml"


def note(patient_id: str, date: str = "2026-11-19T13:15:00+01:00", codes=(("J02.0", "Streptokockfaryngit"),)):
    conditions = [
        {"resourceType": "Condition", "id": f"d{i}", "subject": {"reference": f"Patient/{patient_id}"},
         "code": {"coding": [{"system": ICD, "code": code}], "text": text}}
        for i, (code, text) in enumerate(codes)
    ]  # fmt: skip
    sections = [
        {
            "title": "Anamnes",
            "text": {"status": "generated", "div": f'<div xmlns="{XHTML}"><p>Ont.</p></div>'},
        }
    ]
    if conditions:
        sections.append(
            {"title": "Diagnos", "entry": [{"reference": f"#d{i}"} for i in range(len(conditions))]}
        )
    return {
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": date,
        "author": [
            {"identifier": {"system": HSA, "value": "SE2321000131-P000000202022"}, "display": "Dr Ek"}
        ],
        "custodian": {
            "identifier": {"system": HSA, "value": "SE2321000131-E000000022002"},
            "display": "VC Näset",
        },
        "title": "Journalanteckning",
        "contained": conditions,
        "section": sections,
    }


def new_patient(client, number=PNR) -> str:
    return client.post("/fhir/Patient", json=patient_body(number)).json()["id"]


def test_create_read_and_conditions(med_client):
    patient_id = new_patient(med_client)
    created = med_client.post("/fhir/Composition", json=note(patient_id))
    assert created.status_code == 201, created.text
    composition = created.json()
    assert composition["subject"] == {"reference": f"Patient/{patient_id}"}
    read = med_client.get(f"/fhir/Composition/{composition['id']}")
    assert read.status_code == 200 and read.json()["section"][0]["title"] == "Anamnes"
    assert med_client.get(f"/fhir/Composition/{composition['id']}/_history/1").status_code == 200
    reference = read.json()["section"][1]["entry"][0]["reference"]
    condition = med_client.get(f"/fhir/{reference}")
    assert condition.status_code == 200
    assert condition.json()["code"]["coding"][0]["code"] == "J02.0"
    assert condition.json()["subject"] == {"reference": f"Patient/{patient_id}"}
    assert med_client.get(f"/fhir/{reference[:-1]}7").status_code == 404
    assert med_client.get("/fhir/Composition/unknown").status_code == 404


def test_searches(med_client):
    tolvan = new_patient(med_client)
    anna = new_patient(med_client, PNR_2)
    first = med_client.post("/fhir/Composition", json=note(tolvan)).json()
    second = med_client.post(
        "/fhir/Composition",
        json=note(
            tolvan,
            "2026-11-21T09:00:00+01:00",
            (("I10.9", "Essentiell hypertoni"), ("E11.9", "Diabetes typ 2")),
        ),
    ).json()
    med_client.post("/fhir/Composition", json=note(anna, codes=(("I10.9", "Essentiell hypertoni"),)))

    def ids(path, params):
        response = med_client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    assert ids("/fhir/Composition", {"patient": tolvan})["total"] == 2
    assert [
        e["resource"]["id"]
        for e in ids("/fhir/Composition", {"patient": tolvan, "date": "ge2026-11-20"})["entry"]
    ] == [second["id"]]
    assert ids("/fhir/Composition", {"type": "http://loinc.org|11506-3"})["total"] == 3
    assert ids("/fhir/Composition", {"type": "http://loinc.org|34133-9"})["total"] == 0
    hypertension = ids("/fhir/Condition", {"code": f"{ICD}|I10.9"})
    assert hypertension["total"] == 2
    assert {e["resource"]["code"]["coding"][0]["code"] for e in hypertension["entry"]} == {"I10.9"}
    mine = ids("/fhir/Condition", {"subject": f"Patient/{tolvan}"})
    assert sorted(e["resource"]["code"]["coding"][0]["code"] for e in mine["entry"]) == [
        "E11.9",
        "I10.9",
        "J02.0",
    ]
    assert ids("/fhir/Condition", {"code": "E11.9,J02.0", "patient": tolvan})["total"] == 2
    assert ids("/fhir/Condition", {"patient": tolvan, "_count": "1"})["total"] == 3
    everything = med_client.get(f"/fhir/Patient/{tolvan}/$everything").json()
    kinds = sorted(e["resource"]["resourceType"] for e in everything["entry"])
    assert kinds == ["Composition", "Composition", "Condition", "Condition", "Condition", "Patient"]
    assert first["id"] in {e["resource"]["id"] for e in everything["entry"]}


def test_create_errors(med_client):
    patient_id = new_patient(med_client)
    wrong_type = note(patient_id)
    wrong_type["type"] = {"coding": [{"system": "http://loinc.org", "code": "34133-9"}]}
    response = med_client.post("/fhir/Composition", json=wrong_type)
    assert response.status_code == 422 and response.json()["issue"][0]["expression"] == ["Composition.type"]
    assert med_client.post("/fhir/Composition", json=note("nobody")).status_code == 422
    bad_div = note(patient_id)
    bad_div["section"][0]["text"]["div"] = "<div>not xhtml namespace"
    assert med_client.post("/fhir/Composition", json=bad_div).status_code == 400


def test_composition_in_xml(med_client):
    patient_id = new_patient(med_client)
    created = med_client.post("/fhir/Composition", json=note(patient_id)).json()
    xml = med_client.get(f"/fhir/Composition/{created['id']}", headers={"Accept": "application/fhir+xml"})
    assert xml.status_code == 200, xml.text
    assert b'<div xmlns="http://www.w3.org/1999/xhtml">' in xml.content
    bundle = med_client.get("/fhir/Condition", params={"patient": patient_id, "_format": "xml"})
    assert bundle.status_code == 200 and b"<Condition>" in bundle.content
