"""``/api/v1/schools/{school_id}/score`` and ``…/assessments/{year}`` (api.md, Scores
and Workflow): the score of a year (live, or sealed once approved), the assessment's
state, the review of evidence links, and the transitions."""

from __future__ import annotations

from flask import abort, current_app
from flask_login import current_user

from app.accounts.policy import requires
from app.api import ApiBlueprint
from app.assessments import services
from app.assessments.schemas import (
    AssessmentReviewSchema,
    AssessmentSchema,
    EvaluationSchema,
    TransitionSchema,
    YearQuery,
)
from app.errors import NotFound
from app.evidence import services as evidence_services
from app.evidence.models import EvidenceDocument
from app.evidence.schemas import LinkSchema
from app.extensions import db
from app.framework.scores import live_score_json
from app.schools.models import School
from app.schools.years import is_school_year

blp = ApiBlueprint("api_score", __name__, url_prefix="/schools", description="Scores and assessments")
ONE = "/<id:school_id>/assessments/<year>"


@blp.route("/<id:school_id>/score", methods=["GET"])
@requires("score.view")
@blp.arguments(YearQuery, location="query", as_kwargs=True)
@blp.response(200)
def get_score(school_id, year=None):
    """Points, levels and the basis of every sub-item: for an approved year the sealed
    result (with ``sealed``: its hash, approver and time), else for the school's current
    year the live score. Other years answer 404."""
    school = db.session.get(School, school_id)
    year = year or school.school_year
    sealed = services.assessment_of(school, year).in_force
    if sealed is not None:
        return current_app.response_class(services.sealed_score_json(sealed), mimetype="application/json")
    if year != school.school_year:
        abort(404)
    return current_app.response_class(live_score_json(school), mimetype="application/json")


def _year(year: str) -> str:
    if not is_school_year(year):
        abort(404)
    return year


@blp.route(ONE, methods=["GET"])
@requires("assessments.view")
@blp.response(200, AssessmentSchema)
def get_assessment(school_id, year):
    """The assessment's state, version, the sealed result in force, the transitions the
    caller may take, what blocks approval, and what the principal should see first.
    ``fingerprint`` and ``since`` are what an approval sends to be sure it seals what was
    seen."""
    return services.overview(db.session.get(School, school_id), _year(year), current_user)


def _transition(action: str):
    def view(body, school_id, year):
        school = db.session.get(School, school_id)
        services.transition(current_user, school, _year(year), action, reason=body["reason"],
                            version=body["version"], expected=body["fingerprint"], since=body["since"])
        return services.overview(school, year, current_user)
    view.__name__ = f"{action}_assessment"
    view.__doc__ = f"Transition ``{action}`` (see app.assessments.services.TRANSITIONS)."
    return view


for _action in services.TRANSITIONS.keys() - {"evaluate"}:
    blp.route(f"{ONE}/{_action.replace('_', '-')}", methods=["POST"], endpoint=f"{_action}_assessment")(
        requires("assessments.evaluate" if _action in services.DISTRICT_ACTIONS else "assessments.change")(
            blp.arguments(TransitionSchema)(blp.response(200, AssessmentSchema)(_transition(_action)))))


@blp.route(ONE + "/evaluate", methods=["POST"])
@requires("assessments.evaluate")
@blp.arguments(EvaluationSchema)
@blp.response(200, AssessmentSchema)
def evaluate_assessment(body, school_id, year):
    """The district's external evaluation of the approved year: ``items`` of the sub-items
    it changes, each with its points (never above the sealed ceiling) and the reason."""
    school = db.session.get(School, school_id)
    services.evaluate(current_user, school, _year(year), body["items"], version=body["version"])
    return services.overview(school, year, current_user)


@blp.route(ONE + "/review", methods=["POST"])
@requires("evidence.review")
@blp.arguments(AssessmentReviewSchema)
@blp.response(200, LinkSchema)
def review_assessment_evidence(body, school_id, year):
    """Accept or reject an evidence link of the year (a rejection needs a ``comment``
    and tells the uploader); nobody reviews what they uploaded, changed or linked."""
    document = db.session.get(EvidenceDocument, body["evidence_id"])
    if document is None or document.school_id != school_id or document.school_year != _year(year):
        raise NotFound()
    return evidence_services.review_link(current_user, document, body["criterion"], {
        "decision": body["decision"].value, "comment": body["comment"], "version": body["version"]})
