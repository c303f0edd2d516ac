"""One test group per OPT construct: accepted and rejected as the template says.

Every check also asks the reference engine (``jsonschema``) for its verdict, so each unit test
doubles as an engine-agreement test.
"""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from _opt_builder import (
    ENTRY_ID,
    ITEMS,
    ITEMS_PATH,
    XSI,
    c_string,
    code,
    coded_text,
    composition,
    element,
    evaluation_template,
    interval,
    item,
    multiple,
    obj,
    primitive,
    root,
    single,
    slot,
    template,
    text,
)

from archetypes import UnsupportedConstraint, ValidationIssue, Validator, compile_opt


def validator(opt: str) -> Validator:
    return Validator(compile_opt(opt))


def issues(opt_or_validator, instance: dict) -> list[ValidationIssue]:
    checker = opt_or_validator if isinstance(opt_or_validator, Validator) else validator(opt_or_validator)
    found = checker.issues(instance)
    reference = jsonschema.Draft202012Validator(checker.schema).is_valid(instance)
    assert reference == (not found) == checker.is_valid(instance), "engines disagree"
    return found


def only(found: list[ValidationIssue]) -> ValidationIssue:
    assert len(found) == 1, found
    return found[0]


def value_template(value: str, **kwargs) -> Validator:
    return validator(evaluation_template(element(value, **kwargs)))


VALUE = f"{ITEMS}/0/value"
VALUE_PATH = f"{ITEMS_PATH}[at0002]/value"


# --- archetype roots, complex objects, node ids


def test_a_conforming_composition_has_no_issues():
    assert issues(value_template(obj("DV_TEXT")), composition(item(text("anything")))) == []


def test_an_unknown_node_id_is_reported_with_its_openehr_path():
    issue = only(issues(value_template(obj("DV_TEXT")), composition(item(text("x"), node_id="at9999"))))
    assert (issue.pointer, issue.keyword) == (f"{ITEMS}/0/archetype_node_id", "enum")
    assert issue.path == f"{ITEMS_PATH}[at9999]/archetype_node_id"
    assert "at9999" in issue.message and "at0002" in issue.message


def test_the_archetype_root_is_identified_by_its_archetype_id():
    document = composition()
    document["content"][0]["archetype_node_id"] = "openEHR-EHR-EVALUATION.other.v1"
    issue = only(issues(value_template(obj("DV_TEXT")), document))
    assert (issue.pointer, issue.keyword) == ("/content/0/archetype_node_id", "enum")


def test_the_composition_must_name_its_template():
    document = composition()
    document["archetype_details"]["template_id"]["value"] = "another.v1"
    issue = only(issues(value_template(obj("DV_TEXT")), document))
    assert (issue.pointer, issue.keyword) == ("/archetype_details/template_id/value", "const")


# --- existence, occurrences, cardinality


def test_existence_makes_an_attribute_mandatory():
    checker = value_template(obj("DV_TEXT"), existence=(1, 1))
    issue = only(issues(checker, composition(item())))
    assert (issue.pointer, issue.keyword, issue.path) == (f"{ITEMS}/0", "required", f"{ITEMS_PATH}[at0002]")
    assert "'value'" in issue.message and "Finding (at0002)" in issue.message


def test_existence_zero_forbids_an_attribute():
    checker = validator(
        evaluation_template(
            obj("ELEMENT", "at0002", single("null_reason", existence=(0, 0)), occurrences=(0, 1))
        )
    )
    issue = only(issues(checker, composition({**item(), "null_reason": text("patient asleep")})))
    assert (issue.pointer, issue.keyword) == (f"{ITEMS}/0/null_reason", "false")
    assert "Finding (at0002): the template does not allow this attribute" in issue.message
    assert issues(checker, composition(item())) == []


def test_rm_invariants_of_element():
    checker = value_template(obj("DV_TEXT"))
    neither = {k: v for k, v in item().items() if k != "null_flavour"}
    issue = only(issues(checker, composition(neither)))
    assert (issue.pointer, issue.keyword) == (f"{ITEMS}/0", "required")
    assert "Inv_null_flavour_indicated" in issue.message
    assert issue.message.startswith("Finding (at0002): "), "the invariant names the node, not the composition"
    both = {**item(text("x")), "null_flavour": item()["null_flavour"]}
    assert only(issues(checker, composition(both))).keyword == "not"
    reason_with_value = {**item(text("x")), "null_reason": text("why")}
    assert "Inv_null_reason_valid" in only(issues(checker, composition(reason_with_value))).message
    # Also where only the RM governs the ELEMENT (a cluster in an open slot) or the template forbids
    # the value: neither value nor null_flavour is rejected.
    open_slot = validator(evaluation_template(element(obj("DV_TEXT")), slot("CLUSTER", "at0004")))
    nested = only(issues(open_slot, composition(_cluster("openEHR-EHR-CLUSTER.x.v1", neither))))
    assert (nested.pointer, nested.keyword) == (f"{ITEMS}/0/items/0", "required")
    no_value = validator(evaluation_template(obj("ELEMENT", "at0002", single("value", existence=(0, 0)))))
    assert "Inv_null_flavour_indicated" in only(issues(no_value, composition(neither))).message
    masked = item()
    masked["null_flavour"]["defining_code"]["code_string"] = "999"
    assert (
        only(issues(checker, composition(masked))).pointer
        == f"{ITEMS}/0/null_flavour/defining_code/code_string"
    )


def test_occurrences_lower_bound():
    checker = validator(evaluation_template(element(obj("DV_TEXT"), occurrences=(1, 1))))
    issue = only(issues(checker, composition()))
    assert (issue.pointer, issue.keyword) == (ITEMS, "minContains")
    assert "at0002" in issue.message


def test_occurrences_upper_bound():
    checker = validator(evaluation_template(element(obj("DV_TEXT"), occurrences=(0, 2))))
    assert issues(checker, composition()) == []
    assert issues(checker, composition(item(), item())) == []
    issue = only(issues(checker, composition(item(), item(), item())))
    assert (issue.pointer, issue.keyword, issue.path) == (ITEMS, "maxContains", f"{ITEMS_PATH}")
    assert issue.message == "Tree (at0001): occurrences 0..2 of Finding (at0002): at most 2 allowed, found 3"


