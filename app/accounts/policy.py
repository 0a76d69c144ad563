"""Who may do what, on which school's data — decided here and only here.

Every view declares the action it performs with ``@requires(action)``. Before any view
runs, ``authorize_request`` (registered on the app ahead of CSRF) enforces it:

1. a view with no declared action is refused (default deny);
2. anonymous users are sent to sign in (the API answers 401);
3. every record named in the URL (``URL_PARAMETERS``: parameter → model) is loaded and
   asked its ``access_scope()``; a record that does not exist, lies outside what the user
   may see, or does not belong to the school named in the same URL answers 404; the
   loaded records stay in ``g.url_records``, so the view's ``session.get`` reuses them;
4. a role without the action answers 403.

Each refusal of a signed-in user (a 403, or a 404 for a record outside their reach) is
written to the audit trail as ``access.refused``, on its own (see ``_refuse``).

Lists are narrowed with ``visible_schools``; services check the rules that depend on
the data itself (which roles a principal may give, the last admin, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from urllib.parse import quote

from flask import abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import ColumnElement, true
from sqlalchemy.exc import SQLAlchemyError

from app import audit
from app.accounts.models import ApiToken, Role, User
from app.extensions import db, login_manager
from app.scope import Scope

PUBLIC = "public"
SIGNED_IN = "signed_in"

_ALL = frozenset(Role)
_SCHOOL_STAFF = frozenset({Role.STAFF, Role.REVIEWER, Role.PRINCIPAL})

PERMISSIONS: dict[str, frozenset[Role]] = {
    SIGNED_IN: _ALL,
    "schools.view": _ALL,
    "schools.create": frozenset({Role.ADMIN}),
    "schools.edit": frozenset({Role.ADMIN, Role.PRINCIPAL}),
    "schools.start_year": frozenset({Role.ADMIN, Role.PRINCIPAL}),
    "districts.view": frozenset({Role.ADMIN, Role.DISTRICT}),
    "districts.manage": frozenset({Role.ADMIN}),
    # A province's districts side by side (admins; an officer sees their own district).
    "provinces.view": frozenset({Role.ADMIN}),
    "users.view": frozenset({Role.ADMIN, Role.PRINCIPAL}),
    "users.manage": frozenset({Role.ADMIN, Role.PRINCIPAL}),
    "inventory.view": _ALL,
    "inventory.edit": frozenset({Role.STAFF, Role.PRINCIPAL, Role.ADMIN}),
    "inventory.restore": frozenset({Role.PRINCIPAL, Role.ADMIN}),
    "score.view": _ALL,
    "evidence.view": _ALL,
    "evidence.edit": frozenset({Role.STAFF, Role.PRINCIPAL, Role.ADMIN}),
    "evidence.review": frozenset({Role.REVIEWER, Role.PRINCIPAL}),
    "evidence.restore": frozenset({Role.PRINCIPAL, Role.ADMIN}),
    "assessments.view": _ALL,
    # Which transition each school role may take is app.assessments.services.TRANSITIONS.
    "assessments.change": _SCHOOL_STAFF,
    "assessments.evaluate": frozenset({Role.DISTRICT}),
    # Anyone signed in may have an evidence package checked (district officers, first).
    "packages.verify": _ALL,
    "audit.view": frozenset({Role.ADMIN, Role.PRINCIPAL, Role.DISTRICT}),
    # What-if projections and the cheapest path read a school's data only.
    "planner.view": _ALL,
    # Saved plans are written by the school's staff and principal; reviewers and districts read them.
    "planner.save": frozenset({Role.STAFF, Role.PRINCIPAL}),
    # Admins set the portal-wide unit prices, district officers their district's.
    "unit_prices.edit": frozenset({Role.ADMIN, Role.DISTRICT}),
}

# URL parameters that name no record (a criterion code, a school year, a transition): checked by the view itself.
PLAIN_PARAMETERS = frozenset({"criterion", "year", "action", "province"})


@cache
def url_parameters() -> dict[str, type]:
    """URL parameter name → the model whose id it carries. A parameter missing here is refused."""
    from app.evidence.models import EvidenceDocument, EvidenceFile
    from app.inventory.services import COLLECTIONS
    from app.notifications.models import Notification
    from app.planner.models import Plan
    from app.schools.models import District, School

    return {"school_id": School, "district_id": District, "user_id": User, "token_id": ApiToken,
            "evidence_id": EvidenceDocument, "file_id": EvidenceFile, "notification_id": Notification,
            "plan_id": Plan,
            **{collection.param: collection.model for collection in COLLECTIONS.values()}}


def requires(action: str):
    """Declare the action a view performs; the gate enforces it before the view runs."""
    if action != PUBLIC and action not in PERMISSIONS:
        raise ValueError(f"unknown action {action!r}")

    def mark(view):
        view.required_action = action
        return view
    return mark


def allowed(user: User, action: str) -> bool:
    """Whether ``user``'s role may perform ``action`` at all (scope aside)."""
    if action == PUBLIC:
        return True
    return user.is_authenticated and user.role in PERMISSIONS[action]


