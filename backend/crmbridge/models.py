"""Tables. The schema itself comes from the Alembic migrations in ``migrations/``; these mirror them."""

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, naive UTC in the database (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None else None


# Ids are 32-bit on every database (PostgreSQL's integer): a larger one cannot exist, so it is not found.
MAX_ID = 2**31 - 1


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ActivityRow(Base):
    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The organizer's Entra tenant ("" for development tokens) and, once they signed in, their object id: the
    # activity stays theirs when their address changes.
    tenant_id: Mapped[str] = mapped_column(String(36), default="", server_default="")
    organizer_oid: Mapped[str | None] = mapped_column(String(36))
    organizer_email: Mapped[str] = mapped_column(String(254))
    organizer_key: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    time_zone: Mapped[str] = mapped_column(String(64))
    is_all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    location: Mapped[str] = mapped_column(String(255), default="")
    internal_notes: Mapped[str] = mapped_column(Text, default="")
    external_agenda: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="planned")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    participants: Mapped[list["ParticipantRow"]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", order_by="ParticipantRow.position",
        lazy="selectin",
    )
    links: Mapped[list["MeetingLinkRow"]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_activities_organizer_start", "organizer_key", "start_utc"),
        Index("ix_activities_tenant_organizer", "tenant_id", "organizer_key"),
    )
    __mapper_args__ = {"version_id_col": version}


class ParticipantRow(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    type: Mapped[str] = mapped_column(String(16), default="required")

    activity: Mapped[ActivityRow] = relationship(back_populates="participants")


class MeetingLinkRow(Base):
    """An Outlook meeting that belongs to an activity: the external one (sent by the organizer) or the internal one."""

    __tablename__ = "meeting_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="external")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    # Whose calendar the ids are from (tenant and organizer address): each id is unique per organizer only, so
    # no one can take another organizer's meeting by linking its id first. Set from the activity on every flush.
    owner_key: Mapped[str] = mapped_column(String(300), default="", server_default="")
    graph_event_id: Mapped[str | None] = mapped_column(String(512))
    ews_item_id: Mapped[str | None] = mapped_column(String(512))
    ical_uid: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    activity: Mapped[ActivityRow] = relationship(back_populates="links")

    __table_args__ = (
        Index("ix_meeting_links_activity_kind", "activity_id", "kind", unique=True),
        Index("ix_meeting_links_owner_graph_event_id", "owner_key", "graph_event_id", unique=True),
        Index("ix_meeting_links_owner_ews_item_id", "owner_key", "ews_item_id", unique=True),
        Index("ix_meeting_links_owner_ical_uid", "owner_key", "ical_uid", unique=True),
    )


def owner_key(tenant_id: str, organizer_key: str) -> str:
    return f"{tenant_id} {organizer_key}"


@event.listens_for(MeetingLinkRow, "before_insert")
@event.listens_for(MeetingLinkRow, "before_update")
def _owner_from_activity(_mapper, _connection, link: MeetingLinkRow) -> None:
    link.owner_key = owner_key(link.activity.tenant_id, link.activity.organizer_key)


class OrgDomainRow(Base):
    """A domain of one tenant's organization (a domain is verified in one tenant only); "" for every tenant."""

    __tablename__ = "org_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), default="", server_default="")
    source: Mapped[str] = mapped_column(String(16), default="admin")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class TokenCacheRow(Base):
    """One user's MSAL token cache for on-behalf-of calls, encrypted with CRMBRIDGE_TOKEN_CACHE_KEY."""

    __tablename__ = "token_caches"

    user_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    blob: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


# Microsoft Graph sync and drift watch (migration 0003) -------------------------------------------------------------


class SyncJobRow(Base):
    """Outbox: an activity changed and its internal meeting must follow. Written in the activity's transaction."""

    __tablename__ = "sync_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    activity: Mapped[ActivityRow] = relationship()

    __table_args__ = (Index("ix_sync_jobs_due", "done", "next_attempt_at"),)


class InternalMeetingSyncRow(Base):
    """What the sync last sent to the internal meeting: a transactionId fixed before the first create, and a hash
    per event field so that an update sends only the fields that changed."""

    __tablename__ = "internal_meeting_sync"

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(254))
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    field_hashes: Mapped[str] = mapped_column(Text, default="{}")
    synced_version: Mapped[int | None] = mapped_column(Integer)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExternalMeetingCheckRow(Base):
    """The external meeting as Graph last showed it (the fields drift compares), and whether it was in sync."""

    __tablename__ = "external_meeting_checks"

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    graph_event_id: Mapped[str] = mapped_column(String(512))
    change_key: Mapped[str | None] = mapped_column(String(128))
    event_state: Mapped[str] = mapped_column(String(16), default="live")
    snapshot: Mapped[str | None] = mapped_column(Text)
    in_sync: Mapped[bool] = mapped_column(Boolean, default=True)
    activity_version: Mapped[int] = mapped_column(Integer)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class AttendeeResponseRow(Base):
    """Each external's answer to the external meeting: accepted, tentative, declined or none."""

    __tablename__ = "attendee_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    email_key: Mapped[str] = mapped_column(String(254))
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    response: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (Index("ix_attendee_responses_activity_email", "activity_id", "email_key", unique=True),)


class DeltaStateRow(Base):
    """The ``calendarView/delta`` link of one organizer's mailbox and the window it covers."""

    __tablename__ = "graph_delta_state"

    mailbox: Mapped[str] = mapped_column(String(254), primary_key=True)
    delta_link: Mapped[str] = mapped_column(Text)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class GraphSubscriptionRow(Base):
    """A Graph change-notification subscription on one organizer's events."""

    __tablename__ = "graph_subscriptions"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(254), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class GraphNotificationRow(Base):
    """A change notification received and not yet looked at; one row per event version (``changeKey``)."""

    __tablename__ = "graph_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(254))
    event_id: Mapped[str] = mapped_column(String(512))
    change_key: Mapped[str] = mapped_column(String(128), default="")
    change_type: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    processed: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_graph_notifications_event_change", "event_id", "change_key", unique=True),
        Index("ix_graph_notifications_pending", "processed", "mailbox"),
    )
