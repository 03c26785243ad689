"""KafkaACL: the operator's grant removal on finalize, against the recording fake.
Paste into tests/unit/ (it reuses the helpers of tests/unit/test_acl_hardening.py).
"""

from __future__ import annotations

import copy

from hooks.core import acl
from hooks.core.acl import Binding
from hooks.shell.budget import Budget
from hooks.shell.kafka import AdminPort
from tests.fakes import FakeKafka
from tests.unit.test_acl_hardening import (
    ANALYTICS,
    OPERATOR,
    acl_spec,
    b,
    converge,
    finalize,
    grants,
    related,
    request,
    run,
)


# -- G1 (medium): a binding re-created by the other KafkaACL is treated as "gone" --------

class OtherSyncsBetween(FakeKafka):
    """After the finalize's own deletes were confirmed (its first describe after a
    delete), another KafkaACL that wants the same binding syncs and creates it again."""

    def __init__(self):
        super().__init__()
        self.armed = False
        self.recreate: Binding | None = None

    def delete_acls(self, bindings, budget):
        got = super().delete_acls(bindings, budget)
        if self.recreate in bindings:
            self.armed = True
        return got

    def describe_acls(self, filters, budget):
        got = super().describe_acls(filters, budget)
        if self.armed:
            self.armed = False
            self.acls.add(self.recreate)  # B's sync: it saw the binding missing and made it
        return got


def test_a_binding_recreated_during_the_finalize_keeps_the_operators_grants():
    kafka = OtherSyncsBetween()
    owner = converge(kafka, acl_spec(), name="a")["status"]  # A creates Write and the grants
    user = converge(kafka, acl_spec(), name="b")["status"]   # B wants the same binding: uses it
    assert user["bindings"] == [] and len(owner["bindings"]) == 1
    kafka.recreate = b("Write")

    answer = finalize(kafka, acl_spec(), owner, name="a")

    assert answer["finalized"] is True
    assert b("Write") in kafka.acls, "B's binding exists and protects the topic"
    # today: all six grants are removed and not restored, because the re-created binding
    # equals one in A's memory and grants_needed()/grants_to_restore() ignore every such
    # binding ("gone") even after the brokers confirmed it was deleted -> the operator is
    # locked out of orders.created until B's next resync (60 s)
    assert grants() <= kafka.acls


def test_stale_grants_ignores_a_listed_binding_only_because_it_is_remembered():
    pattern = acl.ResourcePattern("Topic", "orders.created", "Literal")
    listed = set(grants()) | {b("Write")}
    removals = acl.stale_grants([pattern], listed, OPERATOR, gone={b("Write")})
    # today: 6 removals although b("Write") is listed and protects the topic
    assert removals == ()


# -- G2 (low/medium): a binding the admin client cannot decode is invisible to the check ---

class _Native:
    """What confluent-kafka 2.16 returns for a binding with an operation newer than
    librdkafka's enum (CREATE_TOKENS, DESCRIBE_TOKENS, TWO_PHASE_COMMIT): UNKNOWN."""

    def __init__(self):
        from confluent_kafka.admin import (AclOperation, AclPermissionType,
                                           ResourcePatternType, ResourceType)
        self.restype, self.name = ResourceType.TOPIC, "orders.created"
        self.resource_pattern_type = ResourcePatternType.LITERAL
        self.principal, self.host = ANALYTICS, "*"
        self.operation, self.permission_type = AclOperation.UNKNOWN, AclPermissionType.ALLOW


class _Future:
    def result(self, timeout=None):
        return [_Native()]


class _Admin:
    def describe_acls(self, native, request_timeout):
        return _Future()


class _Client:
    admin = _Admin()


def test_an_undecodable_binding_still_counts_as_protecting_the_topic():
    listed = AdminPort(_Client()).describe_acls(
        [acl.BindingFilter(acl.ResourcePattern("Topic", "orders.created", "Literal"), None, "Match")],
        Budget(1.0),
    )
    # today: frozenset() -- the binding is dropped, so stale_grants() removes the operator's
    # grants while the broker still enforces this binding on the topic. Proven on Kafka 4.1.1:
    # a Topic ACL with CREATE_TOKENS made with the Java admin client; after the last KafkaACL
    # on the topic was deleted the operator got TOPIC_AUTHORIZATION_FAILED on DescribeConfigs.
    assert listed != [frozenset()], "an unknown binding must make the grants 'needed'"


# -- G3 (low): grants created while using someone's binding are forgotten by one sync -----
#              under ensureOperatorAcls=false, then leaked by the finalize

def _ensure(body, value):
    for obj in body["related"]["KafkaCluster.kafkaaccess.io/v1alpha1"].values():
        obj["spec"]["ensureOperatorAcls"] = value
    return body


def test_grants_made_by_a_kafkaacl_that_owns_no_binding_are_not_forgotten():
    kafka = FakeKafka(acls=[b("Write").to_status()])  # made by someone else: used, not claimed
    status = converge(kafka, acl_spec())["status"]
    assert status["bindings"] == [] and len(status["operatorBindings"]) == 6
    off = run(kafka, _ensure(request(acl_spec(), status), False))["status"]
    kafka.acls.discard(b("Write"))  # its owner removes the binding
    body = _ensure(request(acl_spec(), off, finalizing=True), True)
    assert run(kafka, body)["finalized"] is True
    # today: status.operatorBindings was dropped by the ensure=false sync, so the finalize
    # returns at once and the six grants stay: the topic is closed to every other client
    assert kafka.acls == set()


# -- G4 (documented, still a lock-out): grants left on a pattern the KafkaACL moved away from --

def test_grants_on_a_pattern_left_by_a_spec_change_go_at_the_latest_with_the_kafkaacl():
    kafka = FakeKafka()
    status = converge(kafka, acl_spec(name="orders.created"))["status"]
    moved = converge(kafka, acl_spec(name="orders.updated"), status)["status"]
    assert finalize(kafka, acl_spec(name="orders.updated"), moved)["finalized"] is True
    # today: the six grants on orders.created stay for ever (README: "remove by hand"), so
    # orders.created stays closed to every client without a binding of its own
    assert kafka.acls == set()