def can_see(user: User, scope: Scope) -> bool:
    """Whether an object in ``scope`` is within ``user``'s reach."""
    if scope.owner_id is not None:
        return user.id == scope.owner_id
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.DISTRICT:
        return scope.district_id is not None and scope.district_id == user.district_id
    return scope.school_id is not None and scope.school_id == user.school_id


def can(user: User, action: str, record=None) -> bool:
    """Whether ``user`` may perform ``action`` (on ``record``, when given). Templates use it
    to show only the buttons that will work."""
    return allowed(user, action) and (record is None or can_see(user, record.access_scope()))


def visible_schools(user: User) -> ColumnElement[bool]:
    """A filter on School for the schools ``user`` may see."""
    from app.schools.models import School

    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.DISTRICT:
        return School.district_id == user.district_id
    return School.id == user.school_id


def authorize_request():
    """The gate: runs before every view (see the module docstring)."""
    if request.endpoint is None or request.endpoint == "static":
        return None  # routing errors (404/405) and public assets
    view = current_app.view_functions[request.endpoint]
    action = getattr(view, "required_action", None)
    if action is None:
        current_app.logger.error("View %s declares no action; refused.", request.endpoint)
        _refuse(403)
    if action == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    school_ids = []
    g.url_records = []
    for param, value in (request.view_args or {}).items():
        if param in PLAIN_PARAMETERS:
            continue
        model = url_parameters().get(param)
        if model is None:
            current_app.logger.error("URL parameter %s of %s has no model; refused.", param, request.endpoint)
            _refuse(403, school_ids)
        record = db.session.get(model, value)
        if record is None:
            abort(404)  # nothing there: not found, not a refusal
        g.url_records.append(record)  # a strong reference: the identity map holds weak ones
        scope = record.access_scope()
        if scope.school_id is not None and scope.school_id not in school_ids:
            school_ids.append(scope.school_id)
        if not can_see(current_user, scope):
            _refuse(404, school_ids)
    if len(school_ids) > 1:
        _refuse(404, school_ids)  # e.g. another school's record addressed under this school's URL
    if not allowed(current_user, action):
        _refuse(403, school_ids)
    return None


def _refuse(status: int, school_ids: Sequence[int] = ()):
    """Write ``access.refused`` (for a signed-in user) and abort with ``status``. The
    entry goes to the audit log of the first school the URL names (whose data was asked
    for), else of the user's own school; it is committed on its own, and whatever the
    request had pending is dropped (app.audit.record_at_once)."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    if user is not None:
        try:
            audit.record_at_once(user, "access.refused",
                                 school_id=school_ids[0] if school_ids else getattr(user, "school_id", None),
                                 endpoint=request.endpoint, method=request.method,
                                 path=quote(request.path[:500], safe="/-_.~@:"),  # as typed, never raw bytes
                                 status=status)
        except SQLAlchemyError:  # the refusal stands even when it cannot be written down
            current_app.logger.exception("Could not audit a refusal of %s %s", request.method, request.path)
            db.session.rollback()
    abort(status)