def test_an_item_of_another_type_is_checked_against_the_node_its_id_names():
    # A tree of an ELEMENT at0002 and a CLUSTER at0003: a CLUSTER claiming at0002 is checked against
    # the ELEMENT's constraints (and counted in its occurrences), not let through because no
    # alternative had both its id and its type.
    checker = validator(
        evaluation_template(
            element(obj("DV_TEXT"), occurrences=(0, 1)),
            obj("CLUSTER", "at0003", multiple("items", element(obj("DV_TEXT"), "at0004")), occurrences=(0, 1)),
        )
    )
    assert issues(checker, composition(item(text("x")))) == []
    impostor = _cluster("at0002", item(text("x"), node_id="at0004"))
    found = issues(checker, composition(impostor))
    assert (f"{ITEMS}/0/_type", "const") in {(i.pointer, i.keyword) for i in found}
    assert "Finding (at0002)" in " ".join(i.message for i in found)
    beside = issues(checker, composition(item(text("x")), impostor))
    assert (ITEMS, "maxContains") in {(i.pointer, i.keyword) for i in beside}


def test_cardinality_bounds_the_list():
    checker = validator(
        evaluation_template(element(obj("DV_TEXT"), occurrences=(0, None)), cardinality=(1, 2))
    )
    assert only(issues(checker, composition(item(), item(), item()))).keyword == "maxItems"
    assert only(issues(checker, composition())).keyword == "minItems"


def test_unique_cardinality_rejects_duplicates():
    opt = template(
        multiple(
            "content",
            root(
                "EVALUATION",
                ENTRY_ID,
                single(
                    "data",
                    obj(
                        "ITEM_TREE",
                        "at0001",
                        multiple("items", element(obj("DV_TEXT"), occurrences=(0, None)), unique=True),
                    ),
                ),
            ),
        )
    )
    assert only(issues(opt, composition(item(), item()))).keyword == "uniqueItems"


# --- RM rules: _type, mandatory RM attributes, unknown attributes, ISO 8601


def test_type_is_required_where_the_rm_declares_an_abstract_type():
    issue = only(issues(value_template(obj("DV_TEXT")), composition(item({"value": "untyped"}))))
    assert (issue.pointer, issue.keyword) == (VALUE, "required")
    assert "'_type' is missing: the RM declares an abstract type here" in issue.message


def test_a_wrong_type_is_rejected_with_the_allowed_types():
    found = issues(value_template(obj("DV_TEXT")), composition(item({"_type": "DV_BOOLEAN", "value": True})))
    assert {(i.pointer, i.keyword) for i in found} == {(f"{VALUE}/_type", "enum")}


def test_a_subtype_stands_where_its_supertype_is_constrained():
    coded = {"_type": "DV_CODED_TEXT", "value": "x", "defining_code": code("SNOMED-CT", "123")}
    assert issues(value_template(obj("DV_TEXT")), composition(item(coded))) == []


@pytest.mark.parametrize(
    "pointer",
    [
        f"{ITEMS}/0/archetype_node_id",
        f"{ITEMS}/0/name/value",
        f"{VALUE}/value",
        f"{VALUE}/defining_code/code_string",
        f"{VALUE}/defining_code/terminology_id/value",
        "/language/code_string",
        "/archetype_details/rm_version",
        "/composer/name",
    ],
)
def test_strings_the_rm_declares_non_empty_must_not_be_empty(pointer):
    checker = value_template(obj("DV_TEXT", "", single("value", c_string(pattern=".*"))))
    coded = {"_type": "DV_CODED_TEXT", "value": "x", "defining_code": code("SNOMED-CT", "123")}
    document = composition(item(coded))
    assert issues(checker, document) == []
    *parents, last = pointer.strip("/").split("/")
    target = document
    for step in parents:
        target = target[int(step)] if isinstance(target, list) else target[step]
    target[last] = ""
    found = issues(checker, document)
    assert found and {i.keyword for i in found} <= {"minLength", "enum", "const", "pattern"}, found
    assert any(i.pointer == pointer for i in found), found


def test_rm_mandatory_attributes_are_required_everywhere():
    document = composition(item(text("x")))
    del document["content"][0]["subject"]
    issue = only(issues(value_template(obj("DV_TEXT")), document))
    assert (issue.pointer, issue.keyword) == ("/content/0", "required")


def test_attributes_outside_the_rm_are_rejected():
    issue = only(issues(value_template(obj("DV_TEXT")), composition({**item(text("x")), "colour": "red"})))
    assert (issue.pointer, issue.keyword) == (f"{ITEMS}/0", "additionalProperties")
    assert "colour" in issue.message


def test_unconstrained_parts_are_still_checked_against_the_rm():
    document = composition(item(text("x")))
    document["composer"] = {"name": "no type"}  # PARTY_PROXY is abstract
    assert only(issues(value_template(obj("DV_TEXT")), document)).pointer == "/composer"


@pytest.mark.parametrize(
    "value, valid",
    [
        ("2019-01-28T21:22:19,542+00:00", True),
        ("2019-01-28T21:22:19.542Z", True),
        ("2019-01-28", True),
        ("20190128T212219", True),
        ("2019-01-28 21:22", False),
        ("2019-13-01", False),
        ("yesterday", False),
    ],
)
def test_date_times_follow_iso_8601(value, valid):
    found = issues(
        value_template(obj("DV_DATE_TIME")), composition(item({"_type": "DV_DATE_TIME", "value": value}))
    )
    assert not found if valid else only(found).keyword == "pattern"


@pytest.mark.parametrize(
    "value, valid", [("PT30M", True), ("P1Y2M3DT4H5M6,5S", True), ("P", False), ("PT", False), ("30M", False)]
)
def test_durations_follow_iso_8601(value, valid):
    found = issues(
        value_template(obj("DV_DURATION")), composition(item({"_type": "DV_DURATION", "value": value}))
    )
    assert not found if valid else found[0].keyword == "pattern"


# --- primitives


def test_c_string_list():
    checker = value_template(obj("DV_TEXT", "", single("value", c_string("yes", "no"))))
    assert issues(checker, composition(item(text("yes")))) == []
    issue = only(issues(checker, composition(item(text("maybe")))))
    assert (issue.pointer, issue.keyword) == (f"{VALUE}/value", "enum")
    assert issue.message == 'Finding (at0002): "maybe" is not one of the allowed values ["yes", "no"]'


