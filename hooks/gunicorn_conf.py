"""Gunicorn settings for the hook server.

Metacontroller gives every hook call 10 seconds (the `timeout` in the
CompositeControllers) and retries a call that fails or runs over. These
settings keep the server inside that budget and say why each number is what
it is. Every value can be overridden from the environment (GUNICORN_*), so
the same file serves the image, a local run and the tests.

Gunicorn loads this file with exec, before the app and in the master process:
it must import nothing from the app and do no I/O beyond reading the
environment.
"""

import json
import logging
import os
import ssl


def _env_str(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}: expected an integer, got {raw!r}") from None


# Where to listen. The image sets GUNICORN_BIND=0.0.0.0:8080 so the Service
# can reach the pod; anywhere else the server stays on loopback unless told
# otherwise.
bind = [_env_str("GUNICORN_BIND", "127.0.0.1:8080")]

# Two processes of six threads each. The hooks spend most of a call waiting
# on Kafka (librdkafka releases the GIL while it waits), so threads give
# concurrency cheaply; a second process keeps one stuck interpreter from
# stalling every call. The app takes one call fewer than it has threads and
# answers the rest 429 at once; with 2 replicas that is 20 calls at once, as
# many as Metacontroller's 5 workers for each of the 4 controllers.
workers = _env_int("GUNICORN_WORKERS", 2)
threads = _env_int("GUNICORN_THREADS", 6)
worker_class = "gthread"

# Never load the app in the master: librdkafka starts threads that do not
# survive fork(), so each worker builds its own app and Kafka connections.
preload_app = False

# Newer gunicorn releases open a control socket under $HOME; the image's user
# has no home and a read-only root filesystem, and nothing here uses it.
# Older releases ignore the name.
control_socket_disable = True

# The webhook timeout is 10 s. A gthread worker's main loop keeps its
# heartbeat going while a request thread runs, so `timeout` does not end a
# slow request: it restarts a worker whose main loop has frozen. 9 s means a
# frozen worker is replaced about as fast as Metacontroller gives up on it.
# The per-request deadline belongs to the app, which takes its Kafka admin
# timeouts from what is left of the 10 s budget.
timeout = _env_int("GUNICORN_TIMEOUT", 9)

# On SIGTERM, a worker has one webhook budget to finish the calls it has.
# The pod's terminationGracePeriodSeconds (30) covers this plus the preStop
# sleep.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 10)

# Metacontroller's HTTP client keeps idle connections for 90 s (Go's
# default). A server that closes them sooner races the client reusing them,
# which shows up as failed calls, so keep them a little longer than that.
keepalive = _env_int("GUNICORN_KEEPALIVE", 95)

# Hook paths and headers are short; refuse anything far outside that early.
# The bodies (parent, children, related Secrets) are not limited here: the
# app sets its own maximum request size.
limit_request_line = _env_int("GUNICORN_LIMIT_REQUEST_LINE", 2048)
limit_request_fields = _env_int("GUNICORN_LIMIT_REQUEST_FIELDS", 50)
limit_request_field_size = _env_int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 4096)

# HTTPS, when both files are set (a cert-manager Secret mounted into the pod,
# for example). With a CA bundle as well, clients must present a certificate
# it signed: that is Metacontroller's clientTLS. Without them, plain HTTP.
_certfile = os.environ.get("GUNICORN_CERTFILE", "").strip()
_keyfile = os.environ.get("GUNICORN_KEYFILE", "").strip()
_ca_certs = os.environ.get("GUNICORN_CA_CERTS", "").strip()
if bool(_certfile) != bool(_keyfile):
    raise ValueError(
        "GUNICORN_CERTFILE and GUNICORN_KEYFILE: set both to serve HTTPS, or neither to serve HTTP"
    )
if _ca_certs and not _certfile:
    raise ValueError(
        "GUNICORN_CA_CERTS: client certificates need HTTPS; set "
        "GUNICORN_CERTFILE and GUNICORN_KEYFILE too"
    )
if _certfile:
    certfile = _certfile
    keyfile = _keyfile
if _ca_certs:
    ca_certs = _ca_certs
    cert_reqs = ssl.CERT_REQUIRED

# No access log: one line per sync would bury the lines that matter, and the
# app logs each applied change itself. Gunicorn's own messages go to stderr
# as JSON lines, like the app's.
accesslog = None
errorlog = "-"
loglevel = _env_str("GUNICORN_LOG_LEVEL", "info")


class JsonLineFormatter(logging.Formatter):
    """Formats a gunicorn log record as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


# Only gunicorn's loggers. The root logger gets no handler here (gunicorn's
# defaults would give it a plain-text one): it is the app's to configure.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"handlers": []},
    "formatters": {"json": {"()": JsonLineFormatter}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "gunicorn.error": {
            "level": loglevel.upper(),
            "handlers": ["stderr"],
            "propagate": False,
        },
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}
