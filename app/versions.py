"""Optimistic locking shared by every record with a ``version`` column
(``version_id_col``): a change made on an older version than the saved one is refused
with StaleRecord, which lists what was saved meanwhile from the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from app.audit.models import AuditEvent
from app.errors import Conflict
from app.extensions import db


class StaleRecord(Conflict):
    """A change based on a version of the record that is no longer the saved one.
    ``changes`` lists what was saved meanwhile (audit events, oldest first)."""

    code = "stale_version"

    def __init__(self, message: str, changes: list[AuditEvent] | None = None, current_version: int | None = None):
        super().__init__(message)
        self.changes = changes or []
        self.current_version = current_version

@contextmanager
def saving(record, version: int | None) -> Iterator[None]:
    """Run the block's change of ``record`` and commit it, provided the record is still
    at ``version`` (when given) and nobody saves it in between; otherwise roll back and
    raise StaleRecord with what was saved meanwhile."""
    model, record_id = type(record), record.id
    if version is not None and version != record.version:
        raise stale(model, record_id, version)
    try:
        yield
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise stale(model, record_id, version) from None


def stale(model: type, record_id: int, version: int | None) -> StaleRecord:
    current = db.session.scalar(select(model.version).where(model.id == record_id))
    if current is None:
        return StaleRecord(_("Someone else deleted this record meanwhile."))
    return StaleRecord(_("Someone else saved this record while you were editing it. Their change is shown "
                         "below, and is in the form wherever you had not changed the field; what you typed is "
                         "kept. Check it and save again."),
                       changes=changes_since(model, record_id, version or current - 1), current_version=current)


def changes_since(model: type, record_id: int, version: int, action_suffix: str = ".updated") -> list[AuditEvent]:
    """The audited changes of the ``model`` record ``record_id`` that made its versions
    after ``version``, oldest first: those whose action ends in ``action_suffix`` ("" for
    every action, e.g. each transition of an assessment)."""
    events = db.session.scalars(
        select(AuditEvent).options(joinedload(AuditEvent.actor))
        .where(AuditEvent.object_type == model.__name__, AuditEvent.object_id == record_id,
               AuditEvent.action.endswith(action_suffix))
        .order_by(AuditEvent.id.desc()).limit(50))
    return [event for event in reversed(list(events)) if (event.details.get("version") or 0) > version]
