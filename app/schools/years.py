"""School years ("2026-2027"). The calendar's school year starts on 1 August; each
school works in its own ``School.school_year`` until its principal starts the next."""

from __future__ import annotations

import re
from datetime import date

SCHOOL_YEAR = re.compile(r"([0-9]{4})-([0-9]{4})")  # ASCII digits, matched whole
FIRST_MONTH = 8  # August


def calendar_school_year(today: date | None = None) -> str:
    """The school year ``today`` falls in, e.g. ``"2026-2027"``."""
    today = today or date.today()
    start = today.year if today.month >= FIRST_MONTH else today.year - 1
    return f"{start}-{start + 1}"


def is_school_year(text: str) -> bool:
    match = SCHOOL_YEAR.fullmatch(text or "")
    return bool(match) and int(match.group(2)) == int(match.group(1)) + 1


def next_school_year(year: str) -> str:
    start = int(year.split("-")[0]) + 1
    return f"{start}-{start + 1}"


def previous_school_year(year: str) -> str:
    start = int(year.split("-")[0]) - 1
    return f"{start}-{start + 1}"


def first_day(year: str) -> date:
    return date(int(year.split("-")[0]), FIRST_MONTH, 1)
