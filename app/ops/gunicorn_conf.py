"""gunicorn's settings for ``flask serve`` and the portal-web unit (bind, workers and
threads come from the command line, REQUEST_TIMEOUT and LOG_FORMAT from the
environment): the app loaded and warmed once before the workers fork, threads that a
client which stops mid-request cannot hold, the portal's log format for gunicorn's own
lines, no access log (the app writes one line per request itself), time for a large
upload on a slow Wi-Fi, and each dead worker's metrics folded into the totals."""

from __future__ import annotations

import os

from prometheus_client import multiprocess

# gthread, whose threads a client that stops mid-request cannot hold (REQUEST_TIMEOUT):
# a slow phone's upload holds one thread, not a whole worker.
worker_class = "app.ops.worker.PortalThreadWorker"
# Import the app once, in the master, and warm it (app.ops.warm) before forking: workers
# start in a moment and share its memory. A HUP then restarts the workers on the code
# already loaded: after an upgrade, restart the service.
preload_app = True
timeout = 300  # a 50 MB upload over a weak Wi-Fi, or an evidence package being written
graceful_timeout = 60
keepalive = 5
control_socket_disable = True  # not used; it would sit in the home folder, shared by every portal there
accesslog = None
secure_scheme_headers: dict = {}  # which proxies are trusted is TRUSTED_PROXIES alone (ProxyFix, in the app)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"portal": {"()": "app.ops.logs.TextFormatter" if os.environ.get("PORTAL_LOG_FORMAT") == "text"
                              else "app.ops.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "portal", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
}


def when_ready(server) -> None:
    """Before the first worker is forked."""
    from app.ops.warm import warm  # the app is imported by now (preload_app)

    warm(server.app.wsgi())


def child_exit(_server, worker) -> None:
    multiprocess.mark_process_dead(worker.pid)
