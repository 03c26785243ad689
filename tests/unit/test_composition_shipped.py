"""The shipped compositions parse, their examples render cleanly, and the fixtures use them."""

import json
from pathlib import Path

import pytest
import yaml

from hooks.core import access
from hooks.core.composition import parse_composition
from hooks.core.request import parse_sync
from tests.http import harness

REPO = Path(__file__).resolve().parents[2]
COMPOSITIONS = {
    doc["metadata"]["name"]: doc
    for path in sorted((REPO / "compositions").glob("*.yaml"))
    for doc in yaml.safe_load_all(path.read_text())
    if doc
}
EXAMPLES = {
    (doc["metadata"]["namespace"], doc["metadata"]["name"]): doc
    for path in sorted((REPO / "examples").glob("kafkaaccess-*.yaml"))
    for doc in yaml.safe_load_all(path.read_text())
    if doc
}
# Each HTTP fixture that shows a shipped composition with its example.
SHOWN = {
    "services": ("services", ("team-a", "orders")),
    "services-ready": ("services", ("team-a", "orders")),
    "shared-topics-owner": ("shared-topics", ("team-b", "payments")),
    "shared-topics-reader": ("shared-topics", ("team-a", "orders-payments")),
    "streams": ("streams", ("team-a", "enricher")),
}


def test_three_compositions_ship_and_one_is_the_default():
    assert set(COMPOSITIONS) == {"services", "shared-topics", "streams"}
    assert [n for n, c in COMPOSITIONS.items() if c["spec"].get("default")] == ["services"]


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_shipped_composition_parses(name):
    composition = parse_composition(name, COMPOSITIONS[name]["spec"])

    assert {"produce", "consume"} <= set(composition.profile_names)


def test_the_streams_composition_has_the_streams_profile():
    streams = parse_composition("streams", COMPOSITIONS["streams"]["spec"]).profile("streams")

    assert streams.variables == {"topic", "applicationId"}


@pytest.mark.parametrize("key", sorted(EXAMPLES), ids=lambda k: "/".join(k))
def test_every_example_renders_without_a_violation(key):
    case = next(c for c, (_, example) in SHOWN.items() if example == key)
    body = harness.load(harness.HTTP / "kafkaaccess" / case)["request"]["body"]
    outcome = access.render(parse_sync(body, "KafkaAccess"))

    assert isinstance(outcome, access.Rendering), getattr(outcome, "message", outcome)
    assert outcome.acls, "every example is granted something"


@pytest.mark.parametrize("case", sorted(SHOWN))
def test_fixture_shows_the_shipped_files_unchanged(case):
    composition, example = SHOWN[case]
    body = json.loads((harness.HTTP / "kafkaaccess" / case / "request.json").read_text())["body"]
    related = body["related"]["KafkaComposition.kafkaaccess.io/v1alpha1"]

    assert body["parent"]["spec"] == EXAMPLES[example]["spec"]
    assert related[composition]["spec"] == COMPOSITIONS[composition]["spec"]
    assert (
        related[composition]["metadata"]["labels"]
        == COMPOSITIONS[composition]["metadata"]["labels"]
    )
