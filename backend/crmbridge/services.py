"""Use cases: what each API call does, in terms of the domain and the store. No Flask or HTTP here."""

from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import store, sync
from .auth.caller import INTEGRATION_ROLE, Caller
from .domain.activity import Activity, ClassifiedParticipant, Status, checked, parse_participants
from .domain.classification import OrgDomains
from .domain.draft import ExternalDraft, external_draft
from .domain.drift import Drift, compute_drift
from .domain.errors import AlreadyLinked, InvalidInput, NotAllowed, NotFound, StaleVersion
from .domain.graph_event import read_graph_event
from .domain.meeting_state import external_state
from .domain.reconcile import take_outlook
from .models import ActivityRow, MeetingLinkRow, now

LINK_ID_FIELDS = ("graph_event_id", "ews_item_id", "ical_uid")


@dataclass(frozen=True)
class ActivityView:
    activity: Activity
    participants: tuple[ClassifiedParticipant, ...]

    @property
    def etag(self) -> str:
        return etag_for(self.activity.version)


@dataclass(frozen=True)
class LookupView:
    activity: ActivityView
    etag: str
    meeting: str | None
    state: str
    external_meeting: MeetingLinkRow | None
    internal_meeting: MeetingLinkRow | None
    drift: Drift | None


def etag_for(version: int) -> str:
    return f'"v{version}"'


def view(activity: Activity, org: OrgDomains) -> ActivityView:
    return ActivityView(activity, activity.classified(org))


def _require_integration(caller: Caller) -> None:
    if not caller.is_user and INTEGRATION_ROLE not in caller.roles:
        raise NotAllowed(f"This application needs the {INTEGRATION_ROLE} role to work with activities.")


def _row(session: Session, caller: Caller, activity_id: int) -> ActivityRow:
    _require_integration(caller)
    row = store.find_own(session, caller, activity_id)
    if row is None:
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
    _require_integration(caller)
    named = data.get("organizer_email")
    if caller.is_user:
        if named and store.organizer_key(named) != store.organizer_key(caller.email):
            raise NotAllowed("Organizers create activities for themselves; only an integration names the organizer.")
        organizer = caller.email
    elif named:
        organizer = named
    else:
        raise InvalidInput.one("organizerEmail", "An integration must name the organizer of the activity.")
    activity = _activity_from(data, organizer)
    row = ActivityRow(tenant_id=caller.tenant_id, organizer_oid=caller.object_id if caller.is_user else None)
    store.write_fields(row, activity)
    session.add(row)
    sync.enqueue(session, row, "created")
    session.commit()
    return view(store.to_domain(row), org)


def get_activity(session: Session, caller: Caller, activity_id: int, org: OrgDomains) -> ActivityView:
    return view(store.to_domain(_row(session, caller, activity_id)), org)


def list_activities(session: Session, caller: Caller, query: dict, org: OrgDomains) -> dict:
    if not caller.is_user:
        raise NotAllowed("Listing shows an organizer's own activities; sign in as the organizer.")
    rows, total = store.list_own(session, caller, query.get("start"), query.get("end"),
                                 query["page"], query["page_size"])
    return {"items": [view(store.to_domain(r), org) for r in rows], "page": query["page"],
            "page_size": query["page_size"], "total": total}


def _save(session: Session, row: ActivityRow, expected_version: int | None, before: Activity,
          activity: Activity) -> Activity:
    """Write ``activity`` over ``before`` (the row as read) if the caller saw the current version (None: any)."""
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion(f"The activity is at version {row.version}, not {expected_version}.")
    if activity == before:
        return activity  # nothing changed: no new version, nothing for the internal meeting to follow
    store.write_fields(row, activity)
    row.updated_at = now()  # always dirty, so the UPDATE carries the version check even for participant-only edits
    sync.enqueue(session, row, "changed")  # in the same transaction: the internal meeting follows every change
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise StaleVersion("The activity changed while this change was being saved.") from exc
    return store.to_domain(row)


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
    return view(_save(session, row, expected_version, current, updated), org)


def draft_for(session: Session, caller: Caller, activity_id: int, org: OrgDomains) -> ExternalDraft:
    return external_draft(store.to_domain(_row(session, caller, activity_id)), org)


def drift_for(session: Session, caller: Caller, activity_id: int, event: dict, org: OrgDomains) -> Drift:
    activity = store.to_domain(_row(session, caller, activity_id))
    return compute_drift(activity, read_graph_event(event), org)


def reconcile(session: Session, caller: Caller, activity_id: int, expected_version: int | None, event: dict,
              apply_cancellation: bool, org: OrgDomains) -> ActivityView:
    row = _row(session, caller, activity_id)
    outlook = read_graph_event(event)
    current = store.to_domain(row)
    updated = take_outlook(current, outlook, apply_cancellation)
    return view(_save(session, row, expected_version, current, updated), org)


LINK_ATTEMPTS = 3


def record_link(session: Session, caller: Caller, activity_id: int, data: dict) -> tuple[MeetingLinkRow, bool]:
    """Record (or update) the activity's link to an Outlook meeting. Returns the link and whether it is new.

    Two first links to one activity race on its (activity, kind) row: the loser reads again and updates the
    winner's link, so only an id held by another activity is a conflict.
    """
    for attempt in range(LINK_ATTEMPTS):
        try:
            return _record_link_once(session, caller, activity_id, data)
        except IntegrityError as exc:
            session.rollback()
            if attempt == LINK_ATTEMPTS - 1:
                raise AlreadyLinked("This Outlook meeting is already linked to another activity.") from exc
    raise AssertionError("unreachable")


def _record_link_once(session: Session, caller: Caller, activity_id: int, data: dict) -> tuple[MeetingLinkRow, bool]:
    row = _row(session, caller, activity_id)
    kind = data.get("kind", "external")
    ids = {name: data[name] for name in LINK_ID_FIELDS if data.get(name)}
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
    if created:
        link = MeetingLinkRow(kind=kind)
        row.links.append(link)
    link.state = data["state"]
    for name, value in ids.items():
        setattr(link, name, value)
    link.updated_at = now()
    session.commit()
    return link, created


def lookup(session: Session, caller: Caller, query: dict, org: OrgDomains) -> LookupView:
    link = store.find_link(session, caller, item_id=query.get("item_id"), rest_id=query.get("rest_id"),
                           ical_uid=query.get("ical_uid"))
    if link is not None:
        row = _row(session, caller, link.activity_id)
        meeting = link.kind
    elif "activity_id" in query:
        row = _row(session, caller, query["activity_id"])
        meeting = query.get("meeting_kind")
    else:
        raise NotFound("This Outlook meeting is not linked to any of your activities.")
    activity = store.to_domain(row)
    links = {link.kind: link for link in row.links}
    external = links.get("external")
    drift = None
    if query.get("snapshot") is not None and meeting != "internal":
        drift = compute_drift(activity, read_graph_event(query["snapshot"]), org)
    state = external_state(activity, org, external.state if external else None, drift)
    return LookupView(view(activity, org), etag_for(activity.version), meeting, state.value, external,
                      links.get("internal"), drift)
