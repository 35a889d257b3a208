"""Watching the external meetings for drift and RSVPs, with as few Graph requests as the job allows.

- One ``calendarView/delta`` round per organizer reads every meeting in the window (a full scan: a few pages of
  up to 100 events) or only what changed since the stored delta link (an incremental scan: one request when
  nothing changed). Linked meetings the round did not show (cancelled, deleted, moved out of the window) are read
  by id through ``$batch``, 20 per request.
- Each linked external meeting is compared with its activity (``domain.drift``); the meeting's fields and each
  external's answer are stored, so ``GET /api/drift`` answers from the database.
- Change notifications (``POST /api/graph/notifications``) only record which mailbox changed; ``crmbridge scan
  --notified`` runs the incremental round for those mailboxes. Subscriptions last the documented maximum for
  Outlook events (10,080 minutes, graph:api-reference/v1.0/resources/subscription.md) less a margin and are renewed
  a day before they end; they are created with a ``lifecycleNotificationUrl`` (the same endpoint), so Graph tells
  us when notifications were ``missed`` (a delta round follows), the subscription was removed (it is made again)
  or needs reauthorizing (it is renewed) (graph:concepts/change-notifications-lifecycle-events.md).
- A linked meeting that turns out to be a recurring series (``type`` seriesMaster) is not compared: an activity
  is one meeting, and comparing it with the series' first instance would be wrong. Occurrences and exceptions
  have their own ids and compare as single meetings.
- The organization's verified domains come from ``GET /organization``.

Everything here reads Graph; the only writes are subscriptions.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from .. import store
from ..domain.activity import Activity, Status
from ..domain.addresses import AddressError, address_key, normalise_domain
from ..domain.classification import OrgDomains
from ..domain.drift import Difference, compute_drift
from ..domain.errors import InvalidInput
from ..domain.graph_event import read_graph_event
from ..integration import events
from ..models import (
    ActivityRow,
    AttendeeResponseRow,
    DeltaStateRow,
    ExternalMeetingCheckRow,
    GraphNotificationRow,
    GraphSubscriptionRow,
    InternalMeetingSyncRow,
    MeetingLinkRow,
    OrgDomainRow,
    now,
)
from .client import GraphClient, GraphDeltaExpired, GraphError, GraphNotFound, event_path
from .linking import graph_id_of, link_sent_invitations
from .org_scope import OrgScope, for_tenant
from .sync import room_answers, room_responses

log = logging.getLogger(__name__)

# What drift reads from an event, plus what identifies its version.
SNAPSHOT_FIELDS = ("start", "end", "isAllDay", "location", "isCancelled", "organizer", "attendees")
EVENT_SELECT = (*SNAPSHOT_FIELDS, "changeKey", "iCalUId", "type", "isOrganizer")
RESPONSES = {"accepted": "accepted", "tentativelyAccepted": "tentative", "declined": "declined"}
# graph:api-reference/v1.0/resources/subscription.md: at most 10,080 minutes for Outlook events; a few minutes
# less, so a clock a little ahead of Graph's is not refused.
MAX_SUBSCRIPTION_LIFETIME = timedelta(minutes=10080)
SUBSCRIPTION_LIFETIME = MAX_SUBSCRIPTION_LIFETIME - timedelta(minutes=10)
RENEW_BEFORE = timedelta(days=1)
SERIES = "series"
LIFECYCLE_EVENTS = ("missed", "subscriptionRemoved", "reauthorizationRequired")
WATCHED_LINK_STATES = ("sent", "pending")


def answer(graph_response: str) -> str:
    """Graph's ``status.response`` as the taskpane names it: accepted, tentative, declined or none."""
    return RESPONSES.get(graph_response, "none")


# Which mailboxes, which window ----------------------------------------------------------------------------------


def scan_window(at: datetime, days: int) -> tuple[datetime, datetime]:
    """From the start of yesterday (UTC) to ``days`` after today: stable within a day, so delta links keep."""
    start = datetime.combine(at.astimezone(UTC).date(), time(0), UTC) - timedelta(days=1)
    return start, start + timedelta(days=days + 1)


