"""What an integration (the CRM) does to activities beyond create and change: upsert by its own id, delete,
move to another organizer, and list by organizer, window and change time. Scoped to the caller's tenant.

Delete and reassign never touch the customer (external) meeting: it is the organizer's, in their calendar, and
only they change it in Outlook. The internal meeting follows through the outbox: a deleted activity's is
cancelled; a moved activity's is cancelled in the old calendar and created in the new one. Both mail their
attendees, and the answers say so (``outlook``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import services, store
from ..auth.caller import Caller
from ..domain.activity import Status, checked
from ..domain.classification import Kind, OrgDomains
from ..domain.errors import Gone, InvalidInput, NotAllowed, NotFound, StaleVersion
from ..graph import sync
from ..models import (
    ActivityRow,
    AttendeeResponseRow,
    ExternalMeetingCheckRow,
    InternalMeetingSyncRow,
    MeetingLinkRow,
    RetiredMeetingRow,
    now,
)
from . import events, tenancy

LINK_ID_FIELDS = ("graph_event_id", "ews_item_id", "ical_uid")


def find_by_external_id(session: Session, caller: Caller, source: str, external_id: str) -> ActivityRow | None:
    """The tenant's activity with this CRM id, deleted or not."""
    return session.scalars(select(ActivityRow).where(
        tenancy.scoped(ActivityRow.tenant_id, caller), ActivityRow.external_source == source,
        ActivityRow.external_id == external_id)).first()


def get_by_external_id(session: Session, caller: Caller, source: str, external_id: str,
                       org: OrgDomains) -> services.ActivityView:
    tenancy.require_integration(caller)
    row = find_by_external_id(session, caller, source, external_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"No activity with external id {source}/{external_id}.")
    return services.view(store.to_domain(row), org)


def upsert(session: Session, caller: Caller, source: str, external_id: str, data: dict, org: OrgDomains,
           expected_version: int | None = None) -> tuple[services.ActivityView, bool, list[dict]]:
    """Create the activity with this CRM id, or replace it with ``data``. Returns (activity, created, what the
    change does in Outlook). The same request again changes nothing: no new version, no outbox job, no event."""
    tenancy.require_integration(caller)
    row = find_by_external_id(session, caller, source, external_id)
    if row is None:
        if expected_version is not None:
            raise StaleVersion(f"No activity {source}/{external_id} yet, so no version {expected_version}.")
        try:
            row = services.add_activity(session, caller, data, external_source=source, external_id=external_id)
            session.commit()
            return services.view(store.to_domain(row), org), True, []
        except IntegrityError:  # the same id created by a concurrent request: replace that one instead
            session.rollback()
            row = find_by_external_id(session, caller, source, external_id)
            if row is None:
                raise
    return _replace(session, caller, row, data, org, expected_version)


def _replace(session: Session, caller: Caller, row: ActivityRow, data: dict, org: OrgDomains,
             expected_version: int | None) -> tuple[services.ActivityView, bool, list[dict]]:
    version = row.version if expected_version is None else expected_version
    if row.version != version:
        raise StaleVersion(f"The activity is at version {row.version}, not {version}.")
    current = store.to_domain(row)
    organizer = data.get("organizer_email") or current.organizer_email
    wanted = replace(services._activity_from(data, organizer), id=current.id, version=current.version,
                     external_source=current.external_source, external_id=current.external_id)
    restored = row.deleted_at is not None
    if wanted == current and not restored:
        return services.view(current, org), False, []
    outlook: list[dict] = []
    if store.organizer_key(organizer) != row.organizer_key:
        outlook = _move(session, caller, row, organizer, org)
    if restored:
        row.deleted_at = None
    if wanted == current:  # restored as it was: still a new version, so the internal meeting comes back
        row.updated_at = now()
        sync.enqueue(session, row, "restored")
        events.record(session, "activity.updated", row, events.actor_of(caller),
                      {"changedFields": [], "restored": True, "version": row.version + 1})
        session.commit()
        return services.view(store.to_domain(row), org), False, outlook
    details = {"restored": True} if restored else None
    saved = services._save(session, row, version, current, wanted, caller, details=details)
    return services.view(saved, org), False, outlook


# Delete ---------------------------------------------------------------------------------------------------------


def delete(session: Session, caller: Caller, row: ActivityRow | None, org: OrgDomains) -> dict:
    """Delete the activity for the CRM: cancelled, hidden from the API, its internal meeting cancelled through the
    outbox, the customer meeting left alone (its organizer's taskpane says the CRM dropped it). Deleting it again
    answers the same and does nothing."""
    tenancy.require_integration(caller)
    if row is None or not tenancy.owns(caller, row):
        raise NotFound("No such activity.")
    outlook = _delete_consequences(row, org)
    if row.deleted_at is None:
        row.deleted_at = now()
        row.status = Status.CANCELLED.value
        row.updated_at = row.deleted_at
        sync.enqueue(session, row, "deleted")
        events.record(session, "activity.deleted", row, events.actor_of(caller), {"version": row.version + 1})
        session.commit()
    return {"id": row.id, "deleted_at": row.deleted_at, "outlook": outlook}


