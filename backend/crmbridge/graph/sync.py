"""The internal meeting follows the CRM activity, through an outbox.

Every change to an activity adds a row to ``sync_jobs`` in the same transaction (``enqueue``), so no change is
lost whatever happens to Graph. No API request waits on them: ``crmbridge worker`` (``worker.py``) runs them
continuously, ``crmbridge sync`` once (retries with backoff). Running a job brings the organizer's internal meeting to
the activity's current state:

- attendees: the internal participants and the organization's rooms, never an external address; the organizer
  owns the meeting and is not an attendee;
- body: the internal notes; rooms as ``resource`` attendees; link properties so the taskpane needs no search;
- create with a ``transactionId`` fixed (and committed) before the first try, so a retried create returns the
  first event instead of a second one;
- update with only the fields that changed since the last sync (a hash per field is kept);
- a cancelled activity cancels the internal meeting.

Before every write to an existing event (update or cancel) the event's current attendees are read: Graph mails
every attendee on an organizer's PATCH or cancel (DESIGN 8), so one attendee outside the organization's domains
(a customer the organizer added, or a customer meeting linked as the internal one by mistake) makes the write a
mail to a customer, and it is refused. The refusal is recorded on the link (the taskpane shows it, ``crmbridge
sync`` reports it) and the job keeps looking, by reading only, until the outsider is gone or the link changes.

Every organizer PATCH mails every attendee (DESIGN 8), so updates are spared (``SyncSettings``):

- rooms are booked by one meeting only (``room_booking``): a room declines a second booking of the same time;
  the other meeting carries the location text;
- a change of the notes alone waits ``notes_coalesce`` from the first waiting edit, so several edits become one
  update; with ``notes_only_updates`` off it updates nothing and the notes travel with the next real change;
- the body of an online meeting is never PATCHed: that loses or regenerates its join information
  (microsoftgraph/microsoft-graph-docs-contrib #311, #3670); the taskpane shows the newer notes instead.

The external meeting is the organizer's: nothing here writes to it, and a write aimed at its id is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session
from tzlocal.windows_tz import tz_win

from .. import store
from ..auth.obo import SignInNeeded
from ..domain.activity import Activity, Status
from ..domain.addresses import address_key
from ..domain.classification import Kind, OrgDomains, classify
from ..domain.draft import external_draft
from ..domain.outsiders import attendee_addresses, outsiders
from ..driver_select import DriverSelect
from ..integration import events
from ..models import (
    ActivityRow,
    ExternalMeetingCheckRow,
    InternalMeetingSyncRow,
    MeetingLinkRow,
    SyncJobRow,
    now,
)
from .client import GraphClient, GraphError, GraphNotFound
from .linking import ADDIN_PROPERTY, CRM_ACTIVITY_PROPERTY, EXTERNAL_DRAFT, addin_value, graph_id_of, link_properties
from .org_scope import OrgScope, for_tenant

log = logging.getLogger(__name__)

TIME_FIELDS = ("start", "end", "isAllDay")
LEASE = timedelta(minutes=5)
KEEP_DONE = timedelta(days=7)
RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 3600
SIGN_IN_NEEDED = "sign-in needed"
SIGN_IN_WAIT = timedelta(days=1)  # the organizer's next sign-in releases the job sooner


@dataclass(frozen=True)
class SyncSettings:
    """The deployment's choices (README, .env.example); the defaults are the settings' defaults."""

    room_booking: str = "internal"  # which meeting books the organization's rooms: internal or external
    notes_coalesce: timedelta = timedelta(seconds=300)
    notes_only_updates: bool = True

    @classmethod
    def from_config(cls, config) -> SyncSettings:
        return cls(room_booking=config.get("ROOM_BOOKING", "internal"),
                   notes_coalesce=timedelta(seconds=config.get("NOTES_COALESCE_SECONDS", 300)),
                   notes_only_updates=config.get("NOTES_ONLY_UPDATES", True))


DEFAULT_SETTINGS = SyncSettings()
NOTES_ONLY_OFF = "notes-only-off"
ONLINE_MEETING = "online-meeting"


class RefusedWrite(RuntimeError):
    """A write was aimed at an event that is not the activity's internal meeting."""


