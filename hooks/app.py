"""The Flask app that Metacontroller calls.

Routes are ``/hooks/<kind>/customize``, ``/hooks/<kind>/sync`` and
``/hooks/<kind>/finalize`` for each kind in ``KINDS``, plus ``/healthz``,
``/readyz`` and ``/metrics``. Errors map to HTTP status here and only here:
a request the hook cannot understand is a 400, an overloaded worker a 429,
a bug a 500; a bad object is a 200 whose status says what is wrong.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from . import logs
from .core.request import Parent, RequestError, SyncRequest, parse_parent, parse_sync
from .metrics import Metrics
from .reconcile import access, acl, cluster, topic
from .reconcile.common import Env


@dataclass(frozen=True)
class Kind:
    kind: str
    customize: Callable[[Parent, Env], dict[str, Any]]
    sync: Callable[[SyncRequest, Env], dict[str, Any]]


KINDS: dict[str, Kind] = {
    "kafkacluster": Kind(cluster.KIND, cluster.customize, cluster.sync),
    "kafkatopic": Kind(topic.KIND, topic.customize, topic.sync),
    "kafkaacl": Kind(acl.KIND, acl.customize, acl.sync),
    "kafkaaccess": Kind(access.KIND, access.customize, access.sync),
}

DEFAULTS: dict[str, Any] = {
    "OPERATOR_NAMESPACE": "kafka-access",
    "HOOK_TOKEN": None,
    "BUDGET_SECONDS": 7.0,
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    # One thread fewer than gunicorn gives a worker, so a spare thread is always
    # free to answer 429 at once instead of letting a call wait in the queue
    # past Metacontroller's timeout.
    "MAX_CONCURRENT": max(1, int(os.environ.get("GUNICORN_THREADS") or 6) - 1),
    "LOG_LEVEL": "INFO",
    "CLIENTS": None,
    "CLOCK": None,
    "MSK": None,
}
_ENV = {
    "OPERATOR_NAMESPACE": "KAFKA_ACCESS_OPERATOR_NAMESPACE",
    "HOOK_TOKEN": "KAFKA_ACCESS_HOOK_TOKEN",
    "BUDGET_SECONDS": "KAFKA_ACCESS_BUDGET_SECONDS",
    "MAX_CONTENT_LENGTH": "KAFKA_ACCESS_MAX_REQUEST_BYTES",
    "MAX_CONCURRENT": "KAFKA_ACCESS_MAX_CONCURRENT",
    "LOG_LEVEL": "KAFKA_ACCESS_LOG_LEVEL",
}


def _settings(config: Mapping[str, Any] | None) -> dict[str, Any]:
    settings = dict(DEFAULTS)
    for key, var in _ENV.items():
        if os.environ.get(var):
            settings[key] = os.environ[var]
    token_file = os.environ.get("KAFKA_ACCESS_HOOK_TOKEN_FILE")
    if token_file:
        with open(token_file, encoding="utf-8") as handle:
            settings["HOOK_TOKEN"] = handle.read().strip()
    settings.update(config or {})
    for key in ("BUDGET_SECONDS",):
        settings[key] = float(settings[key])
    for key in ("MAX_CONTENT_LENGTH", "MAX_CONCURRENT"):
        settings[key] = int(settings[key])
    return settings


def _env(settings: dict[str, Any], logger: Any) -> Env:
    clients = settings["CLIENTS"]
    if clients is None:
        from .shell.kafka import ClientCache

        clients = ClientCache()
    msk = settings["MSK"]
    if msk is None:
        from .shell.msk import MskResolver

        msk = MskResolver()
    env = Env(
        clients=clients,
        operator_namespace=settings["OPERATOR_NAMESPACE"],
        budget_seconds=settings["BUDGET_SECONDS"],
        msk=msk,
        logger=logger,
    )
    if settings["CLOCK"] is not None:
        env.clock = settings["CLOCK"]
    return env


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides the defaults and the environment."""
    settings = _settings(config)
    logger = logs.configure(settings["LOG_LEVEL"])
    app = Flask(__name__)
    app.config.update(settings)
    env = _env(settings, logger)
    metrics = Metrics()
    env.metrics = metrics
    slots = threading.BoundedSemaphore(settings["MAX_CONCURRENT"])
    app.extensions["kafka_access"] = {"env": env, "metrics": metrics}

    @app.before_request
    def _authorize() -> Any:
        token = settings["HOOK_TOKEN"]
        if not token or not request.path.startswith("/hooks/"):
            return None
        sent = request.headers.get("Authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return None
        return _error(401, "this hook requires 'Authorization: Bearer <token>'")

    @app.errorhandler(413)
    def _too_large(_: Any) -> Any:
        return _error(413, f"request bodies are limited to {settings['MAX_CONTENT_LENGTH']} bytes")

    @app.errorhandler(404)
    def _not_found(_: Any) -> Any:
        return _error(
            404, f"no hook at {request.path}; hooks live at /hooks/<kind>/customize|sync|finalize"
        )

    @app.errorhandler(405)
    def _not_allowed(_: Any) -> Any:
        return _error(405, f"{request.method} is not allowed here; Metacontroller POSTs JSON")

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> Any:
        return jsonify(status="ready")

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.exposition(), mimetype="text/plain; version=0.0.4")

    @app.post("/hooks/<kind>/<hook>")
    def hook(kind: str, hook: str) -> Any:
        spec = KINDS.get(kind)
        if spec is None or hook not in ("customize", "sync", "finalize"):
            return _error(
                404, f"no hook {hook!r} for kind {kind!r}; kinds are {', '.join(sorted(KINDS))}"
            )
        if not slots.acquire(blocking=False):
            metrics.calls.labels(spec.kind, hook, "overloaded").inc()
            response = _error(429, "this hook worker is busy; retry shortly")
            response.headers["Retry-After"] = "1"
            return response
        started = time.monotonic()
        outcome = "ok"
        body: Any = None
        try:
            try:
                body = request.get_json(silent=True)
            except RecursionError:
                body = None
            if body is None:
                outcome = "bad_request"
                return _error(400, "expected a JSON body with Content-Type: application/json")
            if hook == "customize":
                return jsonify(spec.customize(parse_parent(body, spec.kind), env))
            return jsonify(spec.sync(parse_sync(body, spec.kind), env))
        except RequestError as error:
            outcome = "bad_request"
            return _error(400, str(error))
        except HTTPException:
            outcome = "bad_request"
            raise
        except Exception:
            outcome = "error"
            logger.exception(
                "hook failed",
                extra={"fields": {"kind": spec.kind, "hook": hook, **_identity(body)}},
            )
            return _error(500, "the hook failed; see its log")
        finally:
            slots.release()
            metrics.calls.labels(spec.kind, hook, outcome).inc()
            metrics.latency.labels(spec.kind, hook).observe(time.monotonic() - started)

    return app


def _identity(body: Any) -> dict[str, Any]:
    """The parent's namespace and name, if the body has them, for a log line."""
    parent = body.get("parent") if isinstance(body, dict) else None
    meta = parent.get("metadata") if isinstance(parent, dict) else None
    if not isinstance(meta, dict):
        return {}
    return {k: meta[k] for k in ("namespace", "name") if isinstance(meta.get(k), str)}


def _error(code: int, message: str) -> Any:
    response = jsonify(error=message)
    response.status_code = code
    return response
