"""The Microsoft Graph commands: ``crmbridge worker``, ``sync``, ``scan``, ``subscriptions renew``, ``domains sync``.

Background work runs with application credentials only (a delegated token belongs to one request's user).
"""

from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import db
from ..api.common import forget_org_domains
from ..integration import retired
from ..models import GraphNotificationRow, SyncJobRow, now
from . import setup as graph_setup
from .client import GraphAuthError, GraphClient
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
from .sync import KEEP_DONE, LEASE, SyncSettings, enqueue_upcoming, forget_done, run_due
from .worker import POLL_SECONDS, Worker, WorkerRefused, status_lines


def _missing(exc: GraphAuthError) -> str:
    """Words an administrator can act on for a refused call."""
    if exc.status == 403:
        return (f"the app lacks the application permission {exc.permission or '(unknown)'} (grant it in Entra ID "
                "and give admin consent)")
    return f"Graph refused the app's token ({exc.status} {exc.code})"


def _background(app: Flask, *, every_mailbox: bool = True) -> GraphClient:
    try:
        return graph_setup.background_client(app, every_mailbox=every_mailbox)
    except graph_setup.GraphModeRefused as exc:
        raise click.ClickException(str(exc)) from exc


def _org(session: Session, app: Flask) -> TenantDomains:
    """Each activity's attendees are classified with its own tenant's domains (not the union of every tenant's)."""
    return TenantDomains.of_app(session, app.config)


def _sync_domains_and_forget(session: Session, graph: GraphClient, app: Flask) -> tuple[list[str], list[str]]:
    added, removed = sync_domains(session, graph, graph_setup.application_tenant(app.config))
    if added or removed:
        forget_org_domains(app)
    return added, removed


@click.command("sync", help="Bring internal meetings up to date: run the waiting sync jobs once.")
@click.option("--retry-now", is_flag=True, help="Also run jobs still waiting for their retry time.")
@click.option("--limit", type=int, default=None, help="At most this many activities.")
@click.option("--all-upcoming", is_flag=True,
              help="First queue every activity that has not ended yet (when Graph is first switched on).")
@with_appcontext
def sync_command(retry_now, limit, all_upcoming):
    app = current_app._get_current_object()
    graph = _background(app, every_mailbox=False)
    with db.standalone_session(app) as session:
        if all_upcoming:
            queued = enqueue_upcoming(session, now())
            session.commit()
            click.echo(f"Queued {queued} upcoming activities.")
        org = _org(session, app)
        before = graph.requests_sent
        moved = retired.run_due(session, graph, org)  # a moved activity's old internal meeting, before the new one
        report = run_due(session, graph, org, retry_now=retry_now, limit=limit,
                         settings=SyncSettings.from_config(app.config))
        waiting = session.scalar(select(SyncJobRow.id).where(SyncJobRow.done.is_(False)).limit(1))
        forget_done(session, now() - KEEP_DONE)
    click.echo(f"Internal meetings: {report.summary()}; {graph.requests_sent - before} Graph requests."
               + (" Jobs are waiting for a retry." if waiting else ""))
    if moved.cancelled or moved.refused or moved.failed:
        click.echo(f"Internal meetings left in an old calendar by a reassign: {moved.cancelled} cancelled, "
                   f"{moved.refused} refused, {moved.failed} failed (left for retry).")
    if report.failed or moved.failed:
        raise SystemExit(1)


@click.command("scan", help="Check the external meetings for drift and RSVPs (application mode).")
@click.option("--incremental", is_flag=True, help="Only what changed since the last scan (delta links).")
@click.option("--notified", is_flag=True, help="Only mailboxes with change notifications waiting; incremental.")
@with_appcontext
def scan_command(incremental, notified):
    app = current_app._get_current_object()
    graph = _background(app)
    with db.standalone_session(app) as session:
        before = graph.requests_sent
        if not (incremental or notified):
            try:
                added, removed = _sync_domains_and_forget(session, graph, app)
            except GraphAuthError as exc:
                # GET /organization app-only needs Organization.Read.All (DESIGN 8); the meetings do not.
                session.rollback()
                click.echo(f"Organization domains not read from Graph: {_missing(exc)}. The scan goes on with the "
                           "domains already stored.", err=True)
            else:
                if added or removed:
                    click.echo(f"Organization domains from Graph: {len(added)} added, {len(removed)} removed.")
        org = _org(session, app)
        at = now()
        up_to = session.scalar(select(func.max(GraphNotificationRow.id))) or 0  # later ones wait for next time
        mailboxes = notified_mailboxes(session) if notified else watched_mailboxes(session, at)
        with click.progressbar(length=len(mailboxes), label="Checking meetings", show_pos=True) as bar:
            stats = scan(session, graph, org, at=at, window_days=app.config["SCAN_WINDOW_DAYS"],
                         full=not (incremental or notified), mailboxes=mailboxes,
                         after_each=lambda mailbox: bar.update(1))
        mark_notifications_processed(session, [m for m in mailboxes if m not in stats.failed], up_to)
        forget_processed_notifications(session, at - timedelta(days=1))
        stats.requests = graph.requests_sent - before
    click.echo(stats.summary() + ".")
    if stats.failed:
        raise SystemExit(1)


