"""The external draft: what the organizer's new Outlook meeting for the customers is prefilled with.

It is built from an allow-list of fields. The internal notes are never read here, so no path can carry them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from .activity import Activity
from .classification import OrgDomains


@dataclass(frozen=True)
class DraftAttendee:
    """Office.js ``EmailAddressDetails`` form."""

    email_address: str
    display_name: str


@dataclass(frozen=True)
class ExternalDraft:
    subject: str
    start: datetime
    end: datetime
    is_all_day: bool
    location: str
    body: str
    required_attendees: tuple[DraftAttendee, ...]
    optional_attendees: tuple[DraftAttendee, ...]
    resources: tuple[DraftAttendee, ...]


def external_draft(activity: Activity, org: OrgDomains, *, book_rooms: bool = True) -> ExternalDraft:
    """Organizer + externals only: externals go to required/optional as in the CRM, rooms to resources when this
    meeting books them (``book_rooms``; a room declines a second booking of the same time, so only one of the two
    meetings may invite it; the location text names it either way)."""
    externals = activity.externals(org)
    required = tuple(_attendee(c) for c in externals if c.type == "required")
    optional = tuple(_attendee(c) for c in externals if c.type == "optional")
    rooms = tuple(_attendee(c) for c in activity.classified(org) if c.type == "resource") if book_rooms else ()
    return ExternalDraft(
        subject=activity.subject,
        start=activity.start.astimezone(UTC),
        end=activity.end.astimezone(UTC),
        is_all_day=activity.is_all_day,
        location=activity.location,
        body=activity.external_agenda,
        required_attendees=required,
        optional_attendees=optional,
        resources=rooms,
    )


def _attendee(classified) -> DraftAttendee:
    return DraftAttendee(email_address=classified.email, display_name=classified.display_name or classified.email)