def _delete_consequences(row: ActivityRow, org: OrgDomains) -> list[dict]:
    links = {link.kind: link for link in row.links}
    found = []
    internal = links.get("internal")
    if internal is not None and internal.state != "cancelled":
        found.append(_consequence(row.organizer_email, "internal", "cancel", _internal_attendees(row, org)))
    external = links.get("external")
    if external is not None and external.state != "cancelled":
        found.append(_untouched(row.organizer_email, "The customer meeting stays in the organizer's calendar: "
                                                     "crmbridge never changes it. Their taskpane says the CRM "
                                                     "deleted the activity; they cancel it in Outlook if it is off."))
    return found


def _consequence(calendar: str, meeting: str, action: str, attendees: list[str]) -> dict:
    return {"calendar": calendar, "meeting": meeting, "action": action, "mails_attendees": True,
            "attendees": attendees, "note": None}


def _untouched(calendar: str, note: str) -> dict:
    return {"calendar": calendar, "meeting": "external", "action": "none", "mails_attendees": False,
            "attendees": [], "note": note}


def _internal_attendees(row: ActivityRow, org: OrgDomains) -> list[str]:
    activity = store.to_domain(row)
    organizer = store.organizer_key(activity.organizer_email)
    return [p.email for p in activity.classified(org)
            if p.verdict.kind is Kind.INTERNAL and store.organizer_key(p.email) != organizer]


# Reassign -------------------------------------------------------------------------------------------------------


def reassign(session: Session, caller: Caller, activity_id: int, expected_version: int, organizer_email: str,
             org: OrgDomains) -> tuple[services.ActivityView, list[dict]]:
    tenancy.require_integration(caller)
    row = services._row(session, caller, activity_id)
    if row.version != expected_version:
        raise StaleVersion(f"The activity is at version {row.version}, not {expected_version}.")
    current = store.to_domain(row)
    if store.organizer_key(organizer_email) == row.organizer_key:
        return services.view(current, org), []
    outlook = _move(session, caller, row, organizer_email, org)
    moved = checked(replace(current, organizer_email=organizer_email))
    saved = services._save(session, row, expected_version, current, moved, caller)
    return services.view(saved, org), outlook


def _move(session: Session, caller: Caller, row: ActivityRow, organizer_email: str, org: OrgDomains) -> list[dict]:
    """Hand the activity to another organizer, in the caller's transaction (``_save`` commits it). The links
    stay with the old organizer, who holds both meetings: they become retired meetings, what the old organizer's
    taskpane is told, and the internal one is cancelled in the old calendar by the outbox (``retired.run_due``).
    Without a link the sync creates the internal meeting afresh in the new calendar."""
    old = row.organizer_email
    planned = row.status == Status.PLANNED.value and row.deleted_at is None
    sync_state = session.get(InternalMeetingSyncRow, row.id)
    outlook: list[dict] = []
    attendees = _internal_attendees(row, org)
    for link in sorted(row.links, key=lambda link: link.kind != "internal"):  # internal first
        cancel = link.kind == "internal" and link.state != "cancelled" and (
            link.graph_event_id or link.ews_item_id or sync_state is not None)
        session.add(RetiredMeetingRow(
            tenant_id=row.tenant_id, activity_id=row.id, organizer_email=old, organizer_key=row.organizer_key,
            kind=link.kind, reason="moved", moved_to=organizer_email,
            **{name: getattr(link, name) for name in LINK_ID_FIELDS},
            cancel_state="pending" if cancel else "none", synced_once=sync_state is not None, attempts=0,
            next_attempt_at=now(), created_at=now(),
        ))
        if cancel:
            outlook.append(_consequence(old, "internal", "cancel", attendees))
        elif link.kind == "external" and link.state != "cancelled":
            outlook.append(_untouched(old, f"The customer meeting stays in {old}'s calendar: crmbridge never "
                                           f"changes it. {old}'s taskpane says the activity moved to "
                                           f"{organizer_email}, who sends a new invitation from the taskpane; "
                                           f"{old} cancels the old one in Outlook so the customer has one."))
        row.links.remove(link)
    if sync_state is not None and not any(link.kind == "internal" for link in row.links):
        if not any(item["meeting"] == "internal" for item in outlook):
            # A create was tried and never confirmed: the old calendar is searched for it, and it is cancelled.
            session.add(RetiredMeetingRow(
                tenant_id=row.tenant_id, activity_id=row.id, organizer_email=old, organizer_key=row.organizer_key,
                kind="internal", reason="moved", moved_to=organizer_email, cancel_state="pending", synced_once=True,
                attempts=0, next_attempt_at=now(), created_at=now()))
            outlook.append(_consequence(old, "internal", "cancel", attendees))
        session.delete(sync_state)
    for stale in (ExternalMeetingCheckRow, AttendeeResponseRow):
        for found in session.scalars(select(stale).where(stale.activity_id == row.id)):
            session.delete(found)
    if planned:
        outlook.append(_consequence(organizer_email, "internal", "create", attendees))
    session.flush()
    events.record(session, "activity.reassigned", row, events.actor_of(caller),
                  {"from": old, "to": organizer_email, "outlook": outlook})
    return outlook


