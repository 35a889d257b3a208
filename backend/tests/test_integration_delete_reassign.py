"""Delete and reassign by the CRM, against the fake Graph's record of what Exchange mails: the internal meeting is
cancelled (and, on a move, made again in the new calendar) through the outbox; the customer meeting is never
touched; the old organizer's taskpane is told the CRM deleted or moved the activity."""

from datetime import UTC, datetime, timedelta

import pytest
from conftest import Api, activity_json, token_for, worker_round

ROLE = "Activities.ReadWrite.All"
URL = "/api/activities/by-external-id/dynamics/MEET-7"
START = (datetime.now(UTC) + timedelta(days=5)).replace(hour=9, minute=0, second=0, microsecond=0)
END = START + timedelta(hours=1)
CUSTOMERS = ("mette@fabrikam.example", "jonas@fabrikam.example")




@pytest.fixture
def crm(app, client):
    return Api(client, token_for(app, "crm-sync@contoso.com", (ROLE,)))


def graph_time(moment):
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def planned(crm):
    """The CRM puts the activity in; the worker makes the internal meeting in anna's calendar."""
    response = crm.put(URL, json=activity_json(organizerEmail="anna@contoso.com", start=START.isoformat(),
                                               end=END.isoformat()))
    assert response.status_code == 201, response.json
    worker_round(crm.client.application)
    return response.json["id"], response.headers["ETag"]


def customer_meeting_sent(fake, anna, aid):
    """Anna sends the customer meeting in Outlook and the taskpane records it."""
    event = fake.add_event("anna@contoso.com", {
        "subject": "Quarterly review", "start": graph_time(START), "end": graph_time(END),
        "attendees": [{"emailAddress": {"address": a}, "type": "required"} for a in CUSTOMERS]})
    linked = anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "sent",
                                                             "graphEventId": event["id"]})
    assert linked.status_code == 201, linked.json
    return event


def live_subjects(fake, mailbox):
    return [e["subject"] for e in fake.events(mailbox)]


def test_deleting_cancels_the_internal_meeting_and_never_touches_the_customer_meeting(crm, anna, fake, runner):
    aid, _ = planned(crm)
    assert len(fake.mails_to("lars@contoso.com", by="api")) == 1  # the invitation to the internal meeting
    customer = customer_meeting_sent(fake, anna, aid)

    deleted = crm.delete(URL)

    assert deleted.status_code == 200, deleted.json
    assert [(o["calendar"], o["meeting"], o["action"], o["mailsAttendees"]) for o in deleted.json["outlook"]] == [
        ("anna@contoso.com", "internal", "cancel", True), ("anna@contoso.com", "external", "none", False)]
    runner.invoke(args=["sync", "--retry-now"])
    assert [m.kind for m in fake.mails_to("lars@contoso.com", by="api")] == ["invitation", "cancellation"]
    assert fake.writes_to(customer["id"]) == []
    assert all(fake.mails_to(c, by="api") == [] for c in CUSTOMERS)
    assert live_subjects(fake, "anna@contoso.com") == ["Quarterly review"]  # only the customer meeting is left

    gone = anna.get(f"/api/lookup?restId={customer['id']}")
    assert gone.status_code == 410
    assert gone.json["reason"] == "deleted-in-crm" and "deleted" in gone.json["message"]
    assert anna.get(f"/api/activities/{aid}").status_code == 404
    assert crm.get(URL).status_code == 404
    again = crm.delete(f"/api/activities/{aid}")
    assert again.status_code == 200 and again.json["deletedAt"] == deleted.json["deletedAt"]
    assert [m.kind for m in fake.mails_to("lars@contoso.com")] == ["invitation", "cancellation"]


