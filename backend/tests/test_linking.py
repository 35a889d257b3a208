"""Finding the external meeting the organizer sent: by the add-in's property, else by time and attendees."""

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import activity_json

from crmbridge import db
from crmbridge.graph import GraphClient, linking
from crmbridge.graph.linking import ADDIN_PROPERTY, CRM_ACTIVITY_PROPERTY
from crmbridge.models import MeetingLinkRow

BASE = "https://graph.microsoft.com/v1.0"
USER = f"{BASE}/users/anna@contoso.com"
START, END = "2030-03-04T08:00:00Z", "2030-03-04T09:00:00Z"
SINCE = datetime(2030, 3, 1, tzinfo=UTC)


@pytest.fixture
def graph():
    client = GraphClient(lambda mailbox: "static-token", sleep=lambda seconds: None)
    yield client
    client.close()


@pytest.fixture
def pending(app, anna):
    """An activity whose invitation the organizer opened (external link pending); its internal meeting is known."""
    aid = anna.post("/api/activities", json=activity_json(start=START, end=END)).json["id"]
    assert anna.post(f"/api/activities/{aid}/links", json={"state": "pending"}).status_code == 201
    assert anna.post(f"/api/activities/{aid}/links", json={"kind": "internal", "state": "sent", "attendees": [],
                                                          "graphEventId": "AAMkInternal"}).status_code == 201
    return aid


def event(event_id, *, attendees=("mette@fabrikam.example",), start=START, end=END, **extra):
    return {
        "id": event_id,
        "iCalUId": f"UID-{event_id}",
        "isOrganizer": True,
        "isCancelled": False,
        "start": {"dateTime": start.rstrip("Z"), "timeZone": "UTC"},
        "end": {"dateTime": end.rstrip("Z"), "timeZone": "UTC"},
        "organizer": {"emailAddress": {"address": "anna@contoso.com"}},
        "attendees": [{"type": "required", "emailAddress": {"address": a}, "status": {"response": "none"}}
                      for a in attendees],
        **extra,
    }


def query_of(call):
    return dict(parse_qsl(urlsplit(call.request.url).query))


def external_link(app, aid):
    with app.app_context():
        link = db.session().query(MeetingLinkRow).filter_by(activity_id=aid, kind="external").one()
        return SimpleNamespace(state=link.state, graph_event_id=link.graph_event_id, ical_uid=link.ical_uid)


def run(app, graph, candidates=None):
    with app.app_context():
        session = db.session()
        found = linking.link_sent_invitations(session, graph, "anna@contoso.com",
                                              linking_org(), since=SINCE, candidates=candidates)
        return [(link.activity_id, e["id"]) for link, e in found]


def linking_org():
    from crmbridge.domain.classification import OrgDomains

    return OrgDomains.of(["contoso.com"])


def test_the_sent_meeting_is_found_by_the_add_ins_property_and_linked(app, graph, pending, rsps):
    rsps.get(f"{USER}/events", json={"value": [event("AAMkExternal")]})

    assert run(app, graph) == [(pending, "AAMkExternal")]

    [call] = rsps.calls
    assert call.request.headers["Authorization"] == "Bearer static-token"
    assert query_of(call) == {
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{ADDIN_PROPERTY}' and ep/value eq "
                   f"'{{\"crmActivityId\":\"{pending}\",\"crmMeetingKind\":\"external\"}}')",
        "$expand": f"singleValueExtendedProperties($filter=id eq '{ADDIN_PROPERTY}')",
    }
    link = external_link(app, pending)
    assert (link.state, link.graph_event_id, link.ical_uid) == ("sent", "AAMkExternal", "UID-AAMkExternal")


