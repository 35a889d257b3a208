"""Prometheus metrics (prometheus_client): what operators alert on.

- ``crmbridge_http_request_duration_seconds{endpoint,method}``: request latency by Flask endpoint;
  ``crmbridge_http_requests_total{endpoint,method,status}``;
- ``crmbridge_outbox_jobs`` and ``crmbridge_outbox_oldest_job_age_seconds``: the sync outbox (``sync_jobs``) not
  yet done, read from the database at each scrape, so every instance reports the same;
- ``crmbridge_graph_requests_total{method,status}``: Microsoft Graph answers, 429 included (``status="none"``
  when Graph did not answer);
- ``crmbridge_scan_duration_seconds{kind}``: drift scans (full, incremental);
- ``crmbridge_guard_verdicts_total{verdict}``: the send-time guard's verdicts, for when it reports them.

Under gunicorn every worker is a process of its own: ``crmbridge serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh folder before the workers start (prometheus_client's multiprocess mode) and a scrape adds up all of them.
prometheus_client reads that variable when it is first imported, so only this module imports it, and modules the
master process loads (the Graph client, the scan) import this one inside the functions that record.

``GET /metrics`` is for a scraper, never for a browser: it refuses any request a browser marks as such (the add-in's
pages share its origin), and it answers a request that comes from the loopback interface or carries
``Authorization: Bearer <CRMBRIDGE_METRICS_TOKEN>``; everything else gets 404 (docs/operations.md).
"""

import hmac
import ipaddress
import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from . import db
from .models import SyncJobRow

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "crmbridge_http_request_duration_seconds", "Time to answer an HTTP request, by Flask endpoint.",
    ["endpoint", "method"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REQUESTS = Counter("crmbridge_http_requests", "HTTP requests answered.", ["endpoint", "method", "status"])
GRAPH_REQUESTS = Counter("crmbridge_graph_requests", "Microsoft Graph requests by HTTP status (429: throttled).",
                         ["method", "status"])
SCAN_SECONDS = Histogram("crmbridge_scan_duration_seconds", "Duration of one drift scan of the external meetings.",
                         ["kind"], buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800))
GUARD_VERDICTS = Counter("crmbridge_guard_verdicts", "Send-time guard verdicts on an external meeting.",
                         ["verdict"])

bp = Blueprint("metrics", __name__)


def graph_answered(method: str, status: int | None) -> None:
    GRAPH_REQUESTS.labels(method=method, status=str(status) if status else "none").inc()


@contextmanager
def timed_scan(kind: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        SCAN_SECONDS.labels(kind=kind).observe(time.perf_counter() - started)


class OutboxCollector:
    """The outbox as the database has it at scrape time: jobs not done, and how long the oldest has waited."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        with db.standalone_session(self.app) as session:
            count, oldest = session.execute(
                select(func.count(SyncJobRow.id), func.min(SyncJobRow.created_at)).where(SyncJobRow.done.is_(False))
            ).one()
        backlog = GaugeMetricFamily("crmbridge_outbox_jobs", "Sync jobs (outbox) not done yet.")
        backlog.add_metric([], count)
        yield backlog
        age = GaugeMetricFamily("crmbridge_outbox_oldest_job_age_seconds",
                                "Age of the oldest sync job not done yet (0 when there is none).")
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        age.add_metric([], max(0.0, (datetime.now(UTC) - oldest).total_seconds()) if oldest else 0.0)
        yield age


def _started() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        # The endpoint name, never the path: ids in paths would make a series per activity.
        endpoint = request.endpoint or "unmatched"
        REQUEST_SECONDS.labels(endpoint=endpoint, method=request.method).observe(time.perf_counter() - started)
        REQUESTS.labels(endpoint=endpoint, method=request.method, status=str(response.status_code)).inc()
    return response


def _from_loopback() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _allowed() -> bool:
    # Browsers send Sec-Fetch-Site (and Origin on cross-origin calls); scrapers send neither. The taskpane's own
    # origin must not read this, whatever runs in it.
    if "Sec-Fetch-Site" in request.headers or "Origin" in request.headers:
        return False
    token = current_app.config.get("METRICS_TOKEN") or ""
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    return _from_loopback()


@bp.get("/metrics")
def metrics():
    if not _allowed():
        abort(404)
    if os.environ.get(MULTIPROC_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        for collector in _own_collectors():
            registry.register(collector)
    registry.register(OutboxCollector(current_app._get_current_object()))
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                         "Cache-Control": "no-store"})


def _own_collectors():
    return (REQUEST_SECONDS, REQUESTS, GRAPH_REQUESTS, SCAN_SECONDS, GUARD_VERDICTS)


def init_app(app: Flask) -> None:
    app.before_request(_started)
    app.after_request(_observe)
    app.register_blueprint(bp)

