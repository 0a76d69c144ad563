"""The district's view of its schools: each school's result for a year from what is
stored (the sealed result of an approved year, the district's evaluation once made, else
the school's stored live score), never recomputed per school per request; the schools of
a district side by side, and the districts of a province."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select

from app import clock
from app.assessments.models import SEALED_STATUSES, Assessment, AssessmentStatus, Evaluation, SealedResult
from app.extensions import db
from app.framework.models import SchoolScore
from app.schools.deadlines import deadlines_of
from app.schools.models import District, School, SchoolLevel
from app.schools.years import calendar_school_year
from app.search import fold
from app.text import sort_key

EVALUATED = frozenset({AssessmentStatus.EVALUATED, AssessmentStatus.RECOGNISED})
SUBMISSION = "submit_to_district"  # the deadline an approval (sealing) meets
PER_PAGE = 50


@dataclass(frozen=True)
class SchoolResult:
    """A school's standing in a year: ``status`` of its assessment, ``source`` of the
    figures ("evaluated", "sealed", "live" or None when nothing is stored), the score in
    the API's shape (or None; only its groups when read with ``groups_only``) and when
    the year was sealed (the submission to the district)."""

    school: School
    status: AssessmentStatus
    source: str | None
    score: dict | None
    sealed_at: datetime | None = None

    @property
    def groups(self) -> list[dict]:
        return self.score["groups"] if self.score else []

    @property
    def criteria(self) -> list[dict]:
        return [_trimmed(criterion) for criterion in (self.score or {}).get("criteria", [])]

    def group(self, code: str) -> dict | None:
        return next((group for group in self.groups if group["code"] == code), None)

    def criterion(self, code: str) -> dict | None:
        found = next((criterion for criterion in (self.score or {}).get("criteria", [])
                      if criterion["code"] == code), None)
        return None if found is None else _trimmed(found)

    def submitted_on(self) -> date | None:
        """The day (in Viet Nam) the year was sealed, if it is."""
        return clock.local(self.sealed_at).date() if self.sealed_at else None

    def late(self, due: date | None, today: date) -> bool:
        """Sealed after ``due``, or not sealed and ``due`` has passed."""
        if due is None:
            return False
        submitted = self.submitted_on()
        return submitted > due if submitted else today > due


def _trimmed(criterion: dict) -> dict:
    """A criterion of a stored score as the district's pages and API show it."""
    return {key: criterion[key] for key in ("code", "points", "level", "met")}


def results(schools: list[School], year: str | None, groups_only: bool = False) -> list[SchoolResult]:
    """The result of each of ``schools`` in ``year`` (each school's current year when
    None), in a fixed number of queries; ``groups_only`` reads just the groups' figures
    (what a province's summary needs: app.framework.models.group_figures)."""
    ids = [school.id for school in schools]
    wanted = {school.id: year or school.school_year for school in schools}
    of_year = select(Assessment.id, Assessment.school_id, Assessment.school_year, Assessment.status,
                     Assessment.sealed_id).where(Assessment.school_id.in_(ids))
    if year is not None:
        of_year = of_year.where(Assessment.school_year == year)
    assessments = {row.school_id: row for row in db.session.execute(of_year)
                   if row.school_year == wanted[row.school_id]}
    sealed_ids = [row.sealed_id for row in assessments.values() if row.status.sealed and row.sealed_id]
    # A sealed year's figures come from its seal (or the evaluation of it): its live score is not read.
    unsealed = [school_id for school_id in ids if school_id not in assessments
                or not (assessments[school_id].status.sealed and assessments[school_id].sealed_id)]
    if groups_only:
        sealed_score, evaluated_score, live_score = SealedResult.groups, Evaluation.groups, SchoolScore.groups
    else:
        sealed_score, evaluated_score, live_score = (SealedResult.score, Evaluation.score,
                                                     SchoolScore.score)
    shaped = (lambda groups: {"groups": groups or []}) if groups_only else (lambda score: score)
    sealed = {seal_id: (shaped(score), sealed_at) for seal_id, score, sealed_at in db.session.execute(
        select(SealedResult.id, sealed_score, SealedResult.sealed_at).where(SealedResult.id.in_(sealed_ids)))}
    evaluated = {assessment_id: shaped(score) for assessment_id, score in db.session.execute(
        select(Evaluation.assessment_id, evaluated_score).where(
            Evaluation.assessment_id.in_([row.id for row in assessments.values()])))}
    stored = {school_id: (school_year, shaped(score)) for school_id, school_year, score in db.session.execute(
        select(SchoolScore.school_id, SchoolScore.school_year, live_score).where(SchoolScore.school_id.in_(unsealed)))}
    found = []
    for school in schools:
        row = assessments.get(school.id)
        status = row.status if row else AssessmentStatus.DRAFT
        seal, sealed_at = sealed.get(row.sealed_id, (None, None)) if row is not None and status.sealed else (None, None)
        live_year, live = stored.get(school.id, (None, None))
        if row is not None and row.id in evaluated and status in EVALUATED:
            found.append(SchoolResult(school, status, "evaluated", evaluated[row.id], sealed_at))
        elif seal is not None:
            found.append(SchoolResult(school, status, "sealed", seal, sealed_at))
        elif live is not None and live_year == wanted[school.id]:
            found.append(SchoolResult(school, status, "live", live))
        else:
            found.append(SchoolResult(school, status, None, None))
    return found


