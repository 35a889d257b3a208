"""Persistence: ORM rows to and from domain activities, and the queries the use cases need."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, and_, bindparam, func, null, or_, select
from sqlalchemy.orm import Session, joinedload

from .auth.caller import Caller
from .domain.activity import Activity, Participant, Status
from .domain.addresses import parse_address
from .domain.classification import OrgDomains
from .driver_select import DriverSelect
from .models import MAX_ID, ActivityRow, MeetingLinkRow, OrgDomainRow, ParticipantRow, WriteBlock, owner_key

# Read-only answers (the taskpane's lookup) come as plain rows of just these columns, from Core selects run on the
# driver's cursor (driver_select): no ORM identity map, no relationship loading, no execution layer; each statement
# is built once, with bound parameters, and compiled once per database dialect.
_ACTIVITY_COLUMNS = (
    ActivityRow.id, ActivityRow.subject, ActivityRow.start_utc, ActivityRow.end_utc, ActivityRow.time_zone,
    ActivityRow.is_all_day, ActivityRow.location, ActivityRow.internal_notes, ActivityRow.external_agenda,
    ActivityRow.status, ActivityRow.organizer_email, ActivityRow.version, ActivityRow.external_source,
    ActivityRow.external_id, ActivityRow.deleted_at,
)
_ACTIVITY_NAMES = tuple(column.key for column in _ACTIVITY_COLUMNS)
_PARTICIPANTS = DriverSelect(select(ParticipantRow.email, ParticipantRow.display_name, ParticipantRow.type)
                             .where(ParticipantRow.activity_id == bindparam("id")).order_by(ParticipantRow.position))
_LINKS = DriverSelect(select(
    MeetingLinkRow.kind, MeetingLinkRow.state, MeetingLinkRow.graph_event_id, MeetingLinkRow.ews_item_id,
    MeetingLinkRow.ical_uid, MeetingLinkRow.write_blocked, MeetingLinkRow.blocked_addresses, MeetingLinkRow.blocked_at,
    MeetingLinkRow.updated_at,
).where(MeetingLinkRow.activity_id == bindparam("id")))


def to_domain(row: ActivityRow) -> Activity:
    return Activity(
        id=row.id,
        subject=row.subject,
        start=row.start_utc,
        end=row.end_utc,
        time_zone=row.time_zone,
        is_all_day=row.is_all_day,
        location=row.location,
        internal_notes=row.internal_notes,
        external_agenda=row.external_agenda,
        status=Status(row.status),
        organizer_email=row.organizer_email,
        participants=tuple(Participant(p.email, p.display_name, p.type) for p in row.participants),
        version=row.version,
        external_source=row.external_source,
        external_id=row.external_id,
    )


def write_fields(row: ActivityRow, activity: Activity) -> None:
    """Copy an activity onto its row; participants are replaced only when they changed."""
    row.subject = activity.subject
    row.start_utc = activity.start
    row.end_utc = activity.end
    row.time_zone = activity.time_zone
    row.is_all_day = activity.is_all_day
    row.location = activity.location
    row.internal_notes = activity.internal_notes
    row.external_agenda = activity.external_agenda
    row.status = activity.status.value
    row.organizer_email = activity.organizer_email
    if row.organizer_key is not None and row.organizer_key != organizer_key(activity.organizer_email):
        row.organizer_oid = None  # another organizer (a reassign): known by address until they act on it
    row.organizer_key = organizer_key(activity.organizer_email)
    row.external_source = activity.external_source
    row.external_id = activity.external_id
    current = tuple(Participant(p.email, p.display_name, p.type) for p in row.participants)
    if current != activity.participants:
        row.participants = [
            ParticipantRow(position=i, email=p.email, display_name=p.display_name, type=p.type)
            for i, p in enumerate(activity.participants)
        ]


def organizer_key(email: str) -> str:
    return parse_address(email).key


def visible_to(caller: Caller):
    """The SQL condition for the activities a caller may see: always only their own tenant's; for a user, those
    they organize, by object id once known (so a renamed address keeps them), else by any of their addresses."""
    shape, values = _visibility(caller)
    return _rule(shape, lambda name, **options: bindparam(name, values[name], unique=True, **options))


def _visibility(caller: Caller) -> tuple[str, dict]:
    """Which form of the rule applies to this caller ("tenant", "address" or "object-id"), and its values."""
    if not caller.is_user:
        return "tenant", {"tenant_id": caller.tenant_id}
    values = {"tenant_id": caller.tenant_id, "organizer_keys": sorted(caller.address_keys)}
    if caller.object_id is None:
        return "address", values
    return "object-id", {**values, "object_id": caller.object_id}


def _rule(shape: str, param):
    """The rule itself, in one place: ``param(name)`` gives each value's bound parameter (with the caller's value
    for visible_to, without one for the lookup's statements built once)."""
    tenant = ActivityRow.tenant_id == param("tenant_id")
    if shape == "tenant":
        return tenant
    by_address = ActivityRow.organizer_key.in_(param("organizer_keys", expanding=True))
    if shape == "address":
        return and_(tenant, by_address)
    return and_(tenant, or_(ActivityRow.organizer_oid == param("object_id"),
                            and_(ActivityRow.organizer_oid.is_(None), by_address)))


