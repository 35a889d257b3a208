"""``crmbridge webhooks deliver`` and ``crmbridge retention prune``: the webhook outbox and retention, for cron
(``crmbridge worker`` also sends the due deliveries each round, when Graph is on)."""

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import db
from . import audit, webhooks


@click.group("webhooks", help="Webhook deliveries (signed, retried with backoff).")
def webhooks_group():
    pass


@webhooks_group.command("deliver", help="Send every due webhook delivery; run it every minute or so.")
@click.option("--limit", type=int, default=None, help="At most this many deliveries.")
@click.option("--retry-now", is_flag=True, help="Also what waits for a later retry.")
@click.option("--retry-failed", is_flag=True, help="First put the deliveries that ran out of retries back.")
@with_appcontext
def deliver(limit, retry_now, retry_failed):
    app = current_app._get_current_object()
    seconds = app.config["WEBHOOK_TIMEOUT_SECONDS"]
    with db.standalone_session(app) as session:
        if retry_failed:
            click.echo(f"{webhooks.retry_failed(session)} given-up deliveries queued again.")
        report = webhooks.deliver_due(session, limit=limit, retry_now=retry_now, timeout=(min(3.05, seconds), seconds))
    click.echo(f"Webhooks: {report.summary()}.")
    if report.failed or report.gave_up:
        raise SystemExit(1)


@click.group("retention", help="Pruning the audit trail and old internal notes.")
def retention_group():
    pass


@retention_group.command("prune", help="Delete audit entries and empty internal notes past their retention.")
@with_appcontext
def prune():
    app = current_app._get_current_object()
    with db.standalone_session(app) as session:
        report = audit.prune(session, audit_days=app.config["AUDIT_RETENTION_DAYS"],
                             notes_days=app.config["NOTES_RETENTION_DAYS"])
    click.echo(f"Retention: {report.summary()}.")


COMMANDS = (webhooks_group, retention_group)
