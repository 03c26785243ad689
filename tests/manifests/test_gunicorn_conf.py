"""Checks of hooks/gunicorn_conf.py: its numbers fit the webhook budget, the
environment overrides them, and gunicorn accepts every setting it makes.

The file is loaded the way gunicorn loads it (executed as a script), with a
controlled environment; no server is started.
"""

import os
import runpy
import ssl
from pathlib import Path

import pytest
from gunicorn.config import Config

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "hooks" / "gunicorn_conf.py"
WEBHOOK_TIMEOUT_SECONDS = 10


@pytest.fixture
def load(monkeypatch):
    """Load the config file with only the given GUNICORN_* variables set."""

    def _load(**env: str) -> dict:
        for name in [n for n in os.environ if n.startswith("GUNICORN_")]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(CONF))

    return _load


def _gunicorn_settings(values: dict) -> Config:
    config = Config()
    for name, value in values.items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_defaults_fit_the_webhook_budget(load):
    conf = load()

    assert conf["bind"] == ["127.0.0.1:8080"]
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (2, 6, "gthread")
    assert conf["timeout"] < WEBHOOK_TIMEOUT_SECONDS
    assert conf["graceful_timeout"] <= WEBHOOK_TIMEOUT_SECONDS
    assert conf["keepalive"] > 90  # Go's idle timeout on Metacontroller's side
    assert conf["preload_app"] is False
    assert conf["accesslog"] is None
    assert "certfile" not in conf


def test_gunicorn_accepts_every_setting(load):
    config = _gunicorn_settings(load())

    assert config.worker_class_str == "gthread"
    assert config.limit_request_line == 2048
    assert not config.is_ssl
    if "control_socket_disable" in config.settings:  # gunicorn releases that have one
        assert config.control_socket_disable is True


def test_the_image_binds_every_interface():
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")

    assert "ENV GUNICORN_BIND=0.0.0.0:8080" in dockerfile
    assert 'CMD ["gunicorn", "--config", "hooks/gunicorn_conf.py", "hooks.wsgi:app"]' in dockerfile


OVERRIDES = [
    # reason, environment, setting, want
    ("the bind address", {"GUNICORN_BIND": "0.0.0.0:9000"}, "bind", ["0.0.0.0:9000"]),
    ("more workers", {"GUNICORN_WORKERS": "4"}, "workers", 4),
    ("more threads", {"GUNICORN_THREADS": "8"}, "threads", 8),
    ("a longer timeout", {"GUNICORN_TIMEOUT": "20"}, "timeout", 20),
    ("a log level", {"GUNICORN_LOG_LEVEL": "debug"}, "loglevel", "debug"),
    ("blank means default", {"GUNICORN_WORKERS": " "}, "workers", 2),
]


@pytest.mark.parametrize(
    ("reason", "env", "setting", "want"), OVERRIDES, ids=[c[0] for c in OVERRIDES]
)
def test_environment_overrides(load, reason, env, setting, want):
    assert load(**env)[setting] == want, reason


def test_tls_when_both_files_are_set(load):
    conf = load(GUNICORN_CERTFILE="/tls/tls.crt", GUNICORN_KEYFILE="/tls/tls.key")

    assert (conf["certfile"], conf["keyfile"]) == ("/tls/tls.crt", "/tls/tls.key")
    assert "cert_reqs" not in conf


def test_client_certificates_when_a_ca_is_set(load):
    conf = load(
        GUNICORN_CERTFILE="/tls/tls.crt",
        GUNICORN_KEYFILE="/tls/tls.key",
        GUNICORN_CA_CERTS="/tls/ca.crt",
    )

    assert conf["ca_certs"] == "/tls/ca.crt"
    assert conf["cert_reqs"] == ssl.CERT_REQUIRED


MISCONFIGURED = [
    # reason, environment, want
    ("a certificate without a key", {"GUNICORN_CERTFILE": "/c"}, "set both"),
    ("a key without a certificate", {"GUNICORN_KEYFILE": "/k"}, "set both"),
    ("client certificates without HTTPS", {"GUNICORN_CA_CERTS": "/ca"}, "need HTTPS"),
    ("a number that is not one", {"GUNICORN_WORKERS": "two"}, "expected an integer, got 'two'"),
]


@pytest.mark.parametrize(
    ("reason", "env", "want"), MISCONFIGURED, ids=[c[0] for c in MISCONFIGURED]
)
def test_misconfiguration_is_refused_with_a_reason(load, reason, env, want):
    with pytest.raises(ValueError, match=want):
        load(**env)
