"""The deadlines of a school year's plan (submission to the district, the sector database
update), from the settings DEADLINES and DEADLINES_BY_PROVINCE (checked in app.config)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l

from app import clock
from app.schools.years import FIRST_MONTH

LABELS = {"submit_to_district": _l("Self-assessment submitted to the district"),
          "sector_database": _l("Sector database updated")}


@dataclass(frozen=True)
class Deadline:
    """``key`` (a DEADLINE_KEYS name), what is due, the day, and the days left from
    ``today`` (0 on the day, negative once passed)."""

    key: str
    label: str
    due: date
    days_left: int


def due_day(month_day: str, school_year: str) -> date:
    """The day "MM-DD" falls on in ``school_year`` ("2026-2027"): August to December in
    its first calendar year, January to July in its second."""
    month, day = (int(part) for part in month_day.split("-"))
    first = int(school_year.split("-")[0])
    return date(first if month >= FIRST_MONTH else first + 1, month, day)


def deadlines_of(province: str, school_year: str, today: date | None = None) -> list[Deadline]:
    """The deadlines of ``school_year`` for a school of ``province`` (its own dates where
    DEADLINES_BY_PROVINCE gives some, names compared without regard to case or Unicode
    form), earliest first."""
    today = today or clock.today()
    config = current_app.config
    dates = dict(config["DEADLINES"])
    wanted = _folded(province)
    for name, own in config["DEADLINES_BY_PROVINCE"].items():
        if _folded(name) == wanted:
            dates.update(own)
    found = [Deadline(key, str(LABELS[key]), due, (due - today).days)
             for key, due in ((key, due_day(value, school_year)) for key, value in dates.items())]
    return sorted(found, key=lambda deadline: deadline.due)


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name or "").strip().casefold()