def test_c_string_pattern_matches_the_whole_value():
    checker = value_template(obj("DV_TEXT", "", single("value", c_string(pattern="[A-Z]{3}"))))
    assert issues(checker, composition(item(text("ABC")))) == []
    issue = only(issues(checker, composition(item(text("xABCx")))))
    assert issue.keyword == "pattern"
    assert issue.message == 'Finding (at0002): "xABCx" is not a value matching the pattern [A-Z]{3}'


def _count_template(range_xml: str) -> Validator:
    magnitude = primitive("INTEGER", f'<item xsi:type="C_INTEGER">{range_xml}</item>')
    return value_template(obj("DV_COUNT", "", single("magnitude", magnitude)))


def _count(n: int) -> dict:
    return composition(item({"_type": "DV_COUNT", "magnitude": n}))


def test_c_integer_inclusive_and_exclusive_bounds():
    checker = _count_template(interval("range", 0, 10, lower_included=False))
    assert issues(checker, _count(10)) == []
    assert only(issues(checker, _count(0))).keyword == "exclusiveMinimum"
    assert only(issues(checker, _count(11))).keyword == "maximum"


def test_c_integer_unbounded_range_and_list():
    assert issues(_count_template(interval("range", 1, None)), _count(10**9)) == []
    listed = _count_template("<list>3</list><list>4</list>")
    assert issues(listed, _count(4)) == [] and only(issues(listed, _count(5))).keyword == "enum"


def test_c_real_range():
    numerator = primitive("REAL", f'<item xsi:type="C_REAL">{interval("range", 0.5, 1.5)}</item>')
    checker = value_template(obj("DV_PROPORTION", "", single("numerator", numerator)))

    def proportion(value):
        return composition(item({"_type": "DV_PROPORTION", "numerator": value, "denominator": 1, "type": 1}))

    assert issues(checker, proportion(1.0)) == []
    assert only(issues(checker, proportion(2.5))).keyword == "maximum"


def test_c_boolean():
    only_true = primitive(
        "BOOLEAN",
        '<item xsi:type="C_BOOLEAN"><true_valid>true</true_valid><false_valid>false</false_valid></item>',
    )
    checker = value_template(obj("DV_BOOLEAN", "", single("value", only_true)))
    assert issues(checker, composition(item({"_type": "DV_BOOLEAN", "value": True}))) == []
    assert only(issues(checker, composition(item({"_type": "DV_BOOLEAN", "value": False})))).keyword == "enum"


@pytest.mark.parametrize(
    "kind, rm_type, pattern, good, bad",
    [
        ("C_DATE_TIME", "DV_DATE_TIME", "YYYY-MM-DDTHH:MM:??", "2020-01-02T10:20", "2020-01-02T10"),
        ("C_DATE_TIME", "DV_DATE_TIME", "yyyy-mm-ddTHH:MM:SS", "2020-01-02T10:20:30Z", "2020-01-02"),
        ("C_DATE", "DV_DATE", "YYYY-MM-XX", "2020-01", "2020-01-02"),
        ("C_DATE", "DV_DATE", "YYYY-??-??", "2020", "2020-1"),
        ("C_TIME", "DV_TIME", "HH:MM:XX", "10:20", "10:20:30"),
        ("C_DURATION", "DV_DURATION", "PTM", "PT30M", "P1D"),
        ("C_DURATION", "DV_DURATION", "PYMWD", "P2W", "PT1H"),
    ],
)
def test_temporal_patterns(kind, rm_type, pattern, good, bad):
    constraint = primitive(rm_type[3:], f'<item xsi:type="{kind}"><pattern>{pattern}</pattern></item>')
    checker = value_template(obj(rm_type, "", single("value", constraint)))
    assert issues(checker, composition(item({"_type": rm_type, "value": good}))) == []
    assert only(issues(checker, composition(item({"_type": rm_type, "value": bad})))).keyword == "pattern"


def test_a_duration_range_is_kept_as_a_comment_because_json_schema_cannot_order_durations():
    constraint = primitive(
        "DURATION",
        '<item xsi:type="C_DURATION"><range><lower_included>true</lower_included>'
        "<upper_included>true</upper_included><lower_unbounded>false</lower_unbounded>"
        "<upper_unbounded>false</upper_unbounded><lower>PT0S</lower><upper>PT1H</upper>"
        "</range></item>",
    )
    schema = compile_opt(evaluation_template(element(obj("DV_DURATION", "", single("value", constraint)))))
    assert "range PT0S..PT1H not enforced" in str(schema)


# --- coded text, code phrases, terminology references


def test_dv_coded_text_against_local_codes():
    checker = value_template(coded_text("local", "at0010", "at0011"))

    def coded(value, terminology="local"):
        return {"_type": "DV_CODED_TEXT", "value": "x", "defining_code": code(terminology, value)}

    assert issues(checker, composition(item(coded("at0011")))) == []
    issue = only(issues(checker, composition(item(coded("at0012")))))
    assert (issue.pointer, issue.keyword) == (f"{VALUE}/defining_code/code_string", "enum")
    assert "at0010 'Mild'" in issue.message and "Finding (at0002)" in issue.message
    assert only(issues(checker, composition(item(coded("at0010", "SNOMED-CT"))))).keyword == "const"


def test_openehr_codes_on_rm_attributes():
    opt = template(
        single("category", coded_text("openehr", "433"))
        + multiple("content", root("EVALUATION", ENTRY_ID, single("data", obj("ITEM_TREE", "at0001"))))
    )
    document = composition()
    assert issues(opt, document) == []
    document["category"]["defining_code"]["code_string"] = "431"
    assert only(issues(opt, document)).pointer == "/category/defining_code/code_string"


def test_constraint_ref_accepts_any_well_formed_code():
    reference = obj("CODE_PHRASE", "", kind="CONSTRAINT_REF", extra="<reference>ac0001</reference>")
    checker = value_template(obj("DV_CODED_TEXT", "", single("defining_code", reference)))

    def coded(code_string):
        return {"_type": "DV_CODED_TEXT", "value": "x", "defining_code": code("ICD10", code_string)}

    assert issues(checker, composition(item(coded("J45")))) == []
    assert only(issues(checker, composition(item(coded(""))))).keyword == "minLength"


