"""gunicorn's settings for ``flask serve`` (bind, workers and threads come from its
command line, REQUEST_TIMEOUT from the environment): threads that a client which stops
mid-request cannot hold, the portal's JSON logs for gunicorn's own lines, no access log
(the app writes one line per request itself), time for a large upload on a slow Wi-Fi,
and each dead worker's metrics folded into the totals."""

from __future__ import annotations

from prometheus_client import multiprocess

# gthread, whose threads a client that stops mid-request cannot hold (REQUEST_TIMEOUT):
# a slow phone's upload holds one thread, not a whole worker.
worker_class = "app.ops.worker.PortalThreadWorker"
timeout = 300  # a 50 MB upload over a weak Wi-Fi, or an evidence package being written
graceful_timeout = 60
keepalive = 5
control_socket_disable = True  # not used; it would sit in the home folder, shared by every portal there
accesslog = None
secure_scheme_headers: dict = {}  # which proxies are trusted is TRUSTED_PROXIES alone (ProxyFix, in the app)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.ops.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
}


def child_exit(_server, worker) -> None:
    multiprocess.mark_process_dead(worker.pid)