@dataclass(frozen=True)
class Filters:
    """What a district's table is narrowed to: a school level, a status of the year's
    assessment, words of a school's name or code."""

    level: SchoolLevel | None = None
    status: AssessmentStatus | None = None
    q: str = ""


def schools_of(district_ids: list[int], year: str, filters: Filters = Filters()) -> list[School]:
    """The schools of ``district_ids`` matching ``filters`` in ``year``, in Vietnamese
    alphabetical order of their names; the words of ``filters.q`` are matched in names
    and codes without regard to case or diacritics ("chu van an" finds "Chu Văn An")."""
    schools = list(db.session.scalars(_matching(select(School), district_ids, year, filters)))
    words = fold(filters.q).split()
    if words:
        schools = [school for school in schools
                   if all(word in fold(f"{school.name} {school.code}") for word in words)]
    return sorted(schools, key=lambda school: (sort_key(school.name), school.id))


def _matching(query, district_ids: list[int], year: str, filters: Filters):
    """``query`` (of School or its columns) narrowed to ``district_ids`` and to the
    school level and assessment status of ``filters`` in ``year``."""
    query = (query.where(School.district_id.in_(district_ids))
             .outerjoin(Assessment, and_(Assessment.school_id == School.id, Assessment.school_year == year)))
    if filters.level is not None:
        query = query.where(School.level == filters.level)
    if filters.status is not None:
        status_is = Assessment.status == filters.status
        query = query.where(or_(status_is, Assessment.id.is_(None)) if filters.status == AssessmentStatus.DRAFT
                            else status_is)
    return query


def years_of(district_ids: list[int]) -> list[str]:
    """The school years the schools of ``district_ids`` have worked in, newest first."""
    in_districts = select(School.id).where(School.district_id.in_(district_ids))
    years = set(db.session.scalars(select(Assessment.school_year).where(Assessment.school_id.in_(in_districts))
                                   .distinct()))
    years |= set(db.session.scalars(select(School.school_year).where(School.district_id.in_(district_ids))
                                    .distinct()))
    return sorted(years | {calendar_school_year()}, reverse=True)


@dataclass
class Standing:
    """How a set of schools stands in a year: how many there are, per status of their
    assessment, how many sealed late or are overdue, and per group how many reach each
    level (``None``: not recognised, a mandatory condition unmet; "none": nothing stored)."""

    schools: int = 0
    statuses: Counter = field(default_factory=Counter)
    late: int = 0
    levels: dict[str, Counter] = field(default_factory=dict)

    def add(self, result: SchoolResult, due: date | None, today: date) -> None:
        levels = None if result.score is None else [(group["code"], group.get("recognised_level"))
                                                    for group in result.groups]
        self.count(result.status, result.late(due, today), levels)

    def count(self, status: AssessmentStatus, late: bool, levels: list[tuple[str, int | None]] | None,
              schools: int = 1) -> None:
        """Counts ``schools`` schools alike: of ``status``, late or not, whose groups (by
        code) reach ``levels`` (None: no figures stored)."""
        self.schools += schools
        self.statuses[status] += schools
        self.late += schools * late
        for code, level in levels or []:
            self.levels.setdefault(code, Counter())[level] += schools
        if levels is None:
            for counter in self.levels.values():
                counter["none"] += schools

    @property
    def sealed(self) -> int:
        return sum(count for status, count in self.statuses.items() if status.sealed)

    @property
    def evaluated(self) -> int:
        return sum(count for status, count in self.statuses.items() if status in EVALUATED)

    @property
    def recognised(self) -> int:
        return self.statuses[AssessmentStatus.RECOGNISED]


