"""``crmbridge worker``: the outbox and the scheduled Graph jobs, run continuously outside the web server.

No API request waits on Graph for the internal meeting: a change only adds a row to the outbox (``sync.enqueue``)
and a worker brings the meeting along. Several workers may share one PostgreSQL database:

- an outbox row is claimed with ``FOR UPDATE SKIP LOCKED`` and a lease (``sync.run_activity_jobs``), so two
  workers never run the same job, and the job of a killed worker is claimed again when its lease runs out;
- one mailbox is worked by one worker at a time (a session advisory lock per mailbox, ``pg_try_advisory_lock``),
  and a worker sends one request at a time, so Graph's limit of 4 concurrent requests per mailbox (DESIGN 5)
  holds however many machines run workers;
- a scheduled job (incremental scan, full scan, subscription renewal, domain refresh) runs under an advisory lock
  of its own and records its next run in ``scheduled_runs``, so it runs once per period, not once per worker.

PostgreSQL drops a session's advisory locks when its connection ends, so a killed worker holds nothing.

SQLite has one writer: one worker per database, and a second one is refused (a lock file beside the database).

SIGTERM (or Ctrl-C) stops a worker gracefully: it finishes the activity it is on and claims nothing more.

Each round also cancels the internal meetings a reassign left in an old calendar (``integration.retired``, before
the outbox makes the new ones) and sends the due webhook deliveries (``integration.webhooks``, claimed per delivery,
so ``crmbridge webhooks deliver`` from cron may run beside it).

In delegated mode the worker runs the outbox with each organizer's own token, refreshed from their token cache;
without one the job waits for the organizer's next sign-in (``sync.SIGN_IN_NEEDED``). The scheduled jobs need
application mode.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from .. import db
from ..integration import retired, webhooks
from ..models import ActivityRow, GraphNotificationRow, ScheduledRunRow, SyncJobRow, now
from .client import GraphClient
from .drift_watch import (
    forget_processed_notifications,
    mark_notifications_processed,
    notified_mailboxes,
    renew_subscriptions,
    scan,
    sync_domains,
    watched_mailboxes,
)
from .org_scope import TenantDomains
from .sync import KEEP_DONE, LEASE, SyncReport, SyncSettings, _due, describe, forget_done, retry_delay, run_due

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
MAILBOX_BATCH = 20  # activities of one mailbox per turn, so one busy organizer does not hold the others up


class WorkerRefused(RuntimeError):
    """This worker must not start (a second one on SQLite); the message says why."""


# Locks ---------------------------------------------------------------------------------------------------------


class Locks:
    """Named locks shared by every worker of one database: PostgreSQL session advisory locks on a connection of
    their own (held across the commits of the worker's session); on SQLite a lock file that admits one worker,
    and with it every name."""

    def __init__(self, engine: Engine) -> None:
        self._connection: Connection | None = None
        self._file: int | None = None
        if engine.dialect.name == "postgresql":
            self._connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        elif engine.dialect.name == "sqlite":
            self._file = _single_worker(engine.url.database or "")

    def try_lock(self, name: str) -> bool:
        if self._connection is None:
            return True
        return bool(self._connection.scalar(text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))"),
                                            {"name": f"crmbridge:{name}"}))

    def unlock(self, name: str) -> None:
        if self._connection is not None:
            self._connection.scalar(text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))"),
                                    {"name": f"crmbridge:{name}"})

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._file is not None:
            os.close(self._file)


def _single_worker(database: str) -> int | None:
    """Hold the SQLite database's worker lock for this process's lifetime, or refuse."""
    import fcntl

    if not database or database == ":memory:":
        return None
    handle = os.open(f"{database}.worker.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        raise WorkerRefused("Another crmbridge worker is running on this SQLite database; SQLite takes one worker "
                            "(use PostgreSQL, DATABASE_URL=postgresql://..., for more).") from None
    return handle


# The outbox ----------------------------------------------------------------------------------------------------


def due_mailboxes(session: Session, at: datetime) -> list[str]:
    """The organizers (``organizer_key``) with outbox jobs due."""
    return list(session.scalars(
        select(ActivityRow.organizer_key).join(SyncJobRow, SyncJobRow.activity_id == ActivityRow.id)
        .where(_due(at)).group_by(ActivityRow.organizer_key)
    ).all())


def outbox_round(session: Session, graph: GraphClient, app: Flask, locks: Locks, *,
                 keep_going: Callable[[], bool], lease: timedelta = LEASE) -> SyncReport:
    """Work each mailbox with due jobs that no other worker holds, one activity at a time."""
    report = SyncReport()
    settings = SyncSettings.from_config(app.config)
    mailboxes = due_mailboxes(session, now())
    session.commit()
    random.shuffle(mailboxes)  # workers starting together spread over the mailboxes
    for mailbox in mailboxes:
        if not keep_going():
            break
        if not locks.try_lock(f"mailbox:{mailbox}"):
            continue  # another worker is on it
        try:
            report.merge(run_due(session, graph, _org(session, app), organizer_key=mailbox, limit=MAILBOX_BATCH,
                                 settings=settings, lease=lease, keep_going=keep_going))
        finally:
            locks.unlock(f"mailbox:{mailbox}")
    return report


def retired_round(session: Session, graph: GraphClient, app: Flask, locks: Locks) -> int:
    """Cancel the internal meetings that reassigned activities left in their old organizers' calendars; how many
    were tried. One worker at a time, so two never cancel the same meeting."""
    if not locks.try_lock("retired"):
        return 0
    try:
        report = retired.run_due(session, graph, _org(session, app))
    finally:
        locks.unlock("retired")
    return report.cancelled + report.refused + report.failed


def webhooks_round(session: Session, app: Flask, http: requests.Session) -> int:
    """Send the due webhook deliveries; how many were tried."""
    seconds = app.config["WEBHOOK_TIMEOUT_SECONDS"]
    report = webhooks.deliver_due(session, http=http, timeout=(min(3.05, seconds), seconds))
    if report.failed or report.gave_up:
        log.warning("webhooks: %s", report.summary())
    return report.delivered + report.failed + report.gave_up


# Scheduled jobs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scheduled:
    name: str
    every: timedelta
    run: Callable[[Session, GraphClient, Flask, Locks], str]  # returns a summary line; raises on failure
    enabled: Callable[[Flask], bool] = lambda app: _application(app)


def _scan(full: bool) -> Callable[[Session, GraphClient, Flask, Locks], str]:
    def run(session: Session, graph: GraphClient, app: Flask, locks: Locks) -> str:
        at = now()
        up_to = session.scalar(select(func.max(GraphNotificationRow.id))) or 0  # later ones wait for next time
        targets = watched_mailboxes(session, at) if full else sorted(
            set(watched_mailboxes(session, at)) | set(notified_mailboxes(session)))
        done, busy = [], []
        for mailbox in targets:
            if not locks.try_lock(f"mailbox:{mailbox}"):
                busy.append(mailbox)  # the outbox holds it; its notifications wait for the next round
                continue
            try:
                stats = scan(session, graph, _org(session, app), at=at, window_days=app.config["SCAN_WINDOW_DAYS"],
                             full=full, mailboxes=[mailbox])
            finally:
                locks.unlock(f"mailbox:{mailbox}")
            if not stats.failed:
                done.append(mailbox)
        mark_notifications_processed(session, done, up_to)
        forget_processed_notifications(session, at - timedelta(days=1))
        forget_done(session, at - KEEP_DONE)
        failed = len(targets) - len(done) - len(busy)
        if failed:
            raise RuntimeError(f"{failed} of {len(targets)} mailboxes failed")
        return f"{len(done)} mailbox(es) scanned, {len(busy)} busy"
    return run


def _renew(session: Session, graph: GraphClient, app: Flask, locks: Locks) -> str:
    report = renew_subscriptions(session, graph, watched_mailboxes(session, now()),
                                 app.config["GRAPH_NOTIFICATION_URL"], app.config["GRAPH_CLIENT_STATE"])
    if report.failed:
        raise RuntimeError(report.summary())
    return report.summary()


def _domains(session: Session, graph: GraphClient, app: Flask, locks: Locks) -> str:
    from ..api.common import forget_org_domains
    from . import setup as graph_setup

    added, removed = sync_domains(session, graph, graph_setup.application_tenant(app.config))
    if added or removed:
        forget_org_domains(app)
    return f"{len(added)} domain(s) added, {len(removed)} removed"


SCHEDULE = (
    Scheduled("incremental-scan", timedelta(minutes=10), _scan(full=False)),
    Scheduled("full-scan", timedelta(days=1), _scan(full=True)),
    # Subscriptions on Outlook events last at most 10,080 minutes; twice a day leaves room for failures.
    Scheduled("subscriptions", timedelta(hours=12), _renew,
              enabled=lambda app: _application(app) and bool(app.config["GRAPH_NOTIFICATION_URL"]
                                                             and app.config["GRAPH_CLIENT_STATE"])),
    Scheduled("domains", timedelta(days=1), _domains),
)


def run_scheduled(session: Session, graph: GraphClient, app: Flask, locks: Locks, worker_name: str, *,
                  schedule: tuple[Scheduled, ...] = SCHEDULE, keep_going: Callable[[], bool] = lambda: True,
                  at: datetime | None = None) -> list[str]:
    """Run each scheduled job whose time has come and that no other worker is running; the names run."""
    ran = []
    for job in schedule:
        if not keep_going() or not job.enabled(app):
            continue
        if not locks.try_lock(f"schedule:{job.name}"):
            continue
        try:
            if _run_if_due(session, graph, app, locks, worker_name, job, at or now()):
                ran.append(job.name)
        finally:
            locks.unlock(f"schedule:{job.name}")
    return ran


def _run_if_due(session: Session, graph: GraphClient, app: Flask, locks: Locks, worker_name: str, job: Scheduled,
                at: datetime) -> bool:
    row = session.get(ScheduledRunRow, job.name, populate_existing=True)
    if row is None:
        row = ScheduledRunRow(name=job.name, next_run_at=at, failures=0)
        session.add(row)
    elif row.next_run_at > at:
        session.commit()
        return False
    row.last_started_at, row.run_by = at, worker_name[:64]
    session.commit()
    try:
        summary = job.run(session, graph, app, locks)
    except Exception as exc:  # recorded and retried with backoff; the worker goes on
        session.rollback()
        row = session.get(ScheduledRunRow, job.name, populate_existing=True)
        assert row is not None
        row.failures += 1
        row.last_error = (str(exc) if type(exc) is RuntimeError else describe(exc))[:255]
        row.next_run_at = at + min(job.every, retry_delay(row.failures))
        session.commit()
        log.warning("scheduled %s failed (%s); next try at %s", job.name, row.last_error, row.next_run_at)
        return True
    row = session.get(ScheduledRunRow, job.name, populate_existing=True)
    assert row is not None
    row.failures, row.last_error, row.last_finished_at = 0, None, now()
    row.next_run_at = at + job.every
    session.commit()
    log.info("scheduled %s: %s", job.name, summary)
    return True


# The loop ------------------------------------------------------------------------------------------------------


class Worker:
    """One worker process's loop. ``stop`` ends it after the current activity (SIGTERM sets it)."""

    def __init__(self, app: Flask, graph: GraphClient, *, name: str | None = None, poll_seconds: float = POLL_SECONDS,
                 lease: timedelta = LEASE, schedule: tuple[Scheduled, ...] = SCHEDULE) -> None:
        self.app = app
        self.graph = graph
        self.name = name or f"{os.uname().nodename}:{os.getpid()}"
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.schedule = schedule
        self.stopping = threading.Event()
        self.report = SyncReport()
        self.http = requests.Session()

    def keep_going(self) -> bool:
        return not self.stopping.is_set()

    def run(self, *, once: bool = False) -> SyncReport:
        locks = Locks(db.engine(self.app))  # raises WorkerRefused for a second worker on SQLite
        try:
            while self.keep_going():
                with db.standalone_session(self.app) as session:
                    moved = retired_round(session, self.graph, self.app, locks)
                    round_report = outbox_round(session, self.graph, self.app, locks, keep_going=self.keep_going,
                                                lease=self.lease)
                    self.report.merge(round_report)
                    ran = run_scheduled(session, self.graph, self.app, locks, self.name, schedule=self.schedule,
                                        keep_going=self.keep_going)
                    sent = webhooks_round(session, self.app, self.http) if self.keep_going() else 0
                if once:
                    break
                if not (round_report.actions or round_report.failed or ran or moved or sent):
                    self.stopping.wait(self.poll_seconds)
        finally:
            locks.close()
            self.http.close()
        return self.report


def _application(app: Flask) -> bool:
    """Scans, renewals and the domain refresh go through every mailbox: the app's own token only."""
    from . import setup as graph_setup

    return graph_setup.mode(app) == "application"


def _org(session: Session, app: Flask) -> TenantDomains:
    """Each activity's attendees are classified with its own tenant's domains (not the union of every tenant's)."""
    return TenantDomains.of_app(session, app.config)


# What ``crmbridge worker status`` shows ------------------------------------------------------------------------


def status_lines(session: Session, at: datetime) -> list[str]:
    """The outbox's waiting jobs (held by a worker, due, or backing off with their last error and next attempt)
    and each scheduled job's last and next run."""
    jobs = session.scalars(select(SyncJobRow).where(SyncJobRow.done.is_(False))
                           .order_by(SyncJobRow.next_attempt_at, SyncJobRow.id)).all()
    held = sum(1 for job in jobs if job.claimed_by and job.next_attempt_at > at)
    due = sum(1 for job in jobs if job.next_attempt_at <= at)
    lines = [f"Outbox: {len(jobs)} waiting ({due} due, {held} held by a worker)."]
    for job in jobs:
        if job.last_error and not (job.claimed_by and job.next_attempt_at > at):
            lines.append(f"  activity {job.activity_id}: {job.attempts} attempt(s), last error: {job.last_error}; "
                         f"next attempt {_when(job.next_attempt_at)}")
    runs = {row.name: row for row in session.scalars(select(ScheduledRunRow)).all()}
    for job in SCHEDULE:
        row = runs.get(job.name)
        if row is None:
            lines.append(f"{job.name}: not run yet (every {_every(job.every)})")
            continue
        last = (f"last ran {_when(row.last_finished_at)}" if row.last_finished_at else "never finished")
        error = f", {row.failures} failure(s), last error: {row.last_error}" if row.last_error else ""
        lines.append(f"{job.name}: {last}{error}; next {_when(row.next_run_at)} (every {_every(job.every)})")
    return lines


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def _every(period: timedelta) -> str:
    seconds = int(period.total_seconds())
    return f"{seconds // 86400} day(s)" if seconds % 86400 == 0 else (
        f"{seconds // 3600} hour(s)" if seconds % 3600 == 0 else f"{seconds // 60} minute(s)")
