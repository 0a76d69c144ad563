"""Index files loaded by an administrator (``flask framework load``): a province's copy
with its own settings, or a later decision's index. Built-in files need no loading."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from app.extensions import UTCDateTime, db, utcnow
from app.scope import Scope


class StoredFramework(db.Model):
    __tablename__ = "frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)  # the YAML text as loaded, validated
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def access_scope(self) -> Scope:
        return Scope()


GROUP_FIGURES = ("code", "points", "max", "level", "recognised_level", "evidenced_points")


def group_figures(score: dict | None) -> list[dict[str, Any]]:
    """The groups of a score (the API's shape) with their figures only, without the
    suggestions: what a province's summary of a thousand schools reads."""
    return [{key: group.get(key) for key in GROUP_FIGURES} for group in (score or {}).get("groups", [])]


class KeepsGroupFigures:
    """A stored ``score`` with ``groups``, its group_figures, kept in step whenever the
    score is set (a small column to read instead of parsing every score's JSON)."""

    groups: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    @validates("score")
    def _keep_group_figures(self, _key, value):
        self.groups = group_figures(value)
        return value


class SchoolScore(KeepsGroupFigures, db.Model):
    """A school's last computed live score (the API's shape, in ``score``), of
    ``school_year``, under the score stamp it was computed with: what the district's
    pages read, so no page recomputes every school. Written in the transaction of every
    change the score reads (app.framework.scores); ``stamp`` differing from the school's
    means it waits for ``flask scores refresh`` (after an index file is loaded)."""

    __tablename__ = "school_scores"

    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    school_year: Mapped[str] = mapped_column(String(9))
    stamp: Mapped[str] = mapped_column(String(32))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    score: Mapped[dict[str, Any]] = mapped_column(JSON)
