"""What the report downloads read from the database: the snapshot of a school year and
the name that signs a draft."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Role, User
from app.assessments.services import report_snapshot
from app.extensions import db
from app.schools.models import School


def report_source(school: School, year: str) -> tuple[dict, bool]:
    """(snapshot, draft) of ``year`` at ``school``: the sealed snapshot while one is in
    force (draft False), else the live state (draft True) carrying ``principal``
    ({"name"}: the school's active principal, "" when it has none) for the signature.
    Raises NotFound for a year that is neither sealed nor the school's current one."""
    snapshot, sealed = report_snapshot(school, year)
    if sealed is not None:
        return snapshot, False
    name = db.session.scalar(select(User.full_name).where(User.school_id == school.id, User.role == Role.PRINCIPAL,
                                                          User.active.is_(True)).order_by(User.id).limit(1))
    return {**snapshot, "principal": {"name": name or ""}}, True
