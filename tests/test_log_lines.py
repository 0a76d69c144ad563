"""LOG_FORMAT=text keeps every record on its own line, whatever its message quotes."""

from __future__ import annotations

import logging

from app.ops.logs import TextFormatter

FORGED = "/x\n2026-12-03 07:00:00 ERROR portal.request: forged\r\x1b[2J\u2028\x85\u202e"


def _record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("app", logging.ERROR, __file__, 1, message, args, exc_info)


def test_a_message_quoting_a_path_stays_one_line():
    written = TextFormatter().format(_record("Unhandled error on %s %s", "GET", FORGED))
    assert written.splitlines() == [written]
    assert "\x1b" not in written and "\u202e" not in written
    assert written.endswith(r"ERROR app: Unhandled error on GET /x\u000a2026-12-03 07:00:00 ERROR portal.request: "
                            r"forged\u000d\u001b[2J\u2028\u0085\u202e")


def test_a_traceback_still_follows_on_the_lines_below():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        written = TextFormatter().format(_record("Failed on %s", "/x", exc_info=sys.exc_info()))
    first, *rest = written.split("\n")
    assert first.endswith("ERROR app: Failed on /x") and rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: boom"


def test_a_traceback_holds_no_terminal_control_of_its_message():
    try:
        raise ValueError("x\r\x1b[2Jy\u202e")
    except ValueError:
        import sys
        written = TextFormatter().format(_record("Failed", exc_info=sys.exc_info()))
    assert written.split("\n")[-1] == r"ValueError: x\u000d\u001b[2Jy\u202e"
