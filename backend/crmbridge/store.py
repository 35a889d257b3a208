"""Persistence: ORM rows to and from domain activities, and the queries the use cases need."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from .domain.activity import Activity, Participant, Status
from .domain.addresses import parse_address
from .domain.classification import OrgDomains
from .models import ActivityRow, MeetingLinkRow, OrgDomainRow, ParticipantRow


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


def find_own(session: Session, organizer_email: str, activity_id: int) -> ActivityRow | None:
    """The activity if it exists and belongs to this organizer; another organizer's looks like a missing one."""
    row = load(session, activity_id)
    if row is None or row.organizer_key != organizer_key(organizer_email):
        return None
    return row


_WITH_CHILDREN = (joinedload(ActivityRow.participants), joinedload(ActivityRow.links))


def load(session: Session, activity_id: int) -> ActivityRow | None:
    """The activity with its participants and links, in one round trip; none when this session holds it already
    (find_link loads it with the link)."""
    return session.get(ActivityRow, activity_id, options=_WITH_CHILDREN)


def list_own(session: Session, organizer_email: str, start: datetime | None, end: datetime | None,
             page: int, page_size: int) -> tuple[list[ActivityRow], int]:
    conditions = [ActivityRow.organizer_key == organizer_key(organizer_email), ActivityRow.deleted_at.is_(None)]
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


def find_link(session: Session, *, item_id: str | None = None, rest_id: str | None = None,
              ical_uid: str | None = None) -> MeetingLinkRow | None:
    if item_id:
        condition = or_(MeetingLinkRow.ews_item_id == item_id,
                        MeetingLinkRow.graph_event_id.in_({item_id, ews_to_rest(item_id)}))
    elif rest_id:
        condition = MeetingLinkRow.graph_event_id == rest_id
    elif ical_uid:
        condition = MeetingLinkRow.ical_uid == ical_uid
    else:
        return None
    # The link's activity with its participants and links comes in the same query: the lookup needs them next.
    statement = select(MeetingLinkRow).where(condition).options(
        joinedload(MeetingLinkRow.activity).options(*_WITH_CHILDREN))
    return session.scalars(statement).unique().first()


def links_holding(session: Session, ids: dict[str, str]) -> list[MeetingLinkRow]:
    """Links that already hold any of the given ids (column name to value)."""
    conditions = [getattr(MeetingLinkRow, column) == value for column, value in ids.items() if value]
    if not conditions:
        return []
    return list(session.scalars(select(MeetingLinkRow).where(or_(*conditions))).all())


def org_domains(session: Session, configured: Iterable[str], include_subdomains: bool) -> OrgDomains:
    stored = session.scalars(select(OrgDomainRow.domain)).all()
    return OrgDomains.of([*configured, *stored], include_subdomains)


def stored_domains(session: Session) -> list[OrgDomainRow]:
    return list(session.scalars(select(OrgDomainRow).order_by(OrgDomainRow.domain)).all())
