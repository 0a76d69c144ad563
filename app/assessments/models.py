"""A school year's assessment: its state in the yearly process, and the sealed results
its approvals froze.

The row of a (school, year) is created by its first transition; until then the year is
a draft. ``SealedResult`` rows are never changed or deleted: each approval adds one,
and the assessment points at the one in force while it is approved (and at the last one
after a reopen, so the portal can say what changed since)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import enum_type
from app.errors import Conflict
from app.extensions import UTCDateTime, db, utcnow
from app.framework.models import KeepsGroupFigures
from app.inventory.models import LABELS, NEVER_REUSED_IDS, LabelledEnum
from app.schools.models import School
from app.scope import Scope


class AssessmentStatus(LabelledEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    EVALUATED = "evaluated"
    RECOGNISED = "recognised"

    @property
    def sealed(self) -> bool:
        """Whether the year's result and evidence list are frozen in a sealed result."""
        return self in SEALED_STATUSES


SEALED_STATUSES = frozenset({AssessmentStatus.APPROVED, AssessmentStatus.EVALUATED, AssessmentStatus.RECOGNISED})

LABELS.update({AssessmentStatus: {
    "draft": _l("Draft"), "in_review": _l("In review"), "submitted": _l("Submitted for approval"),
    "approved": _l("Approved"), "evaluated": _l("Evaluated by the district"),
    "recognised": _l("Level recognised")}})


class Assessment(db.Model):
    """The self-assessment of ``school_year`` at ``school``; ``version`` guards every
    change (a stale one is refused, see app.versions)."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("school_id", "school_year"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    school_year: Mapped[str] = mapped_column(String(9))
    status: Mapped[AssessmentStatus] = mapped_column(enum_type(AssessmentStatus, "assessment_status"),
                                                     default=AssessmentStatus.DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")  # of the last change, when it needs one
    sealed_id: Mapped[int | None] = mapped_column(ForeignKey("sealed_results.id", ondelete="RESTRICT",
                                                             use_alter=True))

    school: Mapped[School] = relationship()
    changed_by = relationship("User")
    sealed: Mapped[SealedResult | None] = relationship(foreign_keys=[sealed_id])
    evaluation: Mapped[Evaluation | None] = relationship(uselist=False, viewonly=True)

    __mapper_args__ = {"version_id_col": version}

    def access_scope(self) -> Scope:
        return Scope(school_id=self.school_id, district_id=self.school.district_id)

    @property
    def in_force(self) -> SealedResult | None:
        """The sealed result that stands for the year, while the year is sealed."""
        return self.sealed if self.status.sealed else None


class SealedResult(KeepsGroupFigures, db.Model):
    """What one approval froze: ``snapshot`` (the school, the inventory facts, every
    sub-item's points and basis, the evidence list with each file's version and SHA-256,
    the approver and the time) and ``sha256``, the hash of its canonical JSON
    (app.assessments.sealing.canonical). ``manifest_key`` names the copy written to
    storage beside the files."""

    __tablename__ = "sealed_results"
    __table_args__ = (NEVER_REUSED_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="RESTRICT"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    school_year: Mapped[str] = mapped_column(String(9))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sealed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    manifest_key: Mapped[str] = mapped_column(String(300), default="")
    # A copy of snapshot["score"], which the district's pages read without the snapshot
    # (its evidence list can be large); outside the hash, checked by check_seal.
    score: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    sealed_by = relationship("User")


class Evaluation(KeepsGroupFigures, db.Model):
    """The district's external evaluation of an approved assessment: ``items`` maps
    sub-item codes to {"points", "reason"} (never above the sealed ceiling), ``score`` is
    the scorecard the engine gives the sealed facts with them (the API's shape), and
    ``recognised`` the group levels the district recognised (group code → level or None)."""

    __tablename__ = "evaluations"
    __table_args__ = (NEVER_REUSED_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), unique=True)
    sealed_id: Mapped[int] = mapped_column(ForeignKey("sealed_results.id", ondelete="RESTRICT"))
    items: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evaluated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recognised: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recognised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recognised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    evaluated_by = relationship("User", foreign_keys=[evaluated_by_id])
    recognised_by = relationship("User", foreign_keys=[recognised_by_id])


def year_status(school_id: int, school_year: str) -> AssessmentStatus:
    """The state of ``school_year`` at the school (a year with no assessment row is a draft)."""
    status = db.session.scalar(select(Assessment.status).where(
        Assessment.school_id == school_id, Assessment.school_year == school_year))
    return status or AssessmentStatus.DRAFT


class Sealed(Conflict):
    """A change of what an approval sealed (the year's evidence, its reviews)."""

    code = "assessment_sealed"


def check_year_open(school_id: int, school_year: str) -> None:
    """Raise Sealed when ``school_year`` at the school is approved (or later). Locks the
    school's row first, as an approval does, so a change and an approval of the same year
    never both succeed: whichever comes second sees the other."""
    db.session.execute(select(School.id).where(School.id == school_id).with_for_update())
    if year_status(school_id, school_year).sealed:
        raise Sealed(_("School year %(year)s is approved: its evidence stays exactly as approved. The principal "
                       "can reopen the assessment to change it.", year=school_year))