# --- quantities and ordinals

QUANTITY = obj(
    "DV_QUANTITY",
    "",
    kind="C_DV_QUANTITY",
    extra=(
        "<property><terminology_id><value>openehr</value></terminology_id><code_string>124</code_string></property>"
        f"<list>{interval('magnitude', 0, 500)}{interval('precision', 0, 1)}<units>kg</units></list>"
        f"<list>{interval('magnitude', 0, 1000)}<units>[lb_av]</units></list>"
    ),
)


def _quantity(magnitude, units, **extra):
    return composition(item({"_type": "DV_QUANTITY", "magnitude": magnitude, "units": units, **extra}))


def test_c_dv_quantity_units_and_ranges():
    checker = value_template(QUANTITY)
    assert issues(checker, _quantity(80, "kg")) == []
    assert issues(checker, _quantity(800, "[lb_av]")) == []
    issue = only(issues(checker, _quantity(800, "kg")))
    assert (issue.pointer, issue.keyword) == (f"{VALUE}/magnitude", "maximum")
    assert only(issues(checker, _quantity(80, "g"))).pointer == f"{VALUE}/units"


def test_c_dv_quantity_precision_zero_means_integral_and_minus_one_any():
    integral = obj(
        "DV_QUANTITY",
        "",
        kind="C_DV_QUANTITY",
        extra=(
            f"<list>{interval('magnitude', 0, 300)}{interval('precision', 0, 0)}<units>/min</units></list>"
            f"<list>{interval('precision', -1, -1)}<units>/h</units></list>"
        ),
    )
    checker = value_template(integral)
    assert issues(checker, _quantity(72, "/min")) == [] and issues(checker, _quantity(72.0, "/min")) == []
    assert only(issues(checker, _quantity(72.5, "/min"))).keyword == "multipleOf"
    assert issues(checker, _quantity(72.25, "/h", precision=2)) == []


def test_c_dv_quantity_precision():
    checker = value_template(QUANTITY)
    assert issues(checker, _quantity(80, "kg", precision=1)) == []
    assert only(issues(checker, _quantity(80, "kg", precision=3))).pointer == f"{VALUE}/precision"


def test_decimals_above_precision_zero_are_documented_as_not_enforced():
    # multipleOf 0.1 cannot be trusted on floats: the two engines disagree on 0.3.
    assert jsonschema.Draft202012Validator({"multipleOf": 0.1}).is_valid(0.3) is False
    checker = value_template(QUANTITY)
    assert "decimals of magnitude not enforced by JSON Schema (kg at most 1)" in json.dumps(checker.schema)
    assert issues(checker, _quantity(80.25, "kg")) == []  # two decimals: accepted, as documented


def test_a_quantity_of_precision_zero_is_integral_even_where_the_template_says_nothing():
    checker = value_template(obj("DV_QUANTITY"))
    assert issues(checker, _quantity(2, "mg", precision=0)) == []
    assert issues(checker, _quantity(2.5, "mg", precision=1)) == []
    issue = only(issues(checker, _quantity(2.5, "mg", precision=0)))
    assert (issue.pointer, issue.keyword) == (f"{VALUE}/magnitude", "multipleOf")
    assert "Precision_validity" in issue.message


ORDINAL = obj(
    "DV_ORDINAL",
    "",
    kind="C_DV_ORDINAL",
    extra="".join(
        f"<list><value>{value}</value><symbol><value/><defining_code><terminology_id><value>local</value>"
        f"</terminology_id><code_string>{code_string}</code_string></defining_code></symbol></list>"
        for value, code_string in ((1, "at0010"), (2, "at0011"))
    ),
)


def _ordinal(value, code_string):
    return composition(
        item(
            {
                "_type": "DV_ORDINAL",
                "value": value,
                "symbol": {
                    "_type": "DV_CODED_TEXT",
                    "value": "x",
                    "defining_code": code("local", code_string),
                },
            }
        )
    )


def test_c_dv_ordinal_value_symbol_pairs():
    checker = value_template(ORDINAL)
    assert issues(checker, _ordinal(2, "at0011")) == []
    assert only(issues(checker, _ordinal(3, "at0011"))).pointer == f"{VALUE}/value"
    mismatched = only(issues(checker, _ordinal(1, "at0011")))
    assert (mismatched.pointer, mismatched.keyword) == (f"{VALUE}/symbol/defining_code/code_string", "const")


def test_generic_interval_types_constrain_their_bounds():
    checker = value_template(obj("DV_INTERVAL&lt;DV_COUNT&gt;"))
    good = {
        "_type": "DV_INTERVAL",
        "lower": {"_type": "DV_COUNT", "magnitude": 1},
        "lower_unbounded": False,
        "upper_unbounded": True,
    }
    assert issues(checker, composition(item(good))) == []
    bad = copy.deepcopy(good)
    bad["lower"] = {"_type": "DV_QUANTITY", "magnitude": 1, "units": "kg"}
    assert f"{VALUE}/lower/_type" in {i.pointer for i in issues(checker, composition(item(bad)))}


# --- slots, filled slots, internal references, names


def _cluster(archetype_id: str, *items: dict) -> dict:
    return {
        "_type": "CLUSTER",
        "name": text("Cluster"),
        "archetype_node_id": archetype_id,
        "items": list(items),
    }


def test_an_item_that_takes_a_slots_archetype_id_must_be_of_the_slots_type():
    # An ELEMENT claiming the archetype id of a CLUSTER slot met neither the slot's key (a CLUSTER)
    # nor a node id, so nothing checked it.
    checker = validator(evaluation_template(element(obj("DV_TEXT")), slot("CLUSTER", "at0004")))
    assert issues(checker, composition(_cluster("openEHR-EHR-CLUSTER.x.v1", item(text("y"))))) == []
    impostor = {**item({"_type": "DV_BOOLEAN", "value": True}), "archetype_node_id": "openEHR-EHR-CLUSTER.x.v1"}
    found = only(issues(checker, composition(impostor)))
    assert (found.pointer, found.keyword) == (f"{ITEMS}/0", "anyOf")
    assert "Group (at0004), of type CLUSTER" in found.message
    # The open slot admits any archetype id, at-codes included, but only for a CLUSTER: an ELEMENT
    # at9999 is neither the Finding nor the slot's, and is reported once.
    assert only(issues(checker, composition(item(text("x"), node_id="at9999")))).keyword == "anyOf"


