"""How a meeting is tied to its activity, and finding the external meeting once the organizer has sent it.

Two extended properties tie an Outlook meeting to an activity:

- ``CRM_ACTIVITY_PROPERTY``, our own named property holding the activity id, set only on the internal meeting the
  backend creates;
- ``ADDIN_PROPERTY``, the add-in's custom properties (one JSON object in the named property ``cecp-<add-in Id>``
  in PS_PUBLIC_STRINGS), which the taskpane reads without a search: ``{"crmActivityId": "42", ...}``.

The taskpane records the external link as ``pending`` when it opens or fills the invitation; the organizer may
then send it or not. ``link_sent_invitations`` looks for the sent meeting: first by the add-in's property (set in
the compose-mode flow), else by time and attendees among the organizer's meetings, and records its event id and
iCalUId with state ``sent``. It only reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import store
from ..domain.activity import Activity, Status
from ..domain.addresses import address_key
from ..domain.classification import Kind, OrgDomains, classify
from ..domain.errors import InvalidInput
from ..domain.graph_event import read_graph_event
from ..domain.outsiders import attendee_addresses, outsiders
from ..integration import events
from ..models import ActivityRow, MeetingLinkRow, now
from .client import GraphClient, GraphError, GraphNotFound
from .org_scope import OrgScope, for_tenant

log = logging.getLogger(__name__)

ADDIN_ID = "5a86e20a-85a4-4649-8c8a-9aaa9689b0c7"
PS_PUBLIC_STRINGS = "{00020329-0000-0000-C000-000000000046}"
ADDIN_PROPERTY = f"String {PS_PUBLIC_STRINGS} Name cecp-{ADDIN_ID}"
# Our own property set: a fixed GUID that names crmbridge's properties and nothing else.
CRMBRIDGE_PROPERTY_SET = "{8f3c2b6e-4d1a-4e7b-9c55-2a1f6d8e0b73}"
CRM_ACTIVITY_PROPERTY = f"String {CRMBRIDGE_PROPERTY_SET} Name crmActivityId"
# The taskpane's custom property names (addin/taskpane/src/office.js CUSTOM_PROPERTIES).
ADDIN_ACTIVITY_ID = "crmActivityId"
ADDIN_MEETING_KIND = "crmMeetingKind"


def addin_value(activity_id: int, kind: str | None = None) -> str:
    """The add-in's custom-property JSON as Office.js writes it: compact, string values, in insertion order."""
    value = {ADDIN_ACTIVITY_ID: str(activity_id)}
    if kind:
        value[ADDIN_MEETING_KIND] = kind
    return json.dumps(value, separators=(",", ":"))


EXTERNAL_DRAFT = "external-draft"


def link_properties(activity_id: int) -> list[dict]:
    """The extended properties of the internal meeting."""
    return [
        {"id": CRM_ACTIVITY_PROPERTY, "value": str(activity_id)},
        {"id": ADDIN_PROPERTY, "value": addin_value(activity_id, "internal")},
    ]


def addin_activity_id(event: dict) -> int | None:
    """The activity id in an event's add-in custom properties (when they were expanded), else None."""
    for prop in event.get("singleValueExtendedProperties") or []:
        if prop.get("id", "").lower() != ADDIN_PROPERTY.lower():
            continue
        try:
            value = json.loads(prop.get("value") or "")
            return int(value[ADDIN_ACTIVITY_ID])
        except (ValueError, TypeError, KeyError):
            return None
    return None


def read_attendees(graph: GraphClient, mailbox: str, ids: dict[str, str]) -> list[str] | None:
    """The attendees' addresses of the meeting with these link ids, as Graph shows them now; None when Graph
    cannot say (no Graph or EWS id, or no such event in the mailbox)."""
    event_id = ids.get("graph_event_id") or (store.ews_to_rest(ids["ews_item_id"]) if ids.get("ews_item_id") else None)
    if not event_id:
        return None
    try:
        event = graph.get_event(mailbox, event_id, select=("attendees",))
    except GraphNotFound:
        return None
    return attendee_addresses(event)


