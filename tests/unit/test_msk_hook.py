"""The KafkaCluster and KafkaTopic hooks with an MSK cluster named by ARN.

The MSK API is botocore's Stubber and Kafka the recording fake; nothing
leaves the process.
"""

import base64
import copy
import socket

import pytest

from hooks.app import create_app
from tests.fakes import FakeClients, FakeKafka
from tests.http.harness import FIXTURES, msk_resolver

ARN = "arn:aws:kafka:eu-west-1:123456789012:cluster/orders/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
OLD = "b-1.orders.old.c2.kafka.eu-west-1.amazonaws.com:9094"
NEW = "b-1.orders.new.c2.kafka.eu-west-1.amazonaws.com:9094"
NOW = "2026-12-01T00:00:00Z"


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to open a connection: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _b64(name):
    return base64.b64encode((FIXTURES / name).read_bytes()).decode()


SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "orders", "namespace": "kafka-access"},
    "data": {
        "ca.crt": _b64("operator-test.crt"),
        "tls.crt": _b64("operator-test.crt"),
        "tls.key": _b64("operator-test.key"),
    },
}


def cluster(status=None, cluster_type="MskProvisioned"):
    obj = {
        "apiVersion": "kafkaaccess.io/v1alpha1",
        "kind": "KafkaCluster",
        "metadata": {"name": "orders", "generation": 1},
        "spec": {"msk": {"clusterArn": ARN}, "clusterType": cluster_type},
    }
    if status is not None:
        obj["status"] = status
    return obj


def sync_body(parent):
    return {
        "parent": parent,
        "children": {},
        "related": {"Secret.v1": {"kafka-access/orders": SECRET}},
        "finalizing": False,
    }


def described(broker="kafka.m7g.large"):
    info = {
        "ClusterArn": ARN,
        "ClusterName": "orders",
        "ClusterType": "PROVISIONED",
        "State": "ACTIVE",
        "Provisioned": {
            "BrokerNodeGroupInfo": {"InstanceType": broker, "ClientSubnets": ["subnet-1"]},
            "NumberOfBrokerNodes": 3,
        },
    }
    return {"operation": "describe_cluster_v2", "response": {"ClusterInfo": info}}


def brokers(servers):
    return {"operation": "get_bootstrap_brokers", "response": {"BootstrapBrokerStringTls": servers}}


def failure(code, status):
    return {"operation": "describe_cluster_v2", "error": {"code": code, "status": status}}


class Hook:
    def __init__(self, calls):
        self.kafka = FakeKafka()
        self.clients = FakeClients(self.kafka)
        resolver, self.stubber, self.sent = msk_resolver(calls, ARN)
        self.app = create_app({"CLIENTS": self.clients, "CLOCK": lambda: NOW, "MSK": resolver})

    def sync(self, parent):
        response = self.app.test_client().post("/hooks/kafkacluster/sync", json=sync_body(parent))
        assert response.status_code == 200
        return response.get_json()["status"]

    def done(self):
        self.stubber.assert_no_pending_responses()
        assert self.sent == []


def ready(status):
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def test_the_resolved_servers_are_dialled_and_shown():
    hook = Hook([described(), brokers(OLD)])
    status = hook.sync(cluster())
    assert status["bootstrapServers"] == OLD
    assert ready(status)["status"] == "True"
    assert [c.bootstrap_servers for c in hook.clients.connections] == [OLD]
    hook.done()


def test_brokers_that_stop_answering_make_the_next_sync_look_again():
    hook = Hook([described(), brokers(OLD), described(), brokers(NEW)])
    assert hook.sync(cluster())["bootstrapServers"] == OLD
    hook.kafka.unavailable = True
    status = hook.sync(cluster(status={"bootstrapServers": OLD}))
    assert ready(status)["reason"] == "ClusterUnreachable"
    hook.kafka.unavailable = False
    assert hook.sync(cluster())["bootstrapServers"] == NEW, "forget dropped the cached answer"
    hook.done()


def test_a_cached_answer_is_used_while_the_brokers_answer():
    hook = Hook([described(), brokers(OLD)])
    hook.sync(cluster())
    assert hook.sync(cluster(status={"bootstrapServers": OLD}))["bootstrapServers"] == OLD
    hook.done()


def test_a_passing_msk_failure_keeps_the_servers_last_found():
    hook = Hook([failure("TooManyRequestsException", 429)])
    status = hook.sync(cluster(status={"bootstrapServers": OLD}))
    assert status["bootstrapServers"] == OLD, "topics keep dialling the last servers found"
    assert ready(status)["reason"] == "MskApiUnavailable"
    hook.done()


def test_a_lasting_msk_failure_drops_the_servers():
    hook = Hook([failure("NotFoundException", 404)])
    status = hook.sync(cluster(status={"bootstrapServers": OLD}))
    assert "bootstrapServers" not in status
    assert ready(status)["reason"] == "MskClusterNotFound"
    assert hook.clients.connections == [], "no broker is dialled"
    hook.done()


def test_a_cluster_type_that_disagrees_with_msk_is_a_condition():
    hook = Hook([described(broker="express.m7g.large"), brokers(OLD)])
    status = hook.sync(cluster(cluster_type="MskProvisioned"))
    assert ready(status)["reason"] == "MskClusterTypeMismatch"
    assert "set spec.clusterType: MskExpress" in ready(status)["message"]
    assert "bootstrapServers" not in status
    hook.done()


def test_a_topic_on_an_msk_cluster_dials_the_servers_in_its_status():
    kafka = FakeKafka()
    clients = FakeClients(kafka)
    app = create_app({"CLIENTS": clients, "CLOCK": lambda: NOW, "MSK": object()})
    topic = {
        "apiVersion": "kafkaaccess.io/v1alpha1",
        "kind": "KafkaTopic",
        "metadata": {"name": "orders-created", "namespace": "team-a", "generation": 1},
        "spec": {"clusterRef": {"name": "orders"}, "partitions": 3},
    }
    related = {
        "KafkaCluster.kafkaaccess.io/v1alpha1": {
            "orders": cluster(status={"bootstrapServers": NEW}, cluster_type="MskExpress")
        },
        "Secret.v1": {"kafka-access/orders": copy.deepcopy(SECRET)},
    }
    body = {"parent": topic, "children": {}, "related": related, "finalizing": False}
    response = app.test_client().post("/hooks/kafkatopic/sync", json=body)
    assert response.status_code == 200
    assert {c.bootstrap_servers for c in clients.connections} == {NEW}
    assert {c.cluster_type for c in clients.connections} == {"MskExpress"}