def test_archetype_slot_includes_and_excludes():
    checker = validator(
        evaluation_template(
            element(obj("DV_TEXT")),
            slot("CLUSTER", "at0005", includes=[r"openEHR-EHR-CLUSTER\.device(-[a-z]+)*\.v1"]),
            slot("CLUSTER", "at0006", includes=[".*"], excludes=[r"openEHR-EHR-CLUSTER\.forbidden\.v1"]),
        )
    )
    allowed = _cluster("openEHR-EHR-CLUSTER.device-pump.v1", item(text("x"), node_id="at0001"))
    assert issues(checker, composition(allowed)) == []
    other = only(issues(checker, composition(_cluster("openEHR-EHR-CLUSTER.forbidden.v1", item(text("x"))))))
    assert (other.pointer, other.keyword) == (f"{ITEMS}/0/archetype_node_id", "anyOf")
    assert "except openEHR-EHR-CLUSTER\\.forbidden\\.v1" in other.message
    broken = _cluster("openEHR-EHR-CLUSTER.device.v1")
    del broken["items"]  # unfilled slots are still checked against the RM
    assert only(issues(checker, composition(broken))).keyword == "required"


def test_a_slot_with_specific_includes_rejects_other_archetypes():
    checker = validator(
        evaluation_template(slot("CLUSTER", "at0005", includes=[r"openEHR-EHR-CLUSTER\.a\.v1"]))
    )
    issue = only(issues(checker, composition(_cluster("openEHR-EHR-CLUSTER.b.v1", item(text("x"))))))
    assert (issue.keyword, issue.path) == (
        "pattern",
        f"{ITEMS_PATH}[openEHR-EHR-CLUSTER.b.v1]/archetype_node_id",
    )


def test_a_filled_slot_is_an_archetype_root_with_its_own_constraints():
    filled = root(
        "CLUSTER",
        "openEHR-EHR-CLUSTER.device.v1",
        multiple("items", element(coded_text("local", "at0001"), node_id="at0002"), existence=(1, 1)),
        terms={"at0001": "Pump"},
    )
    checker = validator(evaluation_template(filled))
    coded = {"_type": "DV_CODED_TEXT", "value": "Pump", "defining_code": code("local", "at0001")}
    good = _cluster("openEHR-EHR-CLUSTER.device.v1", item(coded))
    assert issues(checker, composition(good)) == []
    bad = copy.deepcopy(good)
    bad["items"][0]["value"]["defining_code"]["code_string"] = "at0003"
    issue = only(issues(checker, composition(bad)))
    assert issue.path == (
        f"{ITEMS_PATH}[openEHR-EHR-CLUSTER.device.v1]/items[at0002]/value/defining_code/code_string"
    )


def test_archetype_internal_ref_reuses_its_target_recursively():
    reference = obj(
        "CLUSTER",
        "",
        occurrences=(0, None),
        kind="ARCHETYPE_INTERNAL_REF",
        extra="<target_path>/data[at0001]/items[at0004]</target_path>",
    )
    group = obj(
        "CLUSTER",
        "at0004",
        multiple("items", element(coded_text("local", "at0010")), reference, existence=(1, 1)),
        occurrences=(0, None),
    )
    checker = validator(evaluation_template(group))
    mild = {"_type": "DV_CODED_TEXT", "value": "Mild", "defining_code": code("local", "at0010")}
    nested = _cluster("at0004", item(mild), _cluster("at0004", _cluster("at0004", item(copy.deepcopy(mild)))))
    assert issues(checker, composition(nested)) == []
    nested["items"][1]["items"][0]["items"][0]["value"]["defining_code"]["code_string"] = "at0011"
    issue = only(issues(checker, composition(nested)))
    assert issue.pointer == f"{ITEMS}/0/items/1/items/0/items/0/value/defining_code/code_string"
    assert (
        issue.path
        == f"{ITEMS_PATH}[at0004]/items[at0004]/items[at0004]/items[at0002]/value/defining_code/code_string"
    )


def test_an_internal_ref_to_a_missing_node_fails_loudly():
    reference = obj(
        "CLUSTER",
        "",
        kind="ARCHETYPE_INTERNAL_REF",
        extra="<target_path>/data[at0001]/items[at0099]</target_path>",
    )
    with pytest.raises(UnsupportedConstraint, match=r"items\[at0099\]"):
        compile_opt(evaluation_template(reference))


def _named(name: str, value: str) -> str:
    return obj(
        "ELEMENT",
        "at0002",
        single("name", obj("DV_TEXT", "", single("value", c_string(name)))),
        single("value", value),
        occurrences=(0, 1),
    )


def test_siblings_sharing_a_node_id_are_told_apart_by_name():
    checker = validator(evaluation_template(_named("Left", obj("DV_TEXT")), _named("Right", obj("DV_COUNT"))))
    count = {"_type": "DV_COUNT", "magnitude": 1}
    assert issues(checker, composition(item(text("x"), name="Left"), item(count, name="Right"))) == []
    wrong = issues(checker, composition(item(count, name="Left")))
    assert {i.pointer for i in wrong} == {f"{VALUE}/_type"}
    exceeded = only(issues(checker, composition(item(text("x"), name="Left"), item(text("y"), name="Left"))))
    assert (exceeded.pointer, exceeded.keyword) == (ITEMS, "maxContains")
    # Another name fits neither sibling: refused as none of them, not let through unchecked.
    stranger = only(issues(checker, composition(item({"_type": "DV_BOOLEAN", "value": True}, name="Middle"))))
    assert (stranger.pointer, stranger.keyword) == (f"{ITEMS}/0", "anyOf")
    assert 'Finding (at0002), named "Left"; Finding (at0002), named "Right"' in stranger.message
    # Beside a CLUSTER the siblings are told apart by type too: a CLUSTER at0002 named "Left" is neither.
    mixed = validator(
        evaluation_template(
            _named("Left", obj("DV_TEXT")),
            _named("Right", obj("DV_COUNT")),
            obj("CLUSTER", "at0003", multiple("items", element(obj("DV_TEXT"), "at0004")), occurrences=(0, 1)),
        )
    )
    assert issues(mixed, composition(item(text("x"), name="Left"))) == []
    cluster = {**_cluster("at0002", item(text("y"), node_id="at0004")), "name": text("Left")}
    found = only(issues(mixed, composition(cluster)))
    assert (found.pointer, found.keyword) == (f"{ITEMS}/0", "anyOf")
    assert 'Finding (at0002), of type ELEMENT, named "Left"' in found.message


