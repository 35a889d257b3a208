"""/api/activities: create, read, list, change with ETags, draft, drift, reconcile, links."""

import threading

import pytest
from conftest import Api, activity_json, token_for

from crmbridge import db
from crmbridge.models import ActivityRow, MeetingLinkRow


def test_creating_an_activity_returns_it_classified_with_an_etag_and_location(anna, created):
    body = created.json
    assert created.headers["ETag"] == '"v1"'
    assert created.headers["Location"] == f"/api/activities/{body['id']}"
    assert body["organizerEmail"] == "anna@contoso.com"
    assert body["start"] == "2026-12-01T08:00:00Z"
    assert [(p["email"], p["classification"], p["reason"]) for p in body["participants"]] == [
        ("lars@contoso.com", "internal", "org-domain"),
        ("mette@fabrikam.example", "external", "not-org-domain"),
        ("jonas@fabrikam.example", "external", "not-org-domain"),
        ("harbour-room@contoso.com", "resource", "resource"),
    ]
    assert body["participants"][1]["displayName"] == "Mette Kunde"


def test_the_organizer_reads_back_exactly_what_was_stored_including_notes(anna, created):
    response = anna.get(f"/api/activities/{created.json['id']}")
    assert response.status_code == 200
    assert response.json == created.json
    assert response.headers["ETag"] == '"v1"'


def test_another_organizers_activity_looks_missing(bo, created):
    aid = created.json["id"]
    for response in (
        bo.get(f"/api/activities/{aid}"),
        bo.patch(f"/api/activities/{aid}", json={"location": "x"}, headers={"If-Match": '"v1"'}),
        bo.get(f"/api/activities/{aid}/external-draft"),
        bo.post(f"/api/activities/{aid}/drift", json={}),
        bo.post(f"/api/activities/{aid}/reconcile", json={"take": "outlook", "snapshot": {}},
                headers={"If-Match": '"v1"'}),
        bo.post(f"/api/activities/{aid}/links", json={"state": "pending"}),
        bo.get(f"/api/lookup?activityId={aid}"),
    ):
        assert response.status_code == 404, response.request.path
        assert response.json["code"] == 404
        assert "discount" not in response.get_data(as_text=True).lower()


def test_an_organizer_cannot_create_an_activity_for_someone_else(anna):
    response = anna.post("/api/activities", json=activity_json(organizerEmail="bo@contoso.com"))
    assert response.status_code == 403
    assert "for themselves" in response.json["message"]


def test_an_integration_with_the_role_creates_an_activity_for_a_named_organizer(app, client):
    crm = Api(client, token_for(app, "crm-sync@contoso.com", ("Activities.ReadWrite.All",)))
    response = crm.post("/api/activities", json=activity_json(organizerEmail="Bo@Contoso.com"))
    assert response.status_code == 201
    bo = Api(client, token_for(app, "bo@contoso.com"))
    assert bo.get(f"/api/activities/{response.json['id']}").status_code == 200
    assert crm.post("/api/activities", json=activity_json()).status_code == 422  # must name the organizer


def test_an_integration_without_the_role_is_forbidden(app, client):
    crm = Api(client, token_for(app, "crm-sync@contoso.com", ("Something.Else",)))
    assert crm.post("/api/activities", json=activity_json(organizerEmail="bo@contoso.com")).status_code == 403


def test_listing_returns_the_callers_activities_in_the_window_paged(anna, bo):
    for day in (1, 2, 3, 10):
        anna.post("/api/activities", json=activity_json(start=f"2026-12-{day:02d}T09:00:00Z",
                                                         end=f"2026-12-{day:02d}T10:00:00Z"))
    bo.post("/api/activities", json=activity_json())
    response = anna.get("/api/activities?from=2026-12-01T00:00:00Z&to=2026-12-05T00:00:00Z&pageSize=2")
    assert response.status_code == 200
    assert response.json["total"] == 3 and response.json["pageSize"] == 2
    assert [i["start"] for i in response.json["items"]] == ["2026-12-01T09:00:00Z", "2026-12-02T09:00:00Z"]
    page2 = anna.get("/api/activities?from=2026-12-01T00:00:00Z&to=2026-12-05T00:00:00Z&pageSize=2&page=2")
    assert [i["start"] for i in page2.json["items"]] == ["2026-12-03T09:00:00Z"]
    assert anna.get("/api/activities").json["total"] == 4


