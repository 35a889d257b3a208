"""The customer appointment: the organizer's compose-mode path to the customer invitation with Graph available.

The backend puts an appointment with nobody invited into the organizer's calendar (Graph mails nobody for it,
DESIGN 5), the pane opens it and adds the customers, and the organizer presses Send. Checked against the fake
Graph's mail log: nobody receives anything until the organizer sends.
"""

from datetime import UTC, datetime, timedelta

import pytest
from conftest import activity_json
from fake_graph import start_fake_graph

from crmbridge import db
from crmbridge.domain.classification import OrgDomains
from crmbridge.graph import GraphClient
from crmbridge.graph import setup as graph_setup
from crmbridge.graph.linking import ADDIN_PROPERTY, link_sent_invitations

MAILBOX = "anna@contoso.com"
START = (datetime.now(UTC) + timedelta(days=4)).replace(hour=9, minute=0, second=0, microsecond=0)
END = START + timedelta(hours=1)
NOTES = "Internal only: discount up to 12 %"




def create(anna, **fields):
    times = {"start": START.isoformat(), "end": END.isoformat(), **fields}
    response = anna.post("/api/activities", json=activity_json(**times))
    assert response.status_code == 201, response.json
    return response.json["id"]


def prepare(anna, aid):
    return anna.post(f"/api/activities/{aid}/customer-appointment")


def test_the_appointment_has_the_draft_and_nobody_invited_so_no_one_gets_mail(app, anna, fake):
    aid = create(anna)
    mails_before = len(fake.mails)

    response = prepare(anna, aid)

    assert response.status_code == 201, response.json
    link = response.json["link"]
    assert (link["kind"], link["state"], response.json["created"]) == ("external", "pending", True)
    event = next(e for e in fake.events(MAILBOX) if e["id"] == link["graphEventId"])
    assert event["attendees"] == []
    assert event["subject"] == "Quarterly review" and event["location"]["displayName"] == "Room Harbour"
    assert event["body"]["content"] == "1. Status\n2. Next quarter"
    assert NOTES not in str(event)
    assert {p["id"]: p["value"] for p in event["singleValueExtendedProperties"]}[ADDIN_PROPERTY] == (
        f'{{"crmActivityId":"{aid}","crmMeetingKind":"external-draft"}}')
    assert len(fake.mails) == mails_before  # an appointment without attendees mails nobody
    assert anna.get(f"/api/lookup?activityId={aid}").json["state"] == "invitation-open"


def test_asking_twice_returns_the_same_appointment(app, anna, fake):
    aid = create(anna)
    first = prepare(anna, aid)
    second = prepare(anna, aid)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["created"] is False
    assert second.json["link"]["graphEventId"] == first.json["link"]["graphEventId"]
    drafts = [e for e in fake.events(MAILBOX) if "external-draft" in str(e.get("singleValueExtendedProperties"))]
    assert len(drafts) == 1


@pytest.mark.parametrize(("setup", "reason"), [
    ({"status": "cancelled"}, "cancelled"),
    ({"start": "2020-03-04T09:00:00Z", "end": "2020-03-04T10:00:00Z"}, "over"),
    ({"participants": [{"email": "lars@contoso.com"}]}, "no-externals"),
])
def test_no_appointment_for_an_activity_that_must_not_be_invited(anna, fake, setup, reason):
    aid = create(anna, **setup)
    created_before = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/events")]

    response = prepare(anna, aid)

    assert (response.status_code, response.json["reason"]) == (409, reason)
    assert [r for r in fake.requests if r.method == "POST" and r.path.endswith("/events")] == created_before


def test_no_appointment_once_the_customer_meeting_was_sent(anna, fake):
    aid = create(anna)
    assert anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "sent",
                                                          "graphEventId": "AAMkSent"}).status_code == 201

    response = prepare(anna, aid)

    assert (response.status_code, response.json["reason"]) == (409, "already-sent")


def test_the_appointment_counts_as_sent_only_once_it_has_a_customer_and_is_no_draft(app, anna, fake):
    aid = create(anna)
    event_id = prepare(anna, aid).json["link"]["graphEventId"]
    org = OrgDomains.of(["contoso.com"])

    def scan():
        with app.app_context():
            return link_sent_invitations(db.session(), fake.client, MAILBOX, org, since=datetime.now(UTC))

    assert scan() == []  # nobody invited yet
    fake.outlook_update(MAILBOX, event_id, {"attendees": [
        {"emailAddress": {"address": "lars@contoso.com"}, "type": "required"}]})
    assert scan() == []  # only a colleague: still no customer meeting
    fake.outlook_update(MAILBOX, event_id, {"isDraft": True, "attendees": [
        {"emailAddress": {"address": "mette@fabrikam.example"}, "type": "required"}]})
    assert scan() == []  # saved in Outlook but not sent
    fake.outlook_update(MAILBOX, event_id, {"isDraft": False})

    assert [event["id"] for _, event in scan()] == [event_id]
    assert anna.get(f"/api/lookup?activityId={aid}").json["state"] == "sent"


def test_without_graph_the_pane_is_told_to_start_from_a_new_meeting(anna):
    aid = create(anna)

    response = prepare(anna, aid)

    assert response.status_code == 409 and response.json["reason"] == "graph-off"  # a setting: not worth a retry
    assert "new meeting" in response.json["message"]
    assert anna.get(f"/api/lookup?activityId={aid}").json["canPrepareAppointment"] is False


def test_a_slow_graph_answers_503_with_retry_after_and_stores_nothing(app, anna):
    base_url, fake, stop = start_fake_graph(seed=1, fault_rate=1.0, faults=("slow",), slow_seconds=3)
    client = GraphClient(lambda mailbox: "app-token", base_url=base_url, sleep=lambda seconds: None)
    graph_setup.install(app, client)
    try:
        aid = create(anna)
        from crmbridge.api import activities

        activities.APPOINTMENT_TIMEOUT = (0.5, 0.5)
        try:
            response = prepare(anna, aid)
        finally:
            activities.APPOINTMENT_TIMEOUT = (2.0, 5.0)
    finally:
        stop()
        client.close()

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert anna.get(f"/api/lookup?activityId={aid}").json["externalMeeting"] is None


def test_the_pane_lists_and_lookups_carry_no_notes_and_each_activitys_invitation_state(anna, fake):
    aid = create(anna)
    prepare(anna, aid)

    listed = anna.get("/api/activities").json["items"]
    found = anna.get(f"/api/lookup?activityId={aid}").json

    assert [(item["id"], item["externalState"]) for item in listed] == [(aid, "invitation-open")]
    assert NOTES not in str(listed) and NOTES not in str(found)
    assert "internalNotes" not in listed[0] and "internalNotes" not in found["activity"]
