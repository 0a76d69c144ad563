"""``/api/v1/schools/{school_id}/planner`` and ``/api/v1/unit-prices`` (api.md, Planner):
what-if projections, the cheapest path to a group's next level, saved plans, the unit
prices."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from marshmallow.validate import Length, Range

from app.accounts.models import Role
from app.accounts.policy import SIGNED_IN, requires
from app.api import ApiBlueprint
from app.api.docs import error_response
from app.db_types import MAX_ID
from app.errors import NotFound
from app.extensions import db
from app.inventory.api import expected_version
from app.planner import plans, prices, services
from app.schools.models import District, School

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


class PlanSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    school_id = ma.fields.Integer(dump_only=True)
    school_year = ma.fields.String(dump_only=True)
    name = ma.fields.String(required=True, metadata={"example": "Trang bị phòng học 2025"})
    changes = ma.fields.List(ma.fields.Dict(), required=True, validate=Length(max=100),
                             metadata={"description": "CHANGE objects, as for whatif."})
    created_by = ma.fields.Function(lambda plan: plan.created_by.full_name if plan.created_by else None,
                                    dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
    version = ma.fields.Integer(strict=True, metadata={
        "description": "Counts the plan's saved changes. Send it back with a change (or as If-Match) and a change "
                       "based on an older version answers 409."})


class PlanListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PlanSchema))
    total = ma.fields.Integer()


class UnitPricesQuery(ma.Schema):
    district_id = ma.fields.Integer(load_default=None, validate=Range(min=1, max=MAX_ID),
                                    metadata={"description": "Admins: any district's prices."})


class UnitPricesSchema(ma.Schema):
    prices = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(allow_none=True), required=True, metadata={
        "description": "Price key (projector, ..., capability:lms) → whole VND 0..10^12, or null for the "
                       "inherited price. Admins set the portal-wide prices, district officers their district's."})


@blp.route("/schools/<id:school_id>/planner/plans", methods=["GET"])
@requires("planner.view")
@blp.response(200, PlanListSchema)
def list_plans(school_id):
    """The school's saved plans (the current year's first)."""
    found = plans.plans_of(db.session.get(School, school_id))
    return {"items": found, "total": len(found)}


@blp.route("/schools/<id:school_id>/planner/plans", methods=["POST"])
@requires("planner.save")
@blp.arguments(PlanSchema)
@blp.response(201, PlanSchema)
def create_plan(body, school_id):
    """Save ``changes`` as a plan named ``name``; a change not possible today is a 400."""
    return plans.create_plan(current_user, db.session.get(School, school_id), body["name"], body["changes"])


@blp.route("/schools/<id:school_id>/planner/plans/<id:plan_id>", methods=["GET"])
@requires("planner.view")
@blp.response(200)
def get_plan(school_id, plan_id):
    """The plan and its ``projection`` computed now from today's facts (services.whatif's
    answer with ``computed_at``; ``errors`` instead when a change is no longer possible)."""
    plan = plans.plan_of(db.session.get(School, school_id), plan_id)
    projection = plans.projection(plan)
    projection["computed_at"] = projection["computed_at"].isoformat()
    return {**PlanSchema().dump(plan), "projection": projection}


@blp.route("/schools/<id:school_id>/planner/plans/<id:plan_id>", methods=["PUT"])
@requires("planner.save")
@blp.arguments(PlanSchema)
@blp.response(200, PlanSchema)
def update_plan(body, school_id, plan_id):
    """Replace the plan's name and changes."""
    plan = plans.plan_of(db.session.get(School, school_id), plan_id)
    return plans.update_plan(current_user, plan, body["name"], body["changes"],
                             version=expected_version(body, plan.version))


@blp.route("/schools/<id:school_id>/planner/plans/<id:plan_id>", methods=["DELETE"])
@requires("planner.save")
@blp.response(204)
def delete_plan(school_id, plan_id):
    """Delete the plan."""
    plans.delete_plan(current_user, plans.plan_of(db.session.get(School, school_id), plan_id))


@blp.route("/unit-prices", methods=["GET"])
@requires(SIGNED_IN)
@blp.arguments(UnitPricesQuery, location="query", as_kwargs=True)
@blp.response(200)
@blp.alt_response(404, response=error_response(404))  # a district the caller may not read, or none
def unit_prices(district_id):
    """The unit prices (VND) the planner costs changes with, for the caller: a school's
    people get their school's (its district's prices over the portal-wide ones over the
    index file's), a district officer their district's, an admin the portal-wide ones or
    those of ``district_id``."""
    return services.unit_prices(price_scope(current_user, district_id, reading=True))


@blp.route("/unit-prices", methods=["PUT"])
@requires("unit_prices.edit")
@blp.arguments(UnitPricesSchema)
@blp.response(200)
def set_unit_prices(body):
    """Set prices (admins: the portal-wide ones; district officers: their district's);
    null goes back to the inherited price. Bad amounts are a 400 naming each key."""
    district_id = price_scope(current_user, None)
    prices.set_prices(current_user, district_id, body["prices"])
    return services.unit_prices(district_id)


def price_scope(user, district_id: int | None, reading: bool = False) -> int | None:
    """The district whose prices ``user`` reads (``reading``) or sets: a district officer
    their own (another one named is a 404), a school's people their school's, an admin
    ``district_id`` when reading, else the portal-wide prices (None)."""
    if user.role == Role.DISTRICT:
        if district_id is not None and district_id != user.district_id:
            raise NotFound()
        return user.district_id
    if user.role == Role.ADMIN:
        if not reading or district_id is None:
            return None
        if db.session.get(District, district_id) is None:
            raise NotFound()
        return district_id
    return user.school.district_id if user.school_id else None
