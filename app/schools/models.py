"""Districts (Phòng GD&ĐT areas) and the schools in them."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import enum_type
from app.extensions import UTCDateTime, db, utcnow
from app.schools.years import calendar_school_year
from app.scope import Scope


class SchoolLevel(enum.StrEnum):
    TIEU_HOC = "tieu_hoc"
    THCS = "thcs"
    THPT = "thpt"
    LIEN_CAP = "lien_cap"
    GDTX = "gdtx"

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])


LEVEL_LABELS = {
    SchoolLevel.TIEU_HOC: _l("Primary school"),
    SchoolLevel.THCS: _l("Lower secondary school"),
    SchoolLevel.THPT: _l("Upper secondary school"),
    SchoolLevel.LIEN_CAP: _l("Multi-level school"),
    SchoolLevel.GDTX: _l("Continuing education centre"),
}


class District(db.Model):
    """A district (quận/huyện) of a province; district officers and schools belong to one."""

    __tablename__ = "districts"
    __table_args__ = (UniqueConstraint("province", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    province: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    schools: Mapped[list[School]] = relationship(back_populates="district", order_by="School.name")

    def access_scope(self) -> Scope:
        return Scope(district_id=self.id)

    def __str__(self) -> str:
        return f"{self.name}, {self.province}"


def new_score_stamp() -> str:
    """A random ``School.score_stamp``: a new one tells every app server the score changed."""
    return secrets.token_hex(8)


class School(db.Model):
    __tablename__ = "schools"
    SCORE_FIELDS = ("largest_class_size", "school_year")  # the school's own fields the score reads
    __table_args__ = (
        CheckConstraint("students >= 0 AND teachers >= 0 AND classes >= 0 AND largest_class_size >= 0",
                        name="counts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[SchoolLevel] = mapped_column(enum_type(SchoolLevel, "school_level"))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    students: Mapped[int] = mapped_column(Integer, default=0)
    teachers: Mapped[int] = mapped_column(Integer, default=0)
    classes: Mapped[int] = mapped_column(Integer, default=0)
    largest_class_size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A new random stamp with every change the live score reads (see app.framework.scores):
    # a computed score is reused only while the stamp it was computed under is current.
    score_stamp: Mapped[str] = mapped_column(String(32), default=new_score_stamp, server_default="")
    # The school year the school works in (its live score is this year's); see start_next_year.
    school_year: Mapped[str] = mapped_column(String(9), default=lambda: calendar_school_year())

    district: Mapped[District] = relationship(back_populates="schools")

    def access_scope(self) -> Scope:
        return Scope(school_id=self.id, district_id=self.district_id)

    def renew_score_stamp(self) -> None:
        """Mark the live score as changed (for writes the ORM's flush does not see)."""
        self.score_stamp = new_score_stamp()

    @property
    def province(self) -> str:
        return self.district.province

    def __str__(self) -> str:
        return self.name
