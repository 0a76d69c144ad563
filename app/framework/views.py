"""The scorecard page: both groups, every criterion with its bar, level and the basis of
each sub-item, what is missing for the next level, and the evidence linked to it (or the
evidence it still needs)."""

from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, render_template
from sqlalchemy import select

from app.accounts.policy import requires
from app.evidence.models import EvidenceDocument, EvidenceLink, LinkStatus
from app.extensions import db
from app.framework.loader import Framework
from app.framework.scores import live_scorecard
from app.framework.services import framework
from app.schools.models import School

bp = Blueprint("framework", __name__, template_folder="templates")


@bp.route("/schools/<id:school_id>/score")
@requires("score.view")
def scorecard(school_id):
    school = db.session.get(School, school_id)
    index = framework()
    linked = linked_evidence(school, index)
    return render_template("framework/scorecard.html", school=school, scorecard=live_scorecard(school),
                           index=index, year=school.school_year, evidence=linked,
                           missing=missing_evidence(index, linked))


def linked_evidence(school: School, index: Framework) -> dict[str, list]:
    """The school year's live links (documents and links not removed), in one query, by
    criterion code: a sub-item's links are listed under its criterion. Each row has
    ``criterion``, ``code``, ``status``, ``document_id`` and ``title``."""
    criterion_of = {item.code: criterion.code for group in index.groups for criterion in group.criteria
                    for item in criterion.items}
    rows = db.session.execute(
        select(EvidenceLink.criterion, EvidenceLink.code, EvidenceLink.status,
               EvidenceDocument.id.label("document_id"), EvidenceDocument.title)
        .join(EvidenceDocument, EvidenceDocument.id == EvidenceLink.document_id)
        .where(EvidenceLink.school_id == school.id, EvidenceLink.school_year == school.school_year,
               EvidenceLink.removed_at.is_(None), EvidenceDocument.removed_at.is_(None))
        .order_by(EvidenceLink.code))
    grouped: dict[str, list] = defaultdict(list)
    for row in rows:
        grouped[criterion_of.get(row.criterion, row.criterion)].append(row)
    return dict(grouped)


def missing_evidence(index: Framework, linked: dict[str, list]) -> dict[str, list[tuple[str, str | None]]]:
    """By criterion code, the (code, what it needs) still without evidence that is accepted
    or awaiting review: the criterion itself when nothing under it has any, and each
    sub-item that names what it needs and has none of its own. What it needs is the
    index's ``evidence_needed`` (None where the index does not say)."""
    counted = {LinkStatus.ACCEPTED, LinkStatus.PENDING}
    missing: dict[str, list[tuple[str, str | None]]] = {}
    for group in index.groups:
        for criterion in group.criteria:
            rows = [row for row in linked.get(criterion.code, ()) if row.status in counted]
            lacking = []
            if not rows:
                lacking.append((criterion.code, getattr(criterion, "evidence_needed", None)))
            for item in criterion.items:
                needed = getattr(item, "evidence_needed", None)
                if needed and not any(row.criterion == item.code for row in rows):
                    lacking.append((item.code, needed))
            if lacking:
                missing[criterion.code] = lacking
    return missing
