"""KafkaTopic pendingCreation edges, and requests that get a 500. Against the
recording fake and the HTTP fixtures. Paste into tests/unit/.
"""

from __future__ import annotations

import copy

from hooks.app import create_app
from hooks.errors import KafkaUnavailable
from tests.fakes import FakeClients, FakeKafka
from tests.http import harness

CREATE = harness.load(harness.HTTP / "kafkatopic" / "create")["request"]


def post(kafka, url, body):
    app = create_app({"CLIENTS": FakeClients(kafka), "CLOCK": lambda: harness.NOW})
    answer = app.test_client().post(url, json=body)
    return answer.status_code, answer.get_json()


def sync(kafka, status=None, finalizing=False):
    body = copy.deepcopy(CREATE["body"])
    body["parent"]["status"] = status or {}
    if finalizing:
        body["parent"]["metadata"]["deletionTimestamp"] = harness.NOW
        body["finalizing"] = True
    url = CREATE["url"].replace("/sync", "/finalize") if finalizing else CREATE["url"]
    code, answer = post(kafka, url, body)
    assert code == 200, answer
    return answer


def reason(answer, type_="Ready"):
    return next(c["reason"] for c in answer["status"]["conditions"] if c["type"] == type_)


# -- T1 (medium): a create whose answer is lost strands the topic this object made -------

class AnswerLost(FakeKafka):
    """CreateTopics reaches the controller, the answer does not reach the hook: what a
    REQUEST_TIMED_OUT (operation_timeout shorter than the controller needs, usual on
    a busy MSK cluster) or a connection drop after sending looks like."""

    lose = True

    def create_topic(self, name, partitions, replication_factor, config, budget):
        super().create_topic(name, partitions, replication_factor, config, budget)
        if self.lose:
            self.lose = False
            raise KafkaUnavailable("brokers 127.0.0.1:9093 did not answer: Broker: Request timed out")


def test_a_topic_created_by_a_request_whose_answer_was_lost_is_not_foreign():
    kafka = AnswerLost()
    first = sync(kafka)
    assert "orders.created" in kafka.topics, "the controller created it"
    second = sync(kafka, first["status"])
    # today: Ready=False TopicExists ("already exists and is not owned by this resource"),
    # forever; and deleting the KafkaTopic leaves the topic behind (finalized at once).
    assert reason(second) == "Available", second["status"]


# -- T2 (low): finalize during pendingCreation while the topic is not visible yet --------

def test_finalize_waits_while_a_topic_it_created_is_not_visible_yet():
    kafka = FakeKafka()
    kafka.invisible_after_create = 10_000  # metadata lag: created, not yet described
    pending = sync(kafka)["status"]
    assert pending.get("pendingCreation") is True
    done = sync(kafka, pending, finalizing=True)
    # today: finalized=True at once; the topic appears a moment later and nothing owns it
    assert not (done.get("finalized") is True and "orders.created" in kafka.topics)


# -- E1 (low): 500s on malformed parents/children ---------------------------------------

def test_kafkaacl_customize_with_a_string_principal_from_is_not_a_500():
    case = harness.load(harness.HTTP / "kafkaacl" / "customize-principal-from")["request"]
    body = copy.deepcopy(case["body"])
    body["parent"]["spec"]["principalFrom"] = "payments-kafka-client"
    code, answer = post(FakeKafka(), case["url"], body)
    assert code != 500, answer  # today: 500 AttributeError in acl.principal_secret


def test_kafkaaccess_sync_with_a_child_whose_kind_is_not_a_string_is_not_a_500():
    case = harness.load(harness.HTTP / "kafkaaccess" / "services-ready")
    body = copy.deepcopy(case["request"]["body"])
    group = body["children"]["KafkaACL.kafkaaccess.io/v1alpha1"]
    first = next(iter(group))
    group[first]["kind"] = {"a": None}
    code, answer = post(harness.fake(case["kafka"]), case["request"]["url"], body)
    assert code != 500, answer  # today: 500 TypeError (unhashable dict) in _log_changes


# -- T3 (low, upgrade only): a status from before status.cluster, then a clusterRef change ---

def test_a_topic_status_without_cluster_is_not_moved_to_another_cluster():
    from hooks.core.request import parse_sync
    from hooks.reconcile import topic as topic_hook
    from hooks.reconcile.common import Env
    from tests.unit.test_acl_hardening import Clusters, related

    old, new = FakeKafka(), FakeKafka()
    clusters = Clusters(local=old, other=new)
    body = copy.deepcopy(CREATE["body"])
    body["related"] = related("local", "other")
    env = Env(clients=clusters, clock=lambda: harness.NOW)
    first = topic_hook.sync(parse_sync(body, "KafkaTopic"), env)["status"]
    assert "orders.created" in old.topics
    first.pop("cluster")  # as written by the release before status.cluster existed
    body["parent"]["status"] = first
    body["parent"]["spec"]["clusterRef"] = {"name": "other"}
    second = topic_hook.sync(parse_sync(body, "KafkaTopic"), env)
    # today: a second topic is created on 'other' and status forgets the one on 'local'
    # (whose deletionPolicy: Delete will now never be honoured)
    assert "orders.created" not in new.topics, second["status"]
