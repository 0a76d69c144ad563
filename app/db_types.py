"""Column helpers shared by every domain's models."""

from __future__ import annotations

import enum
import re

from sqlalchemy import Enum as SAEnum

MAX_ID = 2**31 - 1  # the largest id an integer primary key holds (PostgreSQL INTEGER)
ASCII_NUMBER = re.compile(r"[0-9]{1,10}")


def is_record_id(value: int) -> bool:
    """Whether ``value`` can be a record's id: a number outside this range would make the
    database refuse the query itself (an error, not "not found")."""
    return 1 <= value <= MAX_ID


def parse_id(text) -> int | None:
    """``text`` (typed, or from a URL or a form) as a record id, or None when it is not
    one: ASCII digits only (Python's ``int`` also reads ``'²'``-like digits of other
    scripts, or fails on them), within :func:`is_record_id`'s range."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        return None
    if isinstance(text, str):
        if not ASCII_NUMBER.fullmatch(text.strip()):
            return None
        text = int(text.strip())
    return text if is_record_id(text) else None


def enum_type(enum_cls: type[enum.Enum], name: str) -> SAEnum:
    """A portable enum column: VARCHAR plus a CHECK constraint listing the values
    (no native PostgreSQL type, so adding a value later is a plain migration)."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_cls),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
