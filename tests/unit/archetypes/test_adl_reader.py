"""The focused ADL 1.4 reader of the template builder, on a small inline archetype."""

from __future__ import annotations

from archetypes.authoring import adl

ADL = (
    "archetype (adl_version=1.4)\n"
    "\topenEHR-EHR-CLUSTER.example.v1\n"
    "definition\n"
    "\tCLUSTER[at0000] matches {    -- Example\n"
    "\t\titems cardinality matches {1..*; unordered} matches {\n"
    "\t\t\tELEMENT[at0001] occurrences matches {0..1} matches {    -- Coded\n"
    "\t\t\t\tvalue matches {\n"
    "\t\t\t\t\tDV_CODED_TEXT matches {\n"
    "\t\t\t\t\t\tdefining_code matches {\n"
    "\t\t\t\t\t\t\t[local::\n"
    "\t\t\t\t\t\t\tat0002,    -- One\n"
    "\t\t\t\t\t\t\tat0003]    -- Two\n"
    "\t\t\t\t\t\t}\n"
    "\t\t\t\t\t}\n"
    "\t\t\t\t\tDV_TEXT matches {*}\n"
    "\t\t\t\t}\n"
    "\t\t\t}\n"
    "\t\t\tELEMENT[at0004] matches {    -- Amount\n"
    "\t\t\t\tvalue matches {\n"
    "\t\t\t\t\tC_DV_QUANTITY <\n"
    "\t\t\t\t\t\tproperty = <[openehr::382]>\n"
    "\t\t\t\t\t\tlist = <\n"
    "\t\t\t\t\t\t\t[\"1\"] = <\n"
    "\t\t\t\t\t\t\t\tunits = <\"1/d\">\n"
    "\t\t\t\t\t\t\t>\n"
    "\t\t\t\t\t\t>\n"
    "\t\t\t\t\t>\n"
    "\t\t\t\t}\n"
    "\t\t\t}\n"
    "\t\t\tallow_archetype CLUSTER[at0005] occurrences matches {0..*} matches {    -- Slot\n"
    "\t\t\t\tinclude\n"
    "\t\t\t\t\tarchetype_id/value matches {/openEHR-EHR-CLUSTER\\.dosage(-[a-zA-Z0-9_]+)*\\.v2/}\n"
    "\t\t\t}\n"
    "\t\t}\n"
    "\t}\n"
    "\n"
    "ontology\n"
    "\tterm_definitions = <\n"
    "\t\t[\"en\"] = <\n"
    "\t\t\titems = <\n"
    "\t\t\t\t[\"at0000\"] = <\n"
    "\t\t\t\t\ttext = <\"Example\">\n"
    "\t\t\t\t\tdescription = <\"An \\\"example\\\"\n"
    "\t\t\t\t\t  over two lines.\">\n"
    "\t\t\t\t\tcomment = <\"ignored\">\n"
    "\t\t\t\t>\n"
    "\t\t\t\t[\"at0001\"] = <\n"
    "\t\t\t\t\ttext = <\"Coded\">\n"
    "\t\t\t\t\tdescription = <\"*\">\n"
    "\t\t\t\t>\n"
    "\t\t\t>\n"
    "\t\t>\n"
    "\t\t[\"sv\"] = <\n"
    "\t\t\titems = <\n"
    "\t\t\t\t[\"at0000\"] = <\n"
    "\t\t\t\t\ttext = <\"Exempel\">\n"
    "\t\t\t\t\tdescription = <\"Ett exempel.\">\n"
    "\t\t\t\t>\n"
    "\t\t\t\t[\"at0001\"] = <\n"
    "\t\t\t\t\ttext = <\"*Coded (en)\">\n"
    "\t\t\t\t\tdescription = <\"*\">\n"
    "\t\t\t\t>\n"
    "\t\t\t>\n"
    "\t\t>\n"
    "\t>\n"
    "\tconstraint_definitions = <\n"
    "\t\t[\"sv\"] = <\n"
    "\t\t\titems = <\n"
    "\t\t\t\t[\"ac0001\"] = <\n"
    "\t\t\t\t\ttext = <\"Not a term\">\n"
    "\t\t\t\t\tdescription = <\"*\">\n"
    "\t\t\t\t>\n"
    "\t\t\t>\n"
    "\t\t>\n"
    "\t>\n"
).replace("\n", "\r\n")  # CKM files use CRLF


def test_terms_per_language_with_escapes_and_multiline_descriptions() -> None:
    terms = adl.read_terms(ADL)
    assert set(terms) == {"en", "sv"}
    assert terms["en"]["at0000"] == adl.Term("Example", 'An "example" over two lines.')
    assert terms["sv"]["at0000"].text == "Exempel"
    assert "ac0001" not in terms["sv"]  # constraint_definitions are not terms


def test_swedish_term_with_english_fallback_for_untranslated_ones() -> None:
    archetype = adl.Archetype("openEHR-EHR-CLUSTER.example.v1", None, adl.read_terms(ADL))
    assert archetype.term("at0000") == (adl.Term("Exempel", "Ett exempel."), "sv")
    assert archetype.term("at0001")[1] == "en"  # "*Coded (en)" marks a missing translation


def test_node_paths_slots_occurrences_and_values() -> None:
    slots, occurrences, values = {}, {}, {}
    paths = adl.read_node_paths(ADL, slots, occurrences, values)
    assert paths == {"": "CLUSTER", "/items[at0001]": "ELEMENT", "/items[at0004]": "ELEMENT",
                     "/items[at0005]": "CLUSTER"}
    assert slots == {"/items[at0005]": [r"openEHR-EHR-CLUSTER\.dosage(-[a-zA-Z0-9_]+)*\.v2"]}
    assert occurrences == {"/items[at0001]": (0, 1), "/items[at0004]": (1, 1), "/items[at0005]": (0, None)}
    assert values["/items[at0001]"].types == {"DV_CODED_TEXT", "DV_TEXT"}
    assert values["/items[at0001]"].local_codes == {"at0002", "at0003"}
    assert values["/items[at0004]"].units == {"1/d"}