def test_without_the_property_the_meeting_at_the_invitations_time_with_its_externals_is_linked(app, graph, pending,
                                                                                               rsps):
    rsps.get(f"{USER}/events", json={"value": []})
    rsps.get(f"{USER}/calendarView", json={"value": [
        event("AAMkInternal", attendees=("lars@contoso.com",)),
        event("AAMkOther", attendees=("lars@contoso.com", "someone@else.example"),
              singleValueExtendedProperties=[{"id": CRM_ACTIVITY_PROPERTY, "value": "99"}]),
        event("AAMkElsewhen", start="2030-03-04T08:30:00Z"),
        event("AAMkExternal", attendees=("Mette@Fabrikam.example", "jonas@fabrikam.example", "new@fabrikam.example")),
    ]})

    assert run(app, graph) == [(pending, "AAMkExternal")]

    assert query_of(rsps.calls[1]) == {
        "startDateTime": "2030-03-04T08:00:00Z",
        "endDateTime": "2030-03-04T09:01:00Z",
        "$top": "500",
        "$expand": f"singleValueExtendedProperties($filter=id eq '{ADDIN_PROPERTY}')",
    }
    assert external_link(app, pending).state == "sent"


@pytest.mark.parametrize("candidate", [
    event("AAMkDraft", isDraft=True),
    event("AAMkNotMine", isOrganizer=False),
    event("AAMkCancelled", isCancelled=True),
    event("AAMkInternalsOnly", attendees=("lars@contoso.com",)),
    event("AAMkOtherActivity", singleValueExtendedProperties=[
        {"id": ADDIN_PROPERTY, "value": '{"crmActivityId":"99","crmMeetingKind":"external"}'}]),
    event("AAMkInternal"),
], ids=["never sent", "not the organizer's", "cancelled", "no external", "another activity's", "internal meeting"])
def test_meetings_that_are_not_the_sent_invitation_are_not_linked(app, graph, pending, rsps, candidate):
    rsps.get(f"{USER}/events", json={"value": [candidate] if "isDraft" in candidate else []})

    assert run(app, graph, candidates=[candidate]) == []
    assert external_link(app, pending).state == "pending"


def test_two_meetings_that_match_equally_are_ambiguous_and_neither_is_linked(app, graph, pending, rsps):
    rsps.get(f"{USER}/events", json={"value": []})
    assert run(app, graph, candidates=[event("AAMkA"), event("AAMkB")]) == []
    assert external_link(app, pending).state == "pending"


def test_a_meeting_already_linked_to_another_activity_is_not_linked_twice(app, anna, graph, pending, rsps):
    other = anna.post("/api/activities", json=activity_json(start=START, end=END)).json["id"]
    assert anna.post(f"/api/activities/{other}/links", json={"state": "sent",
                                                            "graphEventId": "AAMkExternal"}).status_code == 201
    rsps.get(f"{USER}/events", json={"value": [event("AAMkExternal")]})

    assert run(app, graph) == []
    assert external_link(app, pending).state == "pending"


def test_candidates_from_a_scan_spare_the_calendar_view_request(app, graph, pending, rsps):
    rsps.get(f"{USER}/events", json={"value": []})

    assert run(app, graph, candidates=[event("AAMkExternal")]) == [(pending, "AAMkExternal")]
    assert len(rsps.calls) == 1


def test_activities_that_ended_or_were_cancelled_are_not_looked_for(app, anna, graph, pending, rsps):
    with app.app_context():
        assert linking.pending_links(db.session(), "anna@contoso.com", SINCE + timedelta(days=10)) == []
    etag = anna.get(f"/api/activities/{pending}").headers["ETag"]
    anna.patch(f"/api/activities/{pending}", json={"status": "cancelled"}, headers={"If-Match": etag})
    assert run(app, graph) == []


def test_the_add_in_value_is_the_json_office_writes():
    assert linking.addin_value(42, "external") == '{"crmActivityId":"42","crmMeetingKind":"external"}'
    assert linking.addin_activity_id({"singleValueExtendedProperties": [
        {"id": ADDIN_PROPERTY.upper(), "value": json.dumps({"crmActivityId": "42"})}]}) == 42
    assert linking.addin_activity_id({"singleValueExtendedProperties": [
        {"id": ADDIN_PROPERTY, "value": "not json"}]}) is None