@pytest.mark.parametrize(("query", "field"), [
    ("from=yesterday", "from"), ("from=2026-12-01T00:00:00", "from"), ("pageSize=0", "pageSize"),
    ("pageSize=1000", "pageSize"), ("page=0", "page"), ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "to"),
    ("colour=blue", "colour"),
])
def test_a_bad_listing_query_is_a_422_naming_the_parameter(anna, query, field):
    response = anna.get(f"/api/activities?{query}")
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_patch_changes_fields_and_bumps_the_etag(anna, created):
    aid = created.json["id"]
    response = anna.patch(f"/api/activities/{aid}", json={"location": "Teams", "participants": [
        {"email": "new@kunde.dk"}]}, headers={"If-Match": '"v1"'})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"v2"'
    assert response.json["location"] == "Teams"
    assert [p["email"] for p in response.json["participants"]] == ["new@kunde.dk"]
    assert response.json["subject"] == "Quarterly review"


def test_patch_without_if_match_is_428_and_with_a_stale_one_412(anna, created):
    aid = created.json["id"]
    assert anna.patch(f"/api/activities/{aid}", json={"location": "x"}).status_code == 428
    for stale in ('"v7"', "garbage"):
        response = anna.patch(f"/api/activities/{aid}", json={"location": "x"}, headers={"If-Match": stale})
        assert response.status_code == 412


def test_two_patches_with_the_same_etag_give_one_200_and_one_412(anna, created):
    aid = created.json["id"]
    first = anna.patch(f"/api/activities/{aid}", json={"location": "A"}, headers={"If-Match": '"v1"'})
    second = anna.patch(f"/api/activities/{aid}", json={"location": "B"}, headers={"If-Match": '"v1"'})
    assert sorted([first.status_code, second.status_code]) == [200, 412]
    assert anna.get(f"/api/activities/{aid}").json["location"] == "A"


def test_concurrent_patches_with_the_same_etag_let_exactly_one_through(app, created):
    aid = created.json["id"]
    token = token_for(app, "anna@contoso.com")
    barrier = threading.Barrier(6)
    statuses = []

    def patch(n):
        client = app.test_client()
        barrier.wait()
        response = client.patch(f"/api/activities/{aid}", json={"location": f"L{n}"},
                                headers={"Authorization": f"Bearer {token}", "If-Match": '"v1"'})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=patch, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [412] * 5
    with app.app_context():
        assert db.session().get(ActivityRow, aid).version == 2


def test_a_patch_that_changes_nothing_keeps_the_version(anna, created):
    aid = created.json["id"]
    response = anna.patch(f"/api/activities/{aid}", json={"location": "Room Harbour"}, headers={"If-Match": '"v1"'})
    assert response.status_code == 200 and response.headers["ETag"] == '"v1"'


def test_a_patch_breaking_a_rule_is_422_and_writes_nothing(anna, created):
    aid = created.json["id"]
    response = anna.patch(f"/api/activities/{aid}", json={"end": "2026-12-01T07:00:00Z", "location": "X"},
                          headers={"If-Match": '"v1"'})
    assert response.status_code == 422 and "end" in response.json["errors"]
    assert anna.get(f"/api/activities/{aid}").json == created.json


