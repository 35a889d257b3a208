"""Use cases: what each API call does, in terms of the domain and the store. No Flask or HTTP here."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import store
from .auth.caller import INTEGRATION_ROLE, Caller
from .domain.activity import Activity, ClassifiedParticipant, Status, checked, parse_participants
from .domain.classification import OrgDomains
from .domain.draft import ExternalDraft, external_draft
from .domain.drift import Drift, compute_drift
from .domain.errors import AlreadyLinked, Conflict, InvalidInput, NotAllowed, NotFound, StaleVersion
from .domain.graph_event import read_graph_event
from .domain.meeting_state import external_state
from .domain.outsiders import outsiders
from .domain.reconcile import take_outlook
from .graph import GraphClient, sync
from .integration import events, tenancy
from .models import ActivityRow, MeetingLinkRow, now

LINK_ID_FIELDS = ("graph_event_id", "ews_item_id", "ical_uid")


@dataclass(frozen=True)
class ActivityView:
    activity: Activity
    participants: tuple[ClassifiedParticipant, ...]
    external_state: str | None = None

    @property
    def etag(self) -> str:
        return etag_for(self.activity.version)


@dataclass(frozen=True)
class LookupView:
    activity: ActivityView
    etag: str
    meeting: str | None
    state: str
    external_meeting: store.LinkView | None
    internal_meeting: store.LinkView | None
    drift: Drift | None
    can_prepare_appointment: bool = False
    internal_notes: dict | None = None
    rooms: tuple[dict, ...] = ()
    waiting_for_sign_in: bool = False


def etag_for(version: int) -> str:
    return f'"v{version}"'


def view(activity: Activity, org: OrgDomains) -> ActivityView:
    return ActivityView(activity, activity.classified(org))


def _require_integration(caller: Caller) -> None:
    if not caller.is_user and INTEGRATION_ROLE not in caller.roles:
        raise NotAllowed(f"This application needs the {INTEGRATION_ROLE} role to work with activities.")


def _row(session: Session, caller: Caller, activity_id: int) -> ActivityRow:
    _require_integration(caller)
    # The caller's tenant only; a user's own activities only (store.visible_to); none the CRM deleted.
    row = store.find_own(session, caller, activity_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"No activity {activity_id} among yours.")
    return row


def _activity_from(data: dict, organizer_email: str) -> Activity:
    participants = parse_participants(data.get("participants", []))
    return checked(Activity(
        subject=data["subject"].strip(),
        start=data["start"],
        end=data["end"],
        time_zone=data["time_zone"],
        is_all_day=data.get("is_all_day", False),
        location=data.get("location", "").strip(),
        internal_notes=data.get("internal_notes", ""),
        external_agenda=data.get("external_agenda", ""),
        status=Status(data.get("status", "planned")),
        organizer_email=organizer_email,
        participants=participants,
    ))


def create_activity(session: Session, caller: Caller, data: dict, org: OrgDomains) -> ActivityView:
    row = add_activity(session, caller, data)
    session.commit()
    return view(store.to_domain(row), org)


def add_activity(session: Session, caller: Caller, data: dict, **external) -> ActivityRow:
    """A new activity (``external``: its ``external_source`` and ``external_id``), its outbox job and its event,
    added to the session and flushed; the caller commits."""
    _require_integration(caller)
    named = data.get("organizer_email")
    if caller.is_user:
        if named and store.organizer_key(named) not in caller.address_keys:
            raise NotAllowed("Organizers create activities for themselves; only an integration names the organizer.")
        organizer = caller.email
    elif named:
        organizer = named
    else:
        raise InvalidInput.one("organizerEmail", "An integration must name the organizer of the activity.")
    activity = replace(_activity_from(data, organizer), **external)
    row = ActivityRow(tenant_id=tenancy.tenant_of(caller), organizer_oid=caller.object_id if caller.is_user else None)
    store.write_fields(row, activity)
    session.add(row)
    sync.enqueue(session, row, "created")
    session.flush()
    events.record(session, "activity.created", row, events.actor_of(caller), {"version": 1})
    return row


def get_activity(session: Session, caller: Caller, activity_id: int, org: OrgDomains) -> ActivityView:
    return view(store.to_domain(_row(session, caller, activity_id)), org)


def list_activities(session: Session, caller: Caller, query: dict, org: OrgDomains) -> dict:
    if not caller.is_user or query.get("organizer") or query.get("changed_since"):
        from .integration.activities import list_activities as list_for_integration

        return list_for_integration(session, caller, query, org)
    if not caller.is_user:
        raise NotAllowed("Listing shows an organizer's own activities; sign in as the organizer.")
    rows, total = store.list_own(session, caller, query.get("start"), query.get("end"),
                                 query["page"], query["page_size"])
    return {"items": [_listed(r, org) for r in rows], "page": query["page"],
            "page_size": query["page_size"], "total": total}


def _listed(row: ActivityRow, org: OrgDomains) -> ActivityView:
    activity = store.to_domain(row)
    external = next((link for link in row.links if link.kind == "external"), None)
    state = external_state(activity, org, external.state if external else None, None)
    return ActivityView(activity, activity.classified(org), state.value)


def _save(session: Session, row: ActivityRow, expected_version: int | None, before: Activity, activity: Activity,
          caller: Caller, event: str = "activity.updated", details: dict | None = None) -> Activity:
    """Write ``activity`` over ``before`` (the row as read) if the caller saw the current version (None: any)."""
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion(f"The activity is at version {row.version}, not {expected_version}.")
    if activity == before:
        return activity  # nothing changed: no new version, nothing for the internal meeting to follow
    events.record(session, event, row, events.actor_of(caller),
                  {"changedFields": changed_fields(before, activity), "version": row.version + 1, **(details or {})})
    store.write_fields(row, activity)
    row.updated_at = now()  # always dirty, so the UPDATE carries the version check even for participant-only edits
    sync.enqueue(session, row, "changed")  # in the same transaction: the internal meeting follows every change
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise StaleVersion("The activity changed while this change was being saved.") from exc
    return store.to_domain(row)


def changed_fields(before: Activity, after: Activity) -> list[str]:
    """The names (camelCase, as in the API) of the fields that differ; never their values."""
    names = ("subject", "start", "end", "time_zone", "is_all_day", "location", "internal_notes", "external_agenda",
             "status", "organizer_email", "participants")
    changed = [name for name in names if getattr(before, name) != getattr(after, name)]
    return [name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:]) for name in changed]


def update_activity(session: Session, caller: Caller, activity_id: int, expected_version: int | None, changes: dict,
                    org: OrgDomains) -> ActivityView:
    row = _row(session, caller, activity_id)
    current = store.to_domain(row)
    fields = {k: v for k, v in changes.items() if k != "participants"}
    if "status" in fields:
        fields["status"] = Status(fields["status"])
    for text in ("subject", "location"):
        if text in fields:
            fields[text] = fields[text].strip()
    if "participants" in changes:
        fields["participants"] = parse_participants(changes["participants"])
    updated = checked(replace(current, **fields))
    return view(_save(session, row, expected_version, current, updated, caller), org)


def draft_for(session: Session, caller: Caller, activity_id: int, org: OrgDomains, *,
              book_rooms: bool = True) -> ExternalDraft:
    return external_draft(store.to_domain(_row(session, caller, activity_id)), org, book_rooms=book_rooms)


def drift_for(session: Session, caller: Caller, activity_id: int, event: dict, org: OrgDomains) -> Drift:
    activity = store.to_domain(_row(session, caller, activity_id))
    return compute_drift(activity, read_graph_event(event), org)


def reconcile(session: Session, caller: Caller, activity_id: int, expected_version: int | None, event: dict,
              apply_cancellation: bool, org: OrgDomains) -> ActivityView:
    row = _row(session, caller, activity_id)
    outlook = read_graph_event(event)
    current = store.to_domain(row)
    updated = take_outlook(current, outlook, apply_cancellation)
    return view(_save(session, row, expected_version, current, updated, caller, "activity.reconciled",
                      {"took": "outlook"}), org)


AttendeeReader = Callable[[str, dict[str, str]], list[str] | None]
LINK_ATTEMPTS = 3


def record_link(session: Session, caller: Caller, activity_id: int, data: dict, org: OrgDomains,
                graph_attendees: AttendeeReader | None = None) -> tuple[MeetingLinkRow, bool]:
    """Record (or update) the activity's link to an Outlook meeting. Returns the link and whether it is new.

    The internal meeting carries the notes, so a meeting with anyone outside the organization on it, as the
    taskpane reports its attendees (``attendees``) or as Graph shows them (``graph_attendees(mailbox, ids)``, None
    when Graph cannot say), is never recorded as one. Without a ``kind`` the attendees decide, and a meeting that
    cannot be checked is recorded as the external one, which the backend never writes to. A pending external link
    never replaces a sent one.

    Two first links to one activity race on its (activity, kind) row: the loser reads again and updates the
    winner's link, so only an id held by another activity is a conflict.
    """
    for attempt in range(LINK_ATTEMPTS):
        try:
            return _record_link_once(session, caller, activity_id, data, org, graph_attendees)
        except IntegrityError as exc:
            session.rollback()
            if attempt == LINK_ATTEMPTS - 1:
                raise AlreadyLinked("This Outlook meeting is already linked to another activity.") from exc
    raise AssertionError("unreachable")


def _record_link_once(session: Session, caller: Caller, activity_id: int, data: dict, org: OrgDomains,
                      graph_attendees: AttendeeReader | None) -> tuple[MeetingLinkRow, bool]:
    row = _row(session, caller, activity_id)
    ids = {name: data[name] for name in LINK_ID_FIELDS if data.get(name)}
    try:
        kind = _link_kind(data.get("kind"), data.get("attendees"), row.organizer_email, ids, org, graph_attendees)
    except Conflict as refused:  # a guard verdict: kept in the audit trail although nothing else is written
        events.record(session, "guard.internal_link_refused", row, events.actor_of(caller),
                      {"reason": refused.reason, **refused.details})
        session.commit()
        raise
    link = next((link for link in row.links if link.kind == kind), None)
    for holder in store.links_holding(session, ids, store.link_owner(row)):
        if link is None and holder.activity_id == row.id and holder.kind == kind:
            link = holder  # a concurrent first link committed after this activity's links were read
        if holder is not link:
            raise AlreadyLinked(
                "This Outlook meeting is already linked to another activity." if holder.activity_id != row.id
                else f"This Outlook meeting is already this activity's {holder.kind} meeting."
            )
    created = link is None
    previous_state = None if created else link.state
    if created:
        link = MeetingLinkRow(kind=kind)
        row.links.append(link)
    elif link.state == "sent" and data["state"] == "pending":
        if ids and all(getattr(link, name) == value for name, value in ids.items()):
            return link, False  # the same meeting opened again: it stays sent
        raise Conflict("The customer meeting was already sent. Open it in Outlook to change it, or cancel it "
                       "there before inviting again.", "already-sent")
    if any(getattr(link, name) != value for name, value in ids.items()):
        link.write_blocked = link.blocked_addresses = link.blocked_at = None  # another meeting: checked afresh
    link.state = data["state"]
    for name, value in ids.items():
        setattr(link, name, value)
    link.updated_at = now()
    events.link_changed(session, row, kind, previous_state, link.state, events.actor_of(caller))
    session.commit()  # a concurrent request's IntegrityError: record_link reads again
    return link, created


def _link_kind(kind: str | None, reported: list[str] | None, mailbox: str, ids: dict[str, str], org: OrgDomains,
               graph_attendees: AttendeeReader | None) -> str:
    if kind is None:  # the reported attendees decide; unknown ones make it the meeting the backend never writes
        return "internal" if reported is not None and not outsiders(reported, org) else "external"
    if kind == "external":
        return kind
    seen = None if reported is None else list(reported)
    if ids and graph_attendees is not None:
        from_graph = graph_attendees(mailbox, ids)
        if from_graph is not None:
            seen = [*(seen or []), *from_graph]
    found = outsiders(seen or [], org)
    if seen is None:
        raise InvalidInput.one("attendees", "Send the meeting's attendees: the internal meeting carries the internal "
                                            "notes, so it is checked for anyone outside your organization.")
    if found:
        raise Conflict(
            f"This meeting has attendees outside your organization ({', '.join(found)}), so it cannot be the "
            "internal meeting, which carries the internal notes. Link it as the customer meeting, or remove them.",
            "outsiders-on-internal-meeting", {"outsiders": list(found)},
        )
    return kind


def prepare_customer_appointment(session: Session, caller: Caller, activity_id: int, org: OrgDomains,
                                 graph: GraphClient, *, at: datetime | None = None) -> tuple[MeetingLinkRow, bool]:
    """Put the customer appointment (nobody invited) into the organizer's calendar for the pane to open, once per
    activity: an open one is returned again. Refused for a cancelled or past activity, one without externals,
    and one whose customer meeting was sent. The Graph call comes first: nothing is stored when it fails."""
    row = _row(session, caller, activity_id)
    activity = store.to_domain(row)
    external = next((link for link in row.links if link.kind == "external"), None)
    if activity.status is Status.CANCELLED:
        raise Conflict("The activity is cancelled in the CRM, so no invitation goes out.", "cancelled")
    if activity.end <= (at or now()):
        raise Conflict("The activity is over, so no invitation goes out.", "over")
    if not activity.externals(org):
        raise Conflict("The activity has no external participants to invite.", "no-externals")
    if external is not None and external.state == "sent":
        raise Conflict("The customer meeting was already sent. Open it in Outlook to change it.", "already-sent")
    if external is not None and external.state == "pending" and external.graph_event_id:
        return external, False
    created = graph.create_event(activity.organizer_email, sync.customer_appointment(activity, org),
                                 f"crmbridge-customer-{row.id}-v{row.version}")
    events.link_changed(session, row, "external", external.state if external else None, "pending",
                        events.actor_of(caller))
    if external is None:
        external = MeetingLinkRow(kind="external")
        row.links.append(external)
    external.state = "pending"
    external.graph_event_id, external.ews_item_id = created["id"], None
    external.ical_uid = created.get("iCalUId")
    external.updated_at = now()
    session.commit()
    return external, True


def lookup(reads: Connection, caller: Caller, query: dict, org: OrgDomains) -> LookupView:
    """What the taskpane shows on opening a meeting. Read only, in plain selects on ``reads`` (store.find_for_lookup):
    this is the call every opening of the taskpane makes. NotFound when the caller has no such meeting or
    activity."""
    outlook_ids = {key: query[key] for key in ("item_id", "rest_id", "ical_uid") if key in query}
    found = store.find_for_lookup(reads, caller, **outlook_ids) if outlook_ids else None
    if found is not None:
        meeting = found.matched_kind
    elif "activity_id" in query:
        _require_integration(caller)
        found = store.find_for_lookup(reads, caller, activity_id=query["activity_id"])
        meeting = query.get("meeting_kind")
        if found is None:
            raise NotFound(f"No activity {query['activity_id']} among yours.")
    else:
        raise NotFound("This Outlook meeting is not linked to any of your activities.")
    _require_integration(caller)
    activity = found.activity
    if found.deleted:
        raise NotFound(f"No activity {activity.id} among yours.")
    external = found.links.get("external")
    drift = None
    if query.get("snapshot") is not None and meeting != "internal":
        drift = compute_drift(activity, read_graph_event(query["snapshot"]), org)
    state = external_state(activity, org, external.state if external else None, drift)
    notes, rooms, waiting = sync.pane_state(reads, activity)
    return LookupView(replace(view(activity, org), external_state=state.value), etag_for(activity.version), meeting,
                      state.value, external, found.links.get("internal"), drift, internal_notes=notes,
                      rooms=tuple(rooms), waiting_for_sign_in=waiting)
