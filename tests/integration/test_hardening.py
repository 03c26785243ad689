"""Contracts that hostile or unusual inputs once broke, proven on a broker of their own.

This broker's operator has a subject with characters RFC 2253 escapes ('='
and '#'), as any CA may issue; so does the application identity ``eq``.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest
from confluent_kafka import TopicCollection

from hooks.app import create_app
from tests.integration.conftest import eventually

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import testbroker  # noqa: E402

G = "kafkaaccess.io/v1alpha1"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def odd_broker(tmp_path_factory):
    saved = dict(testbroker.CLIENT_SUBJECTS)
    testbroker.CLIENT_SUBJECTS["operator"] = (
        ("C", "DE"),
        ("O", "Example Corp"),
        ("OU", "platform"),
        ("CN", "kafka=access#operator"),
    )
    testbroker.CLIENT_SUBJECTS["eq"] = (
        ("C", "DE"),
        ("O", "Example Corp"),
        ("OU", "team-a"),
        ("CN", "a=b#c"),
    )
    try:
        broker = testbroker.Broker(tmp_path_factory.mktemp("odd") / "broker")
        broker.start()
    finally:
        testbroker.CLIENT_SUBJECTS.clear()
        testbroker.CLIENT_SUBJECTS.update(saved)
    yield broker
    broker.stop()


def related(broker, key=None, ca=None, extra=None):
    operator = broker.identity("operator")
    found = {
        f"KafkaCluster.{G}": {"local": {"spec": {"bootstrapServers": broker.bootstrap}}},
        "Secret.v1": {
            "kafka-access/local": {
                "data": {
                    "ca.crt": b64(ca or broker.ca_pem),
                    "tls.crt": b64(operator.cert_pem),
                    "tls.key": b64(key or operator.key_pem),
                }
            }
        },
    }
    for group, objects in (extra or {}).items():
        found.setdefault(group, {}).update(objects)
    return found


def sync(client, kind, spec, rel, status=None, name="x", namespace="team-a"):
    parent = {
        "apiVersion": G,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": spec,
        "status": status or {},
    }
    response = client.post(
        f"/hooks/{kind.lower()}/sync", json={"parent": parent, "related": rel, "finalizing": False}
    )
    return response.status_code, response.get_json()


def until_ready(client, kind, spec, rel, name):
    status = {}

    def ready():
        nonlocal status
        _, answer = sync(client, kind, spec, rel, status, name)
        status = answer["status"]
        return status["conditions"][0]["status"] == "True"

    eventually(ready, timeout=20)
    return status


def can_describe(broker, who, topic):
    admin = broker.admin_client(who)
    try:
        admin.describe_topics(TopicCollection([topic]), request_timeout=8)[topic].result(10)
        return True
    except Exception:
        return False


def test_an_operator_whose_subject_needs_escaping_is_not_locked_out(odd_broker):
    client = create_app().test_client()
    rel = related(odd_broker)
    topic = {"clusterRef": {"name": "local"}, "topicName": "lock.t", "partitions": 1}
    status = until_ready(client, "KafkaTopic", topic, rel, "t")
    acl = {
        "clusterRef": {"name": "local"},
        "principal": "CN=orders,OU=team-a,O=Example Corp,C=DE",
        "resource": {"type": "Topic", "name": "lock.t"},
        "operations": ["Write"],
    }
    until_ready(client, "KafkaACL", acl, rel, "a")

    def grown():
        _, answer = sync(client, "KafkaTopic", dict(topic, partitions=2), rel, status, "t")
        return (
            answer["status"].get("partitions") == 2
            and answer["status"]["conditions"][1]["status"] == "True"
        )

    eventually(grown, timeout=20)


def test_operator_principal_is_the_one_the_broker_sees(odd_broker):
    client = create_app().test_client()
    parent = {
        "apiVersion": G,
        "kind": "KafkaCluster",
        "metadata": {"name": "local", "generation": 1},
        "spec": {"bootstrapServers": odd_broker.bootstrap},
    }
    answer = client.post(
        "/hooks/kafkacluster/sync", json={"parent": parent, "related": related(odd_broker)}
    ).get_json()
    assert (
        answer["status"]["operatorPrincipal"]
        == "User:CN=kafka\\=access\\#operator,OU=platform,O=Example Corp,C=DE"
    )


def test_principal_from_a_certificate_is_enforced_by_the_broker(odd_broker):
    client = create_app().test_client()
    rel = related(
        odd_broker,
        extra={
            "Secret.v1": {
                "team-a/eq": {"data": {"tls.crt": b64(odd_broker.identity("eq").cert_pem)}}
            }
        },
    )
    until_ready(
        client, "KafkaTopic", {"clusterRef": {"name": "local"}, "topicName": "eq.t"}, rel, "eqt"
    )
    # Another principal's ACL protects the topic, so only an ACL for eq's real principal lets it in.
    until_ready(
        client,
        "KafkaACL",
        {
            "clusterRef": {"name": "local"},
            "principal": "CN=orders",
            "resource": {"type": "Topic", "name": "eq.t"},
            "operations": ["Describe"],
        },
        rel,
        "other",
    )
    eventually(lambda: not can_describe(odd_broker, "eq", "eq.t"), timeout=20)
    status = until_ready(
        client,
        "KafkaACL",
        {
            "clusterRef": {"name": "local"},
            "principalFrom": {"secretKeyRef": {"name": "eq"}},
            "resource": {"type": "Topic", "name": "eq.t"},
            "operations": ["Describe"],
        },
        rel,
        "eqa",
    )
    assert status["principal"] == "User:CN=a\\=b\\#c,OU=team-a,O=Example Corp,C=DE"
    eventually(lambda: can_describe(odd_broker, "eq", "eq.t"), timeout=20)


@pytest.mark.parametrize("what", ["key of another certificate", "ca that is no PEM"])
def test_unusable_credentials_are_a_condition_not_a_500(odd_broker, what):
    client = create_app().test_client()
    if what.startswith("key"):
        rel = related(odd_broker, key=odd_broker.identity("orders").key_pem)
    else:
        rel = related(odd_broker, ca="not a pem")
    code, answer = sync(
        client, "KafkaTopic", {"clusterRef": {"name": "local"}, "topicName": "cred.t"}, rel
    )
    assert code == 200
    ready = answer["status"]["conditions"][0]
    assert ready["status"] == "False" and ready["reason"] in (
        "CredentialsInvalid",
        "ClusterUnreachable",
    )


def test_status_holds_still_while_the_cluster_is_unreachable(odd_broker):
    client = create_app({"BUDGET_SECONDS": 3}).test_client()
    rel = related(odd_broker, ca=odd_broker.other_ca_pem)
    spec = {"clusterRef": {"name": "local"}, "topicName": "churn.t"}
    answers = []
    status = None
    for _ in range(3):
        _, answer = sync(client, "KafkaTopic", spec, rel, status)
        status = answer["status"]
        answers.append(json.dumps(status, sort_keys=True))
    assert len(set(answers)) == 1, answers
