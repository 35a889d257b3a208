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


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ActivityRow(Base):
    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
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

    __table_args__ = (Index("ix_activities_organizer_start", "organizer_key", "start_utc"),)
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
    graph_event_id: Mapped[str | None] = mapped_column(String(512), unique=True)
    ews_item_id: Mapped[str | None] = mapped_column(String(512), unique=True)
    ical_uid: Mapped[str | None] = mapped_column(String(512), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    activity: Mapped[ActivityRow] = relationship(back_populates="links")

    __table_args__ = (Index("ix_meeting_links_activity_kind", "activity_id", "kind", unique=True),)


class OrgDomainRow(Base):
    __tablename__ = "org_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="admin")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class TokenCacheRow(Base):
    """One user's MSAL token cache for on-behalf-of calls, encrypted with CRMBRIDGE_TOKEN_CACHE_KEY."""

    __tablename__ = "token_caches"

    user_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    blob: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
