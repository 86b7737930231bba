"""Structured JSON logs: one line per request with its id, route, status and timing; no content.

What people write in an intake is health information: no log line carries a body, a query
string or a value from one. Routes are logged as their rule (`/api/v1/therapists/<id>`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("matcher.requests")
# A query string inside a logged request line or URL, and anything gunicorn quotes from one.
QUERY_STRING = re.compile(r"\?[^\s'\"]*")
QUOTED = re.compile(r"'[^']*'")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger and the message's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        message = record.getMessage()
        try:
            fields = json.loads(message)
        except ValueError:
            fields = None
        if isinstance(fields, dict):
            entry.update(fields)
        elif record.name.startswith("gunicorn"):
            # gunicorn quotes a malformed request line (or a piece of it), query string
            # included, and either may carry what someone wrote: keep only gunicorn's words.
            entry["message"] = QUOTED.sub("'[removed]'", QUERY_STRING.sub("?[removed]", message))
        else:
            entry["message"] = message
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type and where it was raised, never its message or locals:
            # either could hold what someone wrote.
            entry["exception"] = record.exc_info[0].__name__
            tb = record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                entry["at"] = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        return json.dumps(entry, sort_keys=True)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return ""


def configure_logging(level: str) -> None:
    """Send every log record to stderr as JSON (once per process)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)


def install(app: Flask) -> None:
    """Give every request an id (X-Request-ID) and log it when it ends."""

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        started = g.get("started")
        log.info(
            json.dumps(
                {
                    "event": "request",
                    "request_id": request_id,
                    "method": request.method,
                    "route": request.url_rule.rule if request.url_rule else None,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
                },
                sort_keys=True,
            )
        )
        return response
