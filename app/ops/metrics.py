"""The portal's Prometheus metrics: requests and their latencies per route (through
prometheus-flask-exporter), score cache hits, the job queue's depth and storage
errors. Under gunicorn (``flask serve``) ``PROMETHEUS_MULTIPROC_DIR`` is set and every
worker's figures are summed at scrape time; otherwise one process's figures are shown.

``/metrics`` answers only when ``METRICS_TOKEN`` is set, to ``Authorization: Bearer
<METRICS_TOKEN>`` (Prometheus' ``authorization`` scrape setting)."""

from __future__ import annotations

import os

from flask import Flask, Request, request
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, multiprocess
from prometheus_flask_exporter import PrometheusMetrics

# The methods the request figures are labelled with. Any other is counted in one series:
# a client may send any word as a method, and one series per word would let it grow the
# figures (and each worker's memory) without end.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# The portal's own figures, one set per process (each app's request figures are its own).
REGISTRY = CollectorRegistry()
SCORE_CACHE = Counter("portal_score_cache_total", "Live scorecards asked for, by whether the cache held them",
                      ["result"], registry=REGISTRY)
STORAGE_ERRORS = Counter("portal_storage_errors_total", "Operations the file store refused or could not reach",
                         registry=REGISTRY)
UNUSUAL_METHODS = Counter("portal_http_unusual_method_total",
                          "Requests with a method the portal never serves (counted here, not per method)",
                          registry=REGISTRY)
JOB_QUEUE = Gauge("portal_job_queue_depth", "Jobs waiting in the queue (reading documents' text)",
                  registry=REGISTRY, multiprocess_mode="livemostrecent")


def multiprocess_mode() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ


def route(request: Request) -> str:
    """The route a request matched (its rule, so /schools/7 and /schools/8 are one
    series), or "unmatched"."""
    return request.url_rule.rule if request.url_rule else "unmatched"


def register(app: Flask) -> None:
    """Count every request of ``app`` (method, route, status, duration); a request with
    a method outside METHODS only in ``portal_http_unusual_method_total``."""
    app.before_request(_count_unusual_method)  # before the exporter's hooks, so it skips the request
    app.extensions["portal_metrics"] = PrometheusMetrics(
        app, path=None, registry=CollectorRegistry(), group_by=route, defaults_prefix="portal",
        excluded_paths=["^/static/"])


def _count_unusual_method() -> None:
    if request.method not in METHODS:
        request.prom_do_not_track = True  # prometheus-flask-exporter leaves such a request out
        UNUSUAL_METHODS.inc()


def exposition(app: Flask) -> bytes:
    """The text Prometheus reads: the requests of every worker (or of this process) and
    the portal's own figures, the job queue's depth read now."""
    from app.evidence.jobs import queue

    try:
        JOB_QUEUE.set(queue(app)[0].pending_count())
    except Exception:  # noqa: BLE001 - a queue that cannot be read must not hide the other figures
        JOB_QUEUE.set(float("nan"))
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(app.extensions["portal_metrics"].registry) + generate_latest(REGISTRY)