def watched_mailboxes(session: Session, since: datetime) -> list[str]:
    """Organizers with an external meeting (sent or awaited) of an activity that ends after ``since``."""
    return list(session.scalars(
        select(ActivityRow.organizer_key).join(MeetingLinkRow)
        .where(MeetingLinkRow.kind == "external", MeetingLinkRow.state.in_(WATCHED_LINK_STATES),
               ActivityRow.end_utc > since)
        .group_by(ActivityRow.organizer_key).order_by(ActivityRow.organizer_key)
    ).all())


def _external_links(session: Session, mailbox: str) -> list[MeetingLinkRow]:
    """The organizer's sent external links with their activities, their last checks and stored answers loaded
    in a few queries (a scan looks at hundreds)."""
    links = list(session.scalars(
        select(MeetingLinkRow).join(ActivityRow)
        .where(MeetingLinkRow.kind == "external", MeetingLinkRow.state == "sent",
               ActivityRow.organizer_key == store.organizer_key(mailbox))
        .options(selectinload(MeetingLinkRow.activity))
    ).all())
    ids = [link.activity_id for link in links]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        # Loaded into the session's identity map, where check_meeting's session.get finds them.
        session.scalars(select(ExternalMeetingCheckRow).where(ExternalMeetingCheckRow.activity_id.in_(chunk))).all()
        session.scalars(select(AttendeeResponseRow).where(AttendeeResponseRow.activity_id.in_(chunk))).all()
    return links


# Checking one meeting -------------------------------------------------------------------------------------------


