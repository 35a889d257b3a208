"""The CRM activity (a meeting) and the rules every stored activity keeps."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from .addresses import AddressError, parse_address
from .classification import Kind, OrgDomains, Verdict, classify
from .errors import InvalidInput

PARTICIPANT_TYPES = ("required", "optional", "resource")
MAX_PARTICIPANTS = 500
# Meetings happen within these years; outside them a time is a typo, and near year 1 or 9999 an offset would
# carry it out of the range a datetime can hold.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# The longest a meeting may last: Outlook allows longer, but a CRM meeting of more than two weeks is a typo.
MAX_DURATION = timedelta(days=14)


class Status(StrEnum):
    PLANNED = "planned"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Participant:
    email: str
    display_name: str = ""
    type: str = "required"


@dataclass(frozen=True)
class ClassifiedParticipant:
    participant: Participant
    verdict: Verdict

    @property
    def email(self) -> str:
        return self.participant.email

    @property
    def display_name(self) -> str:
        return self.participant.display_name

    @property
    def type(self) -> str:
        return self.participant.type

    @property
    def classification(self) -> str:
        return self.verdict.kind.value

    @property
    def reason(self) -> str:
        return self.verdict.reason.value

    @property
    def matched_domain(self) -> str | None:
        return self.verdict.matched_domain


@dataclass(frozen=True)
class Activity:
    subject: str
    start: datetime
    end: datetime
    time_zone: str
    organizer_email: str
    participants: tuple[Participant, ...] = ()
    is_all_day: bool = False
    location: str = ""
    internal_notes: str = ""
    external_agenda: str = ""
    status: Status = Status.PLANNED
    id: int | None = None
    version: int = 1
    # The CRM's own id for this activity (an integration's upsert key), unique per tenant and source.
    external_source: str | None = None
    external_id: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local_start(self) -> datetime:
        return self.start.astimezone(self.zone)

    def local_end(self) -> datetime:
        return self.end.astimezone(self.zone)

    def classified(self, org: OrgDomains) -> tuple[ClassifiedParticipant, ...]:
        return tuple(ClassifiedParticipant(p, classify(p.email, p.type, org)) for p in self.participants)

    def externals(self, org: OrgDomains) -> tuple[ClassifiedParticipant, ...]:
        organizer = parse_address(self.organizer_email).key
        return tuple(
            c for c in self.classified(org)
            if c.verdict.kind is Kind.EXTERNAL and parse_address(c.email).key != organizer
        )

    def with_changes(self, **changes) -> "Activity":
        return checked(replace(self, **changes))


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_or_error(name: str, field_name: str = "timeZone") -> ZoneInfo:
    """The IANA zone of that exact name; ``Europe`` (a folder of zones) or a path is not one."""
    if not isinstance(name, str) or name not in known_zones():
        message = f"'{name}' is not a known IANA time zone such as Europe/Copenhagen."
        raise InvalidInput.one(field_name, message)
    return ZoneInfo(name)


def participant(email: str, display_name: str | None = None, type: str = "required") -> Participant:
    """Build a participant from what a person typed; raises AddressError for an unusable address."""
    address = parse_address(email, display_name)
    return Participant(email=address.email, display_name=address.display_name, type=type)


def parse_participants(items: list[dict]) -> tuple[Participant, ...]:
    """Turn ``[{"email", "displayName"?, "type"?}]`` into participants, with per-item errors."""
    errors: dict[str, list[str]] = {}
    result: list[Participant] = []
    seen: dict[str, int] = {}
    if len(items) > MAX_PARTICIPANTS:
        raise InvalidInput.one("participants", f"At most {MAX_PARTICIPANTS} participants are allowed.")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("email"), str):
            errors[f"participants.{index}.email"] = ["Missing data for required field."]
            continue
        kind = item.get("type", "required")
        if kind not in PARTICIPANT_TYPES:
            errors[f"participants.{index}.type"] = [f"Must be one of: {', '.join(PARTICIPANT_TYPES)}."]
            continue
        try:
            p = participant(item["email"], item.get("display_name"), kind)
        except AddressError as exc:
            errors[f"participants.{index}.email"] = [f"Not a usable email address: {exc}."]
            continue
        key = parse_address(p.email).key
        if key in seen:
            errors[f"participants.{index}.email"] = [f"{p.email} is listed twice (also at position {seen[key]})."]
            continue
        seen[key] = index
        result.append(p)
    if errors:
        raise InvalidInput(errors)
    return tuple(result)


def checked(activity: Activity) -> Activity:
    """Return the activity if it keeps every rule, else raise InvalidInput naming each broken one."""
    errors: dict[str, list[str]] = {}
    if not activity.subject.strip():
        errors["subject"] = ["The subject cannot be empty."]
    for name in ("start", "end"):
        value = getattr(activity, name)
        if value.tzinfo is None:
            errors[name] = ["Give the time with its offset, for example 2026-12-01T09:00:00Z."]
    try:
        zone = zone_or_error(activity.time_zone)
    except InvalidInput as exc:
        errors.update(exc.errors)
        zone = None
    if not errors:
        for name in ("start", "end"):
            if not EARLIEST <= getattr(activity, name) < LATEST:
                errors[name] = [f"Give a time between {EARLIEST.year} and {LATEST.year}."]
    if not errors:
        if activity.end <= activity.start:
            errors["end"] = ["The end must be after the start."]
        elif activity.end - activity.start > MAX_DURATION:
            errors["end"] = [f"A meeting lasts at most {MAX_DURATION.days} days."]
        if activity.is_all_day and zone is not None:
            for name in ("start", "end"):
                local = getattr(activity, name).astimezone(zone)
                if local.time() != time(0):
                    errors.setdefault(name, []).append(
                        f"An all-day activity starts and ends at midnight in {activity.time_zone}."
                    )
    try:
        parse_address(activity.organizer_email)
    except AddressError as exc:
        errors["organizerEmail"] = [f"Not a usable email address: {exc}."]
    if errors:
        raise InvalidInput(errors)
    return replace(activity, start=activity.start.astimezone(UTC), end=activity.end.astimezone(UTC))