def test_reassigning_moves_the_internal_meeting_and_tells_the_old_organizer(crm, anna, bo, fake, runner):
    aid, etag = planned(crm)
    customer = customer_meeting_sent(fake, anna, aid)

    moved = crm.post(f"/api/activities/{aid}/reassign", json={"organizerEmail": "bo@contoso.com"},
                     headers={"If-Match": etag})

    assert moved.status_code == 200, moved.json
    assert moved.json["activity"]["organizerEmail"] == "bo@contoso.com"
    effects = [(o["calendar"], o["meeting"], o["action"], o["mailsAttendees"]) for o in moved.json["outlook"]]
    assert effects == [("anna@contoso.com", "internal", "cancel", True),
                       ("anna@contoso.com", "external", "none", False),
                       ("bo@contoso.com", "internal", "create", True)]
    assert all(o["attendees"] == ["lars@contoso.com"] for o in moved.json["outlook"] if o["meeting"] == "internal")
    runner.invoke(args=["sync", "--retry-now"])

    assert [m.kind for m in fake.mails_to("lars@contoso.com", by="api")] == ["invitation", "cancellation",
                                                                            "invitation"]
    assert live_subjects(fake, "anna@contoso.com") == ["Quarterly review"]  # the customer meeting, untouched
    assert fake.writes_to(customer["id"]) == []
    assert all(fake.mails_to(c, by="api") == [] for c in CUSTOMERS)
    assert live_subjects(fake, "bo@contoso.com") == ["Quarterly review"]  # the new internal meeting

    told = anna.get(f"/api/lookup?restId={customer['id']}")
    assert told.status_code == 410
    assert (told.json["reason"], told.json["movedTo"], told.json["meeting"]) == ("moved", "bo@contoso.com",
                                                                                 "external")
    assert "bo@contoso.com" in told.json["message"]
    assert anna.get(f"/api/activities/{aid}").status_code == 404
    assert anna.get(f"/api/lookup?activityId={aid}").json["reason"] == "moved"
    bos = bo.get(f"/api/lookup?activityId={aid}")
    assert bos.status_code == 200
    assert bos.json["externalMeeting"] is None and bos.json["state"] == "not-invited"


def test_an_upsert_naming_another_organizer_moves_the_activity_with_the_next_worker_round(crm, anna, bo, fake):
    aid, _ = planned(crm)
    moved = crm.put(URL, json=activity_json(organizerEmail="bo@contoso.com", start=START.isoformat(),
                                            end=END.isoformat()))
    assert moved.status_code == 200
    assert [o["action"] for o in moved.json["outlook"]] == ["cancel", "create"]
    assert live_subjects(fake, "anna@contoso.com") == ["Quarterly review"]  # no request waits on Graph
    worker_round(crm.client.application)
    assert [m.kind for m in fake.mails_to("lars@contoso.com", by="api")] == ["invitation", "cancellation",
                                                                            "invitation"]
    assert live_subjects(fake, "anna@contoso.com") == []
    assert live_subjects(fake, "bo@contoso.com") == ["Quarterly review"]
    assert bo.get(f"/api/activities/{aid}").status_code == 200


def test_reassign_needs_the_current_version_and_the_role(crm, anna, fake):
    aid, etag = planned(crm)
    assert crm.post(f"/api/activities/{aid}/reassign", json={"organizerEmail": "bo@contoso.com"}).status_code == 428
    assert crm.post(f"/api/activities/{aid}/reassign", json={"organizerEmail": "bo@contoso.com"},
                    headers={"If-Match": '"v9"'}).status_code == 412
    assert anna.post(f"/api/activities/{aid}/reassign", json={"organizerEmail": "bo@contoso.com"},
                     headers={"If-Match": etag}).status_code == 403
    assert anna.delete(f"/api/activities/{aid}").status_code == 403


def test_another_tenants_integration_can_neither_delete_nor_move(app, client, crm, fake):
    aid, etag = planned(crm)
    stranger = Api(client, token_for(app, "crm@fabrikam.example", (ROLE,), tenant="tenant-b"))
    assert stranger.delete(f"/api/activities/{aid}").status_code == 404
    assert stranger.delete(URL).status_code == 404
    assert stranger.post(f"/api/activities/{aid}/reassign", json={"organizerEmail": "x@fabrikam.example"},
                         headers={"If-Match": etag}).status_code == 404
    assert crm.get(URL).status_code == 200
