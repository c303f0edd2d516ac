"""Vocabulary for the synthetic Swedish data set: names, care units (HSA-id), ICD-10-SE diagnoses,
ATC coded medicines and referral services. Everything here is made up or public code lists; no
real person is described."""

from __future__ import annotations

# Region Västra Götaland's organisation number is 232100-0131; HSA-ids of its units are
# "SE2321000131-" + a unit suffix. The suffixes below are invented.
REGION_HSA = "SE2321000131"

CARE_UNITS = [
    (f"{REGION_HSA}-E000000000101", "Vårdcentralen Majorna"),
    (f"{REGION_HSA}-E000000000102", "Vårdcentralen Kungälv"),
    (f"{REGION_HSA}-E000000000103", "Vårdcentralen Trollhättan Centrum"),
    (f"{REGION_HSA}-E000000000104", "Vårdcentralen Borås Norrby"),
    (f"{REGION_HSA}-E000000000105", "Akutmottagningen Sahlgrenska"),
]

# Receivers of referrals: specialist clinics.
RECEIVERS = [
    (f"{REGION_HSA}-E000000000201", "Kardiologmottagningen Sahlgrenska"),
    (f"{REGION_HSA}-E000000000202", "Ortopedmottagningen Mölndal"),
    (f"{REGION_HSA}-E000000000203", "Hudmottagningen Sahlgrenska"),
    (f"{REGION_HSA}-E000000000204", "Endokrinologmottagningen Östra"),
    (f"{REGION_HSA}-E000000000205", "Röntgen NÄL"),
    (f"{REGION_HSA}-E000000000206", "Psykiatrimottagningen Skövde"),
]

FEMALE_GIVEN = [
    "Anna",
    "Eva",
    "Maria",
    "Karin",
    "Sara",
    "Kristina",
    "Lena",
    "Emma",
    "Ingrid",
    "Elin",
    "Åsa",
    "Märta",
    "Linnéa",
    "Ebba",
    "Astrid",
    "Signe",
    "Maja",
    "Ingegerd",
    "Birgitta",
    "Sofia",
]
MALE_GIVEN = [
    "Lars",
    "Anders",
    "Johan",
    "Per",
    "Karl",
    "Erik",
    "Mikael",
    "Nils",
    "Olof",
    "Björn",
    "Åke",
    "Göran",
    "Sören",
    "Oskar",
    "Lennart",
    "Håkan",
    "Jörgen",
    "Mats",
    "Ali",
    "Mohammed",
]
FAMILY = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Åkesson",
    "Öberg",
    "Ström",
    "Lindqvist",
    "Bäckström",
    "Sjögren",
    "Hägglund",
    "Nyström",
    "Ekström",
    "Lundgren",
    "Berg",
    "Holm",
    "Hussein",
    "Nguyen",
]
STREETS = ["Storgatan", "Kungsgatan", "Vasagatan", "Ringvägen", "Skolgatan", "Järntorgsgatan", "Åvägen"]
CITIES = [("Göteborg", "41"), ("Borås", "50"), ("Trollhättan", "46"), ("Kungälv", "44"), ("Skövde", "54")]

# ICD-10-SE: (code, Swedish text), with what a note about it says.
DIAGNOSES = [
    ("I10", "Essentiell hypertoni", "Förhöjt blodtryck vid upprepade mätningar."),
    (
        "E11.9",
        "Diabetes mellitus typ 2 utan komplikationer",
        "Stabilt HbA1c, fortsatt kostbehandling och metformin.",
    ),
    ("J06.9", "Akut övre luftvägsinfektion, ospecificerad", "Halsont och snuva sedan tre dagar, afebril."),
    ("J45.9", "Astma, ospecificerad", "Ökad andfåddhet vid ansträngning, god effekt av inhalation."),
    ("M54.5", "Lumbago", "Ländryggssmärta efter lyft, inga neurologiska bortfall."),
    ("F32.1", "Medelsvår depressiv episod", "Nedstämdhet och sömnsvårigheter sedan två månader."),
    (
        "I48.9",
        "Förmaksflimmer och förmaksfladder, ospecificerat",
        "Oregelbunden puls, EKG visar förmaksflimmer.",
    ),
    (
        "N39.0",
        "Urinvägsinfektion utan angiven lokalisation",
        "Sveda vid miktion, urinsticka positiv för nitrit.",
    ),
    ("L40.0", "Psoriasis vulgaris", "Fjällande plack på armbågar och knän."),
    ("E03.9", "Hypotyreos, ospecificerad", "Trötthet, förhöjt TSH."),
    ("K21.9", "Gastroesofageal refluxsjukdom utan esofagit", "Halsbränna nattetid."),
    ("R07.4", "Bröstsmärta, ospecificerad", "Tryck över bröstet vid ansträngning, vilo-EKG normalt."),
]

# ATC: (code, product text, dose amount, unit, times per day, indication).
MEDICINES = [
    ("C09AA05", "Ramipril 5 mg tablett", 5, "mg", 1, "Hypertoni"),
    ("C07AB02", "Metoprolol 50 mg depottablett", 50, "mg", 1, "Förmaksflimmer"),
    ("A10BA02", "Metformin 500 mg tablett", 500, "mg", 2, "Diabetes mellitus typ 2"),
    ("N02BE01", "Paracetamol 500 mg tablett", 1000, "mg", 3, "Smärta"),
    ("R03AC02", "Salbutamol 0,1 mg/dos inhalationsspray", 0.2, "mg", 2, "Astma"),
    ("N06AB06", "Sertralin 50 mg tablett", 50, "mg", 1, "Depression"),
    ("B01AF02", "Apixaban 5 mg tablett", 5, "mg", 2, "Förmaksflimmer"),
    ("H03AA01", "Levotyroxin 100 mikrog tablett", 0.1, "mg", 1, "Hypotyreos"),
    ("A02BC01", "Omeprazol 20 mg kapsel", 20, "mg", 1, "Reflux"),
    ("J01CE02", "Fenoximetylpenicillin 1 g tablett", 1, "g", 3, "Infektion"),
    ("C10AA05", "Atorvastatin 20 mg tablett", 20, "mg", 1, "Hyperlipidemi"),
    ("M01AE01", "Ibuprofen 400 mg tablett", 400, "mg", 3, "Smärta"),
]

# Referral services: (service name, reason, receiver index into RECEIVERS).
SERVICES = [
    ("Kardiologisk bedömning", "Misstänkt kärlkramp, önskar arbetsprov.", 0),
    ("Ortopedisk bedömning", "Knäsmärta sedan sex månader, önskar bedömning av operationsindikation.", 1),
    ("Dermatologisk bedömning", "Utbredd psoriasis trots lokalbehandling.", 2),
    ("Endokrinologisk bedömning", "Svårinställd diabetes typ 2.", 3),
    ("Datortomografi thorax", "Långdragen hosta hos rökare.", 4),
    ("Psykiatrisk bedömning", "Depression utan effekt av två SSRI-preparat.", 5),
    ("Ultraljud hjärta", "Blåsljud, önskar ekokardiografi.", 0),
]

URGENCIES = [
    ("Akut", "at0136", "emergency"),
    ("Brådskande", "at0137", "urgent"),
    ("Rutin", "at0138", "routine"),
]