@click.group("subscriptions", help="Graph change notifications on the organizers' calendars.")
def subscriptions_group():
    pass


@subscriptions_group.command("renew", help="Create or renew a subscription per watched organizer (run twice a day).")
@with_appcontext
def subscriptions_renew():
    app = current_app._get_current_object()
    url, secret = app.config["GRAPH_NOTIFICATION_URL"], app.config["GRAPH_CLIENT_STATE"]
    if not url or not secret:
        raise click.ClickException("Set CRMBRIDGE_GRAPH_NOTIFICATION_URL and CRMBRIDGE_GRAPH_CLIENT_STATE first.")
    graph = _background(app)
    with db.standalone_session(app) as session:
        report = renew_subscriptions(session, graph, watched_mailboxes(session, now()), url, secret)
    click.echo(f"Subscriptions: {report.summary()}.")
    if report.failed:
        raise SystemExit(1)


@click.command("sync", help="Store the organization's verified domains from Microsoft Graph.")
@with_appcontext
def domains_sync():
    app = current_app._get_current_object()
    graph = _background(app)
    with db.standalone_session(app) as session:
        try:
            added, removed = _sync_domains_and_forget(session, graph, app)
        except GraphAuthError as exc:
            raise click.ClickException(f"Organization domains not read from Graph: {_missing(exc)}.") from exc
    click.echo(f"Organization domains from Graph: {', '.join(added) or 'none'} added, "
               f"{', '.join(removed) or 'none'} removed.")


@click.group("worker", invoke_without_command=True,
             help="Run the outbox and (application mode) the scheduled Graph jobs continuously; stop with SIGTERM. "
                  "Several workers may share a PostgreSQL database; SQLite takes one.")
@click.option("--once", is_flag=True, help="One round (outbox and due scheduled jobs), then exit.")
@click.option("--poll", type=float, default=POLL_SECONDS, show_default=True,
              help="Seconds to wait when there is nothing to do.")
@click.option("--lease", type=int, default=int(LEASE.total_seconds()), show_default=True,
              help="Seconds a claimed job is held; the job of a worker that died is retried after it.")
@click.pass_context
@with_appcontext
def worker_group(ctx, once, poll, lease):
    if ctx.invoked_subcommand is not None:
        return
    app = current_app._get_current_object()
    if graph_setup.mode(app) == "off":
        # scripts/dev starts a worker whatever the mode: with Graph off it has nothing to send and says so.
        click.echo("Microsoft Graph is off (CRMBRIDGE_GRAPH_MODE): the worker has nothing to send; changes stay "
                   "in the outbox.", err=True)
        if not once:
            _idle_until_stopped()
        return
    run_worker(app, _background(app, every_mailbox=False), once=once, poll_seconds=poll,
               lease=timedelta(seconds=lease))


def _idle_until_stopped() -> None:
    import signal
    import threading

    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stopping.set())
    stopping.wait()


def run_worker(app: Flask, graph: GraphClient, *, once: bool = False, poll_seconds: float = POLL_SECONDS,
               lease: timedelta = LEASE) -> None:
    """Run a worker in this process until SIGTERM or SIGINT (which let it finish the current activity)."""
    import signal

    worker = Worker(app, graph, poll_seconds=poll_seconds, lease=lease)

    def stop(signum, frame):
        worker.stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    click.echo(f"Worker {worker.name} started ({db.engine(app).dialect.name}).", err=True)
    try:
        report = worker.run(once=once)
    except WorkerRefused as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"Worker {worker.name} stopped. Internal meetings: {report.summary()}.", err=True)


@worker_group.command("status", help="Waiting outbox jobs (last error, next attempt) and the scheduled jobs.")
@with_appcontext
def worker_status():
    with db.standalone_session(current_app._get_current_object()) as session:
        for line in status_lines(session, now()):
            click.echo(line)


@click.command("verify-tenant", help="Try the Graph behaviour crmbridge relies on against this tenant with a test "
                                     "mailbox; prints pass or fail per assumption and deletes what it made.")
@click.option("--mailbox", required=True, help="A test mailbox in the tenant (nobody is invited).")
@click.option("--room", default=None, help="A room mailbox to try a booking with (left out: not run).")
@with_appcontext
def verify_tenant(mailbox, room):
    from .verify import Verification

    app = current_app._get_current_object()
    graph = _background(app, every_mailbox=False)
    checks = Verification(graph, mailbox, mode=graph_setup.mode(app), room=room).run()
    for check in checks:
        verdict = {True: "pass", False: "FAIL", None: "skip"}[check.passed]
        click.echo(f"{verdict:4}  {check.name}: {check.answer}")
    failed = [check for check in checks if check.passed is False]
    click.echo(f"{len(checks) - len(failed)} of {len(checks)} checks did not fail.")
    if failed:
        raise SystemExit(1)