# What the check before a write reads of the event.
WRITE_CHECK_FIELDS = ("attendees", "isOrganizer", "isOnlineMeeting", "onlineMeeting")
OUTSIDERS = "outsiders"
NOT_ORGANIZER = "not-organizer"


@dataclass(frozen=True)
class Refusal:
    """Why a write to an existing event would be unsafe: ``OUTSIDERS`` (with whom) or ``NOT_ORGANIZER``."""

    reason: str
    outsiders: tuple[str, ...] = ()


def check_before_write(graph: GraphClient, mailbox: str, event_id: str, org: OrgDomains) -> Refusal | None:
    """Read the event as it is now; the reason a write would be unsafe, or None. Raises GraphNotFound when the
    event is gone. Writing to an attendee's copy is never ours to do (DESIGN 1), and an organizer's write mails
    every attendee, so any attendee outside the organization's domains refuses it."""
    return read_before_write(graph, mailbox, event_id, org)[0]


def read_before_write(graph: GraphClient, mailbox: str, event_id: str, org: OrgDomains
                      ) -> tuple[Refusal | None, dict]:
    """``check_before_write``, and the event as read (attendees with the rooms' answers, online meeting)."""
    event = graph.get_event(mailbox, event_id, select=WRITE_CHECK_FIELDS)
    if event.get("isOrganizer") is False:
        return Refusal(NOT_ORGANIZER), event
    found = outsiders(attendee_addresses(event), org)
    return (Refusal(OUTSIDERS, found) if found else None), event


def is_online_meeting(event: dict) -> bool:
    return bool(event.get("isOnlineMeeting") or (event.get("onlineMeeting") or {}).get("joinUrl"))


def room_responses(event: dict) -> dict[str, str]:
    """Each resource attendee's answer (``status.response``), by address."""
    return {a["emailAddress"]["address"].lower(): ((a.get("status") or {}).get("response") or "none")
            for a in event.get("attendees") or []
            if a.get("type") == "resource" and (a.get("emailAddress") or {}).get("address")}


# The internal meeting, as plain values -------------------------------------------------------------------------


def internal_attendees(activity: Activity, org: OrgDomains, *, book_rooms: bool = True) -> list[dict]:
    """Internal participants as in the CRM, and (``book_rooms``) rooms in the organization's domains as resources.
    Externals, and rooms outside the organization (their mailbox would receive the notes), are left out."""
    organizer = address_key(activity.organizer_email)
    attendees = []
    for participant in activity.classified(org):
        if address_key(participant.email) == organizer:
            continue
        kind = participant.verdict.kind
        if kind is Kind.INTERNAL:
            attendee_type = participant.type
        elif (book_rooms and kind is Kind.RESOURCE
              and classify(participant.email, "required", org).kind is Kind.INTERNAL):
            attendee_type = "resource"
        else:
            continue
        address = {"address": participant.email}
        if participant.display_name:
            address["name"] = participant.display_name
        attendees.append({"emailAddress": address, "type": attendee_type})
    return attendees


def _graph_time(activity: Activity, moment: datetime) -> dict:
    if activity.is_all_day:
        # Graph wants all-day events at midnight in the event's own zone; Windows names are the safe spelling.
        local = moment.astimezone(activity.zone)
        return {"dateTime": local.strftime("%Y-%m-%dT00:00:00"),
                "timeZone": tz_win.get(activity.time_zone, activity.time_zone)}
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def internal_meeting(activity: Activity, org: OrgDomains, settings: SyncSettings = DEFAULT_SETTINGS) -> dict:
    """The internal meeting's Graph fields (without link properties and transactionId)."""
    return {
        "subject": activity.subject,
        "body": notes_body(activity),
        "start": _graph_time(activity, activity.start),
        "end": _graph_time(activity, activity.end),
        "isAllDay": activity.is_all_day,
        "location": {"displayName": activity.location},
        "attendees": internal_attendees(activity, org, book_rooms=settings.room_booking == "internal"),
    }