def test_siblings_that_cannot_be_told_apart_share_their_occurrences_and_schemas():
    # Two ELEMENT at0002 (1..1 and 0..1), no name constraint: the data cannot say which is which,
    # so 1..2 items at0002 in all, each valid as either sibling (text "a" or a count).
    checker = validator(
        evaluation_template(
            element(c_string_value("a"), occurrences=(1, 1)), element(obj("DV_COUNT"), occurrences=(0, 1))
        )
    )
    count = {"_type": "DV_COUNT", "magnitude": 1}
    assert issues(checker, composition(item(text("a")))) == []
    assert issues(checker, composition(item(count), item(text("a")))) == []
    assert issues(checker, composition(item(count), item(count))) == []
    exceeded = only(issues(checker, composition(item(count), item(count), item(text("a")))))
    assert (exceeded.pointer, exceeded.keyword) == (ITEMS, "maxContains")
    assert "together 1..2" in exceeded.message
    missing = only(issues(checker, composition()))
    assert (missing.pointer, missing.keyword) == (ITEMS, "minContains")
    assert issues(checker, composition(item(text("b"))))[0].pointer.startswith(f"{ITEMS}/0")
    # Unbounded as soon as one sibling is.
    checker = validator(
        evaluation_template(element(obj("DV_TEXT"), occurrences=(1, 1)), element(obj("DV_TEXT"), occurrences=(0, None)))
    )
    assert issues(checker, composition(*(item(text(str(n))) for n in range(5)))) == []


def test_run_time_name_constraint():
    checker = validator(evaluation_template(_named("Left", obj("DV_TEXT"))))
    issue = only(issues(checker, composition(item(text("x"), name="Middle"))))
    assert (issue.pointer, issue.keyword) == (f"{ITEMS}/0/name/value", "enum")


def test_alternative_value_types_are_dispatched_on_type():
    checker = value_template(obj("DV_COUNT") + obj("DV_TEXT", "", single("value", c_string("a"))))
    assert issues(checker, composition(item({"_type": "DV_COUNT", "magnitude": 1}))) == []
    assert only(issues(checker, composition(item(text("b"))))).pointer == f"{VALUE}/value"
    assert only(issues(checker, composition(item({"_type": "DV_BOOLEAN", "value": True})))).keyword == "enum"


# --- demographic RM


def test_a_demographic_person_template():
    name = root(
        "PARTY_IDENTITY",
        "openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0",
        single(
            "details",
            obj(
                "ITEM_TREE",
                "at0001",
                multiple("items", element(obj("DV_TEXT"), node_id="at0002", occurrences=(1, 1))),
            ),
        ),
        occurrences=(1, 1),
    )
    opt = template(
        multiple("identities", name, existence=(1, 1), cardinality=(1, None)),
        rm_type="PERSON",
        archetype_id="openEHR-DEMOGRAPHIC-PERSON.person.v0",
        template_id="person.v1",
    )
    person = {
        "_type": "PERSON",
        "name": text("Person"),
        "archetype_node_id": "openEHR-DEMOGRAPHIC-PERSON.person.v0",
        "identities": [
            {
                "_type": "PARTY_IDENTITY",
                "name": text("Name"),
                "archetype_node_id": "openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0",
                "details": {
                    "_type": "ITEM_TREE",
                    "name": text("Tree"),
                    "archetype_node_id": "at0001",
                    "items": [item(text("Anna Andersson"))],
                },
            }
        ],
        "archetype_details": {
            "_type": "ARCHETYPED",
            "archetype_id": {"_type": "ARCHETYPE_ID", "value": "openEHR-DEMOGRAPHIC-PERSON.person.v0"},
            "template_id": {"_type": "TEMPLATE_ID", "value": "person.v1"},
            "rm_version": "1.1.0",
        },
    }
    assert issues(opt, person) == []
    person["identities"][0]["details"]["items"] = []
    issue = only(issues(opt, person))
    assert (issue.pointer, issue.keyword) == ("/identities/0/details/items", "minContains")
    assert (
        issue.path == "/identities[openEHR-DEMOGRAPHIC-PARTY_IDENTITY.person_name.v0]/details[at0001]/items"
    )
    del person["archetype_details"]
    missing = [i for i in issues(opt, person) if i.pointer == ""]
    assert [(i.path, i.keyword) for i in missing] == [("/", "required")]
    assert "Test (openEHR-DEMOGRAPHIC-PERSON.person.v0): mandatory attribute 'archetype_details'" in (
        missing[0].message
    )


# --- constructs the compiler does not know fail loudly


def _with_value(value_xml: str) -> str:
    return evaluation_template(element(value_xml))


