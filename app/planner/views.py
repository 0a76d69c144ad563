"""The planner's pages: compose changes and see today beside the projection and the
cheapest path of each group; save, open, compare, export and delete plans; and the unit
prices page of admins and district officers. The form is read with GET, so a result is
a link; what changes data is a POST with CSRF."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.accounts.policy import requires
from app.db_types import parse_id
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.framework.engine import SCORING_CAPABILITIES
from app.framework.scores import live_scorecard
from app.framework.services import framework
from app.planner import form as planner_form
from app.planner import plans, prices, services
from app.planner.export import plan_workbook
from app.planner.state import school_state
from app.schools.models import District, School
from app.versions import StaleRecord

bp = Blueprint("planner", __name__, template_folder="templates")

MAX_COMPARED = 6


def _composer(school: School, args) -> dict:
    """What the planner page shows for the form ``args``: the form values, the changes,
    the projection (services.whatif) or the messages by field."""
    codes = services.evidence_codes(framework())
    changes, fields, errors = planner_form.read_form(args, codes)
    result = None
    if changes:  # checked even beside a field that is not a number, so every message shows at once
        try:
            result = services.whatif(school, changes)
        except ValidationFailed as error:
            errors = {**planner_form.field_errors(fields, error.fields or {}), **errors}
    if errors:
        result = None
    if result is not None:
        result["described"] = planner_form.describe(result["actions"])
    return {"form_values": planner_form.form_of(changes), "raw": args, "changes": changes, "errors": errors,
            "result": result, "evidence_codes": codes, "capabilities": SCORING_CAPABILITIES,
            "count_fields": planner_form.COUNT_FIELDS, "later_count_fields": planner_form.LATER_COUNT_FIELDS,
            "field_label": planner_form.field_label, "titles": {code: framework().find(code).title for code in codes},
            "available": _available(school)}


def _available(school: School) -> dict[str, int]:
    """How many each count field may ask for at most (broken devices, materials waiting,
    teachers without each skill)."""
    state = school_state(school)
    return {"repair_equipment": len(state.broken), "approve_materials": len(state.unapproved_materials),
            **{f"train_{skill}": len(ids) for skill, ids in state.teachers_lacking.items()}}


def _cheapest_paths(school: School) -> list[dict]:
    """Per group, services.next_level's answer (with its form query), or ``top``/``none``."""
    paths = []
    for group in framework().groups:
        try:
            found = services.next_level(school, group.code)
        except Conflict as error:
            at_top = live_scorecard(school).group(group.code).level >= len(group.levels)
            paths.append({"group": group.code, "title": group.title, "top": at_top, "message": str(error)})
            continue
        steps = [found, *([found["after"]] if "after" in found else [])]
        for step in steps:
            step["query"] = planner_form.query_of(step["changes"])
            step["described"] = planner_form.describe(step["actions"])
        paths.append({"group": group.code, "title": group.title, "steps": steps})
    return paths


@bp.route("/schools/<id:school_id>/planner")
@requires("planner.view")
def page(school_id):
    school = db.session.get(School, school_id)
    plan = None
    if (plan_id := parse_id(request.args.get("plan", ""))) is not None:
        try:
            plan = plans.plan_of(school, plan_id)
        except NotFound:
            plan = None
    # A read: an impossible change answers 200, its message beside its field.
    return render_template("planner/page.html", school=school, composer=_composer(school, request.args),
                           paths=_cheapest_paths(school), plan=plan, saved=plans.plans_of(school))


@bp.route("/schools/<id:school_id>/planner/plans")
@requires("planner.view")
def plan_list(school_id):
    school = db.session.get(School, school_id)
    return render_template("planner/plans.html", school=school, saved=plans.plans_of(school))


