"""The outbox of internal meetings left in an old calendar by a reassign: each is cancelled there, after the same
check as every other write (``sync.check_before_write``: an attendee outside the organization, or a meeting the
organizer does not own, refuses it). Run by ``crmbridge sync`` and by the worker, before the outbox of internal
meetings."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.classification import OrgDomains
from ..graph import GraphClient, GraphNotFound, sync
from ..graph.linking import CRM_ACTIVITY_PROPERTY, graph_id_of
from ..graph.org_scope import OrgScope, for_tenant
from ..models import RetiredMeetingRow, now
from . import events

log = logging.getLogger(__name__)


@dataclass
class RetiredReport:
    cancelled: int = 0
    refused: int = 0
    failed: int = 0


def run_due(session: Session, graph: GraphClient, org: OrgScope, *, at: datetime | None = None,
            activity_ids: Iterable[int] | None = None) -> RetiredReport:
    at = at or now()
    report = RetiredReport()
    query = select(RetiredMeetingRow).where(RetiredMeetingRow.cancel_state == "pending",
                                            RetiredMeetingRow.next_attempt_at <= at)
    if activity_ids is not None:
        query = query.where(RetiredMeetingRow.activity_id.in_(list(activity_ids)))
    for row in session.scalars(query.order_by(RetiredMeetingRow.id)).all():
        row.attempts += 1
        try:
            outcome = _cancel(graph, row, for_tenant(org, row.tenant_id))
        except Exception as exc:  # recorded and retried with the sync's backoff; never raised into a request
            row.last_error = sync.describe(exc)[:255]
            row.next_attempt_at = at + sync.retry_delay(row.attempts)
            report.failed += 1
            log.warning("cancelling a moved internal meeting of activity %s failed (%s)", row.activity_id,
                        row.last_error)
        else:
            if outcome is None:
                row.cancel_state, row.last_error = "done", None
                report.cancelled += 1
            else:
                row.last_error = f"refused: {outcome.reason}"
                row.next_attempt_at = at + sync.retry_delay(row.attempts)
                report.refused += 1
                events.record(session, "guard.internal_write_refused", None, events.SYSTEM,
                              {"reason": outcome.reason, "outsiders": list(outcome.outsiders),
                               "calendar": row.organizer_email, "activityId": row.activity_id},
                              tenant_id=row.tenant_id)
        session.commit()
    return report


def _cancel(graph: GraphClient, row: RetiredMeetingRow, org: OrgDomains) -> sync.Refusal | None:
    if graph_id_of(row):
        event_ids = [graph_id_of(row)]
    else:  # created without our learning its id: found by its link property in the old calendar
        found = graph.find_events_by_extended_property(row.organizer_email, CRM_ACTIVITY_PROPERTY,
                                                       str(row.activity_id))
        event_ids = [event["id"] for event in found if not event.get("isCancelled")]
    for event_id in event_ids:
        try:
            refusal = sync.check_before_write(graph, row.organizer_email, event_id, org)
            if refusal is not None:
                return refusal
            graph.cancel_event(row.organizer_email, event_id)
        except GraphNotFound:
            continue  # already gone from the old calendar
    return None
