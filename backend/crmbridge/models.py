"""Tables. The schema itself comes from the Alembic migrations in ``migrations/``; these mirror them."""

import json
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
    # Whose rows (the caller's Entra tid; development tokens' tenant is "default"): every lookup, the organizer's
    # and the integration contract's (migration 0012; 0015 indexes it with the CRM's external ids).
    tenant_id: Mapped[str] = mapped_column(String(64), default="default", server_default="default")
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
    # The CRM integration contract (migration 0015): the CRM's own id, and a deletion by the CRM.
    external_source: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(255))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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
        Index("ix_activities_external_id", "tenant_id", "external_source", "external_id", unique=True),
        Index("ix_activities_tenant_updated", "tenant_id", "updated_at"),
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


class WriteBlock:
    """What the API shows of a link's write block, for a link row and for its read-only view (store.LinkView)
    alike: both have ``write_blocked`` and ``blocked_addresses`` (declared by each, as a column or a field)."""

    @property
    def write_block(self):
        """This link when the sync refused to write to its meeting, else None (for the API's nested field)."""
        return self if self.write_blocked else None

    @property
    def blocked_outsiders(self) -> list[str]:
        return json.loads(self.blocked_addresses) if self.blocked_addresses else []


class MeetingLinkRow(WriteBlock, Base):
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
    # Set when the sync refused to write to this meeting (migration 0004): "outsiders" (attendees outside the
    # organization, listed as JSON in blocked_addresses) or "not-organizer". Cleared when a write is safe again.
    write_blocked: Mapped[str | None] = mapped_column(String(32))
    blocked_addresses: Mapped[str | None] = mapped_column(Text)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    activity: Mapped[ActivityRow] = relationship(back_populates="links")

    __table_args__ = (
        Index("ix_meeting_links_activity_kind", "activity_id", "kind", unique=True),
        Index("ix_meeting_links_owner_graph_event_id", "owner_key", "graph_event_id", unique=True),
        Index("ix_meeting_links_owner_ews_item_id", "owner_key", "ews_item_id", unique=True),
        Index("ix_meeting_links_owner_ical_uid", "owner_key", "ical_uid", unique=True),
        # The lookup finds a link by an Outlook id alone, among every link the caller may see (0016).
        Index("ix_meeting_links_graph_event_id", "graph_event_id"),
        Index("ix_meeting_links_ews_item_id", "ews_item_id"),
        Index("ix_meeting_links_ical_uid", "ical_uid"),
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
    mailbox: Mapped[str | None] = mapped_column(String(254), index=True)  # the user's address (organizer_key)
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
    # Migration 0010: why the meeting holds older notes than the CRM (online-meeting, notes-only-off), and each
    # room's answer to the booking, as JSON {address: response}.
    notes_held: Mapped[str | None] = mapped_column(String(32))
    room_responses: Mapped[str | None] = mapped_column(Text)


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


# The worker (migration 0011) ----------------------------------------------------------------------------------------


class ScheduledRunRow(Base):
    """One of the worker's scheduled jobs (incremental scan, full scan, subscription renewal, domain refresh):
    shared by every worker, so each period's run happens once."""

    __tablename__ = "scheduled_runs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(255))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    run_by: Mapped[str | None] = mapped_column(String(64))
# The CRM integration contract (migration 0015) -------------------------------------------------------------------
# Every row carries its tenant; ``integration.tenancy`` scopes every query by the caller's.


class IdempotencyKeyRow(Base):
    """A POST that carried ``Idempotency-Key``: the first answer, replayed to every retry with the same body."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    activity_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (Index("ix_idempotency_keys_caller_key", "tenant_id", "caller", "key", unique=True),)


class RetiredMeetingRow(Base):
    """An Outlook meeting that stays in an organizer's calendar after the CRM deleted its activity or moved it to
    another organizer: what that organizer's taskpane is told. For a moved internal meeting it is also the outbox
    entry that cancels it in the old calendar (``cancel_state`` pending, done, refused or none)."""

    __tablename__ = "retired_meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    organizer_email: Mapped[str] = mapped_column(String(254))
    organizer_key: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(16))
    moved_to: Mapped[str | None] = mapped_column(String(254))
    graph_event_id: Mapped[str | None] = mapped_column(String(512), index=True)
    ews_item_id: Mapped[str | None] = mapped_column(String(512), index=True)
    ical_uid: Mapped[str | None] = mapped_column(String(512), index=True)
    cancel_state: Mapped[str] = mapped_column(String(16), default="none")
    synced_once: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ActivityEventRow(Base):
    """What happened to an activity, by whom: the audit trail, and (``public``) the change feed and the webhooks.

    ``position`` orders the feed. It is given after commit, by ``integration.events.sequence`` under a unique index,
    so a reader that has seen position N never later meets an event below N that committed late."""

    __tablename__ = "activity_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    position: Mapped[int | None] = mapped_column(Integer, unique=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    activity_id: Mapped[int | None] = mapped_column(Integer, index=True)
    organizer_email: Mapped[str | None] = mapped_column(String(254))
    external_source: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(255))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(255))
    data: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (
        Index("ix_activity_events_tenant_position", "tenant_id", "position"),
        Index("ix_activity_events_created", "created_at"),
    )


class WebhookEndpointRow(Base):
    """An integration's https endpoint and the secret its deliveries are signed with."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(128))
    event_types: Mapped[str] = mapped_column(Text, default='["*"]')
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class WebhookDeliveryRow(Base):
    """Outbox: one event for one endpoint, until the endpoint answers 2xx (or the retries run out)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_row_id: Mapped[int] = mapped_column(ForeignKey("activity_events.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(255))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    endpoint: Mapped[WebhookEndpointRow] = relationship()
    event: Mapped[ActivityEventRow] = relationship()

    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint_event", "endpoint_id", "event_row_id", unique=True),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )
