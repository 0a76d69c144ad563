"""Audit trail of state changes, tamper-evident: each entry carries the hash of the one
before it (app.audit.chain), written in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import has_request_context, request

from app.audit import chain
from app.audit.models import AuditEvent
from app.bulk import insert_rows
from app.extensions import db


def record(actor, action: str, obj=None, *, school_id: int | None = None, **details: Any) -> AuditEvent:
    """Add an audit entry for ``action`` on ``obj`` by ``actor`` to the current transaction.

    ``school_id`` defaults to the object's school (or the object itself when it is a school);
    ``details`` must be JSON-serialisable (e.g. ``changes={"role": ["staff", "reviewer"]}``).
    """
    if obj is not None:
        db.session.flush()  # a new object gets its id, a moved one its new school_id
    if school_id is None and obj is not None:
        school_id = getattr(obj, "school_id", None)
        if school_id is None and type(obj).__name__ == "School":
            school_id = obj.id
    event = _event(actor, action, obj, school_id, details)
    db.session.add(event)
    return event


def record_inserted(actor, action: str, object_type: str, school_id: int,
                    objects: Iterable[tuple[int, dict]]) -> None:
    """``record`` for many objects of one school inserted without the ORM, given as
    (id, details) pairs: inserted in one statement, then chained in one more."""
    client = _client()
    db.session.flush()  # entries the session holds go first, chained by its flush
    connection = db.session.connection()
    chain.lock(connection)
    ids = insert_rows(AuditEvent, [
        {"actor_id": getattr(actor, "id", None), "school_id": school_id, "action": action,
         "object_type": object_type, "object_id": object_id, "client": client, "details": details}
        for object_id, details in objects])
    if ids:
        chain.chain_from(connection, min(ids))


def record_at_once(actor, action: str, obj=None, *, school_id: int | None = None, **details: Any) -> None:
    """Write an entry in a transaction of its own and commit it now, for a request that
    is being refused or fails: whatever the session had pending is rolled back first,
    never saved with it. The insert then opens the transaction, so on SQLite a GET
    request (whose transaction begins deferred) waits for a concurrent writer instead
    of failing. ``obj`` must already be in the database; the session's objects are
    expired afterwards, as after any rollback."""
    if school_id is None and obj is not None:
        school_id = obj.id if type(obj).__name__ == "School" else getattr(obj, "school_id", None)
    event = _event(actor, action, obj, school_id, details)
    db.session.rollback()
    db.session.add(event)
    db.session.commit()


def _event(actor, action: str, obj, school_id: int | None, details: dict) -> AuditEvent:
    return AuditEvent(
        actor_id=getattr(actor, "id", None),
        school_id=school_id,
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        client=_client(),
        details=details,
    )


def _client() -> str | None:
    return request.remote_addr if has_request_context() else "cli"