def customer_appointment(activity: Activity, org: OrgDomains) -> dict:
    """The appointment the organizer turns into the customer meeting: the external draft's subject, time, place
    (as text) and agenda, and NO attendees. Graph sends the invitations of a create with attendees at once (DESIGN
    5); without attendees it is a plain appointment that mails nobody. Its add-in property says "external-draft",
    so the pane knows it, and neither the sync nor the linking takes it for the internal meeting or a sent one."""
    draft = external_draft(activity, org)
    return {
        "subject": draft.subject,
        "body": {"contentType": "text", "content": draft.body},
        "start": _graph_time(activity, activity.start),
        "end": _graph_time(activity, activity.end),
        "isAllDay": activity.is_all_day,
        "location": {"displayName": draft.location},
        "attendees": [],
        "singleValueExtendedProperties": [
            {"id": ADDIN_PROPERTY, "value": addin_value(activity.id, EXTERNAL_DRAFT)},
        ],
    }


def notes_body(activity: Activity) -> dict:
    return {"contentType": "text", "content": activity.internal_notes}


def field_hashes(event: dict) -> dict[str, str]:
    return {
        name: hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]
        for name, value in event.items()
    }


def changed_fields(event: dict, previous: dict[str, str]) -> dict:
    """The fields whose hash differs from the last sync; start, end and isAllDay travel together."""
    hashes = field_hashes(event)
    changed = {name: value for name, value in event.items() if previous.get(name) != hashes[name]}
    if any(name in changed for name in TIME_FIELDS):
        changed.update({name: event[name] for name in TIME_FIELDS})
    return changed


# The outbox ----------------------------------------------------------------------------------------------------


def enqueue(session: Session, row: ActivityRow, reason: str) -> None:
    """Record that ``row`` changed, in the caller's transaction. Call it before the commit."""
    with session.no_autoflush:
        session.add(SyncJobRow(activity=row, reason=reason, attempts=0, next_attempt_at=now(), done=False))


def enqueue_upcoming(session: Session, at: datetime) -> int:
    """Queue every activity that has not ended by ``at``: the first sync after Graph is switched on."""
    rows = session.scalars(select(ActivityRow).where(ActivityRow.end_utc > at)).all()
    for row in rows:
        enqueue(session, row, "upcoming")
    return len(rows)


@dataclass
class SyncReport:
    actions: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    refused: list[int] = field(default_factory=list)  # activity ids whose internal meeting was not written

    def count(self, action: str) -> None:
        self.actions[action] = self.actions.get(action, 0) + 1

    def merge(self, other: SyncReport) -> None:
        for action, count in other.actions.items():
            self.actions[action] = self.actions.get(action, 0) + count
        self.failed += other.failed
        self.refused.extend(other.refused)

    def summary(self) -> str:
        parts = [f"{count} {action}" for action, count in sorted(self.actions.items()) if action != "refused"]
        if self.actions.get("notes-held"):
            parts.append("(notes-held: the internal meeting keeps its older notes because it is an online meeting "
                         "or notes-only updates are off; the taskpane shows the newer ones)")
        if self.refused:
            ids = ", ".join(str(i) for i in sorted(set(self.refused)))
            parts.append(f"{len(self.refused)} refused (someone outside the organization is on the internal meeting "
                         f"of activity {ids}, or it is not the organizer's: remove them in Outlook or link another "
                         f"meeting; nothing was written)")
        return ", ".join(parts + [f"{self.failed} failed (left for retry)"])


def forget_done(session: Session, before: datetime) -> int:
    """Delete finished jobs older than ``before``; returns how many."""
    deleted = session.execute(
        delete(SyncJobRow).where(SyncJobRow.done.is_(True), SyncJobRow.updated_at < before)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return deleted


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)))


