"""What a school's dashboard shows, read in a fixed number of queries however many
criteria, documents, rooms or sealed years the school has: the live score, what blocks
approval, what waits for the user, evidence coverage per criterion, broken equipment by
room, the year's deadlines and the groups' points year on year."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import aliased

from app.accounts.models import User
from app.accounts.policy import can
from app.assessments import services as assessments
from app.assessments.models import SEALED_STATUSES, Assessment, SealedResult
from app.dashboard import charts
from app.evidence.facts import evidence_states
from app.evidence.models import EvidenceDocument, EvidenceFile, EvidenceLink, LinkStatus
from app.extensions import db
from app.framework.engine import Scorecard
from app.framework.scores import live_scorecard
from app.framework.services import framework
from app.i18n import format_number
from app.inventory.models import Equipment, EquipmentStatus, Room
from app.schools.deadlines import Deadline, deadlines_of
from app.schools.models import School

REJECTED_SHOWN = 20
YEARS_SHOWN = 4  # sealed years in the chart (the latest) besides this year: room on a phone
OUT_OF_ORDER = (EquipmentStatus.BROKEN, EquipmentStatus.IN_REPAIR)


@dataclass(frozen=True)
class RejectedEvidence:
    code: str
    criterion: str
    comment: str
    reviewer: str | None
    reviewed_at: datetime | None
    evidence_id: int
    title: str


@dataclass(frozen=True)
class Coverage:
    """A criterion's sub-items (or the criterion itself, when it has none) by the state
    of their evidence: accepted, only awaiting review, or none (``missing`` codes)."""

    code: str
    title: str
    accepted: int
    pending: int
    missing: tuple[str, ...]


@dataclass(frozen=True)
class RoomOutOfOrder:
    """Equipment broken or in repair in one room (``room_id`` None: not in a room)."""

    room_id: int | None
    room: str
    broken: int
    in_repair: int


@dataclass
class SchoolDashboard:
    school: School
    year: str
    card: Scorecard
    blockers: list[dict]
    warnings: list[dict]
    rejected: list[RejectedEvidence]
    coverage: list[Coverage]
    out_of_order: list[RoomOutOfOrder]
    deadlines: list[Deadline]
    submitted: bool  # the year is approved (sealed): the submission deadline is met
    criteria_chart: str
    years_chart: str
    years: list[charts.YearColumn] = field(default_factory=list)


def school_dashboard(user: User, school: School, today: date | None = None) -> SchoolDashboard:
    """The dashboard of ``school``'s current year as ``user`` sees it; ``today`` fixes the
    day the deadlines count from (default: today)."""
    year = school.school_year
    card = live_scorecard(school)
    status = assessments.assessment_of(school, year).status
    sealed = status in SEALED_STATUSES
    years = year_columns(school, card)
    return SchoolDashboard(
        school=school, year=year, card=card,
        blockers=[] if sealed else assessments.blockers(school.id, year),
        warnings=[] if sealed else assessments.warnings(card),
        rejected=rejected_evidence(user, school.id, year) if can(user, "evidence.edit", school) else [],
        coverage=coverage(card, evidence_states(school.id, year)),
        out_of_order=out_of_order(school.id), deadlines=deadlines_of(school.province, year, today),
        submitted=sealed, criteria_chart=criteria_chart(card), years_chart=years_chart(years), years=years)


def rejected_evidence(user: User, school_id: int, year: str) -> list[RejectedEvidence]:
    """The year's rejected links on live documents ``user`` created or uploaded a version
    of, newest review first (at most REJECTED_SHOWN), with the reviewer's comment."""
    reviewer = aliased(User)
    uploaded = exists().where(EvidenceFile.document_id == EvidenceDocument.id, EvidenceFile.uploaded_by_id == user.id)
    rows = db.session.execute(
        select(EvidenceLink.code, EvidenceLink.criterion, EvidenceLink.comment, reviewer.full_name,
               EvidenceLink.reviewed_at, EvidenceDocument.id, EvidenceDocument.title)
        .join(EvidenceDocument, EvidenceDocument.id == EvidenceLink.document_id)
        .outerjoin(reviewer, reviewer.id == EvidenceLink.reviewed_by_id)
        .where(EvidenceLink.school_id == school_id, EvidenceLink.school_year == year,
               EvidenceLink.status == LinkStatus.REJECTED, EvidenceLink.removed_at.is_(None),
               EvidenceDocument.removed_at.is_(None),
               or_(EvidenceDocument.created_by_id == user.id, uploaded))
        .order_by(EvidenceLink.reviewed_at.desc(), EvidenceLink.id.desc()).limit(REJECTED_SHOWN))
    return [RejectedEvidence(*row) for row in rows]


