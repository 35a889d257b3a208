"""Drift between the CRM activity and the external Outlook meeting, read from a Graph-shaped event."""

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from crmbridge.domain.activity import Activity, Participant, Status, checked
from crmbridge.domain.classification import OrgDomains
from crmbridge.domain.drift import compute_drift
from crmbridge.domain.errors import InvalidInput
from crmbridge.domain.graph_event import read_graph_event

ORG = OrgDomains.of(["contoso.com"])
CPH = ZoneInfo("Europe/Copenhagen")


def activity(start: datetime, end: datetime, **overrides) -> Activity:
    base = Activity(
        subject="Review", start=start, end=end, time_zone="Europe/Copenhagen", organizer_email="anna@contoso.com",
        location="Room Harbour",
        participants=(Participant("lars@contoso.com"), Participant("mette@fabrikam.example"),
                      Participant("room@contoso.com", "", "resource")),
    )
    return checked(dataclasses.replace(base, **overrides))


def event(start: str, end: str, zone: str = "UTC", **overrides) -> dict:
    body = {
        "id": "AAMkAGI2", "changeKey": "x", "subject": "ignored", "bodyPreview": "ignored",
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        "location": {"displayName": "Room Harbour", "locationType": "default"},
        "isCancelled": False, "isAllDay": False,
        "organizer": {"emailAddress": {"name": "Anna", "address": "anna@contoso.com"}},
        "attendees": [
            {"type": "required", "status": {"response": "accepted", "time": "2026-11-01T10:00:00Z"},
             "emailAddress": {"name": "Mette", "address": "Mette@Fabrikam.example"}},
        ],
    }
    body.update(overrides)
    return body


def drift(act: Activity, ev: dict):
    return compute_drift(act, read_graph_event(ev), ORG)


def fields(result) -> list[str]:
    return [d.field for d in result.differences]


# Copenhagen moved from CEST to CET on 2026-10-25 at 03:00 and to CEST on 2026-03-29 at 02:00.
DST_CASES = [
    ("before spring-forward", datetime(2026, 3, 28, 9, 0, tzinfo=CPH), "2026-03-28T08:00:00.0000000"),
    ("after spring-forward", datetime(2026, 3, 30, 9, 0, tzinfo=CPH), "2026-03-30T07:00:00.0000000"),
    ("the morning of spring-forward", datetime(2026, 3, 29, 9, 0, tzinfo=CPH), "2026-03-29T07:00:00.0000000"),
    ("the morning of fall-back", datetime(2026, 10, 25, 9, 0, tzinfo=CPH), "2026-10-25T08:00:00.0000000"),
    ("the first 02:30 of fall-back", datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=CPH), "2026-10-25T00:30:00.0000000"),
    ("the second 02:30 of fall-back", datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=CPH), "2026-10-25T01:30:00.0000000"),
]


@pytest.mark.parametrize(("label", "local_start", "utc_text"), DST_CASES, ids=[c[0] for c in DST_CASES])
def test_the_same_instant_across_copenhagen_dst_changes_is_not_drift(label, local_start, utc_text):
    start = local_start.astimezone(UTC)
    act = activity(start, start.replace(hour=start.hour + 1))
    utc_end = utc_text.replace(utc_text[11:13], f"{int(utc_text[11:13]) + 1:02d}", 1)
    assert drift(act, event(utc_text, utc_end)).in_sync, label


@pytest.mark.parametrize("zone", ["Romance Standard Time", "W. Europe Standard Time", "Europe/Copenhagen",
                                  "Europe/Paris"])
def test_the_same_wall_clock_time_in_a_zone_with_copenhagens_rules_is_not_drift(zone):
    start = datetime(2026, 3, 30, 9, 0, tzinfo=CPH).astimezone(UTC)
    end = datetime(2026, 3, 30, 10, 0, tzinfo=CPH).astimezone(UTC)
    outlook = event("2026-03-30T09:00:00.0000000", "2026-03-30T10:00:00.0000000", zone)
    assert drift(activity(start, end), outlook).in_sync


