"""Persistence: ORM rows to and from domain activities, and the queries the use cases need."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from .auth.caller import Caller
from .domain.activity import Activity, Participant, Status
from .domain.addresses import parse_address
from .domain.classification import OrgDomains
from .models import MAX_ID, ActivityRow, MeetingLinkRow, OrgDomainRow, ParticipantRow, owner_key


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
    same_tenant = ActivityRow.tenant_id == caller.tenant_id
    if not caller.is_user:
        return same_tenant
    by_address = ActivityRow.organizer_key.in_(sorted(caller.address_keys))
    if caller.object_id is None:
        return and_(same_tenant, by_address)
    return and_(same_tenant, or_(ActivityRow.organizer_oid == caller.object_id,
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
    if item_id:
        condition = or_(MeetingLinkRow.ews_item_id == item_id,
                        MeetingLinkRow.graph_event_id.in_({item_id, ews_to_rest(item_id)}))
    elif rest_id:
        # A link whose immutable id was learnt keeps the Office.js id in its EWS form (graph.linking.learn_ids).
        condition = or_(MeetingLinkRow.graph_event_id == rest_id, MeetingLinkRow.ews_item_id == rest_to_ews(rest_id))
    elif ical_uid:
        condition = MeetingLinkRow.ical_uid == ical_uid
    else:
        return None
    # The link's activity with its participants and links comes in the same query: the lookup needs them next.
    statement = (select(MeetingLinkRow).join(ActivityRow).where(condition, visible_to(caller)).limit(1)
                 .options(joinedload(MeetingLinkRow.activity).options(*_WITH_CHILDREN)))
    return session.scalars(statement).unique().first()


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
