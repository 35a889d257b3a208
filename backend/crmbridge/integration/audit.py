"""The audit trail (every activity event, public or not) and retention: old entries and old notes are pruned.

- ``CRMBRIDGE_AUDIT_RETENTION_DAYS`` (default 365): events older than that are deleted, with their webhook
  deliveries (a delivery that old gave up long ago).
- ``CRMBRIDGE_NOTES_RETENTION_DAYS`` (default 0, off): the internal notes of activities that ended longer ago than
  that are emptied. Only past activities: the sync never writes to a meeting that is over, so the notes stay in the
  internal meeting's body in Outlook, which is the mailbox's own retention to handle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..auth.caller import Caller
from ..models import ActivityEventRow, ActivityRow, now
from . import events, idempotency, tenancy


def entries(session: Session, caller: Caller, activity_id: int | None, after: int, limit: int
            ) -> list[ActivityEventRow]:
    tenancy.require_admin(caller)
    query = select(ActivityEventRow).where(tenancy.scoped(ActivityEventRow.tenant_id, caller),
                                           ActivityEventRow.id > after)
    if activity_id is not None:
        query = query.where(ActivityEventRow.activity_id == activity_id)
    return list(session.scalars(query.order_by(ActivityEventRow.id).limit(limit)).all())


@dataclass
class PruneReport:
    events: int = 0
    notes: int = 0
    idempotency_keys: int = 0

    def summary(self) -> str:
        return (f"{self.events} audit entries older than the retention deleted, internal notes of {self.notes} "
                f"past activities emptied, {self.idempotency_keys} idempotency keys forgotten")


def prune(session: Session, *, audit_days: int, notes_days: int, at: datetime | None = None) -> PruneReport:
    """Apply the retention settings; the function a scheduled worker calls. Commits."""
    at = at or now()
    report = PruneReport()
    if audit_days > 0:
        report.events = session.execute(
            delete(ActivityEventRow).where(ActivityEventRow.created_at < at - timedelta(days=audit_days))
            .execution_options(synchronize_session=False)).rowcount
    if notes_days > 0:
        rows = session.scalars(select(ActivityRow).where(
            ActivityRow.end_utc < at - timedelta(days=notes_days), ActivityRow.internal_notes != "")).all()
        for row in rows:
            # Not a new version: the internal meeting of a past activity is never written again.
            session.execute(update(ActivityRow).where(ActivityRow.id == row.id).values(internal_notes="")
                            .execution_options(synchronize_session=False))
            events.record(session, "retention.notes_pruned", row, events.SYSTEM, {"notesDays": notes_days})
        report.notes = len(rows)
    session.commit()
    report.idempotency_keys = idempotency.forget_old(session, at - idempotency.KEEP)
    return report