@pytest.mark.parametrize(
    "opt, message",
    [
        (
            _with_value(obj("DV_TEXT", "", kind="C_MYSTERY")),
            r"C_MYSTERY.*/content\[openEHR-EHR-EVALUATION\.test\.v1\]",
        ),
        (_with_value(obj("DV_TEXT", "", single("colour"))), r"DV_TEXT has no attribute 'colour'"),
        (_with_value(obj("DV_WHATEVER")), r"DV_WHATEVER"),
        (
            _with_value(
                obj("DV_TEXT", "", single("value", primitive("STRING", '<item xsi:type="C_MAGIC"/>')))
            ),
            r"C_MAGIC",
        ),
        (_with_value(obj("DV_TEXT", "", single("value", c_string(pattern="(a)\\1")))), r"back-references"),
        (_with_value(obj("DV_TEXT", "", single("value", c_string(pattern="(?!x)a")))), r"look-around"),
        (_with_value(obj("DV_TEXT", "", single("value", c_string(pattern="a++")))), r"possessive"),
        (_with_value(obj("DV_TEXT", "", multiple("value"))), r"multiple"),
        (
            _with_value(
                obj(
                    "DV_TEXT",
                    "",
                    multiple("value").replace("<cardinality>", "<x>").split("<x>")[0] + "</attributes>",
                )
            ),
            r"multiple",
        ),
        (_with_value(obj("DV_TEXT", "", extra="<surprise>1</surprise>")), r"<surprise>"),
        (
            _with_value(obj("DV_TEXT", "", single("value").replace("</existence>", "</existence><x/>"))),
            r"<x>",
        ),
        (
            evaluation_template(
                slot("CLUSTER", "at0005", includes=["x"]).replace("<operator>2007", "<operator>2001")
            ),
            r"slot assertion.*operator 2001",
        ),
        (
            _with_value(
                obj(
                    "DV_TEXT",
                    "",
                    single(
                        "value",
                        primitive("DATE", '<item xsi:type="C_DATE"><pattern>YYYY-QQ</pattern></item>'),
                    ),
                )
            ),
            r"YYYY-QQ",
        ),
    ],
)
def test_unknown_constructs_raise(opt, message):
    with pytest.raises(UnsupportedConstraint, match=message):
        compile_opt(opt)


def test_compile_opt_accepts_text_bytes_and_paths(tmp_path):
    opt = _with_value(obj("DV_TEXT"))
    (tmp_path / "t.opt").write_text(opt)
    assert compile_opt(opt) == compile_opt(opt.encode()) == compile_opt(tmp_path / "t.opt")
    assert XSI in opt