def _due(at: datetime, retry_now: bool = False):
    """Waiting jobs whose time has come; with ``retry_now`` every waiting job no worker holds right now."""
    due = SyncJobRow.next_attempt_at <= at
    if retry_now:
        due = or_(due, SyncJobRow.claimed_by.is_(None))
    return and_(SyncJobRow.done.is_(False), due)


def due_activity_ids(session: Session, *, at: datetime, retry_now: bool = False,
                     activity_ids: Iterable[int] | None = None, organizer_key: str | None = None,
                     limit: int | None = None) -> list[int]:
    query = select(SyncJobRow.activity_id).where(_due(at, retry_now))
    if activity_ids is not None:
        query = query.where(SyncJobRow.activity_id.in_(list(activity_ids)))
    if organizer_key is not None:
        query = query.join(ActivityRow).where(ActivityRow.organizer_key == organizer_key)
    query = query.group_by(SyncJobRow.activity_id).order_by(SyncJobRow.activity_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query).all())


def run_due(session: Session, graph: GraphClient, org: OrgScope, *, at: datetime | None = None,
            activity_ids: Iterable[int] | None = None, organizer_key: str | None = None,
            limit: int | None = None, retry_now: bool = False, settings: SyncSettings = DEFAULT_SETTINGS,
            lease: timedelta = LEASE, keep_going: Callable[[], bool] = lambda: True) -> SyncReport:
    """Run the jobs that are due (every waiting job with ``retry_now``), one activity at a time, while
    ``keep_going()`` says so (a worker told to stop finishes the activity it is on and claims no more)."""
    at = at or now()
    report = SyncReport()
    for activity_id in due_activity_ids(session, at=at, retry_now=retry_now, activity_ids=activity_ids,
                                        organizer_key=organizer_key, limit=limit):
        if not keep_going():
            break
        report.merge(run_activity_jobs(session, graph, org, activity_id, at=at, retry_now=retry_now,
                                       settings=settings, lease=lease))
    return report


def coalesce_until(session: Session, activity_id: int, settings: SyncSettings) -> datetime | None:
    """When the activity's waiting notes edits are written together: the oldest waiting job plus the window."""
    oldest = session.scalar(select(func.min(SyncJobRow.created_at))
                            .where(SyncJobRow.activity_id == activity_id, SyncJobRow.done.is_(False)))
    return oldest + settings.notes_coalesce if oldest is not None else None