def learn_ids(session: Session, graph: GraphClient, link: MeetingLinkRow, mailbox: str) -> bool:
    """Replace the Office.js id of a just-recorded link by the immutable id that delta rounds and change
    notifications carry, so an incremental or notified scan recognises the meeting at once. Office.js gives an EWS
    id; read in REST form with ``Prefer: IdType="ImmutableId"`` (every request of the client sends it), Graph
    answers with the immutable id, and this needs no permission beyond reading calendars, where
    ``translateExchangeIds`` app-only needs ``User.Read.All`` (graph:concepts/outlook-immutable-id.md,
    graph:api-reference/v1.0/api/user-translateexchangeids.md). The EWS form of the id is kept for lookups by
    ``itemId``/``restId``. Best effort: False when Graph cannot say (the next full scan adopts the id)."""
    given = graph_id_of(link)
    if not given:
        return False
    try:
        event = graph.get_event(mailbox, given, select=("iCalUId",))
    except GraphError as exc:
        log.info("activity %s: the meeting's immutable id is not known yet (%s %s)", link.activity_id,
                 exc.status, exc.code)
        return False
    immutable, ical_uid = event.get("id"), event.get("iCalUId")
    if immutable and immutable != link.graph_event_id:
        if not store.links_holding(session, {"graph_event_id": immutable}):
            link.ews_item_id = link.ews_item_id or store.rest_to_ews(given)
            link.graph_event_id = immutable
    if ical_uid and not link.ical_uid and not store.links_holding(session, {"ical_uid": ical_uid}):
        link.ical_uid = ical_uid
    session.commit()
    return True


def graph_id_of(link: MeetingLinkRow) -> str | None:
    """The id to address the link's meeting with in Graph: its Graph id, else its EWS id in REST form."""
    if link.graph_event_id:
        return link.graph_event_id
    return store.ews_to_rest(link.ews_item_id) if link.ews_item_id else None


@dataclass(frozen=True)
class Found:
    event: dict
    how: str  # "property" or "attendees"


def find_sent_external(
    graph: GraphClient,
    activity: Activity,
    org: OrgDomains,
    *,
    exclude_ids: Iterable[str] = (),
    candidates: Sequence[dict] | None = None,
) -> Found | None:
    """The organizer's sent external meeting of ``activity``, or None.

    ``candidates``: events already read (e.g. by a scan's delta round) to match by time and attendees; without
    them the activity's time is read with one ``calendarView`` request.
    """
    mailbox = activity.organizer_email
    excluded = set(exclude_ids)
    # The exact JSON the taskpane's compose-mode fill saves (flows.js fill()); Graph compares case-insensitively.
    events = graph.find_events_by_extended_property(mailbox, ADDIN_PROPERTY, addin_value(activity.id, "external"))
    usable = [e for e in events if e.get("id") not in excluded and _sent_by_organizer(e)]
    if usable:
        usable.sort(key=lambda e: e.get("createdDateTime") or "", reverse=True)
        return Found(usable[0], "property")
    if candidates is None:
        # A day either side: an all-day meeting floats in the organizer's zone, not necessarily the activity's.
        margin = timedelta(days=1) if activity.is_all_day else timedelta(minutes=1)
        candidates = graph.calendar_view(
            mailbox, activity.start - (margin if activity.is_all_day else timedelta(0)), activity.end + margin,
            expand_property_ids=[ADDIN_PROPERTY],
        )
    best = _match_by_time_and_attendees(activity, org, candidates, excluded)
    return Found(best, "attendees") if best else None


SENT_CHECK_FIELDS = ("attendees", "isDraft", "isOrganizer", "isCancelled", "iCalUId")


def is_sent_customer_meeting(event: dict, org: OrgDomains) -> bool:
    """Sent: the organizer's, not cancelled, not a draft by Graph's word, with someone outside the organization on
    it (an appointment with nobody invited yet, or only colleagues, is no customer meeting)."""
    return (_sent_by_organizer(event) and not event.get("isCancelled")
            and bool(outsiders(attendee_addresses(event), org)))


def _sent_by_organizer(event: dict) -> bool:
    # isDraft: saved in Outlook but never sent; such a meeting is still only an open invitation.
    return event.get("isOrganizer", True) is not False and event.get("isDraft") is not True


