"""What the planner stores: a school's saved plans (a named list of CHANGE objects, its
projection recomputed whenever it is opened) and the unit prices admins and district
officers set over the index file's defaults."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import UTCDateTime, db, utcnow
from app.inventory.models import NEVER_REUSED_IDS
from app.schools.models import School
from app.scope import Scope


class Plan(db.Model):
    """A named set of hypothetical ``changes`` (the API's CHANGE objects, in order) for
    ``school`` in ``school_year``."""

    __tablename__ = "plans"
    __table_args__ = (NEVER_REUSED_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(200))
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    school: Mapped[School] = relationship()
    created_by = relationship("User")

    __mapper_args__ = {"version_id_col": version}  # two editors never overwrite each other (app.versions)

    def access_scope(self) -> Scope:
        return Scope(school_id=self.school_id, district_id=self.school.district_id)


class UnitPrice(db.Model):
    """A price (whole VND) set over the index default for ``key`` (a UNIT_PRICE_KEYS name
    or ``capability:<capability>``): portal-wide when ``district_id`` is None, else for the
    schools of that district."""

    __tablename__ = "unit_prices"
    __table_args__ = (UniqueConstraint("district_id", "key"),
                      # NULLs differ in a unique constraint: one portal-wide price per key needs its own index.
                      Index("uq_unit_prices_portal_key", "key", unique=True, sqlite_where=text("district_id IS NULL"),
                            postgresql_where=text("district_id IS NULL")),
                      CheckConstraint("amount_vnd >= 0 AND amount_vnd <= 1000000000000", name="amount_range"),
                      NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