@bp.route("/schools/<id:school_id>/planner/plans", methods=["POST"])
@requires("planner.save")
def save_plan(school_id):
    """Save the form's changes as a new plan, or as the plan ``plan_id`` names."""
    school = db.session.get(School, school_id)
    changes, _fields, errors = planner_form.read_form(request.form, services.evidence_codes(framework()))
    try:
        if errors:
            raise ValidationFailed(_("Some fields are not valid."), fields=errors)
        if (plan_id := parse_id(request.form.get("plan_id", ""))) is not None:
            plan = plans.update_plan(current_user, plans.plan_of(school, plan_id), request.form.get("name", ""),
                                     changes, version=parse_id(request.form.get("version", "")))
        else:
            plan = plans.create_plan(current_user, school, request.form.get("name", ""), changes)
    except ValidationFailed as error:
        flash(" ".join([_("The plan was not saved."), *(error.fields or {}).values()]), "danger")
        return redirect(url_for("planner.page", school_id=school.id, **planner_form.query_of(changes)))
    except StaleRecord:
        # Someone saved the plan after this page was opened: keep what this user composed,
        # beside the plan as it is now, for them to save again knowingly.
        flash(_("Someone else saved this plan after you opened it, so your changes were not saved. They are "
                "still in the form below: save again to replace the plan with them."), "warning")
        return redirect(url_for("planner.page", school_id=school.id, plan=plan_id, **planner_form.query_of(changes)))
    flash(_("Plan “%(name)s” saved.", name=plan.name), "success")
    return redirect(url_for("planner.plan_page", school_id=school.id, plan_id=plan.id))


@bp.route("/schools/<id:school_id>/planner/plans/<id:plan_id>")
@requires("planner.view")
def plan_page(school_id, plan_id):
    school = db.session.get(School, school_id)
    plan = plans.plan_of(school, plan_id)
    result = plans.projection(plan)
    if "actions" in result:
        result["described"] = planner_form.describe(result["actions"])
    return render_template("planner/plan.html", school=school, plan=plan, result=result,
                           query=planner_form.query_of(plan.changes))


@bp.route("/schools/<id:school_id>/planner/plans/<id:plan_id>/delete", methods=["POST"])
@requires("planner.save")
def delete_plan(school_id, plan_id):
    school = db.session.get(School, school_id)
    plan = plans.plan_of(school, plan_id)
    name = plan.name
    plans.delete_plan(current_user, plan)
    flash(_("Plan “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("planner.plan_list", school_id=school.id))


@bp.route("/schools/<id:school_id>/planner/plans/<id:plan_id>/export.xlsx")
@requires("planner.view")
def export_plan(school_id, plan_id):
    school = db.session.get(School, school_id)
    plan = plans.plan_of(school, plan_id)
    result = plans.projection(plan)
    if "errors" in result:
        flash(" ".join([_("This plan is no longer possible:"), *result["errors"].values()]), "danger")
        return redirect(url_for("planner.plan_page", school_id=school.id, plan_id=plan.id))
    return plan_workbook(school, plan, result, planner_form.describe(result["actions"]))


@bp.route("/schools/<id:school_id>/planner/compare")
@requires("planner.view")
def compare(school_id):
    """Two or more of the school's plans side by side (``?plan=1&plan=2``)."""
    school = db.session.get(School, school_id)
    wanted = list(dict.fromkeys(plan_id for plan_id in map(parse_id, request.args.getlist("plan"))
                                if plan_id is not None))[:MAX_COMPARED]
    chosen = [plans.plan_of(school, plan_id) for plan_id in wanted]
    if len(chosen) < 2:
        flash(_("Choose two plans or more to compare."), "warning")
        return redirect(url_for("planner.plan_list", school_id=school.id))
    today = live_scorecard(school).to_dict()
    return render_template("planner/compare.html", school=school, today=today,
                           columns=[(plan, plans.projection(plan)) for plan in chosen])


@bp.route("/unit-prices", methods=["GET", "POST"])
@requires("unit_prices.edit")
def unit_prices():
    """Admins: the portal-wide prices; district officers: their district's."""
    district_id = current_user.district_id if current_user.role == Role.DISTRICT else None
    errors, typed = {}, {}
    if request.method == "POST":
        typed = {key: request.form.get(key, "") for key in prices.PRICE_KEYS}
        try:
            if request.form.get("reset"):
                changed = prices.set_prices(current_user, district_id, {request.form["reset"]: None})
            else:
                changed = prices.set_from_form(current_user, district_id, typed)
        except ValidationFailed as error:
            errors = error.fields or {}
        else:
            flash(_("Unit prices saved (%(n)d changed).", n=len(changed)), "success")
            return redirect(url_for("planner.unit_prices"))
    district = db.session.get(District, district_id) if district_id else None
    return render_template("planner/unit_prices.html", rows=prices.table(district_id), district=district,
                           errors=errors, typed=typed), 400 if errors else 200
