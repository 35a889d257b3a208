"""Issue 10's behaviours, each tried against the fake Graph that behaves as Exchange does (fake_graph.py's table):
one room booking, no update storms, scans that survive a missing permission, immutable ids learnt at once, all-day
and recurring meetings, lifecycle notifications, bounded and idempotent retries; and every flow at once, asserting
from the fake's mail log that no customer received a mail the organizer did not send.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
from conftest import activity_json, worker_round
from fake_graph import start_fake_graph

from crmbridge import db
from crmbridge.domain.classification import OrgDomains
from crmbridge.domain.outsiders import outsiders
from crmbridge.graph import GraphClient, GraphThrottled, sync
from crmbridge.graph import setup as graph_setup
from crmbridge.graph.linking import CRM_ACTIVITY_PROPERTY
from crmbridge.models import GraphSubscriptionRow, MeetingLinkRow, now

MAILBOX = "anna@contoso.com"
ROOM = "harbour-room@contoso.com"
ORG = OrgDomains.of(["contoso.com"])
EXTERNALS = ("mette@fabrikam.example", "jonas@fabrikam.example")
START = (datetime.now(UTC) + timedelta(days=5)).replace(hour=9, minute=0, second=0, microsecond=0)
END = START + timedelta(hours=1)
NOTIFY_URL = "https://crm.example.com/api/graph/notifications"


@pytest.fixture
def graph(app):
    """Factory: graph(**fake_options) -> fake, with the app in application mode against it."""
    stops = []

    def make(**options):
        base_url, fake, stop = start_fake_graph(seed=5, rooms=(ROOM,), **options)
        client = GraphClient(lambda mailbox: "app-token", base_url=base_url, timeout=(1.0, 2.0), max_retries=2,
                             sleep=lambda seconds: None)
        graph_setup.install(app, client)
        stops.extend((stop, client.close))
        return fake

    yield make
    for stop in stops:
        stop()


def graph_time(moment, zone="UTC"):
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone}


def attendee(address, kind="required"):
    return {"emailAddress": {"address": address}, "type": kind}


def create(anna, **fields):
    fields.setdefault("start", START.isoformat())
    fields.setdefault("end", END.isoformat())
    response = anna.post("/api/activities", json=activity_json(**fields))
    assert response.status_code == 201, response.json
    worker_round(anna.client.application)
    return response.json["id"], response.headers["ETag"]


def patch(anna, aid, etag, **changes):
    response = anna.patch(f"/api/activities/{aid}", json=changes, headers={"If-Match": etag})
    assert response.status_code == 200, response.json
    worker_round(anna.client.application)
    return response.headers["ETag"]


def internal_event(fake, aid):
    [event] = [e for e in fake.events(MAILBOX)
               if {"id": CRM_ACTIVITY_PROPERTY, "value": str(aid)} in e["singleValueExtendedProperties"]]
    return event


def sent_from_draft(fake, anna, aid, **changes):
    """The organizer opens the prefilled form in Outlook and presses Send: the customer meeting."""
    draft = anna.get(f"/api/activities/{aid}/external-draft").json
    event = {"subject": draft["subject"], "start": graph_time(START), "end": graph_time(END),
             "location": {"displayName": draft["location"]},
             "attendees": [*(attendee(a["emailAddress"]) for a in draft["requiredAttendees"]),
                           *(attendee(a["emailAddress"], "optional") for a in draft["optionalAttendees"]),
                           *(attendee(a["emailAddress"], "resource") for a in draft["resources"])],
             **changes}
    return fake.add_event(MAILBOX, event)


def link_sent(anna, fake, aid, event_id):
    """The taskpane records the sent meeting with the ids Office.js gives: the EWS item id and the REST id."""
    response = anna.post(f"/api/activities/{aid}/links", json={
        "kind": "external", "state": "sent", "ewsItemId": fake.ews_id(event_id),
        "graphEventId": fake.rest_id(event_id)})
    assert response.status_code in (200, 201), response.json
    return response.json


def run_sync(app, *, at=None, **settings):
    with app.app_context():
        return sync.run_due(db.session(), graph_setup.background_client(app), ORG, at=at or now(),
                            settings=sync.SyncSettings(**settings)).actions


def scan(runner, *args):
    result = runner.invoke(args=["scan", *args])
    assert result.exit_code == 0, result.output
    return result.output


def assert_no_customer_got_mail_the_organizer_did_not_send(fake):
    by_backend = [(m.to, m.kind) for m in fake.mails if outsiders([m.to], ORG) and m.by != "organizer"]
    assert by_backend == []


# 1. Each room is booked once ---------------------------------------------------------------------------------------


def test_the_internal_meeting_books_the_room_and_the_customer_meeting_names_it_only(app, anna, graph, runner):
    fake = graph()
    aid, _ = create(anna)

    external = sent_from_draft(fake, anna, aid)
    link_sent(anna, fake, aid, external["id"])
    scan(runner)

    booked = [e for e in fake.events(MAILBOX) if ROOM in {a["emailAddress"]["address"] for a in e["attendees"]}]
    assert [e["id"] for e in booked] == [internal_event(fake, aid)["id"]]
    assert external["location"]["displayName"] == "Room Harbour"
    assert anna.get(f"/api/lookup?activityId={aid}").json["rooms"] == [
        {"email": ROOM, "response": "accepted", "meeting": "internal"}]


def test_with_room_booking_external_the_customer_meeting_books_the_room_and_drift_shows_its_answer(
        app, anna, graph, runner):
    app.config["ROOM_BOOKING"] = "external"
    fake = graph()
    aid, _ = create(anna)
    # Someone else holds the room at that time: the customer meeting's booking is declined.
    fake.add_event("bo@contoso.com", {"subject": "Board", "start": graph_time(START), "end": graph_time(END),
                                      "attendees": [attendee(ROOM, "resource")]})

    external = sent_from_draft(fake, anna, aid)
    link_sent(anna, fake, aid, external["id"])
    scan(runner)

    assert ROOM not in {a["emailAddress"]["address"] for a in internal_event(fake, aid)["attendees"]}
    assert anna.get(f"/api/lookup?activityId={aid}").json["rooms"] == [
        {"email": ROOM, "response": "declined", "meeting": "external"}]


# 2. Colleagues are not spammed -------------------------------------------------------------------------------------


def test_notes_edits_within_the_window_become_one_update_of_the_internal_meeting(app, anna, graph):
    app.config["NOTES_COALESCE_SECONDS"] = 300
    fake = graph()
    aid, etag = create(anna)
    for n in range(3):
        etag = patch(anna, aid, etag, internalNotes=f"Walk away below {9 - n} %")
    internal_id = internal_event(fake, aid)["id"]

    assert [r.method for r in fake.writes_to(internal_id)] == []
    assert anna.get(f"/api/lookup?activityId={aid}").json["internalNotes"] == {"inMeeting": False,
                                                                               "reason": "waiting"}
    assert run_sync(app, at=now() + timedelta(seconds=301), notes_coalesce=timedelta(seconds=300)) == {"updated": 1}

    assert [m.kind for m in fake.mails_to("lars@contoso.com")] == ["invitation", "update"]
    assert fake.mails_to("lars@contoso.com")[-1].body == "Walk away below 7 %"
    assert anna.get(f"/api/lookup?activityId={aid}").json["internalNotes"] == {"inMeeting": True, "reason": None}


def test_with_notes_only_updates_off_the_notes_wait_for_the_next_real_change(app, anna, graph):
    app.config["NOTES_ONLY_UPDATES"] = False
    fake = graph()
    aid, etag = create(anna)

    etag = patch(anna, aid, etag, internalNotes="Walk away below 8 %")
    assert [m.kind for m in fake.mails_to("lars@contoso.com")] == ["invitation"]
    assert anna.get(f"/api/lookup?activityId={aid}").json["internalNotes"] == {
        "inMeeting": False, "reason": "notes-only-off"}

    patch(anna, aid, etag, location="Room Fjord")

    assert [m.kind for m in fake.mails_to("lars@contoso.com")] == ["invitation", "update"]
    assert fake.mails_to("lars@contoso.com")[-1].body == "Walk away below 8 %"


def test_the_body_of_an_online_internal_meeting_is_never_patched_and_the_pane_shows_the_newer_notes(
        app, anna, graph):
    fake = graph()
    aid, etag = create(anna)
    internal_id = internal_event(fake, aid)["id"]
    join = "https://teams.microsoft.com/l/meetup-join/abc"
    fake.outlook_update(MAILBOX, internal_id, {"isOnlineMeeting": True, "onlineMeeting": {"joinUrl": join}})

    etag = patch(anna, aid, etag, internalNotes="Walk away below 8 %")
    patch(anna, aid, etag, location="Room Fjord")

    writes = [r.body for r in fake.writes_to(internal_id)]
    assert writes == [{"location": {"displayName": "Room Fjord"}}]  # the notes edit alone wrote nothing
    assert fake.join_info_lost == []
    assert fake.events(MAILBOX)[0]["onlineMeeting"] == {"joinUrl": join}
    assert anna.get(f"/api/lookup?activityId={aid}").json["internalNotes"] == {"inMeeting": False,
                                                                               "reason": "online-meeting"}
    assert anna.get(f"/api/activities/{aid}").json["internalNotes"] == "Walk away below 8 %"  # what the pane shows


# 3. Scans survive a missing permission; doctor checks permissions ----------------------------------------------


def test_a_scan_without_organization_read_all_goes_on_and_names_the_permission(app, anna, graph, runner):
    fake = graph(missing_permissions={"Organization.Read.All"})
    aid, _ = create(anna)
    external = sent_from_draft(fake, anna, aid, location={"displayName": "Elsewhere"})
    link_sent(anna, fake, aid, external["id"])

    result = runner.invoke(args=["scan"])

    assert result.exit_code == 0, result.output
    assert "Organization.Read.All" in result.output and "1 meetings checked in 1 mailbox(es): 1 drifted" in \
        result.output
    domains = runner.invoke(args=["domains", "sync"])
    assert domains.exit_code == 1 and "Organization.Read.All" in domains.output


# 4. Links recorded from Office.js ids are seen at once ----------------------------------------------------------


def test_a_link_recorded_with_office_js_ids_learns_the_immutable_id_and_an_incremental_scan_sees_drift(
        app, anna, graph, runner):
    fake = graph()
    aid, _ = create(anna)
    other, _ = create(anna, subject="Other")
    sent_from_draft(fake, anna, other)
    link_sent(anna, fake, other, fake.events(MAILBOX)[-1]["id"])
    scan(runner)  # the delta link is stored before the next meeting is even sent

    external = sent_from_draft(fake, anna, aid)
    link = link_sent(anna, fake, aid, external["id"])
    assert link["graphEventId"] == external["id"]  # immutable, as delta and notifications carry it
    fake.outlook_update(MAILBOX, external["id"], {"location": {"displayName": "Elsewhere"}})
    output = scan(runner, "--incremental")

    assert "1 drifted" in output
    assert [i["activityId"] for i in anna.get("/api/drift").json["items"]] == [aid]
    for query in ({"itemId": fake.ews_id(external["id"])}, {"restId": fake.rest_id(external["id"])}):
        found = anna.get("/api/lookup", query_string=query)
        assert found.json["activity"]["id"] == aid, found.json


# 5. All-day meetings ------------------------------------------------------------------------------------------------


def test_an_all_day_meeting_sent_from_another_zone_links_by_date_and_compares_in_sync(app, anna, graph, runner):
    fake = graph()
    day = START.date()
    aid, _ = create(anna, isAllDay=True, start=f"{day}T00:00:00+01:00",
                    end=f"{day + timedelta(days=1)}T00:00:00+01:00")
    internal = internal_event(fake, aid)
    assert internal["start"] == {"dateTime": f"{day}T00:00:00.0000000", "timeZone": "Romance Standard Time"}
    assert anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "pending"}).status_code == 201

    # The organizer's Outlook is set to London: Graph keeps the meeting floating midnight to midnight there.
    fake.add_event(MAILBOX, {"subject": "Fair", "isAllDay": True,
                             "start": {"dateTime": f"{day}T00:00:00", "timeZone": "GMT Standard Time"},
                             "end": {"dateTime": f"{day + timedelta(days=1)}T00:00:00",
                                     "timeZone": "GMT Standard Time"},
                             "location": {"displayName": "Room Harbour"},
                             "attendees": [attendee(EXTERNALS[0]), attendee(EXTERNALS[1], "optional")]})
    output = scan(runner)

    assert "1 invitations linked" in output and "0 drifted" in output
    assert anna.get(f"/api/lookup?activityId={aid}").json["state"] in ("in-sync", "sent")


# 6. Recurring series -------------------------------------------------------------------------------------------------


def test_an_activity_linked_to_one_occurrence_compares_with_that_occurrence_and_a_series_is_said_plainly(
        app, anna, graph, runner):
    fake = graph()
    aid, _ = create(anna)
    series_activity, _ = create(anna, subject="Weekly")
    series = fake.add_event(MAILBOX, {
        "subject": "Weekly", "start": graph_time(START), "end": graph_time(END),
        "location": {"displayName": "Room Harbour"},
        "attendees": [attendee(EXTERNALS[0]), attendee(EXTERNALS[1], "optional")],
        "recurrence": {"pattern": {"type": "weekly", "interval": 1},
                       "range": {"type": "numbered", "startDate": str(START.date()), "numberOfOccurrences": 3}}})
    with app.app_context():
        occurrences = graph_setup.background_client(app).calendar_view(MAILBOX, START - timedelta(days=1),
                                                                     START + timedelta(days=30))
    occurrence = next(e for e in occurrences if e.get("seriesMasterId"))
    assert occurrence["type"] == "occurrence" and occurrence["seriesMasterId"] == series["id"]
    anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "sent",
                                                     "graphEventId": occurrence["id"]})
    anna.post(f"/api/activities/{series_activity}/links", json={"kind": "external", "state": "sent",
                                                                 "graphEventId": series["id"]})

    first = scan(runner)
    fake.outlook_update(MAILBOX, occurrence["id"], {"start": graph_time(START + timedelta(hours=2)),
                                                    "end": graph_time(END + timedelta(hours=2))})
    second = scan(runner, "--incremental")

    assert "recurring series" in first
    drift = {i["activityId"]: [d["field"] for d in i["differences"]] for i in anna.get("/api/drift").json["items"]}
    assert drift == {aid: ["start", "end"], series_activity: ["recurringSeries"]}
    assert "1 drifted" in second


# 7. Lifecycle notifications ------------------------------------------------------------------------------------------


def test_subscriptions_get_lifecycle_notifications_and_a_missed_one_triggers_a_delta_round(app, anna, graph, runner,
                                                                                       client):
    app.config.update(GRAPH_NOTIFICATION_URL=NOTIFY_URL, GRAPH_CLIENT_STATE="s3cret")
    fake = graph()
    aid, _ = create(anna)
    link_sent(anna, fake, aid, sent_from_draft(fake, anna, aid)["id"])
    scan(runner)
    assert runner.invoke(args=["subscriptions", "renew"]).exit_code == 0
    [subscription] = fake.subscriptions()
    assert subscription["lifecycleNotificationUrl"] == NOTIFY_URL
    expires = datetime.fromisoformat(subscription["expirationDateTime"].replace("Z", "+00:00"))
    assert timedelta(minutes=10000) < expires - datetime.now(UTC) <= timedelta(minutes=10080)

    assert client.post("/api/graph/notifications",
                       json=fake.lifecycle_notification(subscription["id"], "missed")).status_code == 202
    before = len(fake.requests)
    scan(runner, "--notified")
    assert any(r.path.endswith("/calendarView/delta") for r in fake.requests[before:])

    client.post("/api/graph/notifications",
                json=fake.lifecycle_notification(subscription["id"], "reauthorizationRequired"))
    assert "1 renewed" in runner.invoke(args=["subscriptions", "renew"]).output
    client.post("/api/graph/notifications",
                json=fake.lifecycle_notification(subscription["id"], "subscriptionRemoved"))
    with app.app_context():
        assert db.session().query(GraphSubscriptionRow).count() == 0
    assert "1 created" in runner.invoke(args=["subscriptions", "renew"]).output


# 8. Retries are bounded and idempotent ------------------------------------------------------------------------------


def test_a_retry_after_beyond_the_cap_fails_the_call_instead_of_sleeping():
    sleeps = []
    client = GraphClient(lambda mailbox: "t", retry_after_cap=30, sleep=sleeps.append, max_retries=3)
    url = "https://graph.microsoft.com/v1.0/users/anna@contoso.com/events/e"
    with responses.RequestsMock() as rsps:
        rsps.get(url, status=429, headers={"Retry-After": "3"})
        rsps.get(url, status=429, headers={"Retry-After": "3600"})
        with pytest.raises(GraphThrottled) as throttled:
            client.get_event(MAILBOX, "e")
    assert sleeps == [3.0] and throttled.value.retry_after == 3600.0


def test_a_create_whose_answer_was_lost_is_looked_up_by_its_property_and_not_sent_again(app, anna, graph):
    fake = graph(applied_then_drop_rate=1.0)  # every create is stored, then the connection drops

    aid, _ = create(anna)

    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/events")]
    assert len(posts) == 1
    assert len([e for e in fake.events(MAILBOX) if e["subject"] == "Quarterly review"]) == 1
    assert [m.kind for m in fake.mails_to("lars@contoso.com")] == ["invitation"]
    with app.app_context():
        link = db.session().query(MeetingLinkRow).filter_by(activity_id=aid, kind="internal").one()
        assert link.graph_event_id == internal_event(fake, aid)["id"]


# Every flow at once ---------------------------------------------------------------------------------------------------


def test_every_flow_sends_customers_only_what_the_organizer_sent(app, anna, graph, runner, client):
    app.config.update(GRAPH_NOTIFICATION_URL=NOTIFY_URL, GRAPH_CLIENT_STATE="s3cret", NOTES_COALESCE_SECONDS=60)
    fake = graph()
    aid, etag = create(anna)                                            # sync: the internal meeting
    etag = patch(anna, aid, etag, internalNotes="Walk away below 8 %")  # notes, coalesced
    run_sync(app, at=now() + timedelta(seconds=61), notes_coalesce=timedelta(seconds=60))
    external = sent_from_draft(fake, anna, aid)                         # invite: the organizer presses Send
    link_sent(anna, fake, aid, external["id"])                          # link
    assert runner.invoke(args=["subscriptions", "renew"]).exit_code == 0
    scan(runner)                                                        # drift watch
    fake.respond(MAILBOX, external["id"], EXTERNALS[0], "accepted")
    moved = fake.outlook_update(MAILBOX, external["id"], {            # the organizer moves it in Outlook
        "start": graph_time(START + timedelta(hours=1)), "end": graph_time(END + timedelta(hours=1))})
    [subscription] = fake.subscriptions()
    client.post("/api/graph/notifications", json={"value": [{
        "subscriptionId": subscription["id"], "clientState": "s3cret", "changeType": "updated",
        "resource": f"Users/x/Events/{external['id']}",
        "resourceData": {"id": external["id"], "@odata.etag": f'W/"{moved["changeKey"]}"'}}]})
    scan(runner, "--notified")
    assert [i["activityId"] for i in anna.get("/api/drift").json["items"]] == [aid]
    reconciled = anna.post(f"/api/activities/{aid}/reconcile", headers={"If-Match": etag},  # take Outlook's
                           json={"take": "outlook", "snapshot": moved, "applyCancellation": False})
    assert reconciled.status_code == 200, reconciled.json
    worker_round(app)                                                   # the new time reaches the colleagues
    patch(anna, aid, reconciled.headers["ETag"], status="cancelled")  # the CRM cancels: the internal one goes

    externals_mail = {address: [(m.kind, m.by) for m in fake.mails_to(address)] for address in EXTERNALS}
    assert externals_mail == {address: [("invitation", "organizer"), ("update", "organizer")]
                              for address in EXTERNALS}
    assert_no_customer_got_mail_the_organizer_did_not_send(fake)
    assert fake.writes_to(external["id"]) == []
    assert [m.kind for m in fake.mails_to("lars@contoso.com")] == ["invitation", "update", "update", "cancellation"]
    notes_mails = [m for m in fake.mails if "Walk away" in m.body]
    assert {m.to for m in notes_mails} == {"lars@contoso.com", ROOM}
    assert json.dumps([m.body for m in fake.mails if outsiders([m.to], ORG)]).count("Walk away") == 0