def test_an_hour_lost_to_a_wrong_zone_is_drift_across_the_dst_change():
    # 09:00 Copenhagen on 30 March is 07:00 UTC; Outlook saying 09:00 GMT Standard Time (London, BST) is 08:00 UTC.
    start = datetime(2026, 3, 30, 9, 0, tzinfo=CPH).astimezone(UTC)
    act = activity(start, datetime(2026, 3, 30, 10, 0, tzinfo=CPH).astimezone(UTC))
    result = drift(act, event("2026-03-30T09:00:00.0000000", "2026-03-30T10:00:00.0000000", "GMT Standard Time"))
    assert fields(result) == ["start", "end"]
    assert result.differences[0].crm == "2026-03-30T07:00:00Z"
    assert result.differences[0].outlook == "2026-03-30T08:00:00Z"


def test_a_meeting_moved_a_week_later_is_reported_with_both_values():
    start = datetime(2026, 10, 20, 9, 0, tzinfo=CPH).astimezone(UTC)
    act = activity(start, datetime(2026, 10, 20, 10, 0, tzinfo=CPH).astimezone(UTC))
    # A week later Copenhagen is on CET: 09:00 local is 08:00 UTC, not 07:00.
    result = drift(act, event("2026-10-27T09:00:00.0000000", "2026-10-27T10:00:00.0000000", "Romance Standard Time"))
    assert [(d.field, d.crm, d.outlook) for d in result.differences] == [
        ("start", "2026-10-20T07:00:00Z", "2026-10-27T08:00:00Z"),
        ("end", "2026-10-20T08:00:00Z", "2026-10-27T09:00:00Z"),
    ]


def all_day(start_day: int, end_day: int) -> Activity:
    return activity(datetime(2026, 3, start_day, tzinfo=CPH).astimezone(UTC),
                    datetime(2026, 3, end_day, tzinfo=CPH).astimezone(UTC), is_all_day=True)


def test_all_day_meetings_compare_by_date_whatever_zone_outlook_writes():
    act = all_day(29, 30)  # the day Copenhagen springs forward: 23 hours long
    for zone in ("UTC", "Romance Standard Time", "Pacific Standard Time"):
        ev = event("2026-03-29T00:00:00.0000000", "2026-03-30T00:00:00.0000000", zone, isAllDay=True)
        assert drift(act, ev).in_sync, zone


def test_an_all_day_meeting_moved_a_day_reports_dates():
    ev = event("2026-03-30T00:00:00.0000000", "2026-03-31T00:00:00.0000000", isAllDay=True)
    result = drift(all_day(29, 30), ev)
    assert [(d.field, d.crm, d.outlook) for d in result.differences] == [
        ("start", "2026-03-29", "2026-03-30"), ("end", "2026-03-30", "2026-03-31")]


def test_a_timed_meeting_turned_all_day_reports_the_change():
    start = datetime(2026, 3, 29, 9, 0, tzinfo=CPH).astimezone(UTC)
    act = activity(start, start.replace(hour=start.hour + 1))
    ev = event("2026-03-29T00:00:00.0000000", "2026-03-30T00:00:00.0000000", isAllDay=True)
    assert fields(drift(act, ev))[0] == "allDay"


def in_sync_pair():
    start = datetime(2026, 12, 1, 9, 0, tzinfo=CPH).astimezone(UTC)
    act = activity(start, datetime(2026, 12, 1, 10, 0, tzinfo=CPH).astimezone(UTC))
    return act, event("2026-12-01T08:00:00.0000000", "2026-12-01T09:00:00.0000000")


def test_a_matching_meeting_is_in_sync_and_reports_each_externals_response():
    act, ev = in_sync_pair()
    result = drift(act, ev)
    assert result.in_sync
    assert [(r.email, r.response, r.in_crm) for r in result.responses] == [("Mette@Fabrikam.example", "accepted", True)]


def test_a_decline_is_reported_but_is_not_drift():
    act, ev = in_sync_pair()
    ev["attendees"][0]["status"]["response"] = "declined"
    result = drift(act, ev)
    assert result.in_sync and result.responses[0].response == "declined"


def test_location_compares_ignoring_case_and_spacing_but_reports_a_real_change():
    act, ev = in_sync_pair()
    ev["location"]["displayName"] = "  room   HARBOUR "
    assert drift(act, ev).in_sync
    ev["location"] = {"displayName": "Teams"}
    assert [(d.field, d.crm, d.outlook) for d in drift(act, ev).differences] == [("location", "Room Harbour", "Teams")]


