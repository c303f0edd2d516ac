import random
from collections import Counter
from datetime import date

from archetypes.identifiers import PERSONNUMMER, SAMORDNINGSNUMMER, parse_person_identifier
from services.seed.people import make_patients, personnummer

AS_OF = date(2026, 11, 1)


def test_the_skatteverket_example_number():
    assert personnummer(date(1912, 12, 12), 121) == "191212121212"
    assert personnummer(date(1912, 12, 12), 121, samordningsnummer=True) == "191212721219"
    assert parse_person_identifier("191212721219").kind == SAMORDNINGSNUMMER


def test_patients_have_valid_unique_numbers_matching_birth_date_and_sex():
    patients = make_patients(400, random.Random(1), AS_OF)
    assert len({p.personnummer for p in patients}) == 400
    for patient in patients:
        parsed = parse_person_identifier(patient.personnummer, today=AS_OF)
        assert parsed.value == patient.personnummer
        assert parsed.kind == patient.scheme
        assert parsed.birth_date == patient.birth_date <= AS_OF
        assert (int(patient.personnummer[10]) % 2 == 1) == (patient.gender == "male")
    kinds = Counter(p.scheme for p in patients)
    assert kinds[PERSONNUMMER] > 350 and kinds[SAMORDNINGSNUMMER] > 5


def test_same_seed_same_patients():
    assert make_patients(20, random.Random(9), AS_OF) == make_patients(20, random.Random(9), AS_OF)
    assert make_patients(20, random.Random(9), AS_OF) != make_patients(20, random.Random(10), AS_OF)
