"""``/api/v1/schools/{school_id}/planner`` and ``/api/v1/unit-prices`` (api.md, Planner):
what-if projections, the cheapest path to a group's next level, the unit prices."""

from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length

from app.accounts.policy import SIGNED_IN, requires
from app.api import ApiBlueprint
from app.api.docs import error_response
from app.extensions import db
from app.planner import services
from app.schools.models import School

blp = ApiBlueprint("api_planner", __name__, url_prefix="", description="Planner")


class WhatIfSchema(ma.Schema):
    changes = ma.fields.List(ma.fields.Dict(), required=True, validate=Length(max=100), metadata={
        "description": "CHANGE objects, applied in order: equip_classrooms, repair_equipment, add_lab_computers, "
                       "adopt_software, approve_materials, train_teachers, build_studio, add_evidence."})


class NextLevelQuery(ma.Schema):
    group = ma.fields.String(required=True, validate=Length(min=1, max=10), metadata={"example": "1"})


@blp.route("/schools/<id:school_id>/planner/whatif", methods=["POST"])
@requires("planner.view")
@blp.arguments(WhatIfSchema)
@blp.response(200)
def whatif(body, school_id):
    """Today's score and the score projected after ``changes``, the record-level actions
    that make them real (``"@r1"`` stands for the id of the record created by the action
    with ``ref`` r1) and what they cost. Nothing is changed. An impossible change (more
    repairs than broken devices) answers 400 naming it."""
    return services.whatif(db.session.get(School, school_id), body["changes"])


@blp.route("/schools/<id:school_id>/planner/next-level", methods=["GET"])
@requires("planner.view")
@blp.arguments(NextLevelQuery, location="query", as_kwargs=True)
@blp.response(200)
@blp.alt_response(409, response=error_response(409))  # at the top level, or out of reach
def next_level(school_id, group):
    """The cheapest set of changes taking ``group`` to its next level (with ``after``, the
    set reaching the level after it, when within reach): changes, actions, projected
    score, cost in VND. 409 at the top level."""
    return services.next_level(db.session.get(School, school_id), group)


@blp.route("/unit-prices", methods=["GET"])
@requires(SIGNED_IN)
@blp.response(200)
def unit_prices():
    """The unit prices (VND) the planner costs changes with, from the index file."""
    return services.unit_prices()
