"""The KafkaACL hooks against the recording fake: order of changes, failures, finalize."""

import copy
import json
import logging

import pytest

from hooks.core.acl import Binding
from hooks.core.request import parse_sync
from hooks.errors import KafkaRequestError, KafkaUnavailable
from hooks.reconcile import acl as hook
from hooks.reconcile.common import Env
from tests.fakes import FakeClients, FakeKafka
from tests.http import harness

NOW = "2026-12-01T00:00:00Z"
OPERATOR = "User:CN=kafka-access-operator,OU=platform,O=Example Corp,C=DE"
ORDERS = "User:CN=orders,OU=team-a,O=Example Corp,C=DE"
PAYMENTS = "User:CN=payments,OU=team-b,O=Example\\, Inc.,C=US"


def body(case):
    return copy.deepcopy(harness.load(harness.HTTP / "kafkaacl" / case)["request"]["body"])


def run(kafka, request_body):
    env = Env(clients=FakeClients(kafka), clock=lambda: NOW, logger=logging.getLogger("test"))
    return hook.sync(parse_sync(request_body, hook.KIND), env)


def b(operation, principal=ORDERS, name="orders.created"):
    return Binding("Topic", name, "Literal", principal, "*", operation, "Allow")


def condition(answer, type_):
    return next(c for c in answer["status"]["conditions"] if c["type"] == type_)


def test_a_refused_operator_grant_stops_every_later_change():
    kafka = FakeKafka()
    denied = KafkaRequestError(
        "CLUSTER_AUTHORIZATION_FAILED", "Broker: Cluster authorization failed"
    )
    kafka.refuse_bindings[b("Describe", OPERATOR)] = denied
    answer = run(kafka, body("create"))
    assert [c[0] for c in kafka.changes] == ["create_acls"], "no binding before the grants"
    assert all(c["principal"] == OPERATOR for c in kafka.changes[0][1])
    assert answer["status"]["bindings"] == []
    assert condition(answer, "Synced")["reason"] == "ClusterAuthorizationFailed"
    assert "2 later change(s) wait" in condition(answer, "Synced")["message"]
    assert answer["resyncAfterSeconds"] == 15.0


def test_a_refused_create_keeps_the_old_binding():
    kafka = FakeKafka(
        acls=harness.load(harness.HTTP / "kafkaacl" / "operations-changed")["kafka"]["aclsBefore"]
    )
    kafka.refuse_bindings[b("Read")] = KafkaRequestError("POLICY_VIOLATION", "no")
    answer = run(kafka, body("operations-changed"))
    assert [c[0] for c in kafka.changes] == ["create_acls"], "nothing deleted before it exists"
    assert b("Write") in kafka.acls
    owned = {x["operation"] for x in answer["status"]["bindings"]}
    assert owned == {"Describe", "Write"}
    assert condition(answer, "Ready")["reason"] == "PolicyViolation"


def test_brokers_gone_mid_change_keep_what_was_created():
    class Flaky(FakeKafka):
        def __init__(self):
            super().__init__()
            self.creates = 0

        def create_acls(self, bindings, budget):
            self.creates += 1
            if self.creates == 2:
                self.refuse["create_acls"] = KafkaUnavailable("brokers did not answer")
            return super().create_acls(bindings, budget)

        def describe_acls(self, filters, budget):
            if self.creates:
                raise KafkaUnavailable("brokers did not answer")
            return super().describe_acls(filters, budget)

    kafka = Flaky()
    answer = run(kafka, body("create"))
    assert {x.principal for x in kafka.acls} == {OPERATOR}
    assert answer["status"]["bindings"] == []
    assert len(answer["status"]["operatorBindings"]) == 6, "the grants that went through"
    assert condition(answer, "Synced")["reason"] == "ClusterUnreachable"


def test_a_failed_listing_after_the_changes_still_records_them():
    class Blind(FakeKafka):
        describes = 0

        def describe_acls(self, filters, budget):
            self.describes += 1
            if self.describes > 1:
                raise KafkaUnavailable("brokers did not answer")
            return super().describe_acls(filters, budget)

    kafka = Blind()
    answer = run(kafka, body("create"))
    assert {x["operation"] for x in answer["status"]["bindings"]} == {"Describe", "Write"}
    assert condition(answer, "Synced")["reason"] == "ClusterUnreachable"
    assert "listing the bindings after the changes" in condition(answer, "Synced")["message"]


def test_finalize_waits_until_the_brokers_drop_the_bindings():
    class Slow(FakeKafka):
        def delete_acls(self, bindings, budget):
            self._enter("delete_acls", [x.to_status() for x in bindings])
            return {x: None for x in bindings}  # accepted, still listed

    world = harness.load(harness.HTTP / "kafkaacl" / "finalize-delete")["kafka"]
    kafka = Slow(acls=world["aclsBefore"])
    answer = run(kafka, body("finalize-delete"))
    assert answer["finalized"] is False
    assert answer["resyncAfterSeconds"] == 2.0
    assert len(answer["status"]["bindings"]) == 2
    assert "waiting for the brokers to drop 2 binding(s)" in condition(answer, "Ready")["message"]


def test_finalize_reports_a_refused_delete_and_is_not_done():
    world = harness.load(harness.HTTP / "kafkaacl" / "finalize-delete")["kafka"]
    kafka = FakeKafka(acls=world["aclsBefore"])
    kafka.refuse_bindings[b("Write")] = KafkaRequestError("POLICY_VIOLATION", "no")
    answer = run(kafka, body("finalize-delete"))
    assert answer["finalized"] is False
    assert [x["operation"] for x in answer["status"]["bindings"]] == ["Write"]
    assert condition(answer, "Synced")["reason"] == "PolicyViolation"


def test_finalize_needs_no_principal_secret():
    request = body("principal-from")
    request["finalizing"] = True
    request["parent"]["metadata"]["deletionTimestamp"] = NOW
    payments = harness.load(harness.HTTP / "kafkaacl" / "principal-from")
    created = json.loads(
        (harness.HTTP / "kafkaacl" / "principal-from" / "response.json").read_text()
    )
    request["parent"]["status"] = created["body"]["status"]
    del request["related"]["Secret.v1"]["team-b/payments-kafka-client"]
    kafka = FakeKafka(acls=payments["kafka"]["aclsAfter"])
    answer = run(kafka, request)
    assert answer["finalized"] is True
    first, then = kafka.changes
    assert first[0] == "delete_acls" and {x["principal"] for x in first[1]} == {PAYMENTS}
    assert then[0] == "delete_acls" and {x["principal"] for x in then[1]} == {OPERATOR}
    assert kafka.acls == set(), "nothing else protects the prefix, so the grants went too"


@pytest.mark.parametrize("status", [None, {"bindings": []}])
def test_finalize_of_an_invalid_spec_that_owns_nothing_is_done(status):
    request = body("invalid-pattern-type")
    request["finalizing"] = True
    if status is not None:
        request["parent"]["status"] = status
    kafka = FakeKafka()
    answer = run(kafka, request)
    assert answer["finalized"] is True
    assert kafka.calls == []


def test_finalize_of_an_invalid_spec_that_owns_bindings_waits_for_a_fix():
    request = body("invalid-operation")
    request["finalizing"] = True
    kafka = FakeKafka(acls=[b("Write").to_status()])
    answer = run(kafka, request)
    assert answer["finalized"] is False
    assert kafka.calls == [], "with no valid spec the deletion policy is unknown"
    assert condition(answer, "Synced")["reason"] == "InvalidSpec"
