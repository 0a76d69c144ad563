"""The home page of each role, the health check, and what every template can use."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.accounts.policy import PUBLIC, can, requires, visible_schools
from app.dashboard.navigation import navigation_for
from app.extensions import db
from app.notifications import unread_count
from app.schools.models import School

bp = Blueprint("dashboard", __name__, template_folder="templates")


@bp.app_context_processor
def template_helpers() -> dict:
    if not current_user.is_authenticated:
        return {"navigation": [], "can": lambda action, record=None: False}
    return {"navigation": navigation_for(current_user),
            "can": lambda action, record=None: can(current_user, action, record),
            "unread_notifications": lambda: unread_count(current_user.id)}


@bp.route("/")
@requires(PUBLIC)
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    if current_user.school_id is not None:
        return _school_home(current_user)
    if current_user.district_id is not None:  # a district officer's home: their schools side by side
        return redirect(url_for("districts.district", district_id=current_user.district_id))
    schools = db.session.scalars(select(School).where(visible_schools(current_user)).order_by(School.name)
                                 .limit(50)).all()
    school_count = db.session.scalar(select(func.count(School.id)).where(visible_schools(current_user)))
    user_count = None
    if current_user.role == Role.ADMIN:
        user_count = db.session.scalar(select(func.count(User.id)))
    return render_template("dashboard/home.html", schools=schools, school_count=school_count,
                           user_count=user_count)


def _school_home(user):
    """The dashboard of a school's people: where the school stands and what waits for them."""
    from app.dashboard.services import school_dashboard

    school = db.session.get(School, user.school_id)
    return render_template("dashboard/school.html", school=school, year=_school_year_panel(user),
                           board=school_dashboard(user, school))


def _school_year_panel(user) -> dict | None:
    """For a school's people: the current year's assessment, what changed since its
    approval (while it is sealed), and how many links wait for the user's review."""
    if user.school_id is None:
        return None
    from app.assessments import services as assessments
    from app.assessments.views import described

    school = db.session.get(School, user.school_id)
    assessment = assessments.assessment_of(school, school.school_year)
    sealed = assessment.in_force
    moved, later = assessments.changes_since_approval(school, sealed) if sealed else ([], [])
    waiting = (len(assessments.review_queue(user, school.id, school.school_year))
               if can(user, "evidence.review", school) else None)
    return {"school": school, "assessment": assessment, "moved": moved, "later": described(later[-5:]),
            "waiting": waiting}
