"""`example`: a minimal composition for any template, valid under its compiled schema.

Each generated example is checked with both engines (the fast validator and the reference
`jsonschema`), and for minimality: nothing can be taken out of it and leave it valid, apart from the
few optional parts the generator adds on purpose (listed in ``_example``'s docstring).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from _opt_builder import (
    ENTRY_ID,
    ENTRY_TERMS,
    c_string,
    coded_text,
    element,
    interval,
    multiple,
    obj,
    primitive,
    root,
    single,
    slot,
    template,
)

import archetypes
from archetypes import ExampleError, Validator, compile_opt, example
from archetypes._example import _number_in, string_matching, temporal_value
from archetypes._opt import Interval

REPO = Path(__file__).resolve().parents[3]


def _reference_folder() -> Path | None:
    if os.environ.get("OPENEHR_REFERENCE_OPT"):
        return Path(os.environ["OPENEHR_REFERENCE_OPT"])
    for parent in REPO.parents:  # `shared` beside the repository (worktrees live one level deeper)
        if (parent / "shared" / "reference" / "opt").is_dir():
            return parent / "shared" / "reference" / "opt"
    return None


REFERENCE = _reference_folder()
REFERENCE_OPTS = sorted(REFERENCE.glob("*.opt")) if REFERENCE else []
PROJECT = archetypes.template_ids()


@pytest.fixture(scope="module")
def corpus_required():
    if not REFERENCE_OPTS:
        reason = f"external OPT corpus not found (looked for shared/reference/opt beside {REPO})"
        if os.environ.get("OPENEHR_REQUIRE_CORPUS") == "1":
            pytest.fail(reason + " and OPENEHR_REQUIRE_CORPUS=1")
        pytest.skip(reason)


def _sources():
    yield from (pytest.param(t, id=t) for t in PROJECT)
    if REFERENCE_OPTS:
        yield from (pytest.param(p, id=p.name, marks=pytest.mark.corpus) for p in REFERENCE_OPTS)
    else:
        yield pytest.param(None, id="reference-corpus", marks=pytest.mark.corpus)


def _schema(source) -> dict:
    return compile_opt(archetypes.opt_path(source) if isinstance(source, str) else source)


@pytest.fixture
def source(request):
    if request.param is None:
        request.getfixturevalue("corpus_required")
    return request.param


# The keys the generator includes although the compiled schema would do without them (see the
# module docstring of ``_example``): anything else that can be removed is not minimal.
DELIBERATE = {"archetype_details", "careflow_step", "_type"}


def _removable(instance: dict, validator: Validator) -> list[str]:
    """JSON pointers of the parts that can be taken out of ``instance`` and leave it valid."""
    found = []

    def walk(node, pointer):
        if isinstance(node, dict):
            for key in list(node):
                value = node.pop(key)
                if validator.is_valid(instance):
                    found.append(f"{pointer}/{key}")
                node[key] = value
                walk(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for index in range(len(node)):
                value = node.pop(index)
                if validator.is_valid(instance):
                    found.append(f"{pointer}/{index}")
                node.insert(index, value)
                walk(value, f"{pointer}/{index}")

    walk(instance, "")
    return found


def _allowed(pointer: str, instance: dict) -> bool:
    *parents, key = pointer.split("/")[1:]
    node = instance
    for step in parents:
        node = node[int(step)] if isinstance(node, list) else node[step]
    if key in DELIBERATE:
        return True
    if key == "value" and node.get("_type") == "ELEMENT":
        return True  # a constrained ELEMENT gets its value rather than a null_flavour
    if key == "null_flavour" and node.get("_type") == "ELEMENT":
        return False
    return key == "name" and node.get("_type") == "PARTY_IDENTIFIED" and parents == ["composer"]


@pytest.mark.parametrize("source", list(_sources()), indirect=True)
@pytest.mark.parametrize("optional", [False, True], ids=["minimal", "optional"])
def test_example_is_valid_under_both_engines(source, optional):
    instance = example(source, optional=optional)
    schema = _schema(source)
    assert Validator(schema).issues(instance) == []
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(instance)]
    assert errors == []
    assert instance["archetype_details"]["template_id"]["value"]
    assert instance == example(source, optional=optional), "the output must be deterministic"


@pytest.mark.parametrize("source", list(_sources()), indirect=True)
def test_example_is_minimal(source):
    instance = example(source)
    validator = Validator(_schema(source))
    extra = [p for p in _removable(copy.deepcopy(instance), validator) if not _allowed(p, instance)]
    assert extra == [], "optional parts in a minimal example"


@pytest.mark.parametrize("template_id", PROJECT)
def test_project_examples_are_valid_under_the_committed_schemas(template_id):
    assert archetypes.validate(example(template_id), template_id) == []


def test_content_holds_just_the_required_minimum():
    # Every clinical template demands content 1..* with optional entries: one entry, the first.
    for template_id, first in [
        ("vgr.journal_note.v1", "openEHR-EHR-OBSERVATION.story.v1"),
        ("vgr.medication_order.v1", "openEHR-EHR-INSTRUCTION.medication_order.v3"),
        ("vgr.referral.v1", "openEHR-EHR-INSTRUCTION.service_request.v1"),
    ]:
        content = example(template_id)["content"]
        assert [c["archetype_node_id"] for c in content] == [first]


def test_project_language_and_run_time_names():
    note = example("vgr.journal_note.v1")
    assert note["language"]["code_string"] == "sv"
    assert note["territory"]["code_string"] == "SE"
    assert note["content"][0]["name"]["value"] == "Anamnes"  # the run-time name constraint
    person = example("vgr.person.v1")
    assert person["_type"] == "PERSON"


def test_action_transition_names_its_careflow_step():
    instance = example("vgr.medication_order.v1", optional=True)
    [action] = [c for c in instance["content"] if c["_type"] == "ACTION"]
    transition = action["ism_transition"]
    assert transition["current_state"]["defining_code"]["code_string"] == "245"
    assert transition["careflow_step"]["defining_code"]["code_string"] == "at0004"


def test_optional_mode_fills_what_minimal_leaves_out(corpus_required):
    opt = next(p for p in REFERENCE_OPTS if p.name == "minimal_observation.opt")
    assert "content" not in example(opt)  # content is optional in this template
    full = example(opt, optional=True)
    assert full["content"][0]["archetype_node_id"] == "openEHR-EHR-OBSERVATION.minimal.v1"


# --- constructed templates


def _write(tmp_path: Path, xml: str) -> Path:
    path = tmp_path / "t.opt"
    path.write_text(xml, encoding="utf-8")
    return path


def _items(instance: dict) -> list:
    return instance["content"][0]["data"]["items"]


def _required_entry(*items: str, terms: dict | None = None, cardinality=(0, None)) -> str:
    """COMPOSITION / content (1..*): one EVALUATION (1..1) / data: ITEM_TREE / items: ``items``."""
    entry = root(
        "EVALUATION",
        ENTRY_ID,
        single("data", obj("ITEM_TREE", "at0001", multiple("items", *items, existence=(1, 1),
                                                            cardinality=cardinality))),
        occurrences=(1, 1),
        terms={**ENTRY_TERMS, **(terms or {})},
    )
    return template(multiple("content", entry, existence=(1, 1), cardinality=(1, None)))


def test_occurrences_and_cardinality_minima(tmp_path):
    opt = _required_entry(
        element(obj("DV_TEXT"), "at0002", occurrences=(2, 3)),
        element(obj("DV_TEXT"), "at0003", occurrences=(0, 1)),
        element(obj("DV_TEXT"), "at0004", occurrences=(0, None)),
        cardinality=(5, None),
    )
    instance = example(_write(tmp_path, opt))
    assert [i["archetype_node_id"] for i in _items(instance)] == ["at0002"] * 3 + ["at0003", "at0004"]


def test_primitive_constraints(tmp_path):
    terms = {"at0005": "Count", "at0006": "Code", "at0007": "Date"}
    count = obj("DV_COUNT", "", single("magnitude", primitive(
        "INTEGER", '<item xsi:type="C_INTEGER"><range>'
        "<lower_included>false</lower_included><upper_included>true</upper_included>"
        "<lower_unbounded>false</lower_unbounded><upper_unbounded>false</upper_unbounded>"
        "<lower>5</lower><upper>9</upper></range></item>")))
    date = obj("DV_DATE_TIME", "", single("value", primitive(
        "DATE_TIME", '<item xsi:type="C_DATE_TIME"><pattern>YYYY-MM-DDTHH:??:XX</pattern></item>')))
    opt = _required_entry(
        element(count, "at0005", occurrences=(1, 1)),
        element(coded_text("local", "at0010", "at0011"), "at0006", occurrences=(1, 1)),
        element(date, "at0007", occurrences=(1, 1)),
        terms=terms,
    )
    values = [i["value"] for i in _items(example(_write(tmp_path, opt)))]
    assert values[0]["magnitude"] == 6  # above the exclusive lower bound 5
    assert values[1]["defining_code"]["code_string"] == "at0010"
    assert values[1]["value"] == "Mild"  # the local term
    assert values[2]["value"] == "2026-01-01T00:00Z"  # seconds forbidden (XX)


def test_a_slot_the_template_leaves_open_but_requires_is_a_clear_error(tmp_path):
    opt = template(multiple("content", slot("EVALUATION", "at0001", includes=[".*"], occurrences=(1, 1)),
                            existence=(1, 1), cardinality=(1, None)))
    path = _write(tmp_path, opt)
    with pytest.raises(ExampleError, match="slot at0001"):
        example(path)
    result = cli("example", path)
    assert result.returncode == 1
    assert "cannot generate an example" in result.stderr and "slot at0001" in result.stderr


def test_generated_but_invalid_instance_exits_1_with_its_issues(monkeypatch, capsys):
    from archetypes import _cli, _example

    monkeypatch.setattr(_example, "generate", lambda *args: {"_type": "COMPOSITION"})
    assert _cli.main(["example", "vgr.journal_note.v1"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "not valid against its schema" in captured.err and "at /:" in captured.err


# --- leaves


@pytest.mark.parametrize(
    "pattern",
    [
        r"SE[0-9]{10}-[0-9A-Za-z]{1,31}",
        r"[0-9]{3} ?[0-9]{2}",
        r"openEHR-EHR-ACTION\.medication\.v1",
        r"(foo|bar)+\d{2}",
        r"[^a-c]x*",
        r"\w+@\w+\.se",
        r".*",
    ],
)
def test_string_matching(pattern):
    assert re.fullmatch(pattern, string_matching(pattern))


@pytest.mark.parametrize(
    ("kind", "pattern", "expected"),
    [
        ("C_DATE", "YYYY-MM-DD", "2026-01-01"),
        ("C_DATE", "YYYY-MM-XX", "2026-01"),
        ("C_DATE_TIME", "yyyy-mm-ddTHH:MM:SS", "2026-01-01T00:00:00Z"),
        ("C_TIME", "HH:MM:XX", "00:00Z"),
        ("C_DURATION", "PTM", "PT1M"),
        ("C_DURATION", "PYMWD", "P1D"),
        ("C_DURATION", None, "PT1H"),
    ],
)
def test_temporal_values(kind, pattern, expected):
    assert temporal_value(kind, pattern) == expected


def test_numbers_in_ranges():
    assert _number_in(None, integral=True) == 1
    assert _number_in(Interval(0.0, 1000.0), integral=False) == 1
    assert _number_in(Interval(0.0, None, lower_included=False), integral=False) == 1
    assert _number_in(Interval(37.5, 42.0, lower_included=False), integral=False) == 38.5
    assert _number_in(Interval(-10, -3), integral=True) == -10
    with pytest.raises(ExampleError):
        _number_in(Interval(1, 1, lower_included=False), integral=True)


def test_api_usage_errors(tmp_path):
    with pytest.raises(archetypes.TemplateNotFound):
        example("no.such.template")
    with pytest.raises(FileNotFoundError):
        example(tmp_path / "missing.opt")


# --- the command line, as a vendor runs it


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "archetypes", *map(str, args)], capture_output=True, text=True, cwd=REPO
    )


@pytest.mark.parametrize("source", list(_sources()), indirect=True)
def test_cli_prints_the_example_as_json_and_validate_accepts_it(source, tmp_path):
    result = cli("example", source)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == example(source)
    printed = tmp_path / "example.json"
    printed.write_text(result.stdout, encoding="utf-8")
    template = source if isinstance(source, str) else str(source)
    checked = cli("validate", "--template", template, printed)
    assert checked.returncode == 0, checked.stdout


def test_cli_takes_an_opt_file():
    result = cli("example", "--optional", archetypes.opt_path("vgr.person.v1"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["_type"] == "PERSON"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["example", "no.such.template"], "unknown template"),
        (["example", "/no/such.opt"], "no such OPT file"),
        (["example"], "required"),
    ],
)
def test_cli_usage_errors_exit_2(args, message):
    result = cli(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_cli_unreadable_opt_exits_2(tmp_path):
    path = _write(tmp_path, "<not-a-template/>")
    result = cli("example", path)
    assert result.returncode == 2
    assert "not an operational template" in result.stderr


def test_named_siblings_get_their_own_names(tmp_path):
    def named(*names):
        return single("name", obj("DV_TEXT", "", single("value", c_string(*names))))

    entry = root("EVALUATION", "openEHR-EHR-EVALUATION.test.v1",
                 single("data", obj("ITEM_TREE", "at0001")), occurrences=(1, 1),
                 terms={"at0000": "Plain", "at0001": "Tree"})
    first = entry.replace("<attributes", named("Bedömning") + "<attributes", 1)
    plain = entry.replace("<rm_attribute_name>data", "<rm_attribute_name>data", 1)
    opt = template(multiple("content", first, plain, existence=(1, 1), cardinality=(2, None)))
    names = [c["name"]["value"] for c in example(_write(tmp_path, opt))["content"]]
    assert names == ["Bedömning", "Plain"]


# --- a sweep over the constructs the generator knows, all required


def _required(node_id: str, value: str) -> str:
    return element(value, node_id, occurrences=(1, 1), existence=(1, 1))


def _leaf(rm_type: str, kind: str, item: str) -> str:
    return primitive(rm_type, f'<item xsi:type="{kind}">{item}</item>')


SWEEP = [
    # C_DV_QUANTITY: the first unit, a magnitude inside an exclusive range, integral for precision 0
    obj("DV_QUANTITY", "", kind="C_DV_QUANTITY", extra=(
        f"<list>{interval('magnitude', 37.5, 42, lower_included=False)}{interval('precision', 1, 1)}"
        "<units>Cel</units></list>")),
    obj("DV_QUANTITY", "", kind="C_DV_QUANTITY", extra=(
        f"<list>{interval('magnitude', 30, 300)}{interval('precision', 0, 0)}<units>/min</units></list>")),
    obj("DV_ORDINAL", "", kind="C_DV_ORDINAL", extra="".join(
        f"<list><value>{value}</value><symbol><value/><defining_code><terminology_id><value>local</value>"
        f"</terminology_id><code_string>{code_string}</code_string></defining_code></symbol></list>"
        for value, code_string in ((3, "at0011"), (1, "at0010")))),
    obj("DV_CODED_TEXT", "", single("defining_code", obj(
        "CODE_PHRASE", "", kind="CONSTRAINT_REF", extra="<reference>ac0001</reference>"))),
    coded_text("ICD-10-SE"),
    obj("DV_INTERVAL&lt;DV_COUNT&gt;"),
    obj("DV_PROPORTION"),
    obj("DV_DURATION", "", single("value", _leaf("DURATION", "C_DURATION", "<pattern>PYMWD</pattern>"))),
    obj("DV_BOOLEAN", "", single("value", _leaf(
        "BOOLEAN", "C_BOOLEAN", "<true_valid>false</true_valid><false_valid>true</false_valid>"))),
    obj("DV_DATE", "", single("value", _leaf("DATE", "C_DATE", "<pattern>YYYY-??-XX</pattern>"))),
    obj("DV_TIME"),
    obj("DV_MULTIMEDIA"),
    obj("DV_PARSABLE"),
    obj("DV_URI"),
    obj("DV_SCALE"),
    obj("DV_IDENTIFIER", "", single("id", c_string(pattern=r"[0-9]{8}-[0-9]{4}"))),
    obj("DV_TEXT", "", single("value", c_string("första", "andra"))),
    obj("DV_COUNT", "", single("magnitude", _leaf("INTEGER", "C_INTEGER", "<list>7</list><list>8</list>"))),
]


@pytest.mark.parametrize("optional", [False, True], ids=["minimal", "optional"])
def test_every_value_construct(tmp_path, optional):
    node_ids = [f"at{9000 + n}" for n in range(len(SWEEP))]
    reference = obj("CLUSTER", "", occurrences=(0, None), kind="ARCHETYPE_INTERNAL_REF",
                    extra="<target_path>/data[at0001]/items[at0004]</target_path>")
    recursive = obj("CLUSTER", "at0004", multiple(
        "items", _required("at0002", obj("DV_TEXT")), reference, existence=(1, 1), cardinality=(1, None)),
        occurrences=(1, 1))
    opt = _required_entry(*(_required(n, v) for n, v in zip(node_ids, SWEEP, strict=True)), recursive,
                          terms={"ac0001": "Diagnoses", **{n: f"Value {n}" for n in node_ids}})
    path = _write(tmp_path, opt)
    instance = example(path, optional=optional)
    schema = compile_opt(path)
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(instance)) == []
    values = {i["archetype_node_id"]: i.get("value") for i in _items(instance)}
    assert values["at9000"]["magnitude"] > 37.5 and values["at9000"]["units"] == "Cel"
    assert values["at9001"]["magnitude"] == 30
    assert (values["at9002"]["value"], values["at9002"]["symbol"]["value"]) == (3, "Severe")
    assert values["at9005"]["lower_unbounded"] is True
    assert values["at9008"]["value"] is False
    assert values["at9009"]["value"] == "2026-01"
    assert values["at9016"]["value"] == "första"
    assert values["at9017"]["magnitude"] == 7
    assert values["at0004"] is None  # a CLUSTER, no value; its reference is optional


def test_observation_with_an_interval_event(tmp_path):
    math = obj("DV_CODED_TEXT", "", single("defining_code", obj(
        "CODE_PHRASE", "", kind="C_CODE_PHRASE",
        extra="<terminology_id><value>openehr</value></terminology_id><code_list>147</code_list>")))
    event = obj("INTERVAL_EVENT", "at0002", single("math_function", math),
                single("data", obj("ITEM_TREE", "at0003")), occurrences=(1, 1))
    observation = root(
        "OBSERVATION", "openEHR-EHR-OBSERVATION.test.v1",
        single("data", obj("HISTORY", "at0001", multiple("events", event, existence=(1, 1),
                                                          cardinality=(1, None)))),
        occurrences=(1, 1), terms={"at0000": "Test", "at0001": "History", "at0002": "Any", "at0003": "Tree"},
    )
    path = _write(tmp_path, template(multiple("content", observation, existence=(1, 1), cardinality=(1, None))))
    [event] = example(path)["content"][0]["data"]["events"]
    assert event["_type"] == "INTERVAL_EVENT"
    assert event["math_function"] == {
        "_type": "DV_CODED_TEXT", "value": "change",
        "defining_code": {"_type": "CODE_PHRASE", "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"},
                          "code_string": "147"},
    }
    assert event["width"]["value"] == "PT1H"


def test_interval_bounds_the_template_demands_are_not_unbounded(tmp_path):
    interval_node = obj("DV_INTERVAL&lt;DV_COUNT&gt;", "", single("lower", obj("DV_COUNT")))
    path = _write(tmp_path, _required_entry(_required("at0002", interval_node)))
    value = _items(example(path))[0]["value"]
    assert (value["lower_unbounded"], value["upper_unbounded"]) == (False, True)
    assert value["lower"] == {"_type": "DV_COUNT", "magnitude": 1}


def test_two_required_siblings_of_the_same_archetype(tmp_path):
    cluster = root("CLUSTER", "openEHR-EHR-CLUSTER.org.v1",
                   multiple("items", _required("at0001", obj("DV_TEXT")), existence=(1, 1), cardinality=(1, None)),
                   occurrences=(1, 1), terms={"at0000": "Org", "at0001": "Name"})
    instance = example(_write(tmp_path, _required_entry(cluster, cluster)))
    assert len(_items(instance)) == 2
