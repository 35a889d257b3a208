"""Reading the fields we compare out of a Microsoft Graph event, exactly as Graph returns it.

Graph gives times as ``{"dateTime": "2026-03-29T09:00:00.0000000", "timeZone": "Romance Standard Time"}``;
the zone may be ``UTC``, an IANA name or a Windows name. All other event fields are ignored.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tzlocal.windows_tz import win_tz

from .activity import known_zones
from .errors import InvalidInput

_FRACTION = re.compile(r"\.(\d+)")
_UTC_NAMES = {"utc", "etc/utc", "z", "gmt", "coordinated universal time", "tzone://microsoft/utc"}


@dataclass(frozen=True)
class OutlookAttendee:
    email: str
    name: str
    type: str
    response: str


@dataclass(frozen=True)
class OutlookMeeting:
    start: datetime
    end: datetime
    start_date: date
    end_date: date
    is_all_day: bool
    location: str
    is_cancelled: bool
    organizer_email: str
    attendees: tuple[OutlookAttendee, ...]
    is_series: bool = False  # a recurring series (``type`` seriesMaster, or a recurrence): not one meeting


def zone_from_graph(name: str, field: str) -> ZoneInfo:
    """UTC, an IANA zone or a Windows zone name, as Graph and Exchange write them."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput.one(field, "The time zone is missing.")
    cleaned = name.strip()
    if cleaned.lower() in _UTC_NAMES:
        return ZoneInfo("UTC")
    iana = win_tz.get(cleaned, cleaned)
    if iana not in known_zones():  # also refuses folders of zones such as "Europe"
        raise InvalidInput.one(field, f"'{name}' is neither a Windows nor an IANA time zone name.")
    return ZoneInfo(iana)


def _parse_local(value: str, field: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput.one(field, "Expected a date and time such as 2026-12-01T09:00:00.0000000.")
    # Graph writes seven fractional digits; Python reads at most six.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip())
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput.one(field, f"'{value}' is not a date and time.") from exc


def graph_time(value: object, field: str) -> tuple[datetime, date]:
    """An instant (UTC) and the wall-clock date, from a Graph ``dateTimeTimeZone``."""
    if not isinstance(value, dict):
        raise InvalidInput.one(field, "Expected an object with dateTime and timeZone.")
    local = _parse_local(value.get("dateTime"), f"{field}.dateTime")
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone_from_graph(value.get("timeZone", "UTC"), f"{field}.timeZone"))
    try:
        return local.astimezone(UTC), local.date()
    except OverflowError as exc:  # year 1 east of UTC, or 9999 west of it
        raise InvalidInput.one(f"{field}.dateTime", f"'{value.get('dateTime')}' is out of range.") from exc


def _object(value: object) -> dict:
    """A JSON object, or an empty one for anything else (Graph omits what it does not have)."""
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def read_graph_event(event: object) -> OutlookMeeting:
    """The fields we compare, from a whole Graph event; raises InvalidInput naming what is missing."""
    if not isinstance(event, dict):
        raise InvalidInput.one("snapshot", "Expected a Microsoft Graph event object.")
    errors: dict[str, list[str]] = {}
    times = {}
    for name in ("start", "end"):
        try:
            times[name] = graph_time(event.get(name), name)
        except InvalidInput as exc:
            errors.update(exc.errors)
    attendees = []
    raw_attendees = event.get("attendees") or []
    if not isinstance(raw_attendees, list):
        errors["attendees"] = ["Expected a list of attendees."]
        raw_attendees = []
    for index, item in enumerate(raw_attendees):
        item = _object(item)
        address = _object(item.get("emailAddress"))
        email = _text(address.get("address"))
        if not email:
            errors[f"attendees.{index}.emailAddress.address"] = ["The attendee has no address."]
            continue
        status = _object(item.get("status"))
        attendees.append(
            OutlookAttendee(
                email=email,
                name=_text(address.get("name")),
                type=_text(item.get("type")) or "required",
                response=_text(status.get("response")) or "none",
            )
        )
    if errors:
        raise InvalidInput(errors)
    location = event.get("location") or {}
    organizer = _object(_object(event.get("organizer")).get("emailAddress")).get("address")
    return OutlookMeeting(
        start=times["start"][0],
        end=times["end"][0],
        start_date=times["start"][1],
        end_date=times["end"][1],
        is_all_day=bool(event.get("isAllDay")),
        location=_text(location.get("displayName") if isinstance(location, dict) else location),
        is_cancelled=bool(event.get("isCancelled")),
        organizer_email=_text(organizer),
        attendees=tuple(attendees),
        is_series=event.get("type") == "seriesMaster" or bool(event.get("recurrence")),
    )