def test_the_external_draft_holds_externals_and_agenda_and_never_notes(anna, created):
    response = anna.get(f"/api/activities/{created.json['id']}/external-draft")
    assert response.status_code == 200
    assert response.json == {
        "subject": "Quarterly review", "start": "2026-12-01T08:00:00Z", "end": "2026-12-01T09:00:00Z",
        "isAllDay": False, "location": "Room Harbour", "body": "1. Status\n2. Next quarter",
        "requiredAttendees": [{"emailAddress": "mette@fabrikam.example", "displayName": "Mette Kunde"}],
        "optionalAttendees": [{"emailAddress": "jonas@fabrikam.example", "displayName": "jonas@fabrikam.example"}],
        "resources": [],  # the internal meeting books the room (CRMBRIDGE_ROOM_BOOKING=internal, the default)
    }
    assert "discount" not in response.get_data(as_text=True).lower()


def test_with_room_booking_external_the_draft_books_the_room(app, anna, created):
    app.config["ROOM_BOOKING"] = "external"

    response = anna.get(f"/api/activities/{created.json['id']}/external-draft")

    assert response.json["resources"] == [{"emailAddress": "harbour-room@contoso.com", "displayName": "Room Harbour"}]
    assert response.json["location"] == "Room Harbour"


def graph_event(**overrides):
    event = {
        "@odata.etag": 'W/"abc"', "id": "AAMkExternal=", "iCalUId": "040000008200E0", "changeKey": "abc",
        "subject": "Quarterly review", "body": {"contentType": "html", "content": "<p>1. Status</p>"},
        "start": {"dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "Romance Standard Time"},
        "end": {"dateTime": "2026-12-01T10:00:00.0000000", "timeZone": "Romance Standard Time"},
        "location": {"displayName": "Room Harbour", "locationType": "default", "uniqueIdType": "private"},
        "isCancelled": False, "isAllDay": False, "isOrganizer": True, "type": "singleInstance",
        "organizer": {"emailAddress": {"name": "Anna", "address": "anna@contoso.com"}},
        "attendees": [
            {"type": "required", "status": {"response": "accepted", "time": "2026-11-20T10:00:00Z"},
             "emailAddress": {"name": "Mette", "address": "mette@fabrikam.example"}},
            {"type": "optional", "status": {"response": "declined", "time": "2026-11-20T10:00:00Z"},
             "emailAddress": {"name": "Jonas", "address": "JONAS@fabrikam.example"}},
        ],
    }
    event.update(overrides)
    return event


def test_drift_accepts_a_whole_graph_event_and_reports_in_sync(anna, created):
    response = anna.post(f"/api/activities/{created.json['id']}/drift", json=graph_event())
    assert response.status_code == 200
    assert response.json["inSync"] is True and response.json["differences"] == []
    assert [(r["email"], r["response"]) for r in response.json["responses"]] == [
        ("mette@fabrikam.example", "accepted"), ("JONAS@fabrikam.example", "declined")]


def test_drift_reports_each_differing_field_with_both_values(anna, created):
    moved = graph_event(start={"dateTime": "2026-12-02T09:00:00.0000000", "timeZone": "UTC"},
                        location={"displayName": "Teams"}, isCancelled=True)
    response = anna.post(f"/api/activities/{created.json['id']}/drift", json=moved)
    assert [(d["field"], d["crm"], d["outlook"]) for d in response.json["differences"]] == [
        ("start", "2026-12-01T08:00:00Z", "2026-12-02T09:00:00Z"),
        ("location", "Room Harbour", "Teams"),
        ("cancelled", False, True),
    ]


def test_drift_with_a_broken_snapshot_is_a_422_naming_the_field(anna, created):
    response = anna.post(f"/api/activities/{created.json['id']}/drift",
                         json=graph_event(start={"dateTime": "soon", "timeZone": "UTC"}))
    assert response.status_code == 422
    assert "start.dateTime" in response.json["errors"]


def test_reconcile_takes_outlooks_time_and_location_into_the_crm_only(app, anna, created):
    aid = created.json["id"]
    moved = graph_event(start={"dateTime": "2026-12-02T13:00:00.0000000", "timeZone": "Romance Standard Time"},
                        end={"dateTime": "2026-12-02T14:00:00.0000000", "timeZone": "Romance Standard Time"},
                        location={"displayName": "Teams"}, isCancelled=True)
    response = anna.post(f"/api/activities/{aid}/reconcile", json={"take": "outlook", "snapshot": moved},
                         headers={"If-Match": '"v1"'})
    assert response.status_code == 200, response.json
    assert response.headers["ETag"] == '"v2"'
    assert (response.json["start"], response.json["location"], response.json["status"]) == (
        "2026-12-02T12:00:00Z", "Teams", "planned")
    assert "internalNotes" not in response.json  # read on the customer meeting: never the notes
    after = anna.post(f"/api/activities/{aid}/drift", json=moved).json
    assert [d["field"] for d in after["differences"]] == ["cancelled"]
    cancel = anna.post(f"/api/activities/{aid}/reconcile",
                       json={"take": "outlook", "snapshot": moved, "applyCancellation": True},
                       headers={"If-Match": '"v2"'})
    assert cancel.json["status"] == "cancelled"


def test_reconcile_needs_a_fresh_etag_and_takes_only_outlook(anna, created):
    aid = created.json["id"]
    body = {"take": "outlook", "snapshot": graph_event()}
    assert anna.post(f"/api/activities/{aid}/reconcile", json=body).status_code == 428
    assert anna.post(f"/api/activities/{aid}/reconcile", json=body, headers={"If-Match": '"v9"'}).status_code == 412
    crm = anna.post(f"/api/activities/{aid}/reconcile", json={"take": "crm", "snapshot": graph_event()},
                    headers={"If-Match": '"v1"'})
    assert crm.status_code == 422 and "take" in crm.json["errors"]


def test_a_link_is_recorded_then_updated_and_a_meeting_cannot_belong_to_two_activities(app, anna, created):
    aid = created.json["id"]
    pending = anna.post(f"/api/activities/{aid}/links", json={"state": "pending"})
    assert pending.status_code == 201 and pending.json["state"] == "pending"
    sent = anna.post(f"/api/activities/{aid}/links",
                     json={"state": "sent", "graphEventId": "AAMk1", "ewsItemId": "AAMk/1+", "iCalUId": "ical-1"})
    assert sent.status_code == 200
    assert (sent.json["graphEventId"], sent.json["iCalUId"]) == ("AAMk1", "ical-1")
    other = anna.post("/api/activities", json=activity_json()).json["id"]
    clash = anna.post(f"/api/activities/{other}/links", json={"state": "sent", "iCalUId": "ical-1"})
    assert clash.status_code == 409 and clash.json["code"] == 409
    with app.app_context():
        assert db.session().query(MeetingLinkRow).count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"state": "sent"}, "state"), ({"state": "gone"}, "state"), ({}, "state"),
    ({"state": "pending", "kind": "other"}, "kind"), ({"state": "pending", "graphEventId": ""}, "graphEventId"),
])
def test_a_bad_link_is_a_422(anna, created, body, field):
    response = anna.post(f"/api/activities/{created.json['id']}/links", json=body)
    assert response.status_code == 422 and field in response.json["errors"]


def test_a_patch_with_prefer_return_minimal_answers_204_with_the_etag_and_no_body(anna, created):
    aid = created.json["id"]
    response = anna.patch(f"/api/activities/{aid}", json={"status": "cancelled"},
                          headers={"If-Match": '"v1"', "Prefer": "return=minimal"})
    assert response.status_code == 204 and response.get_data() == b""
    assert response.headers["ETag"] == '"v2"' and response.headers["Preference-Applied"] == "return=minimal"
    assert anna.get(f"/api/activities/{aid}").json["status"] == "cancelled"
    full = anna.patch(f"/api/activities/{aid}", json={"location": "Fjord"}, headers={"If-Match": '"v2"'})
    assert full.status_code == 200 and full.json["location"] == "Fjord"  # without Prefer: the activity, as before
