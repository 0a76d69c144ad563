"""A school's saved plans: create, rename or change, delete (each audited), and open:
the projection of a plan is computed again from today's facts whenever it is read."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.errors import NotFound, ValidationFailed
from app.extensions import db, utcnow
from app.planner import services
from app.planner.models import Plan
from app.schools.models import School
from app.text import clean
from app.versions import saving

MAX_NAME = 200


def plans_of(school: School) -> list[Plan]:
    """The school's plans, the current year's first, most recently changed first."""
    return list(db.session.scalars(
        select(Plan).where(Plan.school_id == school.id)
        .order_by((Plan.school_year == school.school_year).desc(), Plan.updated_at.desc(), Plan.id.desc())))


def plan_of(school: School, plan_id: int) -> Plan:
    """The plan ``plan_id`` of ``school``; NotFound when it is another school's or none."""
    plan = db.session.get(Plan, plan_id)
    if plan is None or plan.school_id != school.id:
        raise NotFound(_("No such plan."))
    return plan


def _checked(school: School, name, changes) -> tuple[str, list[dict]]:
    """The name cleaned (app.text.clean) and the changes as the planner reads them. Raises ValidationFailed
    for an empty or long name, or a change that is malformed or not possible today."""
    problems = {}
    name = clean(name) if isinstance(name, str) else name
    if not isinstance(name, str) or not name:
        problems["name"] = _("Give the plan a name.")
    elif len(name) > MAX_NAME:
        problems["name"] = _("At most %(n)d characters.", n=MAX_NAME)
    try:
        normalised = services.whatif(school, changes)["changes"]
    except ValidationFailed as error:
        problems.update(error.fields or {})
        normalised = []
    if isinstance(changes, list) and not changes:
        problems["changes"] = _("Add at least one change to the plan.")
    if problems:
        raise ValidationFailed(_("Some fields are not valid."), fields=problems)
    return name, normalised


def create_plan(actor, school: School, name, changes) -> Plan:
    """Save ``changes`` (CHANGE objects) as a plan named ``name`` for the school's current
    year, and commit."""
    name, changes = _checked(school, name, changes)
    plan = Plan(school_id=school.id, school_year=school.school_year, name=name, changes=changes,
                created_by_id=getattr(actor, "id", None))
    db.session.add(plan)
    audit.record(actor, "plan.created", plan, name=name, changes=changes)
    db.session.commit()
    return plan


def update_plan(actor, plan: Plan, name=None, changes=None, version: int | None = None) -> Plan:
    """Rename ``plan`` and/or replace its changes (None: kept), and commit; when
    ``version`` is given and someone saved the plan since, raise StaleRecord naming it."""
    name, changes = _checked(plan.school, plan.name if name is None else name,
                             plan.changes if changes is None else changes)
    before = {"name": plan.name, "changes": plan.changes}
    with saving(plan, version):
        plan.name, plan.changes, plan.updated_at = name, changes, utcnow()
        audit.record(actor, "plan.updated", plan, version=plan.version, changes={
            key: [before[key], value] for key, value in (("name", name), ("changes", changes))
            if before[key] != value})
    return plan


def delete_plan(actor, plan: Plan) -> None:
    """Delete ``plan`` and commit."""
    audit.record(actor, "plan.deleted", plan, name=plan.name, changes=plan.changes)
    db.session.delete(plan)
    db.session.commit()


def projection(plan: Plan) -> dict:
    """services.whatif of the plan's changes on today's facts, with ``computed_at``; when
    a change is no longer possible, ``errors`` (services.whatif's fields) instead."""
    try:
        result = services.whatif(plan.school, plan.changes)
    except ValidationFailed as error:
        return {"errors": error.fields or {}, "computed_at": utcnow()}
    return {**result, "computed_at": utcnow()}
