"""Running the portal for real: health and readiness for load balancers, structured
logs with a request id, Prometheus metrics, and ``flask serve`` (gunicorn and the job
worker, listening on the school's network)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.ops import logs, metrics
    from app.ops.views import bp

    logs.register(app)
    metrics.register(app)
    app.register_blueprint(bp)