def _match_by_time_and_attendees(activity: Activity, org: OrgDomains, events: Iterable[dict],
                                 excluded: set[str]) -> dict | None:
    """The one meeting at the activity's exact time with the most of its externals, none of its internals' notes
    (our own internal meetings carry CRM_ACTIVITY_PROPERTY and are skipped). Ties are ambiguous: no match."""
    externals = {address_key(c.email) for c in activity.externals(org)}
    if not externals:
        return None
    scored: list[tuple[int, dict]] = []
    for event in events:
        if event.get("id") in excluded or "@removed" in event or not _sent_by_organizer(event):
            continue
        if any(p.get("id", "").lower() == CRM_ACTIVITY_PROPERTY.lower()
               for p in event.get("singleValueExtendedProperties") or []):
            continue
        claimed = addin_activity_id(event)
        if claimed is not None and claimed != activity.id:
            continue
        try:
            meeting = read_graph_event(event)
        except InvalidInput:
            continue
        if meeting.is_cancelled or not _same_time(activity, meeting):
            continue
        present = {address_key(a.email) for a in meeting.attendees
                   if classify(a.email, a.type, org).kind is Kind.EXTERNAL}
        overlap = len(externals & present)
        if overlap:
            scored.append((overlap, event))
    if not scored:
        return None
    scored.sort(key=lambda item: item[0], reverse=True)
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        log.info("activity %s: %d meetings match the invitation equally; not linking", activity.id, len(scored))
        return None
    return scored[0][1]


def _same_time(activity: Activity, meeting) -> bool:
    """All-day meetings come from Graph floating midnight to midnight in their own zone (docs #1802, #6003), which
    may not be the activity's: they match by date. Others match as instants."""
    if activity.is_all_day and meeting.is_all_day:
        return (meeting.start_date, meeting.end_date) == (activity.local_start().date(), activity.local_end().date())
    return not meeting.is_all_day and not activity.is_all_day and (meeting.start, meeting.end) == (
        activity.start, activity.end)


def pending_links(session: Session, mailbox: str, since: datetime) -> list[MeetingLinkRow]:
    """External links still waiting for the sent meeting, of one organizer's activities that end after ``since``."""
    return list(session.scalars(
        select(MeetingLinkRow).join(ActivityRow)
        .where(MeetingLinkRow.kind == "external", MeetingLinkRow.state == "pending",
               ActivityRow.organizer_key == store.organizer_key(mailbox),
               ActivityRow.status == Status.PLANNED.value, ActivityRow.end_utc > since)
        .order_by(ActivityRow.start_utc)
    ).all())


def record_sent(session: Session, link: MeetingLinkRow, event: dict) -> bool:
    """Record the found meeting on the pending link; False when another link already holds its ids."""
    ids = {"graph_event_id": event["id"], "ical_uid": event.get("iCalUId")}
    if any(holder is not link for holder in store.links_holding(session, ids, store.link_owner(link.activity))):
        log.warning("activity %s: the found meeting is already linked elsewhere; not linking", link.activity_id)
        return False
    link.graph_event_id = ids["graph_event_id"]
    if ids["ical_uid"]:
        link.ical_uid = ids["ical_uid"]
    events.link_changed(session, link.activity, link.kind, link.state, "sent", events.OUTLOOK)
    link.state = "sent"
    link.updated_at = now()
    return True


def link_sent_invitations(
    session: Session,
    graph: GraphClient,
    mailbox: str,
    scope: OrgScope,
    *,
    since: datetime,
    candidates: Sequence[dict] | None = None,
) -> list[tuple[MeetingLinkRow, dict]]:
    """Look for the sent meeting of each pending external link of ``mailbox``; returns the links it recorded, each
    with the meeting found. Commits what it records. A Graph failure for one link is logged and leaves it pending."""
    linked = []
    for link in pending_links(session, mailbox, since):
        row = link.activity
        org = for_tenant(scope, row.tenant_id)
        if link.graph_event_id:  # the customer appointment the backend put there: its id is known
            try:
                event = graph.get_event(mailbox, link.graph_event_id, select=SENT_CHECK_FIELDS)
            except GraphError as exc:
                log.warning("activity %s: reading the customer appointment failed: %s %s", row.id, exc.status,
                            exc.code)
                continue
            if is_sent_customer_meeting(event, org) and record_sent(session, link, event):
                session.commit()
                linked.append((link, event))
            continue
        internal_ids = [lk.graph_event_id for lk in row.links if lk.kind == "internal" and lk.graph_event_id]
        try:
            found = find_sent_external(graph, store.to_domain(row), org, exclude_ids=internal_ids,
                                       candidates=candidates)
        except GraphError as exc:
            log.warning("activity %s: looking for the sent invitation failed: %s %s", row.id, exc.status, exc.code)
            continue
        if found and record_sent(session, link, found.event):
            session.commit()
            linked.append((link, found.event))
            log.info("activity %s: linked the sent external meeting (found by %s)", row.id, found.how)
    return linked