def submission_due(province: str, year: str) -> date | None:
    return next((deadline.due for deadline in deadlines_of(province, year) if deadline.key == SUBMISSION), None)


def standing(found: list[SchoolResult], due: date | None, today: date | None = None,
             group_codes: tuple[str, ...] = ()) -> Standing:
    """The Standing of ``found`` (results read with or without ``groups_only``)."""
    today = today or clock.today()
    summary = Standing(levels={code: Counter() for code in group_codes})
    for result in found:
        summary.add(result, due, today)
    return summary


@dataclass(frozen=True)
class DistrictRow:
    """One district of a province with its schools' standing."""

    district: District
    standing: Standing


def province_summary(province: str, year: str, group_codes: tuple[str, ...],
                     filters: Filters = Filters()) -> tuple[list[DistrictRow], Standing]:
    """Each district of ``province`` (by name) with its schools' standing in ``year``, and
    the province's as a whole (the level and status filters apply; a name does not).
    Counted by the database from the groups' stored figures, with the precedence of
    results() (evaluation, else seal, else live score): no row per school reaches Python."""
    districts = list(db.session.scalars(select(District).where(District.province == province)
                                        .order_by(District.name)))
    due = submission_due(province, year)
    today = clock.today()
    standings = {district.id: Standing(levels={code: Counter() for code in group_codes}) for district in districts}
    whole = Standing(levels={code: Counter() for code in group_codes})
    for row in db.session.execute(_counted(districts, year, filters, due, len(group_codes))):
        status = row.status or AssessmentStatus.DRAFT
        late = due is not None and (today > due if row.submitted_late is None else bool(row.submitted_late))
        found = row._mapping
        levels = None if not found["figured"] else [(found[f"code{n}"], found[f"level{n}"])
                                                    for n in range(len(group_codes)) if found[f"code{n}"] is not None]
        for summary in (standings[row.district_id], whole):
            summary.count(status, late, levels, row.schools)
    return [DistrictRow(district, standings[district.id]) for district in districts], whole


def _counted(districts: list[District], year: str, filters: Filters, due: date | None, positions: int):
    """The schools of ``districts`` matching ``filters`` in ``year``, counted per district,
    status, whether they were sealed after ``due`` (None: not sealed) and the code and
    recognised level of their first ``positions`` groups (``figured``: some figures stored)."""
    sealed = and_(Assessment.status.in_(SEALED_STATUSES), SealedResult.id.is_not(None))
    figures = case((and_(Assessment.status.in_(EVALUATED), Evaluation.assessment_id.is_not(None)), Evaluation.groups),
                   (sealed, SealedResult.groups), (SchoolScore.school_year == year, SchoolScore.groups))
    keys = [School.district_id, Assessment.status, figures.is_not(None).label("figured")]
    if due is not None:
        after_due = SealedResult.sealed_at >= clock.day_start(due + timedelta(days=1))
        keys.append(case((sealed, after_due)).label("submitted_late"))
    for position in range(positions):
        keys += [figures[(position, "code")].as_string().label(f"code{position}"),
                 figures[(position, "recognised_level")].as_integer().label(f"level{position}")]
    query = (_matching(select(*keys, func.count().label("schools")), [district.id for district in districts],
                       year, filters)
             .outerjoin(Evaluation, Evaluation.assessment_id == Assessment.id)
             .outerjoin(SealedResult, SealedResult.id == Assessment.sealed_id)
             .outerjoin(SchoolScore, SchoolScore.school_id == School.id))
    return query.group_by(*keys)


def provinces() -> list[tuple[str, int]]:
    """Every province with its number of districts, by name."""
    return list(db.session.execute(select(District.province, func.count(District.id))
                                   .group_by(District.province).order_by(District.province)))
