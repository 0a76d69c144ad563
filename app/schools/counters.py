"""Per-school number series (generated asset tags ``PC-0041``, evidence codes
``H1-1.3-02``): numbers taken from one counter row per school and series, so concurrent
requests never get the same number and nobody reads a whole table to find the next."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class SchoolCounter(db.Model):
    """The last number given in one series of one school (``PC`` → 41 means ``PC-0041``
    was the last generated tag). Taking numbers updates this row, which the database
    locks until the transaction ends."""

    __tablename__ = "school_counters"

    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


def take_numbers(school_id: int, series: str, count: int, highest_given: Callable[[], int] = lambda: 0) -> range:
    """``count`` new numbers of ``series`` in the school, in one locking statement. A new
    series starts after ``highest_given()`` (numbers already in use before the counter)."""
    table = SchoolCounter.__table__
    last = db.session.scalar(select(table.c.last_number).where(table.c.school_id == school_id,
                                                               table.c.prefix == series))
    if last is None:
        last = highest_given()
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    taken = db.session.scalar(
        dialect.insert(table).values(school_id=school_id, prefix=series, last_number=last + count)
        .on_conflict_do_update(index_elements=[table.c.school_id, table.c.prefix],
                               set_={"last_number": table.c.last_number + count})
        .returning(table.c.last_number))
    return range(taken - count + 1, taken + 1)
