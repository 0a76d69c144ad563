"""The district's view of its schools: each school's result for a year from what is
stored (the sealed result of an approved year, the district's evaluation once made, else
the school's stored live score), never recomputed per school per request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.assessments.models import Assessment, AssessmentStatus, Evaluation, SealedResult
from app.extensions import db
from app.framework.models import SchoolScore
from app.schools.models import School

EVALUATED = frozenset({AssessmentStatus.EVALUATED, AssessmentStatus.RECOGNISED})


@dataclass(frozen=True)
class SchoolResult:
    """A school's standing in a year: ``status`` of its assessment, ``source`` of the
    figures ("evaluated", "sealed", "live" or None when nothing is stored), and the score
    in the API's shape (or None)."""

    school: School
    status: AssessmentStatus
    source: str | None
    score: dict | None

    @property
    def groups(self) -> list[dict]:
        return self.score["groups"] if self.score else []

    @property
    def criteria(self) -> list[dict]:
        return [{"code": criterion["code"], "points": criterion["points"], "level": criterion["level"],
                 "met": criterion["met"]} for criterion in self.score["criteria"]] if self.score else []


def results(schools: list[School], year: str | None) -> list[SchoolResult]:
    """The result of each of ``schools`` in ``year`` (each school's current year when
    None), in a fixed number of queries."""
    ids = [school.id for school in schools]
    wanted = {school.id: year or school.school_year for school in schools}
    assessments = {row.school_id: row for row in db.session.scalars(
        select(Assessment).where(Assessment.school_id.in_(ids))) if row.school_year == wanted[row.school_id]}
    sealed_ids = [row.sealed_id for row in assessments.values() if row.status.sealed and row.sealed_id]
    sealed = {seal_id: score for seal_id, score in db.session.execute(
        select(SealedResult.id, SealedResult.snapshot["score"]).where(SealedResult.id.in_(sealed_ids)))}
    evaluated = {assessment_id: score for assessment_id, score in db.session.execute(
        select(Evaluation.assessment_id, Evaluation.score).where(
            Evaluation.assessment_id.in_([row.id for row in assessments.values()])))}
    stored = {row.school_id: row
              for row in db.session.scalars(select(SchoolScore).where(SchoolScore.school_id.in_(ids)))}
    found = []
    for school in schools:
        row = assessments.get(school.id)
        status = row.status if row else AssessmentStatus.DRAFT
        live = stored.get(school.id)
        if row is not None and row.id in evaluated and status in EVALUATED:
            found.append(SchoolResult(school, status, "evaluated", evaluated[row.id]))
        elif row is not None and status.sealed and row.sealed_id in sealed:
            found.append(SchoolResult(school, status, "sealed", sealed[row.sealed_id]))
        elif live is not None and live.school_year == wanted[school.id]:
            found.append(SchoolResult(school, status, "live", live.score))
        else:
            found.append(SchoolResult(school, status, None, None))
    return found