@dataclass
class ScanStats:
    mailboxes: int = 0
    checked: int = 0
    drifted: int = 0
    rsvp_changed: int = 0
    linked: int = 0
    series: int = 0
    requests: int = 0
    failed: list[str] = field(default_factory=list)

    def add(self, other: ScanStats) -> None:
        for name in ("mailboxes", "checked", "drifted", "rsvp_changed", "linked", "series", "requests"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failed.extend(other.failed)

    def summary(self) -> str:
        line = (f"{self.checked} meetings checked in {self.mailboxes} mailbox(es): {self.drifted} drifted, "
                f"{self.rsvp_changed} RSVPs changed, {self.linked} invitations linked; "
                f"{self.requests} Graph requests")
        if self.series:
            line += (f"; {self.series} linked meeting(s) are recurring series, which crmbridge does not compare: "
                     "link the one occurrence the activity is about")
        return line + (f"; {len(self.failed)} mailbox(es) failed, left for the next scan" if self.failed else "")


def _snapshot(event: dict) -> dict:
    return {name: event[name] for name in SNAPSHOT_FIELDS if name in event}


def differences(activity: Activity, check: ExternalMeetingCheckRow, org: OrgDomains) -> tuple[Difference, ...]:
    """How the stored external meeting differs from the activity as it is now."""
    if check.event_state == "deleted":
        cancelled = activity.status is Status.CANCELLED
        return () if cancelled else (Difference("deleted", False, True),)
    if check.event_state == SERIES:
        return (Difference("recurringSeries", None, "seriesMaster"),)
    try:
        return compute_drift(activity, read_graph_event(json.loads(check.snapshot or "{}")), org).differences
    except InvalidInput:
        return (Difference("unreadable", None, None),)


def check_meeting(session: Session, row: ActivityRow, link: MeetingLinkRow, event: dict | None,
                  scope: OrgScope, at: datetime) -> tuple[bool, int]:
    """Store how the external meeting ``event`` (None: deleted) compares with ``row``. Returns (drifted, RSVPs
    changed); an event version already compared with this activity version is not compared again."""
    org = for_tenant(scope, row.tenant_id)
    check = session.get(ExternalMeetingCheckRow, row.id)
    change_key = event.get("changeKey") if event else None
    if (check is not None and event is not None and change_key and check.change_key == change_key
            and check.activity_version == row.version and check.graph_event_id == event.get("id")):
        return (not check.in_sync, 0)  # this version was compared already (notifications repeat themselves)
    before = _seen(session, row.id, check)
    if check is None:
        check = ExternalMeetingCheckRow(activity_id=row.id)
    if event is not None and event.get("id") and event["id"] != link.graph_event_id:
        _adopt_id(session, link, event)
    if event is not None and not link.ical_uid and event.get("iCalUId"):
        if not store.links_holding(session, {"ical_uid": event["iCalUId"]}, store.link_owner(row)):
            link.ical_uid = event["iCalUId"]
    activity = store.to_domain(row)
    check.graph_event_id = link.graph_event_id or (event or {}).get("id") or ""
    check.change_key = change_key
    check.activity_version = row.version
    check.checked_at = at
    responses: list[tuple[str, str, str]] = []
    if event is None:
        check.event_state, check.snapshot = "deleted", None
    elif event.get("type") == "seriesMaster":
        # Never compared with the series' first instance; said plainly in the pane and the scan.
        check.event_state, check.snapshot = SERIES, json.dumps(_snapshot(event))
    else:
        check.event_state = "cancelled" if event.get("isCancelled") else "live"
        check.snapshot = json.dumps(_snapshot(event))
        try:
            drift = compute_drift(activity, read_graph_event(_snapshot(event)), org)
            responses = [(r.email, r.display_name, answer(r.response)) for r in drift.responses]
        except InvalidInput:
            log.warning("activity %s: the external meeting has fields drift cannot read", row.id)
    found = differences(activity, check, org)
    check.in_sync = not found
    changed = _store_responses(session, row.id, responses, at)
    session.add(check)
    after = events.MeetingSeen(check.in_sync, check.event_state,
                               {address_key(email): (email, response) for email, _, response in responses})
    events.outlook_changes(session, row, before, after,
                           [{"field": d.field, "crm": d.crm, "outlook": d.outlook} for d in found])
    return (not check.in_sync, changed)


def _seen(session: Session, activity_id: int, check: ExternalMeetingCheckRow | None) -> events.MeetingSeen:
    """The customer meeting as the last check left it, for the change feed."""
    if check is None:
        return events.MeetingSeen(None, None, {})
    answers = session.scalars(select(AttendeeResponseRow).where(AttendeeResponseRow.activity_id == activity_id))
    return events.MeetingSeen(check.in_sync, check.event_state, {r.email_key: (r.email, r.response) for r in answers})


def _adopt_id(session: Session, link: MeetingLinkRow, event: dict) -> None:
    # Links recorded by the taskpane carry a REST or EWS id; Graph answered with the immutable one.
    if not store.links_holding(session, {"graph_event_id": event["id"]}, store.link_owner(link.activity)):
        link.graph_event_id = event["id"]


def _store_responses(session: Session, activity_id: int, responses: list[tuple[str, str, str]],
                     at: datetime) -> int:
    stored = {r.email_key: r for r in session.scalars(
        select(AttendeeResponseRow).where(AttendeeResponseRow.activity_id == activity_id))}
    changed = 0
    seen = set()
    for email, name, response in responses:
        key = address_key(email)
        if key in seen:
            continue
        seen.add(key)
        row = stored.get(key)
        if row is None:
            session.add(AttendeeResponseRow(activity_id=activity_id, email_key=key, email=email,
                                            display_name=name or "", response=response, changed_at=at))
            changed += response != "none"
        elif row.response != response:
            row.response, row.changed_at = response, at
            changed += 1
        if row is not None:
            row.email, row.display_name = email, name or row.display_name
    for key, row in stored.items():
        if key not in seen:
            session.delete(row)
    return changed


# One mailbox ----------------------------------------------------------------------------------------------------


def scan_mailbox(session: Session, graph: GraphClient, mailbox: str, org: OrgScope, *, at: datetime,
                 window_days: int, full: bool) -> ScanStats:
    """One delta round for ``mailbox`` (incremental when a usable delta link is stored and ``full`` is False),
    then check every linked external meeting the round touched. Commits."""
    stats = ScanStats(mailboxes=1)
    key = store.organizer_key(mailbox)
    start, end = scan_window(at, window_days)
    state = session.get(DeltaStateRow, key)
    incremental = (not full and state is not None
                   and state.window_end >= at + timedelta(days=window_days / 2) and state.window_start <= at)
    changes: list[dict] = []
    if incremental:
        try:
            changes, delta_link = graph.calendar_view_delta(key, start, end, state.delta_link)
        except GraphDeltaExpired:
            log.info("delta link of a mailbox expired; reading its whole window again")
            incremental = False
    if not incremental:
        changes, delta_link = graph.calendar_view_delta(key, start, end, None)
    else:
        start, end = state.window_start, state.window_end
    events = {e["id"]: e for e in changes if "@removed" not in e and e.get("id")}
    by_uid = {e["iCalUId"]: e for e in events.values() if e.get("iCalUId")}
    removed = {e["id"] for e in changes if "@removed" in e and e.get("id")}

    to_read: list[tuple[MeetingLinkRow, str]] = []
    matched: set[str] = set()
    _note_internal_rooms(session, key, events)
    for link in _external_links(session, key):
        gid = graph_id_of(link)
        event = events.get(gid) if gid else None
        if event is None and link.ical_uid:
            event = by_uid.get(link.ical_uid)
        if event is not None:
            matched.add(event["id"])
            _count(stats, check_meeting(session, link.activity, link, event, org, at))
            stats.series += event.get("type") == "seriesMaster"
        elif gid in removed or (gid and not incremental and _overlaps(link.activity, start, end)
                                and not _settled(session, link)):
            to_read.append((link, gid))
    if to_read:
        paths = {gid: event_path(key, gid, select=EVENT_SELECT) for _, gid in to_read}
        answers = graph.batch_get(key, list(paths.values()), return_errors=True)
        for link, gid in to_read:
            result = answers[paths[gid]]
            if isinstance(result, GraphNotFound):
                result = None
            elif isinstance(result, GraphError):
                log.warning("reading a linked meeting failed: %s %s", result.status, result.code)
                continue
            _count(stats, check_meeting(session, link.activity, link, result, org, at))
            stats.series += (result or {}).get("type") == "seriesMaster"
    session.commit()

    unmatched = [e for gid, e in events.items() if gid not in matched]
    if unmatched or not incremental:
        for link, event in link_sent_invitations(session, graph, key, org, since=at, candidates=unmatched):
            stats.linked += 1
            _count(stats, check_meeting(session, link.activity, link, event, org, at))
    if state is None:
        state = DeltaStateRow(mailbox=key)
        session.add(state)
    state.delta_link, state.window_start, state.window_end = delta_link, start, end
    state.updated_at = at
    session.commit()
    return stats


def _note_internal_rooms(session: Session, mailbox_key: str, events: dict[str, dict]) -> None:
    """The rooms' answers to the internal meetings the delta round showed (a room answers after the booking)."""
    rows = session.execute(
        select(MeetingLinkRow.graph_event_id, InternalMeetingSyncRow).select_from(MeetingLinkRow)
        .join(ActivityRow, ActivityRow.id == MeetingLinkRow.activity_id)
        .join(InternalMeetingSyncRow, InternalMeetingSyncRow.activity_id == ActivityRow.id)
        .where(MeetingLinkRow.kind == "internal", ActivityRow.organizer_key == mailbox_key,
               MeetingLinkRow.graph_event_id.in_(list(events)))
    ).all() if events else []
    for event_id, state in rows:
        state.room_responses = json.dumps(room_responses(events[event_id]), sort_keys=True)


def _overlaps(row: ActivityRow, start: datetime, end: datetime) -> bool:
    return row.start_utc < end and row.end_utc > start


def _count(stats: ScanStats, outcome: tuple[bool, int]) -> None:
    drifted, rsvps = outcome
    stats.checked += 1
    stats.drifted += drifted
    stats.rsvp_changed += rsvps


def _settled(session: Session, link: MeetingLinkRow) -> bool:
    """A meeting last seen cancelled or deleted, against this version of the activity: reading it again tells
    nothing new (neither comes back)."""
    check = session.get(ExternalMeetingCheckRow, link.activity_id)
    return (check is not None and check.event_state in ("cancelled", "deleted")
            and check.activity_version == link.activity.version and check.graph_event_id == link.graph_event_id)


def scan(session: Session, graph: GraphClient, org: OrgScope, *, at: datetime | None = None, window_days: int,
         full: bool = True, mailboxes: Iterable[str] | None = None,
         after_each: Callable[[str], None] | None = None) -> ScanStats:
    """Scan every watched mailbox (or the given ones); ``after_each(mailbox)`` follows each one (a progress bar).
    A failing mailbox is logged and counted; the rest go on."""
    at = at or now()
    before = graph.requests_sent
    targets = list(mailboxes) if mailboxes is not None else watched_mailboxes(session, at)
    stats = ScanStats()
    from .. import metrics  # here, not at import: see crmbridge.metrics

    with metrics.timed_scan("full" if full else "incremental"):
        for mailbox in targets:
            try:
                stats.add(scan_mailbox(session, graph, mailbox, org, at=at, window_days=window_days, full=full))
            except GraphError as exc:
                session.rollback()
                stats.failed.append(mailbox)
                log.warning("scanning a mailbox failed: %s %s %s%s", type(exc).__name__, exc.status, exc.code,
                            f" (needs {exc.permission})" if getattr(exc, "permission", "") else "")
            if after_each is not None:
                after_each(mailbox)
    stats.requests = graph.requests_sent - before
    return stats


# Change notifications -------------------------------------------------------------------------------------------


@dataclass
class NotificationOutcome:
    recorded: int = 0
    duplicates: int = 0
    refused: int = 0
    unknown: int = 0
    lifecycle: int = 0
    mailboxes: set[str] = field(default_factory=set)


def record_notifications(session: Session, items: list, client_state: str) -> NotificationOutcome:
    """Record the changed events of a notification POST, once per ``changeKey``. Items whose clientState does not
    match the configured secret are refused; items of subscriptions we do not know are dropped."""
    outcome = NotificationOutcome()
    subscription_ids = {str(item.get("subscriptionId")) for item in items if isinstance(item, dict)}
    mailboxes = dict(session.execute(
        select(GraphSubscriptionRow.id, GraphSubscriptionRow.mailbox)
        .where(GraphSubscriptionRow.id.in_(subscription_ids))
    ).all()) if subscription_ids else {}
    for item in items:
        if not isinstance(item, dict) or not _client_state_matches(item.get("clientState"), client_state):
            outcome.refused += 1
            continue
        mailbox = mailboxes.get(str(item.get("subscriptionId")))
        if "lifecycleEvent" in item:
            if mailbox is None or item["lifecycleEvent"] not in LIFECYCLE_EVENTS:
                outcome.unknown += 1
                continue
            _lifecycle(session, str(item["subscriptionId"]), mailbox, str(item["lifecycleEvent"]))
            outcome.lifecycle += 1
            # Changes may have gone unnotified: the mailbox gets a delta round with the next `scan --notified`.
            event_id, change_key = f"lifecycle:{item['lifecycleEvent']}", now().isoformat()
        else:
            data = item.get("resourceData") if isinstance(item.get("resourceData"), dict) else {}
            event_id = str(data.get("id") or str(item.get("resource") or "").rsplit("/", 1)[-1])[:512]
            if mailbox is None or not event_id:
                outcome.unknown += 1
                continue
            change_key = _change_key(data.get("@odata.etag"))
        if session.scalar(select(GraphNotificationRow.id).where(
                GraphNotificationRow.event_id == event_id, GraphNotificationRow.change_key == change_key)):
            outcome.duplicates += 1
            continue
        session.add(GraphNotificationRow(mailbox=mailbox, event_id=event_id, change_key=change_key,
                                         change_type=str(item.get("changeType") or item.get("lifecycleEvent")
                                                         or "")[:16], processed=False))
        try:
            session.commit()  # one by one: a duplicate arriving at the same moment costs only itself
        except IntegrityError:
            session.rollback()
            outcome.duplicates += 1
            continue
        outcome.recorded += 1
        outcome.mailboxes.add(mailbox)
    return outcome


def _lifecycle(session: Session, subscription_id: str, mailbox: str, event: str) -> None:
    """graph:concepts/change-notifications-lifecycle-events.md: ``subscriptionRemoved``: the subscription is gone,
    `subscriptions renew` makes a new one; ``reauthorizationRequired``: renewing it reauthorizes it, so it is
    marked due for renewal; ``missed``: nothing to do here beyond the delta round."""
    row = session.get(GraphSubscriptionRow, subscription_id)
    if row is None:
        return
    if event == "subscriptionRemoved":
        session.delete(row)
    elif event == "reauthorizationRequired":
        row.expires_at = min(row.expires_at, now() + timedelta(minutes=5))
    session.commit()


def _client_state_matches(received: object, expected: str) -> bool:
    if not expected or not isinstance(received, str):
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


def _change_key(etag: object) -> str:
    """``W/"<changeKey>"`` as Outlook resources send it, to the bare change key."""
    if not isinstance(etag, str):
        return ""
    return etag.removeprefix("W/").strip('"')[:128]


def notified_mailboxes(session: Session) -> list[str]:
    return list(session.scalars(
        select(GraphNotificationRow.mailbox).where(GraphNotificationRow.processed.is_(False))
        .group_by(GraphNotificationRow.mailbox).order_by(GraphNotificationRow.mailbox)
    ).all())


def mark_notifications_processed(session: Session, mailboxes: Iterable[str], up_to_id: int) -> None:
    for row in session.scalars(select(GraphNotificationRow).where(
            GraphNotificationRow.processed.is_(False), GraphNotificationRow.mailbox.in_(list(mailboxes)),
            GraphNotificationRow.id <= up_to_id)):
        row.processed = True
    session.commit()


def forget_processed_notifications(session: Session, before: datetime) -> None:
    for row in session.scalars(select(GraphNotificationRow).where(
            GraphNotificationRow.processed.is_(True), GraphNotificationRow.received_at < before)):
        session.delete(row)
    session.commit()


# Subscriptions --------------------------------------------------------------------------------------------------


@dataclass
class SubscriptionReport:
    created: int = 0
    renewed: int = 0
    kept: int = 0
    removed: int = 0
    failed: int = 0

    def summary(self) -> str:
        return (f"{self.created} created, {self.renewed} renewed, {self.kept} still valid, {self.removed} removed, "
                f"{self.failed} failed")


def renew_subscriptions(session: Session, graph: GraphClient, mailboxes: Iterable[str], notification_url: str,
                        client_state: str, *, at: datetime | None = None) -> SubscriptionReport:
    """Each watched mailbox gets one subscription on its events, renewed when less than a day is left; the
    subscriptions of mailboxes no longer watched are deleted. Lifecycle notifications go to the same URL."""
    at = at or now()
    report = SubscriptionReport()
    wanted = {store.organizer_key(m) for m in mailboxes}
    rows = list(session.scalars(select(GraphSubscriptionRow)))
    have: dict[str, list[GraphSubscriptionRow]] = {}
    for row in rows:
        have.setdefault(row.mailbox, []).append(row)
    for mailbox in sorted(wanted):
        try:
            _renew_one(session, graph, mailbox, have.get(mailbox, []), notification_url, client_state, at, report)
        except GraphError as exc:
            session.rollback()
            report.failed += 1
            log.warning("subscription for a mailbox failed: %s %s %s", type(exc).__name__, exc.status, exc.code)
    for mailbox, subscriptions in have.items():
        if mailbox in wanted:
            continue
        for row in subscriptions:
            try:
                graph.delete_subscription(row.id)
            except GraphNotFound:
                pass
            except GraphError as exc:
                report.failed += 1
                log.warning("deleting a subscription failed: %s %s", exc.status, exc.code)
                continue
            session.delete(row)
            report.removed += 1
        session.commit()
    return report


def _renew_one(session: Session, graph: GraphClient, mailbox: str, rows: list[GraphSubscriptionRow],
               notification_url: str, client_state: str, at: datetime, report: SubscriptionReport) -> None:
    live = None
    for row in sorted(rows, key=lambda r: r.expires_at, reverse=True):
        if live is None and row.expires_at - at > RENEW_BEFORE:
            live = row
            report.kept += 1
        elif live is None and row.expires_at > at:
            try:
                graph.renew_subscription(row.id, at + SUBSCRIPTION_LIFETIME)
            except GraphNotFound:
                session.delete(row)
                continue
            row.expires_at = at + SUBSCRIPTION_LIFETIME
            live = row
            report.renewed += 1
        else:  # expired, or a spare one
            try:
                graph.delete_subscription(row.id)
            except GraphNotFound:
                pass
            session.delete(row)
    if live is None:
        created = graph.create_subscription(mailbox, notification_url, client_state, at + SUBSCRIPTION_LIFETIME,
                                            lifecycle_url=notification_url)
        session.add(GraphSubscriptionRow(id=created["id"], mailbox=mailbox, expires_at=at + SUBSCRIPTION_LIFETIME))
        report.created += 1
    session.commit()


# Organization domains -------------------------------------------------------------------------------------------


def sync_domains(session: Session, graph: GraphClient, tenant_id: str = "") -> tuple[list[str], list[str]]:
    """Store the verified domains of ``tenant_id`` (the tenant of ``graph``'s app token) as that tenant's (source
    ``graph``), so they count for its activities only; domains Graph no longer lists are dropped, domains an
    administrator added and other tenants' domains are kept. Returns (added, removed)."""
    verified = set()
    for name in graph.organization_domains(""):
        try:
            verified.add(normalise_domain(name))
        except AddressError:
            log.warning("ignoring a verified domain that is not a usable domain name")
    stored = {row.domain: row for row in session.scalars(select(OrgDomainRow))}
    # Rows of no tenant that Graph put there are this tenant's: stored before domains were kept per tenant.
    ours = {d: row for d, row in stored.items() if row.source == "graph" and row.tenant_id in ("", tenant_id)}
    added = sorted(d for d in verified if d not in stored)
    removed = sorted(d for d in ours if d not in verified)
    for domain in added:
        session.add(OrgDomainRow(domain=domain, tenant_id=tenant_id, source="graph"))
    for domain in verified & ours.keys():
        ours[domain].tenant_id = tenant_id
    for domain in removed:
        session.delete(stored[domain])
    session.commit()
    return added, removed


# What the taskpane lists ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExternalResponse:
    email: str
    display_name: str
    response: str
    in_crm: bool
    changed_at: datetime


@dataclass(frozen=True)
class OutOfSync:
    activity: Activity
    graph_event_id: str
    event_state: str
    checked_at: datetime
    differences: tuple[Difference, ...]
    responses: tuple[ExternalResponse, ...]
    rooms: tuple[dict, ...] = ()

    @property
    def activity_id(self) -> int:
        return self.activity.id


def is_watched(session: Session, organizer_email: str) -> bool:
    """Whether the drift watch has read this organizer's calendar at least once (a delta round stored)."""
    return session.get(DeltaStateRow, store.organizer_key(organizer_email)) is not None


def out_of_sync(session: Session, organizer_email: str, org: OrgDomains, *, at: datetime | None = None
                ) -> list[OutOfSync]:
    """The organizer's upcoming external meetings that differ from their activities, as last read from Graph and
    compared with the activities as they are now (a reconcile shows at once)."""
    at = at or now()
    pairs = session.execute(
        select(ExternalMeetingCheckRow, ActivityRow)
        .join(ActivityRow, ActivityRow.id == ExternalMeetingCheckRow.activity_id)
        .join(MeetingLinkRow, (MeetingLinkRow.activity_id == ActivityRow.id) & (MeetingLinkRow.kind == "external"))
        .where(ActivityRow.organizer_key == store.organizer_key(organizer_email), ActivityRow.end_utc > at,
               MeetingLinkRow.state == "sent", MeetingLinkRow.graph_event_id == ExternalMeetingCheckRow.graph_event_id)
        .order_by(ActivityRow.start_utc, ActivityRow.id)
    ).all()
    drifted = []
    for check, row in pairs:
        activity = store.to_domain(row)
        found = differences(activity, check, org)
        if found:
            drifted.append((activity, check, found))
    responses: dict[int, list[AttendeeResponseRow]] = {}
    if drifted:
        for response in session.scalars(
                select(AttendeeResponseRow)
                .where(AttendeeResponseRow.activity_id.in_([a.id for a, _, _ in drifted]))
                .order_by(AttendeeResponseRow.id)):
            responses.setdefault(response.activity_id, []).append(response)
    result = []
    for activity, check, found in drifted:
        in_crm = {address_key(c.email) for c in activity.externals(org)}
        result.append(OutOfSync(
            activity=activity, graph_event_id=check.graph_event_id, event_state=check.event_state,
            checked_at=check.checked_at, differences=found,
            responses=tuple(ExternalResponse(r.email, r.display_name, r.response, r.email_key in in_crm,
                                             r.changed_at) for r in responses.get(activity.id, [])),
            rooms=tuple(room_answers(session, activity.id)),
        ))
    return result


def pending_notification_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(GraphNotificationRow)
                          .where(GraphNotificationRow.processed.is_(False))) or 0