def find_own(session: Session, caller: Caller, activity_id: int) -> ActivityRow | None:
    """The activity if it exists and the caller may see it; another organizer's or tenant's looks like a missing
    one."""
    if not 1 <= activity_id <= MAX_ID:
        return None
    statement = (select(ActivityRow).where(ActivityRow.id == activity_id, visible_to(caller))
                 .options(joinedload(ActivityRow.participants), joinedload(ActivityRow.links)))
    return session.scalars(statement).unique().first()


_WITH_CHILDREN = (joinedload(ActivityRow.participants), joinedload(ActivityRow.links))


def load(session: Session, activity_id: int) -> ActivityRow | None:
    """The activity with its participants and links, in one round trip (none when this session holds it already:
    find_link loads it with the link); ids past MAX_ID do not exist."""
    if not 1 <= activity_id <= MAX_ID:
        return None
    return session.get(ActivityRow, activity_id, options=_WITH_CHILDREN)


@dataclass(frozen=True)
class LinkView(WriteBlock):
    """A meeting link as the API shows it (the read-only twin of MeetingLinkRow's shown fields)."""

    kind: str
    state: str
    graph_event_id: str | None
    ews_item_id: str | None
    ical_uid: str | None
    write_blocked: str | None
    blocked_addresses: str | None
    blocked_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class Found:
    """What find_for_lookup read: the activity, whether the CRM deleted it, the kind of the link whose id matched
    (None when found by activity id) and its links by kind."""

    activity: Activity
    deleted: bool
    matched_kind: str | None
    links: dict[str, LinkView]


def find_for_lookup(connection: Connection, caller: Caller, *, activity_id: int | None = None,
                    item_id: str | None = None, rest_id: str | None = None,
                    ical_uid: str | None = None) -> Found | None:
    """As find_link when given an Outlook id, else as find_own by ``activity_id``: the activity with its
    participants and links, read only, in three plain selects. None when not found (another organizer's looks
    like a missing one); an activity the CRM deleted is found, marked ``deleted``."""
    by_id = _outlook_id(item_id, rest_id, ical_uid)
    if by_id is not None:
        by, values = by_id
    elif activity_id is not None and 1 <= activity_id <= MAX_ID:
        by, values = "id", {"activity_id": activity_id}
    else:
        return None
    shape, seen_by = _visibility(caller)
    rows = _lookup_statement(by, shape).rows(connection, {**values, **seen_by})
    if not rows:
        return None
    row = dict(zip(_ACTIVITY_NAMES, rows[0], strict=False))  # by name, as _ACTIVITY_COLUMNS lists them
    participants = _PARTICIPANTS.rows(connection, {"id": row["id"]})
    links = _LINKS.rows(connection, {"id": row["id"]})
    activity = Activity(
        id=row["id"], subject=row["subject"], start=row["start_utc"], end=row["end_utc"],
        time_zone=row["time_zone"], is_all_day=row["is_all_day"], location=row["location"],
        internal_notes=row["internal_notes"], external_agenda=row["external_agenda"], status=Status(row["status"]),
        organizer_email=row["organizer_email"], participants=tuple(Participant(*p) for p in participants),
        version=row["version"], external_source=row["external_source"], external_id=row["external_id"],
    )
    matched_kind = rows[0][len(_ACTIVITY_NAMES)]  # the link's kind, or NULL when found by activity id
    return Found(activity, row["deleted_at"] is not None, matched_kind, {link[0]: LinkView(*link) for link in links})


@cache
def _lookup_statement(by: str, shape: str) -> DriverSelect:
    """The first select of find_for_lookup, built once per kind of id and of caller, with bound parameters."""
    visible = _rule(shape, bindparam)
    if by == "id":
        return DriverSelect(select(*_ACTIVITY_COLUMNS, null()).where(ActivityRow.id == bindparam("activity_id"),
                                                                     visible))
    return DriverSelect(select(*_ACTIVITY_COLUMNS, MeetingLinkRow.kind).select_from(MeetingLinkRow).join(ActivityRow)
                        .where(_id_rule(by, bindparam), visible).limit(1))


