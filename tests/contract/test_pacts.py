"""Consumer side: the pacts the consumers' real client code produces equal the committed ones
(`make contracts` rewrites them; a change is a visible diff)."""

from __future__ import annotations

import json

import pytest

from contracts.pact.consumer import write_pacts
from contracts.pact.matrix import normalised
from contracts.pact.verify import PACT_DIR

PAIRS = [
    ("gateway", "demographics"),
    ("gateway", "journal"),
    ("gateway", "medication"),
    ("gateway", "referrals"),
    ("journal", "demographics"),
    ("medication", "demographics"),
    ("referrals", "demographics"),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("pacts")
    return {path.name: path for path in write_pacts(out)}


@pytest.mark.parametrize(("consumer", "provider"), PAIRS)
def test_committed_pact_is_what_the_consumer_produces(generated, consumer, provider):
    name = f"{consumer}-{provider}.json"
    committed = PACT_DIR / name
    assert committed.exists(), f"{name} is not committed: run `make contracts`"
    fresh = normalised(json.loads(generated[name].read_text(encoding="utf-8")))
    assert normalised(json.loads(committed.read_text(encoding="utf-8"))) == fresh, (
        f"{name} differs from what the consumer tests produce: run `make contracts` and commit the diff"
    )


def test_every_pact_is_v4_with_provider_states(generated):
    assert sorted(generated) == sorted(f"{c}-{p}.json" for c, p in PAIRS)
    for path in generated.values():
        pact = json.loads(path.read_text(encoding="utf-8"))
        assert pact["metadata"]["pactSpecification"]["version"] == "4.0"
        for interaction in pact["interactions"]:
            assert interaction["type"] == "Synchronous/HTTP"
            assert interaction["providerStates"], f"{path.name}: {interaction['description']} has no state"


def test_version_uids_and_etags_are_matched_by_pattern():
    pact = json.loads((PACT_DIR / "gateway-medication.json").read_text(encoding="utf-8"))
    read = next(i for i in pact["interactions"] if i["description"] == "a read of a medication order")
    rules = read["response"]["matchingRules"]
    assert rules["header"]["ETag"]["matchers"][0]["regex"] == r'^"[0-9a-f-]{36}::[^:]+::\d+"$'
    assert rules["body"]["$.uid.value"]["matchers"][0]["regex"] == r"^[0-9a-f-]{36}::[^:]+::\d+$"
    assert read["request"]["generators"]["path"]["type"] == "ProviderState"