def test_the_generated_schema_is_a_valid_draft_2020_12_schema():
    schema = compile_opt(
        evaluation_template(
            element(QUANTITY), element(ORDINAL, node_id="at0003"), slot("CLUSTER", "at0005", includes=[".*"])
        )
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# --- ACTION: alternative ISM transitions (not LOCATABLE: told apart by careflow step)


def _transition(step: str, state: str, constrain_step: bool = True) -> str:
    return obj(
        "ISM_TRANSITION",
        step,
        single("current_state", coded_text("openehr", state)),
        single("careflow_step", coded_text("local", step)) if constrain_step else "",
        occurrences=(0, 1),
    )


ACTION_ID = "openEHR-EHR-ACTION.test.v1"


def _action_template(*transitions: str) -> str:
    action = root(
        "ACTION",
        ACTION_ID,
        single("ism_transition", *(transitions or (_transition("at0010", "245"), _transition("at0011", "532")))),
        single("description", obj("ITEM_TREE", "at0001")),
    )
    return template(multiple("content", action))


def _action(step: str | None, state: str) -> dict:
    document = copy.deepcopy(composition())
    document["content"] = [
        {
            "_type": "ACTION",
            "name": text("Action"),
            "archetype_node_id": ACTION_ID,
            "language": code("ISO_639-1", "en"),
            "encoding": code("IANA_character-sets", "UTF-8"),
            "subject": {"_type": "PARTY_SELF"},
            "time": {"_type": "DV_DATE_TIME", "value": "2024-01-01T10:00:00Z"},
            "description": {
                "_type": "ITEM_TREE",
                "name": text("Tree"),
                "archetype_node_id": "at0001",
                "items": [],
            },
            "ism_transition": {
                "_type": "ISM_TRANSITION",
                "current_state": {
                    "_type": "DV_CODED_TEXT",
                    "value": "s",
                    "defining_code": code("openehr", state),
                },
                "careflow_step": {
                    "_type": "DV_CODED_TEXT",
                    "value": "c",
                    "defining_code": code("local", step),
                },
            },
        }
    ]
    if step is None:
        del document["content"][0]["ism_transition"]["careflow_step"]
    return document


def test_ism_transitions_are_chosen_by_careflow_step():
    checker = validator(_action_template())
    assert issues(checker, _action("at0010", "245")) == []
    assert issues(checker, _action("at0011", "532")) == []
    wrong_state = only(issues(checker, _action("at0010", "532")))
    assert wrong_state.pointer == "/content/0/ism_transition/current_state/defining_code/code_string"
    unknown_step = only(issues(checker, _action("at0099", "245")))
    assert (unknown_step.pointer, unknown_step.keyword) == (
        "/content/0/ism_transition/careflow_step/defining_code/code_string",
        "enum",
    )


def test_ism_transitions_without_a_careflow_step_constraint_are_chosen_by_state():
    # The RM makes careflow_step optional; a template that does not constrain it must not demand it.
    checker = validator(
        _action_template(_transition("at0010", "245", False), _transition("at0011", "532", False))
    )
    assert issues(checker, _action(None, "245")) == []
    assert issues(checker, _action("at0099", "532")) == []
    wrong_state = only(issues(checker, _action(None, "526")))
    assert (wrong_state.pointer, wrong_state.keyword) == (
        "/content/0/ism_transition/current_state/defining_code/code_string",
        "enum",
    )
    # One by careflow step, one by state: the transition must still be one of them.
    checker = validator(_action_template(_transition("at0010", "245"), _transition("at0011", "532", False)))
    assert issues(checker, _action("at0010", "245")) == []
    assert issues(checker, _action(None, "532")) == []
    assert issues(checker, _action(None, "245")) != []
    assert issues(checker, _action("at0010", "532")) != []


def test_internal_ref_paths_with_name_predicates_or_from_the_template_root():
    mild = {"_type": "DV_CODED_TEXT", "value": "Mild", "defining_code": code("local", "at0010")}
    for target in (
        "/data[at0001]/items[at0004 and name/value='Group']",
        f"/content[{ENTRY_ID}]/data[at0001]/items[at0004]",
    ):
        reference = obj(
            "CLUSTER",
            "",
            occurrences=(0, None),
            kind="ARCHETYPE_INTERNAL_REF",
            extra=f"<target_path>{target}</target_path>",
        )
        group = obj(
            "CLUSTER",
            "at0004",
            multiple("items", element(coded_text("local", "at0010")), reference),
            occurrences=(0, None),
        )
        checker = validator(evaluation_template(group))
        nested = _cluster("at0004", _cluster("at0004", item(copy.deepcopy(mild))))
        assert issues(checker, composition(nested)) == []
        nested["items"][0]["items"][0]["value"]["defining_code"]["code_string"] = "at0011"
        assert only(issues(checker, composition(nested))).keyword == "enum"


def test_many_siblings_each_get_their_own_constraints():
    ids = [f"at00{n}" for n in range(30, 37)]
    checker = validator(
        evaluation_template(*(element(c_string_value(node_id), node_id=node_id) for node_id in ids))
    )
    assert issues(checker, composition(*(item(text(node_id), node_id=node_id) for node_id in ids))) == []
    for position, node_id in enumerate(ids):
        swapped = [item(text(other), node_id=node_id) for other in ids if other != node_id][:1]
        issue = only(issues(checker, composition(*swapped)))
        assert (issue.pointer, issue.keyword) == (f"{ITEMS}/0/value/value", "enum"), position
    assert only(issues(checker, composition(item(text("x"), node_id="at0099")))).keyword == "enum"


def c_string_value(value: str) -> str:
    return obj("DV_TEXT", "", single("value", c_string(value)))


def test_an_alternative_with_occurrences_zero_is_excluded():
    excluded = obj("DV_CODED_TEXT", "", occurrences=(0, 0))
    checker = value_template(obj("DV_TEXT") + excluded)
    coded = {"_type": "DV_CODED_TEXT", "value": "x", "defining_code": code("SNOMED-CT", "123")}
    assert issues(checker, composition(item(text("x")))) == []
    issue = only(issues(checker, composition(item(coded))))
    assert (issue.pointer, issue.keyword) == (VALUE, "false")


def test_the_definition_must_be_an_archetype_root():
    opt = evaluation_template(element(obj("DV_TEXT"))).replace(
        "<archetype_id><value>openEHR-EHR-COMPOSITION.test.v1</value></archetype_id>", ""
    )
    with pytest.raises(UnsupportedConstraint, match="archetype root"):
        compile_opt(opt)


def test_malformed_xml_is_reported_as_an_unsupported_opt():
    with pytest.raises(UnsupportedConstraint, match="well-formed"):
        compile_opt("<template><definition>")
    with pytest.raises(UnsupportedConstraint, match="not an operational template"):
        compile_opt(b"<archetype/>")


def test_a_byte_order_mark_does_not_turn_xml_text_into_a_file_name():
    opt = "\ufeff" + _with_value(obj("DV_TEXT"))
    assert compile_opt(opt)["title"] == "Test (openEHR-EHR-COMPOSITION.test.v1)"


def test_a_non_object_in_a_list_is_one_type_error_and_counts_for_no_node():
    checker = validator(evaluation_template(element(obj("DV_TEXT"), occurrences=(0, 1))))
    issue = only(issues(checker, composition(True, item(text("x")))))
    assert (issue.pointer, issue.keyword) == (f"{ITEMS}/0", "type")


def test_rm_invariants_of_intervals_parties_and_persistent_compositions():
    checker = value_template(obj("DV_INTERVAL&lt;DV_COUNT&gt;"))
    missing_lower = {"_type": "DV_INTERVAL", "lower_unbounded": False, "upper_unbounded": True}
    issue = only(issues(checker, composition(item(missing_lower))))
    assert (issue.keyword, issue.pointer) == ("required", VALUE) and "has a lower value" in issue.message
    count = {"_type": "DV_COUNT", "magnitude": 1}
    for contradiction in (
        {"_type": "DV_INTERVAL", "lower": count, "lower_unbounded": True, "upper_unbounded": True},
        {"_type": "DV_INTERVAL", "upper": count, "lower_unbounded": True, "upper_unbounded": True},
        {"_type": "DV_INTERVAL", "lower_unbounded": True, "lower_included": True, "upper_unbounded": True},
    ):
        issue = only(issues(checker, composition(item(contradiction))))
        assert (issue.keyword, issue.pointer) == ("not", VALUE) and "_unbounded interval has no" in issue.message
    unbounded = {"_type": "DV_INTERVAL", "lower_unbounded": True, "lower_included": False, "upper_unbounded": True}
    assert issues(checker, composition(item(unbounded))) == []
    checker = value_template(obj("DV_TEXT"))
    anonymous = composition(item(text("x")))
    anonymous["composer"] = {
        "_type": "PARTY_RELATED",
        "relationship": {"_type": "DV_CODED_TEXT", "value": "mother", "defining_code": code("openehr", "10")},
    }
    issue = only(issues(checker, anonymous))
    assert (issue.keyword, issue.pointer) == ("anyOf", "/composer") and "Basic_validity" in issue.message
    persistent = composition(item(text("x")))
    persistent["category"]["defining_code"]["code_string"] = "431"
    persistent["context"] = {
        "_type": "EVENT_CONTEXT",
        "start_time": {"_type": "DV_DATE_TIME", "value": "2024-01-01"},
        "setting": {"_type": "DV_CODED_TEXT", "value": "other care", "defining_code": code("openehr", "238")},
    }
    assert "Is_persistent_validity" in only(issues(checker, persistent)).message


def test_an_attribute_constrained_only_by_existence_keeps_its_rm_rules():
    checker = value_template(obj("DV_DATE_TIME", "", single("value")))
    assert (
        issues(checker, composition(item({"_type": "DV_DATE_TIME", "value": "2024-01-01T10:00:00Z"}))) == []
    )
    assert (
        only(issues(checker, composition(item({"_type": "DV_DATE_TIME", "value": "soon"})))).keyword
        == "pattern"
    )


def test_external_entities_in_an_opt_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    opt = _with_value(obj("DV_TEXT", "", single("value", c_string("&xxe;"))))
    opt = opt.replace(
        "<template ", f'<!DOCTYPE template [<!ENTITY xxe SYSTEM "file://{secret}">]><template ', 1
    )
    opt = opt.replace('<?xml version="1.0" encoding="utf-8"?>', "")
    try:
        schema = compile_opt(opt)
    except UnsupportedConstraint:
        return  # refusing the document is fine too
    assert "top secret" not in json.dumps(schema)


def test_issues_are_sorted_by_pointer_numerically():
    checker = value_template(obj("DV_TEXT", "", single("value", c_string("ok"))), occurrences=(0, None))
    found = issues(checker, composition(*(item(text("bad")) for _ in range(12))))
    assert [i.pointer for i in found] == [f"{ITEMS}/{n}/value/value" for n in range(12)]
