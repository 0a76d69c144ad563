"""``/healthz`` (the process answers), ``/readyz`` (it can serve: database and store
reachable, migrations at head) and ``/metrics`` (for Prometheus, behind a token)."""

from __future__ import annotations

import hmac
import logging

from alembic.script import ScriptDirectory
from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import text

from app.accounts.policy import PUBLIC, requires
from app.extensions import db
from app.ops.metrics import exposition
from app.storage import storage

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
@requires(PUBLIC)
def healthz():
    """200 while the process serves requests; reads nothing else (a load balancer's
    liveness probe must not restart app servers because the database is down)."""
    return {"status": "ok"}


@bp.route("/readyz")
@requires(PUBLIC)
def readyz():
    """200 when the database answers at the migrations' head and the store is reachable,
    else 503 naming the check that failed (the reason goes to the log, not the answer)."""
    checks = {"database": "ok", "migrations": "ok", "storage": "ok"}
    try:
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if version not in _heads():
            checks["migrations"] = "behind"
    except Exception as error:  # noqa: BLE001 - any failure to read means not ready
        db.session.rollback()
        log.warning("readiness: database: %s", error.__class__.__name__)
        checks["database"] = checks["migrations"] = "unreachable"
    problem = storage().ready()
    if problem:
        log.warning("readiness: storage: %s", problem)
        checks["storage"] = "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


def _heads() -> tuple[str, ...]:
    found = current_app.extensions.get("portal_migration_heads")
    if found is None:
        script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
        found = current_app.extensions["portal_migration_heads"] = tuple(script.get_heads())
    return found


@bp.route("/metrics")
@requires(PUBLIC)
def metrics():
    """The Prometheus text exposition, to ``Authorization: Bearer <METRICS_TOKEN>``; 404
    while no token is set."""
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), str(token).encode()):
        return Response("", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(exposition(current_app), mimetype="text/plain; version=0.0.4")