def test_a_cancelled_outlook_meeting_is_drift_until_the_crm_is_cancelled_too():
    act, ev = in_sync_pair()
    ev["isCancelled"] = True
    assert fields(drift(act, ev)) == ["cancelled"]
    assert drift(dataclasses.replace(act, status=Status.CANCELLED), ev).in_sync


def test_external_attendees_compare_as_a_set_ignoring_organizer_colleagues_and_rooms():
    act, ev = in_sync_pair()
    ev["attendees"] += [
        {"type": "required", "emailAddress": {"address": "ANNA@contoso.com"}, "status": {"response": "organizer"}},
        {"type": "required", "emailAddress": {"address": "lars@contoso.com"}},
        {"type": "resource", "emailAddress": {"address": "room-b@fabrikam.example"}},
    ]
    assert drift(act, ev).in_sync


def test_an_added_and_a_removed_external_are_drift():
    act, ev = in_sync_pair()
    ev["attendees"] = [{"type": "optional", "emailAddress": {"address": "new@kunde.dk"}}]
    result = drift(act, ev)
    assert [(d.field, d.crm, d.outlook) for d in result.differences] == [
        ("externalAttendees", ["mette@fabrikam.example"], ["new@kunde.dk"])]
    assert [(r.email, r.response, r.in_crm) for r in result.responses] == [("new@kunde.dk", "none", False)]


@pytest.mark.parametrize(("broken", "field"), [
    ({"start": None}, "start"),
    ({"start": {"dateTime": "yesterday", "timeZone": "UTC"}}, "start.dateTime"),
    ({"end": {"dateTime": "2026-12-01T09:00:00", "timeZone": "Mars/Olympus"}}, "end.timeZone"),
    ({"attendees": [{"emailAddress": {}}]}, "attendees.0.emailAddress.address"),
    ({"attendees": "mette"}, "attendees"),
])
def test_a_snapshot_missing_what_we_compare_is_rejected_naming_the_field(broken, field):
    _, ev = in_sync_pair()
    ev.update(broken)
    with pytest.raises(InvalidInput) as excinfo:
        read_graph_event(ev)
    assert field in excinfo.value.errors


def test_an_explicit_offset_in_the_date_time_wins_over_the_zone_name():
    act, ev = in_sync_pair()
    ev["start"] = {"dateTime": "2026-12-01T09:00:00+01:00", "timeZone": "Pacific Standard Time"}
    assert drift(act, ev).in_sync


# The state the pane names ---------------------------------------------------------------------------------------


def test_an_activity_cancelled_only_in_the_crm_never_says_the_customer_meeting_is_cancelled():
    from crmbridge.domain.meeting_state import external_state

    start, end = datetime(2030, 3, 4, 9, tzinfo=UTC), datetime(2030, 3, 4, 10, tzinfo=UTC)
    planned = activity(start, end)
    cancelled = activity(start, end, status=Status.CANCELLED)
    live = event("2030-03-04T09:00:00", "2030-03-04T10:00:00")
    gone = event("2030-03-04T09:00:00", "2030-03-04T10:00:00", isCancelled=True)

    assert external_state(cancelled, ORG, "sent", None) == "crm-cancelled"
    assert external_state(cancelled, ORG, "sent", drift(cancelled, live)) == "crm-cancelled"
    assert external_state(cancelled, ORG, "sent", drift(cancelled, gone)) == "cancelled"
    assert external_state(cancelled, ORG, "cancelled", None) == "cancelled"
    assert external_state(planned, ORG, "sent", drift(planned, gone)) == "drifted"


@pytest.mark.parametrize("series", [{"type": "seriesMaster"},
                                    {"recurrence": {"pattern": {"type": "weekly"}, "range": {"type": "noEnd"}}}])
def test_a_recurring_series_is_reported_as_such_and_never_compared_with_its_first_instance(series):
    # graph:api-reference/v1.0/resources/event.md (type); DESIGN 8: /events gives the seriesMaster.
    act = activity(datetime(2030, 3, 4, 9, tzinfo=UTC), datetime(2030, 3, 4, 10, tzinfo=UTC))

    result = drift(act, event("2030-03-04T09:00:00", "2030-03-04T10:00:00", **series))

    assert fields(result) == ["recurringSeries"] and not result.in_sync
