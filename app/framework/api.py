"""``GET /api/v1/schools/{school_id}/score``: the live score of the current school year."""

from __future__ import annotations

import marshmallow as ma
from flask import abort, current_app
from flask_babel import lazy_gettext as _l

from app.accounts.policy import requires
from app.api import ApiBlueprint
from app.extensions import db
from app.framework.scores import live_score_json
from app.schools.models import School
from app.schools.years import is_school_year

blp = ApiBlueprint("api_score", __name__, url_prefix="/schools", description="Scores")


class ScoreQuery(ma.Schema):
    year = ma.fields.String(load_default=None, metadata={"example": "2022-2023"})

    @ma.validates("year")
    def _school_year(self, value, **_kwargs):
        if value is not None and not is_school_year(value):
            raise ma.ValidationError(_l("A school year such as 2022-2023."))


@blp.route("/<id:school_id>/score", methods=["GET"])
@requires("score.view")
@blp.arguments(ScoreQuery, location="query", as_kwargs=True)
@blp.response(200)
def get_score(school_id, year=None):
    """Points, levels and the basis of every sub-item for the school's current school
    year, computed from the inventory now. Other years answer 404 until they have an
    approved (sealed) result."""
    school = db.session.get(School, school_id)
    if year not in (None, school.school_year):
        abort(404)
    body = live_score_json(school)
    return current_app.response_class(body, mimetype="application/json")