def coverage(card: Scorecard, states: dict[str, str]) -> list[Coverage]:
    """Each criterion's evidence coverage from the engine's evidence facts (``states``:
    code → "accepted" or "linked"); evidence linked to a criterion covers its sub-items,
    as in the score."""
    found = []
    for criterion in card.criteria:
        codes = [item.code for item in criterion.items] or [criterion.code]
        tally: Counter = Counter()
        missing = []
        for code in codes:
            state = max((states.get(code, ""), states.get(criterion.code, "")),
                        key=("", "linked", "accepted").index)
            if state:
                tally[state] += 1
            else:
                missing.append(code)
        found.append(Coverage(criterion.code, criterion.title, tally["accepted"], tally["linked"], tuple(missing)))
    return found


def out_of_order(school_id: int) -> list[RoomOutOfOrder]:
    """The rooms holding broken or in-repair equipment, by room name (equipment in no
    room last), in one grouped query."""
    rows = db.session.execute(
        select(Equipment.room_id, Room.name, Equipment.status, func.count(Equipment.id))
        .outerjoin(Room, Room.id == Equipment.room_id)
        .where(Equipment.school_id == school_id, Equipment.status.in_(OUT_OF_ORDER))
        .group_by(Equipment.room_id, Room.name, Equipment.status))
    rooms: dict[int | None, dict] = {}
    for room_id, name, status, number in rows:
        entry = rooms.setdefault(room_id, {"name": name or "", EquipmentStatus.BROKEN: 0,
                                           EquipmentStatus.IN_REPAIR: 0})
        entry[status] = number
    found = [RoomOutOfOrder(room_id, entry["name"], entry[EquipmentStatus.BROKEN], entry[EquipmentStatus.IN_REPAIR])
             for room_id, entry in rooms.items()]
    return sorted(found, key=lambda room: (room.room_id is None, room.room.casefold()))


def year_columns(school: School, card: Scorecard) -> list[charts.YearColumn]:
    """The groups' points and levels of each earlier year with a sealed result in force
    (the latest YEARS_SHOWN), from its snapshot, then this year's live score."""
    rows = db.session.execute(
        select(SealedResult.school_year, SealedResult.snapshot)
        .join(Assessment, Assessment.sealed_id == SealedResult.id)
        .where(Assessment.school_id == school.id, Assessment.status.in_(SEALED_STATUSES),
               Assessment.school_year != school.school_year)
        .order_by(Assessment.school_year.desc()).limit(YEARS_SHOWN)).all()
    columns = [charts.YearColumn(year, tuple(
        charts.GroupValue(_("G%(code)s", code=group["code"]), group["points"], group["max"], group.get("level"))
        for group in snapshot["score"]["groups"])) for year, snapshot in reversed(rows)]
    columns.append(charts.YearColumn(school.school_year, tuple(
        charts.GroupValue(_("G%(code)s", code=group.code), group.points, group.max, group.level)
        for group in card.groups), live=True, note=_("now, live")))
    return columns


def criteria_chart(card: Scorecard) -> str:
    bars = [charts.CriterionBar(criterion.code, criterion.points, criterion.evidenced_points, criterion.max,
                                criterion.level, f"{format_number(criterion.points)}/{criterion.max}")
            for criterion in card.criteria if not criterion.mandatory]
    described = "; ".join(
        _("%(code)s: %(points)s of %(max)s points, %(evidenced)s backed by accepted evidence",
          code=bar.code, points=format_number(bar.points), max=bar.max, evidenced=format_number(bar.evidenced))
        for bar in bars)
    return charts.criterion_bars(bars, _("Points per criterion, claimed and evidenced"), described)


def years_chart(columns: list[charts.YearColumn]) -> str:
    thresholds = [(band.threshold, _("Level %(n)d", n=band.level))
                  for band in framework().group_levels if band.threshold is not None]
    described = "; ".join(
        f"{column.year}{' (' + column.note + ')' if column.note else ''}: " + ", ".join(
            _("%(group)s %(points)s points, level %(level)s", group=value.name, points=format_number(value.points),
              level=value.level) for value in column.groups)
        for column in columns)
    return charts.year_on_year(columns, thresholds, _("Group points year on year"), described)
