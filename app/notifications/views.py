"""A person's notifications: the list, marking them read, and opening one."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.accounts.policy import SIGNED_IN, requires
from app.extensions import db, utcnow
from app.notifications import mark_read, message
from app.notifications.models import Notification
from app.paging import paginate

bp = Blueprint("notifications", __name__, template_folder="templates")
PER_PAGE = 50


@bp.route("/notifications")
@requires(SIGNED_IN)
def index():
    query = select(Notification).where(Notification.user_id == current_user.id).order_by(Notification.id.desc())
    return render_template("notifications/index.html", page=paginate(query, PER_PAGE), message=message)


@bp.route("/notifications/read", methods=["POST"])
@requires(SIGNED_IN)
def read_all():
    mark_read(current_user.id)
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/<id:notification_id>/open", methods=["POST"])
@requires(SIGNED_IN)
def open_one(notification_id):
    """Mark the notification read and go where it points (a page of the portal)."""
    notification = db.session.get(Notification, notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    target = notification.url
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("notifications.index")
    return redirect(target)
