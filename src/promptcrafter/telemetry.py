"""What the server tells its operator (OPERATIONS.md): request ids, one log line per request,
and log lines as JSON objects.

A request's line names its method, its route template (`/prompts/{prompt_id:path}`, never the
path itself, which holds ids), status, duration and user id: never a token, a password or a body.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any

ACCESS = logging.getLogger("promptcrafter.access")
# A client's own request id is kept when it is this tame; anything else gets a new one.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# What a record carries beyond the standard attributes, as `extra=`.
# (uvicorn's `color_message` is its message again, with terminal colours.)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


def request_id(sent: bytes | None) -> str:
    """The client's `X-Request-ID` when it is a sane one, else a new random one."""
    if sent is not None:
        text = sent.decode("latin-1")
        if _SANE_ID.fullmatch(text):
            return text
    return os.urandom(16).hex()


def log_request(
    *, request_id: str, method: str, route: str | None, status: int, started: float, user_id: str | None
) -> None:
    """The request's one line in the access log."""
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    ACCESS.info(
        "%s %s %d %.1f ms",
        method,
        route or "-",
        status,
        duration_ms,
        extra={
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "user_id": user_id,
        },
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's extra fields, and the
    exception's traceback as one string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((name, value) for name, value in vars(record).items() if name not in _STANDARD)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def logging_config(log_format: str, *, access_log: bool) -> dict[str, Any]:
    """The `logging.config.dictConfig` of a server: uvicorn's loggers and ours, in text or JSON."""
    formatter = (
        {"()": f"{__name__}.JsonFormatter"}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stdout"}},
        "loggers": {
            "uvicorn": {"handlers": ["main"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "promptcrafter": {"handlers": ["main"], "level": "INFO", "propagate": False},
            "promptcrafter.access": {
                "handlers": ["main"] if access_log else [],
                "level": "INFO",
                "propagate": False,
            },
        },
    }
