"""The real thing: one mTLS broker and one gunicorn hook server per test session.

``world`` plays Metacontroller against the hook; ``admin`` is an independent
operator connection that tests check the broker's state with.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from testbroker import Broker  # noqa: E402

from tools import driver  # noqa: E402

TOKEN = "integration-test-token"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    instance = Broker(tmp_path_factory.mktemp("broker"))
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def hook_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("hook") / "gunicorn.log"
    server = driver.serve(
        log, env={"KAFKA_ACCESS_HOOK_TOKEN": TOKEN, "KAFKA_ACCESS_LOG_LEVEL": "DEBUG"}
    )
    yield server
    server.stop()


@pytest.fixture
def world(broker, hook_server):
    """A fresh Metacontroller view with the cluster ``local`` and its Secret."""
    hook = driver.HookClient(hook_server.url, token=TOKEN)
    world = driver.World(hook)
    operator = broker.identity("operator")
    world.apply(driver.cluster_object("local", broker.bootstrap))
    world.apply(
        driver.credentials_secret(
            "local", "kafka-access", broker.ca_pem, operator.cert_pem, operator.key_pem
        )
    )
    return world


@pytest.fixture(scope="session")
def admin(broker):
    return broker.admin_client("operator")


@pytest.fixture
def unique():
    """A short unique suffix, so tests never share a topic."""
    return uuid.uuid4().hex[:8]


def eventually(check, timeout: float = 20.0, interval: float = 0.2):
    """Poll ``check`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except AssertionError as error:
            last = error
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s: {last}")
