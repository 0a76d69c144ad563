"""School years ("2026-2027"). The calendar's school year starts on 1 August; each
school works in its own ``School.school_year`` until its principal starts the next."""

from __future__ import annotations

import re
from datetime import date

from app import clock

SCHOOL_YEAR = re.compile(r"([0-9]{4})-([0-9]{4})")  # ASCII digits, matched whole
FIRST_MONTH = 8  # August
FIRST_YEAR, LAST_YEAR = 2000, 2099  # the first calendar years a school year may start in


def calendar_school_year(today: date | None = None) -> str:
    """The school year ``today`` falls in, e.g. ``"2026-2027"``."""
    today = today or clock.today()
    start = today.year if today.month >= FIRST_MONTH else today.year - 1
    return f"{start}-{start + 1}"


def is_school_year(text: str) -> bool:
    """Whether ``text`` names a school year the portal can hold: "2026-2027", starting in
    FIRST_YEAR..LAST_YEAR (a year like "0000-0001" has no calendar days to compute)."""
    match = SCHOOL_YEAR.fullmatch(text or "")
    return (bool(match) and int(match.group(2)) == int(match.group(1)) + 1
            and FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR)


def next_school_year(year: str) -> str:
    start = int(year.split("-")[0]) + 1
    return f"{start}-{start + 1}"


def previous_school_year(year: str) -> str:
    start = int(year.split("-")[0]) - 1
    return f"{start}-{start + 1}"


def first_day(year: str) -> date:
    return date(int(year.split("-")[0]), FIRST_MONTH, 1)