def list_own(session: Session, caller: Caller, start: datetime | None, end: datetime | None,
             page: int, page_size: int) -> tuple[list[ActivityRow], int]:
    conditions = [visible_to(caller), ActivityRow.deleted_at.is_(None)]
    if start is not None:
        conditions.append(ActivityRow.end_utc > start)
    if end is not None:
        conditions.append(ActivityRow.start_utc < end)
    total = session.scalar(select(func.count()).select_from(ActivityRow).where(*conditions))
    rows = session.scalars(
        select(ActivityRow).where(*conditions).order_by(ActivityRow.start_utc, ActivityRow.id)
        .offset((page - 1) * page_size).limit(page_size)
    ).all()
    return list(rows), total or 0


def ews_to_rest(item_id: str) -> str:
    """Office.js ``convertToRestId`` for v2.0: EWS ids use / and +, REST ids use - and _."""
    return item_id.replace("/", "-").replace("+", "_")


def rest_to_ews(rest_id: str) -> str:
    """The inverse of ``ews_to_rest``."""
    return rest_id.replace("-", "/").replace("_", "+")


def find_link(session: Session, caller: Caller, *, item_id: str | None = None, rest_id: str | None = None,
              ical_uid: str | None = None) -> MeetingLinkRow | None:
    """The link holding that Outlook id among the caller's activities; another organizer's is not found, exactly
    as an id no one linked."""
    by_id = _outlook_id(item_id, rest_id, ical_uid)
    if by_id is None:
        return None
    by, values = by_id
    condition = _id_rule(by, lambda name, **options: bindparam(name, values[name], unique=True, **options))
    # The link's activity with its participants and links comes in the same query: the lookup needs them next.
    statement = (select(MeetingLinkRow).join(ActivityRow).where(condition, visible_to(caller)).limit(1)
                 .options(joinedload(MeetingLinkRow.activity).options(*_WITH_CHILDREN)))
    return session.scalars(statement).unique().first()


def _outlook_id(item_id: str | None, rest_id: str | None,
                ical_uid: str | None) -> tuple[str, dict[str, str | list[str]]] | None:
    """Which Outlook id was given ("item", "rest" or "ical"; the first of them) and the values _id_rule compares."""
    if item_id:
        return "item", {"ews_id": item_id, "rest_ids": sorted({item_id, ews_to_rest(item_id)})}
    if rest_id:
        return "rest", {"rest_id": rest_id, "ews_id": rest_to_ews(rest_id)}
    if ical_uid:
        return "ical", {"ical_uid": ical_uid}
    return None


def _id_rule(by: str, param):
    """How a link is matched by an Outlook id, in one place (``param`` as in _rule): an Office.js item id in its EWS
    or REST form; a REST id also in the EWS column, since a link whose immutable id was learnt keeps the Office.js
    id there in its EWS form (graph.linking.learn_ids); an iCalUId as it is."""
    if by == "item":
        return or_(MeetingLinkRow.ews_item_id == param("ews_id"),
                   MeetingLinkRow.graph_event_id.in_(param("rest_ids", expanding=True)))
    if by == "rest":
        return or_(MeetingLinkRow.graph_event_id == param("rest_id"), MeetingLinkRow.ews_item_id == param("ews_id"))
    return MeetingLinkRow.ical_uid == param("ical_uid")


def links_holding(session: Session, ids: dict[str, str], owner: str | None = None) -> list[MeetingLinkRow]:
    """Links that already hold any of the given ids (column name to value), of one owner (``link_owner``) or any."""
    conditions = [getattr(MeetingLinkRow, column) == value for column, value in ids.items() if value]
    if not conditions:
        return []
    statement = select(MeetingLinkRow).where(or_(*conditions))
    if owner is not None:
        statement = statement.where(MeetingLinkRow.owner_key == owner)
    return list(session.scalars(statement).all())


def link_owner(row: ActivityRow) -> str:
    """Whose calendar an activity's Outlook ids come from: its tenant and organizer."""
    return owner_key(row.tenant_id, row.organizer_key)


def org_domains(session: Session, configured: Iterable[str], include_subdomains: bool,
                tenant_id: str | None = None) -> OrgDomains:
    """The configured domains and the stored ones: of every tenant (``None``) or of one, plus those of none."""
    statement = select(OrgDomainRow.domain)
    if tenant_id is not None:
        statement = statement.where(OrgDomainRow.tenant_id.in_({"", tenant_id}))
    stored = session.scalars(statement).all()
    return OrgDomains.of([*configured, *stored], include_subdomains)


def stored_domains(session: Session) -> list[OrgDomainRow]:
    return list(session.scalars(select(OrgDomainRow).order_by(OrgDomainRow.domain)).all())
