"""The scorecard page: both groups, every criterion with its bar, level and the basis of
each sub-item, and what is missing for the next level."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.accounts.policy import requires
from app.extensions import db
from app.framework.scores import live_scorecard
from app.framework.services import framework
from app.schools.models import School

bp = Blueprint("framework", __name__, template_folder="templates")


@bp.route("/schools/<id:school_id>/score")
@requires("score.view")
def scorecard(school_id):
    school = db.session.get(School, school_id)
    return render_template("framework/scorecard.html", school=school, scorecard=live_scorecard(school),
                           index=framework(), year=school.school_year)
