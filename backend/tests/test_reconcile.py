"""Taking Outlook's version changes the CRM activity only, and a cancellation only when asked."""

import dataclasses
from datetime import UTC, datetime

from crmbridge.domain.activity import Activity, Participant, Status, checked
from crmbridge.domain.graph_event import read_graph_event
from crmbridge.domain.reconcile import take_outlook

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def activity() -> Activity:
    return checked(Activity(
        subject="Review", start=START, end=START.replace(hour=9), time_zone="Europe/Copenhagen",
        organizer_email="anna@contoso.com", location="Room Harbour", internal_notes="secret",
        participants=(Participant("mette@fabrikam.example"),),
    ))


def outlook(**overrides):
    ev = {"start": {"dateTime": "2026-12-02T13:00:00.0000000", "timeZone": "Romance Standard Time"},
          "end": {"dateTime": "2026-12-02T14:30:00.0000000", "timeZone": "Romance Standard Time"},
          "location": {"displayName": "Teams"}, "isCancelled": False,
          "attendees": [{"emailAddress": {"address": "someone@else.example"}}]}
    ev.update(overrides)
    return read_graph_event(ev)


def test_start_end_and_location_come_from_outlook():
    result = take_outlook(activity(), outlook())
    assert result.start == datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert result.end == datetime(2026, 12, 2, 13, 30, tzinfo=UTC)
    assert result.location == "Teams"


def test_notes_attendees_and_subject_stay_as_they_were():
    before = activity()
    after = take_outlook(before, outlook())
    assert (after.internal_notes, after.participants, after.subject) == (
        before.internal_notes, before.participants, before.subject)


def test_a_cancellation_is_applied_only_when_asked():
    assert take_outlook(activity(), outlook(isCancelled=True)).status is Status.PLANNED
    assert take_outlook(activity(), outlook(isCancelled=True), apply_cancellation=True).status is Status.CANCELLED


def test_an_all_day_outlook_meeting_becomes_midnights_in_the_activitys_zone():
    result = take_outlook(activity(), outlook(
        isAllDay=True, start={"dateTime": "2026-12-03T00:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2026-12-04T00:00:00.0000000", "timeZone": "UTC"}))
    assert result.is_all_day
    assert result.local_start().isoformat() == "2026-12-03T00:00:00+01:00"
    assert result.local_end().isoformat() == "2026-12-04T00:00:00+01:00"


def test_a_cancellation_from_outlook_does_not_reopen_a_cancelled_activity():
    cancelled = dataclasses.replace(activity(), status=Status.CANCELLED)
    assert take_outlook(cancelled, outlook()).status is Status.CANCELLED