def run_activity_jobs(session: Session, graph: GraphClient, org: OrgScope, activity_id: int, *,
                      at: datetime, retry_now: bool = False, settings: SyncSettings = DEFAULT_SETTINGS,
                      lease: timedelta = LEASE) -> SyncReport:
    """Claim the activity's due jobs (a lease, so two workers never run them at once), sync, settle the claim.

    The claim locks the rows with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one writer and ignores it):
    a second worker passes over rows another is claiming instead of waiting for them, and the lease
    (``next_attempt_at``) keeps them from being claimed again until it runs out, which is how the job of a
    killed worker comes back."""
    report = SyncReport()
    token = uuid.uuid4().hex
    ids = session.scalars(
        select(SyncJobRow.id).where(SyncJobRow.activity_id == activity_id, _due(at, retry_now))
        .with_for_update(skip_locked=True)
    ).all()
    claimed = 0
    if ids:
        claimed = session.execute(
            update(SyncJobRow)
            .where(SyncJobRow.id.in_(ids), _due(at, retry_now))
            .values(claimed_by=token, next_attempt_at=at + lease, attempts=SyncJobRow.attempts + 1, updated_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount
    session.commit()
    if not claimed:
        return report
    try:
        action = sync_activity(session, graph, activity_id, org, at=at, settings=settings)
    except Exception as exc:  # recorded on the job and retried: never lost, never raised into a request
        session.rollback()
        attempts = session.scalar(select(SyncJobRow.attempts).where(SyncJobRow.claimed_by == token).limit(1)) or 1
        delay = retry_delay(attempts)
        described = describe(exc)
        if isinstance(exc, SignInNeeded):
            # Delegated mode: no token of the organizer's until they sign in again (which releases the job).
            delay, described = SIGN_IN_WAIT, f"{SIGN_IN_NEEDED}: {exc.error}"
        session.execute(
            update(SyncJobRow).where(SyncJobRow.claimed_by == token)
            .values(claimed_by=None, next_attempt_at=at + delay, last_error=described[:255], updated_at=at)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        log.warning("internal meeting sync of activity %s failed (%s); retry in %ds",
                    activity_id, described, delay.total_seconds())
        report.failed += 1
        return report
    if action == "refused":
        # Not written, not done: the job looks again (reading only) with backoff, so the change reaches the
        # meeting once the outsider is gone, and never before.
        attempts = session.scalar(select(SyncJobRow.attempts).where(SyncJobRow.claimed_by == token).limit(1)) or 1
        values = {"claimed_by": None, "next_attempt_at": at + retry_delay(attempts),
                  "last_error": "refused: someone outside the organization is on the internal meeting"}
        report.refused.append(activity_id)
    elif action == "deferred":
        # A notes edit inside the coalescing window: every waiting job of the activity runs together at its end.
        until = coalesce_until(session, activity_id, settings) or at
        values = {"claimed_by": None, "next_attempt_at": max(until, at), "attempts": 0, "last_error": None}
    else:
        values = {"claimed_by": None, "done": True, "last_error": None}
    session.execute(
        update(SyncJobRow).where(SyncJobRow.claimed_by == token).values(updated_at=at, **values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    report.count(action)
    return report


def release_waiting_for_sign_in(session: Session, organizer_key: str) -> int:
    """The organizer signed in: their jobs that waited for it are due now. Returns how many."""
    ids = select(ActivityRow.id).where(ActivityRow.organizer_key == organizer_key)
    released = session.execute(
        update(SyncJobRow)
        .where(SyncJobRow.done.is_(False), SyncJobRow.claimed_by.is_(None),
               SyncJobRow.last_error.startswith(SIGN_IN_NEEDED), SyncJobRow.activity_id.in_(ids))
        .values(next_attempt_at=now()).execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return released


def waiting_for_sign_in(session: Session, activity_id: int) -> bool:
    """Whether the activity's internal meeting waits for its organizer to sign in (delegated mode)."""
    return session.scalar(select(SyncJobRow.id).where(
        SyncJobRow.activity_id == activity_id, SyncJobRow.done.is_(False), SyncJobRow.next_attempt_at > now(),
        SyncJobRow.last_error.startswith(SIGN_IN_NEEDED)).limit(1)) is not None


def describe(exc: BaseException) -> str:
    """An error in words safe to log and store: its type and Graph's status and code, never a message that could
    echo request data (note text)."""
    if isinstance(exc, GraphError):
        return f"{type(exc).__name__} {exc.status if exc.status is not None else 'transport'} {exc.code}".strip()
    code = getattr(exc, "error", None)
    return f"{type(exc).__name__} {code}" if isinstance(code, str) else type(exc).__name__


# One activity --------------------------------------------------------------------------------------------------


def sync_activity(session: Session, graph: GraphClient, activity_id: int, scope: OrgScope, *,
                  at: datetime | None = None, settings: SyncSettings = DEFAULT_SETTINGS) -> str:
    """Bring the internal meeting to the activity's current state. Returns what was done: created, updated,
    unchanged, cancelled, refused (the check before the write found an outsider), deferred (a notes edit inside
    the coalescing window), notes-held (only the notes changed and they are not written: notes-only updates are
    off, or the meeting is an online meeting), past or gone. Commits; raises GraphError (the job is retried)."""
    at = at or now()
    # Fresh from the database: another worker may have linked or changed the meeting since this session looked.
    row = session.get(ActivityRow, activity_id, populate_existing=True)
    if row is None:
        return "gone"
    org = for_tenant(scope, row.tenant_id)  # its own tenant's domains: another tenant's address is an outsider
    activity = store.to_domain(row)
    if activity.end <= at:
        return "past"  # creating or changing a past meeting would only mail the attendees about nothing
    internal = _link(row, "internal")
    state = session.get(InternalMeetingSyncRow, activity_id, populate_existing=True)
    if activity.status is Status.CANCELLED:
        return _cancel(session, graph, row, internal, state, org)
    event = internal_meeting(activity, org, settings)
    if internal is None or graph_id_of(internal) is None:
        return _create(session, graph, row, internal, state, event, at)
    if internal.state == "cancelled":  # cancelled, then planned again: a new meeting
        return _create(session, graph, row, internal, state, event, at, replace=True)
    changes = changed_fields(event, json.loads(state.field_hashes) if state else {})
    if state is None:
        changes["singleValueExtendedProperties"] = link_properties(row.id)  # a meeting we did not create
    if not changes:
        return "unchanged"
    if state is not None and set(changes) == {"body"}:
        if not settings.notes_only_updates:
            state.notes_held = NOTES_ONLY_OFF
            session.commit()
            return "notes-held"
        until = coalesce_until(session, row.id, settings)
        if until is not None and at < until:
            return "deferred"
    event_id = graph_id_of(internal)
    _refuse_foreign(row, event_id)
    held = None
    try:
        checked = _safe_to_write(session, graph, row, internal, event_id, org)
        if checked is None:
            return "refused"
        if "body" in changes and is_online_meeting(checked):
            changes.pop("body")  # a body PATCH loses the join information (docs-contrib #311, #3670)
            held = ONLINE_MEETING
        if changes:
            graph.update_event(activity.organizer_email, event_id, changes)
    except GraphNotFound:
        # The organizer deleted it in Outlook: the CRM still has the meeting, so it is made again.
        log.info("activity %s: the internal meeting is gone from the calendar; creating it again", row.id)
        return _create(session, graph, row, internal, state, event, at, replace=True)
    state = _remember(session, row, state, event, at, written=changes)
    state.notes_held = held
    state.room_responses = json.dumps(room_responses(checked), sort_keys=True)
    session.commit()
    return "updated" if changes else "notes-held"


def _create(session: Session, graph: GraphClient, row: ActivityRow, internal: MeetingLinkRow | None,
            state: InternalMeetingSyncRow | None, event: dict, at: datetime, *, replace: bool = False) -> str:
    """Create the internal meeting. ``replace``: the linked one is gone (cancelled or deleted); its ids are
    dropped and a new transactionId is drawn in the same commit, or Graph would hand the old meeting back."""
    # A stored transactionId without a finished sync: an earlier try sent the create and lost the answer.
    tried_before = state is not None and state.synced_at is None and not replace
    if state is None:
        state = InternalMeetingSyncRow(activity_id=row.id, mailbox=row.organizer_email, field_hashes="{}",
                                       transaction_id=_transaction_id(row.id))
        session.add(state)
    elif replace:
        state.transaction_id = _transaction_id(row.id)
    if replace and internal is not None:
        internal.graph_event_id = internal.ews_item_id = internal.ical_uid = None
        internal.state = "pending"
    session.commit()  # the transactionId is stored before the call, so every retry reuses it
    created = _already_created(graph, row) if tried_before else None
    if created is None:
        created = graph.create_event(
            row.organizer_email, {**event, "singleValueExtendedProperties": link_properties(row.id)},
            state.transaction_id, find_existing=lambda: _already_created(graph, row),
        )
    if internal is None:
        internal = MeetingLinkRow(kind="internal")
        row.links.append(internal)
    internal.graph_event_id = created["id"]
    internal.ical_uid = created.get("iCalUId") or internal.ical_uid
    internal.state = "sent"  # Graph sends the invitations to the internal attendees at once
    internal.updated_at = at
    state = _remember(session, row, state, event, at)
    state.notes_held = None
    state.room_responses = json.dumps(room_responses(created), sort_keys=True)
    session.commit()
    return "created"


def _cancel(session: Session, graph: GraphClient, row: ActivityRow, internal: MeetingLinkRow | None,
            state: InternalMeetingSyncRow | None, org: OrgDomains) -> str:
    if internal is not None and internal.state == "cancelled":
        return "unchanged"
    if internal is not None and graph_id_of(internal) is not None:
        event_ids = [graph_id_of(internal)]
    elif state is not None:
        # A create was tried and its answer lost: the meeting may exist without our knowing its id.
        found = graph.find_events_by_extended_property(row.organizer_email, CRM_ACTIVITY_PROPERTY, str(row.id))
        event_ids = [event["id"] for event in found if not event.get("isCancelled")]
    else:
        return "unchanged"
    if internal is None:
        if not event_ids:
            return "unchanged"
        internal = MeetingLinkRow(kind="internal", state="sent", graph_event_id=event_ids[0])
        row.links.append(internal)
    for event_id in event_ids:
        _refuse_foreign(row, event_id)
        try:
            if _safe_to_write(session, graph, row, internal, event_id, org) is None:
                return "refused"
            graph.cancel_event(row.organizer_email, event_id)
        except GraphNotFound:
            pass  # already gone from the calendar: nothing left to cancel
    internal.state = "cancelled"
    internal.updated_at = now()
    session.commit()
    return "cancelled"


def _remember(session: Session, row: ActivityRow, state: InternalMeetingSyncRow | None, event: dict,
              at: datetime, *, written: dict | None = None) -> InternalMeetingSyncRow:
    """Store the hash of each field as the meeting now has it: all of ``event``, or only the ``written`` fields
    (a field held back keeps its old hash, so it is still seen as changed)."""
    hashes = field_hashes(event)
    if state is None:
        state = InternalMeetingSyncRow(activity_id=row.id, mailbox=row.organizer_email,
                                       transaction_id=_transaction_id(row.id))
        session.add(state)
    elif written is not None:
        kept = json.loads(state.field_hashes or "{}")
        kept.update({name: hashes[name] for name in written if name in hashes})
        hashes = kept
    state.field_hashes = json.dumps(hashes, sort_keys=True)
    state.synced_version = row.version
    state.synced_at = at
    return state


def _already_created(graph: GraphClient, row: ActivityRow) -> dict | None:
    """The internal meeting an earlier try created after all, found by its extended property: the window in which
    Graph de-duplicates a transactionId is not documented (DESIGN 8), so a create is looked up before it is sent
    again."""
    found = graph.find_events_by_extended_property(row.organizer_email, CRM_ACTIVITY_PROPERTY, str(row.id))
    live = [event for event in found if not event.get("isCancelled")]
    return live[0] if live else None


def _link(row: ActivityRow, kind: str) -> MeetingLinkRow | None:
    return next((link for link in row.links if link.kind == kind), None)


def _safe_to_write(session: Session, graph: GraphClient, row: ActivityRow, internal: MeetingLinkRow,
                   event_id: str, org: OrgDomains) -> dict | None:
    """The check before every write: the event as read when it is safe, else None. Records a refusal on the link
    (and commits it), or clears an old one."""
    refusal, event = read_before_write(graph, row.organizer_email, event_id, org)
    if refusal is None:
        internal.write_blocked = internal.blocked_addresses = internal.blocked_at = None
        return event
    addresses = json.dumps(list(refusal.outsiders))
    if internal.write_blocked != refusal.reason or internal.blocked_addresses != addresses:
        internal.write_blocked, internal.blocked_addresses, internal.blocked_at = refusal.reason, addresses, now()
        events.record(session, "guard.internal_write_refused", row, events.SYSTEM,
                      {"reason": refusal.reason, "outsiders": list(refusal.outsiders)})
    session.commit()
    log.warning("activity %s: not writing to its internal meeting: %s (%d outside the organization)",
                row.id, refusal.reason, len(refusal.outsiders))
    return None


def _refuse_foreign(row: ActivityRow, event_id: str) -> None:
    external = _link(row, "external")
    if external is not None and event_id in {external.graph_event_id, external.ical_uid}:
        raise RefusedWrite(f"activity {row.id}: refusing to write to the external meeting")


def _transaction_id(activity_id: int) -> str:
    return f"crmbridge-{activity_id}-{uuid.uuid4().hex}"


# What the taskpane shows -------------------------------------------------------------------------------------------


def notes_in_meeting(session: Session, activity: Activity) -> dict | None:
    """Whether the internal meeting holds the CRM's current notes: ``{"in_meeting": bool, "reason": ...}``, reason
    ``online-meeting`` or ``notes-only-off`` (held back on purpose) or ``waiting`` (coalescing, or not yet
    written); None when the backend has not synced an internal meeting."""
    state = session.get(InternalMeetingSyncRow, activity.id)
    if state is None:
        return None
    return _notes_answer(activity, state.synced_at, state.field_hashes, state.notes_held)


def _notes_answer(activity: Activity, synced_at: datetime | None, hashes: str | None,
                  held: str | None) -> dict | None:
    if synced_at is None:
        return None
    written = json.loads(hashes or "{}").get("body")
    if written == field_hashes({"body": notes_body(activity)})["body"]:
        return {"in_meeting": True, "reason": None}
    return {"in_meeting": False, "reason": held or "waiting"}


def room_answers(session: Session, activity_id: int) -> list[dict]:
    """Each booked room's answer, from the meeting that books it: ``{"email", "response", "meeting"}``."""
    state = session.get(InternalMeetingSyncRow, activity_id)
    check = session.get(ExternalMeetingCheckRow, activity_id)
    return _room_answers(state.room_responses if state else None, check.snapshot if check else None)


def _room_answers(internal: str | None, external_snapshot: str | None) -> list[dict]:
    answers = []
    for email, response in sorted(json.loads(internal or "{}").items()):
        answers.append({"email": email, "response": response, "meeting": "internal"})
    if external_snapshot:
        for email, response in sorted(room_responses(json.loads(external_snapshot)).items()):
            answers.append({"email": email, "response": response, "meeting": "external"})
    return answers


_PANE_STATE = DriverSelect(
    select(InternalMeetingSyncRow.synced_at, InternalMeetingSyncRow.field_hashes, InternalMeetingSyncRow.notes_held,
           InternalMeetingSyncRow.room_responses, ExternalMeetingCheckRow.snapshot,
           exists().where(SyncJobRow.activity_id == ActivityRow.id, SyncJobRow.done.is_(False),
                          SyncJobRow.next_attempt_at > bindparam("now"),
                          SyncJobRow.last_error.startswith(SIGN_IN_NEEDED)))
    .select_from(ActivityRow)
    .outerjoin(InternalMeetingSyncRow, InternalMeetingSyncRow.activity_id == ActivityRow.id)
    .outerjoin(ExternalMeetingCheckRow, ExternalMeetingCheckRow.activity_id == ActivityRow.id)
    .where(ActivityRow.id == bindparam("id"))
)


def pane_state(connection: Connection, activity: Activity) -> tuple[dict | None, list[dict], bool]:
    """``notes_in_meeting``, ``room_answers`` and ``waiting_for_sign_in`` of one activity, read in one select."""
    (row,) = _PANE_STATE.rows(connection, {"id": activity.id, "now": now()})
    synced_at, hashes, held, internal_rooms, snapshot, waits = row
    return (_notes_answer(activity, synced_at, hashes, held), _room_answers(internal_rooms, snapshot), bool(waits))
