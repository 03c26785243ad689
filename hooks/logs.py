"""JSON log lines: one object a line, with the fields a logger adapter bound."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

_HANDLER_NAME = "kafka-access-json"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({k: v for k, v in fields.items() if v is not None})
        if record.exc_info and record.exc_info[0] is not None:
            # The type and place only: an exception's text may quote a request.
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, sort_keys=True, default=str)


def configure(level: str = "INFO") -> logging.Logger:
    """Give the project's logger one JSON handler, unless it has one already."""
    logger = logging.getLogger("kafka_access")
    logger.setLevel(level.upper())
    if not any(getattr(h, "name", None) == _HANDLER_NAME for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.name = _HANDLER_NAME
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    return logger
