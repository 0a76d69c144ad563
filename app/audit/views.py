"""A school's audit log: who did what and when, with filters, pages and an XLSX export
of what the filters keep. For the principal, the district officer and admins."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import to_user_timezone

from app.accounts.policy import requires
from app.audit.labels import action_label, object_label
from app.audit.log import LISTING, details_text, log_request, school_log
from app.extensions import db
from app.paging import paginate
from app.schools.models import School
from app.spreadsheets import workbook_response

bp = Blueprint("audit", __name__, template_folder="templates")

BASE = "/schools/<id:school_id>/audit"
EXPORT_BATCH = 1000


@bp.app_template_filter()
def audit_action(action: str) -> str:
    return action_label(action)


@bp.app_template_filter()
def audit_object(object_type: str) -> str:
    return object_label(object_type)


@bp.app_template_filter()
def audit_details(details) -> str:
    return details_text(details)


@bp.route(BASE)
@requires("audit.view")
def index(school_id):
    school = db.session.get(School, school_id)
    wanted = log_request(request.args)
    return render_template("audit/log.html", school=school, wanted=wanted, listing=LISTING,
                           page=paginate(school_log(school.id, wanted)))


@bp.route(BASE + "/export.xlsx")
@requires("audit.view")
def export(school_id):
    """The log as it is filtered, newest first, as XLSX (with each entry's hash)."""
    school = db.session.get(School, school_id)
    events = db.session.scalars(school_log(school.id, log_request(request.args))
                                .execution_options(yield_per=EXPORT_BATCH))
    headers = [_("Entry no."), _("When"), _("Who"), _("Email"), _("Action"), _("Action code"), _("Kind of record"),
               _("Record no."), _("Client address"), _("Details"), _("Entry hash")]
    rows = ([event.id, to_user_timezone(event.occurred_at).strftime("%d/%m/%Y %H:%M:%S"),
             event.actor.full_name if event.actor else _("the system"), event.actor.email if event.actor else "",
             action_label(event.action), event.action, object_label(event.object_type) if event.object_type else "",
             event.object_id, event.client or "", details_text(event.details), event.entry_hash or ""]
            for event in events)
    return workbook_response(f"{school.code}-nhat-ky-hoat-dong.xlsx", [(_("Audit log"), headers, rows)])
