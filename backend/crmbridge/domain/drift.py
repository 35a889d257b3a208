"""Drift: how the external Outlook meeting differs from the CRM activity.

Times compare as instants (the same moment written in another zone is not drift); all-day meetings compare by
date. Attendees compare as a set of external addresses, case-insensitively, ignoring the organizer. Each
external's response is reported alongside: a decline is news for the organizer, not a difference to reconcile.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from .activity import Activity, Status
from .addresses import address_key
from .classification import Kind, OrgDomains, classify
from .graph_event import OutlookMeeting


@dataclass(frozen=True)
class Difference:
    field: str
    crm: object
    outlook: object


@dataclass(frozen=True)
class AttendeeResponse:
    email: str
    display_name: str
    response: str
    in_crm: bool


@dataclass(frozen=True)
class Drift:
    differences: tuple[Difference, ...]
    responses: tuple[AttendeeResponse, ...]

    @property
    def in_sync(self) -> bool:
        return not self.differences


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _time_differences(activity: Activity, outlook: OutlookMeeting) -> list[Difference]:
    if activity.is_all_day and outlook.is_all_day:
        crm_dates = (activity.local_start().date(), activity.local_end().date())
        out_dates = (outlook.start_date, outlook.end_date)
        return [
            Difference(name, crm.isoformat(), out.isoformat())
            for name, crm, out in zip(("start", "end"), crm_dates, out_dates, strict=True)
            if crm != out
        ]
    found = []
    if activity.is_all_day != outlook.is_all_day:
        found.append(Difference("allDay", activity.is_all_day, outlook.is_all_day))
    for name, crm, out in (("start", activity.start, outlook.start), ("end", activity.end, outlook.end)):
        if crm != out:
            found.append(Difference(name, iso_utc(crm), iso_utc(out)))
    return found


SERIES = Difference("recurringSeries", None, "seriesMaster")


def compute_drift(activity: Activity, outlook: OutlookMeeting, org: OrgDomains) -> Drift:
    if outlook.is_series:
        # An activity is one meeting; a series' fields are its first instance's, and comparing them would be wrong.
        return Drift((SERIES,), ())
    differences = _time_differences(activity, outlook)
    if not _same_text(activity.location, outlook.location):
        differences.append(Difference("location", activity.location, outlook.location))
    crm_cancelled = activity.status is Status.CANCELLED
    if crm_cancelled != outlook.is_cancelled:
        differences.append(Difference("cancelled", crm_cancelled, outlook.is_cancelled))

    crm_externals = {address_key(c.email): c.email for c in activity.externals(org)}
    organizers = {address_key(activity.organizer_email)}
    if outlook.organizer_email:
        organizers.add(address_key(outlook.organizer_email))
    outlook_externals = {}
    responses = []
    for attendee in outlook.attendees:
        key = address_key(attendee.email)
        if key in organizers or attendee.type == "resource":
            continue
        if classify(attendee.email, attendee.type, org).kind is not Kind.EXTERNAL:
            continue
        outlook_externals[key] = attendee.email
        responses.append(AttendeeResponse(attendee.email, attendee.name, attendee.response, key in crm_externals))
    if crm_externals.keys() != outlook_externals.keys():
        differences.append(
            Difference(
                "externalAttendees",
                sorted(crm_externals.values(), key=str.casefold),
                sorted(outlook_externals.values(), key=str.casefold),
            )
        )
    return Drift(tuple(differences), tuple(responses))
