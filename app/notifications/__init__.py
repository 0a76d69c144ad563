"""Messages to people inside the portal: ``notify`` adds one to the caller's
transaction; the header shows the unread count and the list page the messages."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.extensions import db, utcnow
from app.notifications.models import Notification

# kind → the message, filled from the notification's params.
MESSAGES = {
    "evidence_rejected": _l("%(reviewer)s rejected evidence %(code)s “%(title)s”: %(comment)s"),
    "assessment_sent_back": _l("%(actor)s sent the %(year)s self-assessment back to review: %(reason)s"),
    "assessment_submitted": _l("%(actor)s submitted the %(year)s self-assessment for approval."),
    "assessment_reopened": _l("%(actor)s reopened the approved %(year)s self-assessment: %(reason)s"),
    "assessment_evaluated": _l("%(actor)s (district office) evaluated the %(year)s self-assessment."),
    "assessment_recognised": _l("%(actor)s (district office) recognised the levels of %(year)s."),
}


def notify(user_ids: Iterable[int | None], kind: str, *, school_id: int | None, url: str = "",
           actor_id: int | None = None, **params) -> None:
    """A ``kind`` message (see MESSAGES) for each of ``user_ids`` but the one who caused
    it (``actor_id``), in the caller's transaction."""
    if kind not in MESSAGES:
        raise ValueError(f"unknown notification kind {kind!r}")
    for user_id in sorted(set(user_ids) - {None, actor_id}):
        db.session.add(Notification(user_id=user_id, school_id=school_id, kind=kind,
                                    params={name: str(value) for name, value in params.items()}, url=url))


def message(notification: Notification) -> str:
    """The notification's text in the current language."""
    try:
        return str(MESSAGES[notification.kind]) % notification.params
    except (KeyError, TypeError, ValueError):
        return notification.kind


def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def mark_read(user_id: int, notification_ids: Iterable[int] | None = None) -> None:
    """Mark the user's notifications read (all of them, or those listed) and commit."""
    statement = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_ids is not None:
        statement = statement.where(Notification.id.in_(list(notification_ids)))
    db.session.execute(statement.values(read_at=utcnow()))
    db.session.commit()