# Lookup: meetings the CRM took away -----------------------------------------------------------------------------


def explain_missing(session: Session, caller: Caller, query: dict) -> None:
    """The taskpane looked up a meeting or activity the organizer no longer has: raise Gone when the CRM deleted
    it or moved it to another organizer, else return (the lookup answers 404)."""
    if not caller.is_user:
        return
    keys = caller.address_keys
    item_id, rest_id, ical_uid = query.get("item_id"), query.get("rest_id"), query.get("ical_uid")
    link = store.find_link(session, caller, item_id=item_id, rest_id=rest_id, ical_uid=ical_uid)
    activity_id = link.activity_id if link is not None else query.get("activity_id")
    row = store.load(session, activity_id) if activity_id else None
    if row is not None and row.deleted_at is not None and row.organizer_key in keys and tenancy.owns(caller, row):
        raise Gone("The CRM deleted this activity. The meeting stays in your calendar; cancel it in Outlook if it "
                   "is off.", "deleted-in-crm", {"activityId": row.id, "since": _iso(row.deleted_at)})
    conditions = []
    if item_id:
        conditions += [RetiredMeetingRow.ews_item_id == item_id,
                       RetiredMeetingRow.graph_event_id.in_({item_id, store.ews_to_rest(item_id)})]
    if rest_id:
        conditions.append(RetiredMeetingRow.graph_event_id == rest_id)
    if ical_uid:
        conditions.append(RetiredMeetingRow.ical_uid == ical_uid)
    if link is None and query.get("activity_id"):
        conditions.append(RetiredMeetingRow.activity_id == query["activity_id"])
    if not conditions:
        return
    retired = session.scalars(select(RetiredMeetingRow).where(
        or_(*conditions), RetiredMeetingRow.organizer_key.in_(sorted(keys)),
        tenancy.scoped(RetiredMeetingRow.tenant_id, caller))
        .order_by(RetiredMeetingRow.id.desc())).first()
    if retired is not None:
        raise Gone(f"The CRM moved this activity to {retired.moved_to}. The meeting stays in your calendar; "
                   f"{retired.moved_to} now organizes it.", "moved",
                   {"movedTo": retired.moved_to, "since": _iso(retired.created_at), "meeting": retired.kind})


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# Listing --------------------------------------------------------------------------------------------------------


def list_activities(session: Session, caller: Caller, query: dict, org: OrgDomains) -> dict:
    """The tenant's activities, by organizer, time window and change time; an organizer lists only their own."""
    conditions = [tenancy.scoped(ActivityRow.tenant_id, caller), ActivityRow.deleted_at.is_(None)]
    organizer = query.get("organizer")
    if caller.is_user:
        if organizer and store.organizer_key(organizer) not in caller.address_keys:
            raise NotAllowed("Organizers list their own activities; only an integration names the organizer.")
        # Their own: by object id once known, else by any of their addresses.
        conditions.append(store.visible_to(caller))
        organizer = None
    else:
        tenancy.require_integration(caller)
    if organizer:
        conditions.append(ActivityRow.organizer_key == store.organizer_key(organizer))
    if query.get("start") is not None:
        conditions.append(ActivityRow.end_utc > query["start"])
    if query.get("end") is not None:
        conditions.append(ActivityRow.start_utc < query["end"])
    order = (ActivityRow.start_utc, ActivityRow.id)
    if query.get("changed_since") is not None:
        conditions.append(ActivityRow.updated_at > query["changed_since"])
        order = (ActivityRow.updated_at, ActivityRow.id)
    page, size = query["page"], query["page_size"]
    total = session.scalar(select(func.count()).select_from(ActivityRow).where(*conditions)) or 0
    rows = session.scalars(select(ActivityRow).where(*conditions).order_by(*order)
                           .offset((page - 1) * size).limit(size)).all()
    return {"items": [services._listed(r, org) for r in rows], "page": page, "page_size": size, "total": total}


def check_external_id(source: str, external_id: str) -> None:
    if not source or len(source) > 64 or not all(c.isalnum() or c in "._-" for c in source):
        raise InvalidInput.one("source", "A source is 1 to 64 letters, digits, '.', '_' or '-'.")
    if not external_id or len(external_id) > 255 or not external_id.isprintable():
        raise InvalidInput.one("externalId", "An external id is 1 to 255 printable characters.")


def moved_link_ids(link: MeetingLinkRow) -> dict[str, str]:
    return {name: getattr(link, name) for name in LINK_ID_FIELDS if getattr(link, name)}
