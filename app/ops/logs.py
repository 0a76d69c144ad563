"""Structured logs: every log line is one JSON object, and every request writes one line
with its request id, the user and school, the route, the status and the duration.

What a line never holds: a password, a token, a cookie, a form or a file's content. The
request line is built from the method, the path (never the query string, where a search
may hold a person's name) and ids; other lines carry their message and, for errors, the
traceback. ``LOG_FORMAT = "text"`` gives plain lines for a developer's terminal, with the
same facts: ``... INFO portal.request: request GET /schools/1/rooms 200 12.3ms user=3
school=1 ip=192.168.1.23 id=...``."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_request_context, request

# Characters JSON leaves as they are but that some readers take as the end of a line
# (Python's splitlines, U+2028/9) or as terminal controls (C1), and the ones that turn
# text around on screen: written as \uXXXX, so one request stays one readable line.
UNSAFE_IN_LINE = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The same and the C0 controls (line breaks among them), which JSON escapes by itself.
UNSAFE_IN_TEXT = re.compile("[\x00-\x1f" + UNSAFE_IN_LINE.pattern[1:])
# Libraries whose debug lines carry what the portal's logs never hold (botocore's: the
# signed headers of each S3 request, the access key among them): INFO at most.
QUIET_BELOW_INFO = ("botocore", "boto3", "s3transfer", "urllib3")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # what a proxy's id may look like to be kept
FIELDS = ("request_id", "method", "path", "route", "status", "duration_ms", "user_id", "school_id", "remote_addr")
# The text format's names for the fields it writes as name=value, in its order.
TEXT_LABELS = (("user", "user_id"), ("school", "school_id"), ("ip", "remote_addr"), ("id", "request_id"))
log = logging.getLogger("portal.request")


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: time (UTC), level, logger, message, the request
    fields it carries, and the traceback of an error."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        line.update({name: getattr(record, name) for name in FIELDS if getattr(record, name, None) is not None})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return UNSAFE_IN_LINE.sub(_escaped, json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """A log record as a plain line: time, level, logger and message, then the request's
    method, path, status and duration and its ids as name=value (any of them the record
    carries), then the traceback of an error on the lines below. The message and the
    facts are written on one line whatever they quote (line breaks and terminal controls
    as \\uXXXX)."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        facts = []
        if getattr(record, "method", None) is not None:
            facts += [record.method, getattr(record, "path", None), getattr(record, "status", None)]
            duration = getattr(record, "duration_ms", None)
            facts.append(None if duration is None else f"{duration:g}ms")
        facts += [f"{label}={value}" for label, name in TEXT_LABELS
                  if (value := getattr(record, name, None)) is not None]
        written = " ".join(_one_line(str(fact)) for fact in facts if fact is not None)
        # The message too: it may quote a path, a file's name or a client's bytes.
        return _one_line(super().formatMessage(record)) + (f" {written}" if written else "")

    def formatException(self, ei) -> str:
        """The traceback on its lines, with no terminal control or bidi character of an
        error's message (a carriage return, an escape sequence)."""
        return "\n".join(_one_line(line) for line in super().formatException(ei).split("\n"))


def _one_line(text: str) -> str:
    """``text`` with line breaks, other control characters and the characters of
    UNSAFE_IN_LINE written as \\uXXXX."""
    return UNSAFE_IN_TEXT.sub(_escaped, text)


def _escaped(found: re.Match) -> str:
    """The character ``found`` as \\uXXXX."""
    return f"\\u{ord(found.group()):04x}"


def _records_with_request_id():
    """Every log record made during a request carries its id (the line of an error
    logged by Flask included), read when the record is made."""
    make = logging.getLogRecordFactory()
    if getattr(make, "adds_request_id", False):
        return

    def made(*args, **kwargs):
        record = make(*args, **kwargs)
        if has_request_context() and not hasattr(record, "request_id"):
            record.request_id = g.get("request_id")
        return record
    made.adds_request_id = True
    logging.setLogRecordFactory(made)


def configure(log_format: str = "json", level: str = "INFO") -> None:
    """Send the portal's, Flask's and gunicorn's logs to stderr in ``log_format``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the request line below replaces its own
    for name in QUIET_BELOW_INFO:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))


def register(app: Flask) -> None:
    _records_with_request_id()
    if not app.testing:
        configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    # Only a trusted proxy's id is kept (nginx sets its own on every request): a client
    # reaching the portal directly must not choose the id of its lines, or repeat another's.
    given = request.headers.get("X-Request-Id", "") if current_app.config["TRUSTED_PROXIES"] else ""
    g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response):
    started = g.get("request_started")
    if started is None:  # a request refused before this app's first hook ran
        return response
    response.headers["X-Request-Id"] = g.request_id
    user = g.get("_login_user")  # as Flask-Login loaded it for this request: no query here
    user = user if user is not None and user.is_authenticated else None
    school_id = (request.view_args or {}).get("school_id") or (user.school_id if user else None)
    log.info("request", extra={
        "method": request.method, "path": request.path,
        "route": request.url_rule.rule if request.url_rule else None, "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "user_id": user.id if user else None, "school_id": school_id, "remote_addr": request.remote_addr})
    return response
