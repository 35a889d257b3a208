"""What happened to an activity, by whom: one row per event, written in the transaction of the change itself.

Public events form the change feed (``GET /api/changes``) and are delivered to webhooks; every event, public or
not (guard verdicts), is the audit trail. Event data never holds internal notes: a feed reader who wants the
activity reads it through the API.

Feed order. Ids are drawn when a row is inserted, but transactions commit in any order, so a reader paging by id
could pass an id whose row commits a moment later and never see it. ``sequence`` therefore gives each committed
event a ``position`` after the fact, in one transaction, under a unique index (a second sequencer that raced it
fails and retries): positions only grow over what readers have seen, and a cursor is a position.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..auth.caller import Caller
from ..models import ActivityEventRow, ActivityRow, now

# The events of the contract. The feed and webhooks carry the public ones; the audit trail has all.
PUBLIC_TYPES = (
    "activity.created",
    "activity.updated",
    "activity.reconciled",
    "activity.deleted",
    "activity.reassigned",
    "meeting.linked",
    "customer_meeting.sent",
    "customer_meeting.drifted",
    "customer_meeting.cancelled",
    "customer_meeting.response_changed",
)
AUDIT_ONLY_TYPES = (
    "guard.internal_link_refused",
    "guard.internal_write_refused",
    "guard.send_checked",
    "retention.notes_pruned",
)
SEQUENCE_BATCH = 500
SEQUENCE_TRIES = 10


@dataclass(frozen=True)
class Actor:
    """Who did it: an organizer (their address), an integration (its token's subject) or crmbridge itself."""

    kind: str
    id: str


OUTLOOK = Actor("outlook", "crmbridge scan")
SYSTEM = Actor("system", "crmbridge")


def actor_of(caller: Caller) -> Actor:
    if caller.is_user:
        return Actor("organizer", caller.email or caller.subject)
    return Actor("integration", caller.subject)


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def record(session: Session, type_: str, row: ActivityRow | None, actor: Actor, data: dict | None = None, *,
           tenant_id: str | None = None) -> ActivityEventRow:
    """Add an event to the session; it commits (or rolls back) with the change it describes."""
    if type_ not in PUBLIC_TYPES and type_ not in AUDIT_ONLY_TYPES:
        raise ValueError(f"unknown event type {type_}")
    event = ActivityEventRow(
        event_id=f"evt_{uuid.uuid4().hex}",
        tenant_id=tenant_id or (row.tenant_id if row is not None and row.tenant_id else "default"),
        type=type_,
        public=type_ in PUBLIC_TYPES,
        activity_id=row.id if row is not None else None,
        organizer_email=row.organizer_email if row is not None else None,
        external_source=row.external_source if row is not None else None,
        external_id=row.external_id if row is not None else None,
        actor_kind=actor.kind,
        actor=actor.id[:255],
        data=json.dumps(data or {}, default=_json_default, sort_keys=True),
        created_at=now(),
    )
    with session.no_autoflush:
        session.add(event)
    return event


def link_changed(session: Session, row: ActivityRow, kind: str, previous: str | None, state: str,
                 actor: Actor) -> None:
    """A meeting was linked, or its link changed state (pending, sent, cancelled)."""
    if previous == state:
        return
    record(session, "meeting.linked", row, actor, {"kind": kind, "state": state, "previousState": previous})
    if kind == "external" and state == "sent":
        record(session, "customer_meeting.sent", row, actor, {})


# Sequencing and the feed ----------------------------------------------------------------------------------------

class _Raced(Exception):
    pass


def sequence(session: Session) -> int:
    """Give every committed event without a position the next positions, in id order, and fan them out. Commits.
    Returns how many were positioned."""
    total = 0
    tries = 0
    while True:
        try:
            done = _sequence_batch(session)
        except (IntegrityError, _Raced):  # another sequencer took these positions or events first: look again
            session.rollback()
            tries += 1
            if tries >= SEQUENCE_TRIES:
                raise
            continue
        total += done
        if done < SEQUENCE_BATCH:
            return total


def _sequence_batch(session: Session) -> int:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(0x63726D62)))  # "crmb": sequencers take turns
    rows = list(session.scalars(
        select(ActivityEventRow).where(ActivityEventRow.position.is_(None))
        .order_by(ActivityEventRow.id).limit(SEQUENCE_BATCH)
    ).all())
    if not rows:
        session.commit()
        return 0
    top = session.scalar(select(func.max(ActivityEventRow.position))) or 0
    for offset, row in enumerate(rows, start=1):
        claimed = session.execute(
            update(ActivityEventRow).where(ActivityEventRow.id == row.id, ActivityEventRow.position.is_(None))
            .values(position=top + offset).execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            raise _Raced()  # another sequencer positioned it since this one looked
        set_committed_value(row, "position", top + offset)
    from .webhooks import fan_out  # deliveries are created in the same transaction as the positions

    fan_out(session, [row for row in rows if row.public])
    session.commit()
    return len(rows)


def feed(session: Session, tenant_id: str, after: int, limit: int, types: list[str] | None = None,
         activity_id: int | None = None) -> list[ActivityEventRow]:
    """The tenant's public events after position ``after``, oldest first."""
    sequence(session)
    query = select(ActivityEventRow).where(
        ActivityEventRow.tenant_id == tenant_id, ActivityEventRow.public.is_(True),
        ActivityEventRow.position.is_not(None), ActivityEventRow.position > after)
    if types:
        query = query.where(ActivityEventRow.type.in_(types))
    if activity_id is not None:
        query = query.where(ActivityEventRow.activity_id == activity_id)
    return list(session.scalars(query.order_by(ActivityEventRow.position).limit(limit)).all())


def payload(event: ActivityEventRow) -> dict:
    """An event as the feed and the webhooks show it."""
    return {
        "id": event.event_id,
        "type": event.type,
        "createdAt": event.created_at.isoformat().replace("+00:00", "Z"),
        "cursor": str(event.position) if event.position is not None else None,
        "activity": {
            "id": event.activity_id,
            "externalSource": event.external_source,
            "externalId": event.external_id,
            "organizerEmail": event.organizer_email,
        },
        "actor": {"kind": event.actor_kind, "id": event.actor},
        "data": json.loads(event.data or "{}"),
    }


# What changed in Outlook, found by the scan ---------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingSeen:
    """The customer meeting as the last check stored it: in sync, live/cancelled/deleted, each external's answer."""

    in_sync: bool | None
    state: str | None
    responses: dict[str, tuple[str, str]]  # address key -> (email, answer)


def outlook_changes(session: Session, row: ActivityRow, before: MeetingSeen, after: MeetingSeen,
                    differences: list[dict]) -> None:
    """Record what the scan found changed in the customer meeting since its last check."""
    if after.state in ("cancelled", "deleted") and before.state not in ("cancelled", "deleted"):
        record(session, "customer_meeting.cancelled", row, OUTLOOK, {"how": after.state})
    elif after.in_sync is False and before.in_sync is not False:
        record(session, "customer_meeting.drifted", row, OUTLOOK, {"differences": differences})
    for key, (email, answer) in after.responses.items():
        previous = before.responses.get(key, (email, "none"))[1]
        if answer != previous:
            record(session, "customer_meeting.response_changed", row, OUTLOOK,
                   {"email": email, "response": answer, "previousResponse": previous})
