"""The internal meeting follows the activity: exact Graph requests (``responses``), the outbox and its retries."""

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
import requests
from conftest import Api, activity_json, token_for, worker_round

from crmbridge import db
from crmbridge.domain.activity import Activity, Participant, Status
from crmbridge.domain.classification import OrgDomains
from crmbridge.graph import GraphClient, GraphUnavailable, sync
from crmbridge.graph import setup as graph_setup
from crmbridge.graph.linking import ADDIN_PROPERTY, CRM_ACTIVITY_PROPERTY
from crmbridge.models import ActivityRow, InternalMeetingSyncRow, MeetingLinkRow, SyncJobRow

BASE = "https://graph.microsoft.com/v1.0"
EVENTS = f"{BASE}/users/anna@contoso.com/events"
NOTES = "Internal only: discount up to 12 %"
START, END = "2030-03-04T09:00:00+01:00", "2030-03-04T10:00:00+01:00"
ORG = OrgDomains.of(["contoso.com"])


@pytest.fixture
def graph(app):
    """Application mode with a static token; every request goes to ``responses``."""
    client = GraphClient(lambda mailbox: "static-token", max_retries=2, sleep=lambda seconds: None)
    graph_setup.install(app, client)
    yield client
    client.close()


def created_event(event_id="AAMkInternal1", ical_uid="040000008200E00074C5B7101A82E008INT1"):
    return {"id": event_id, "iCalUId": ical_uid, "changeKey": "ck1"}


INTERNAL_ATTENDEES = [
    {"emailAddress": {"address": "lars@contoso.com", "name": "Lars"}, "type": "required",
     "status": {"response": "accepted"}},
    {"emailAddress": {"address": "harbour-room@contoso.com", "name": "Room Harbour"}, "type": "resource",
     "status": {"response": "accepted"}},
]


def current(rsps, event_id="AAMkInternal1", attendees=None, **fields):
    """Graph's answer to the check before a write: the event's attendees as they are now."""
    body = {"id": event_id, "isOrganizer": True,
            "attendees": INTERNAL_ATTENDEES if attendees is None else attendees, **fields}
    rsps.get(re.compile(re.escape(f"{EVENTS}/{event_id}") + r"\?\$select="), json=body)


def writes(rsps):
    return [c for c in rsps.calls if c.request.method != "GET"]


def sent_json(call):
    return json.loads(call.request.body)


def create(anna, **overrides):
    """Create an activity, and let a worker run the outbox."""
    response = anna.post("/api/activities", json=activity_json(start=START, end=END, **overrides))
    assert response.status_code == 201, response.json
    worker_round(anna.client.application)
    return response


def patch(api, created, **changes):
    """Change an activity, and let a worker run the outbox."""
    response = api.patch(f"/api/activities/{created.json['id']}", json=changes,
                         headers={"If-Match": created.headers["ETag"]})
    assert response.status_code == 200, response.json
    worker_round(api.client.application)
    return response


def values(row):
    return SimpleNamespace(**{column.key: getattr(row, column.key) for column in row.__table__.columns})


def links(app, activity_id):
    with app.app_context():
        return {link.kind: values(link)
                for link in db.session().query(MeetingLinkRow).filter_by(activity_id=activity_id)}


def jobs(app, activity_id):
    with app.app_context():
        query = db.session().query(SyncJobRow).filter_by(activity_id=activity_id).order_by(SyncJobRow.id)
        return [values(job) for job in query]


@pytest.fixture
def synced(app, anna, graph, rsps):
    """An activity whose internal meeting exists; Graph's call log is empty afterwards."""
    rsps.post(EVENTS, status=201, json=created_event())
    response = create(anna)
    rsps.calls.reset()
    rsps.reset()
    return response


# Creating ------------------------------------------------------------------------------------------------------


def test_creating_an_activity_creates_the_internal_meeting_for_the_internal_participants_only(app, anna, graph, rsps):
    rsps.post(EVENTS, status=201, json=created_event())

    response = create(anna)

    assert len(rsps.calls) == 1
    call = rsps.calls[0]
    assert call.request.headers["Authorization"] == "Bearer static-token"
    assert 'IdType="ImmutableId"' in call.request.headers["Prefer"]
    body = sent_json(call)
    transaction_id = body.pop("transactionId")
    activity_id = response.json["id"]
    assert re.fullmatch(rf"crmbridge-{activity_id}-[0-9a-f]{{32}}", transaction_id)
    assert body == {
        "subject": "Quarterly review",
        "body": {"contentType": "text", "content": NOTES},
        "start": {"dateTime": "2030-03-04T08:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2030-03-04T09:00:00", "timeZone": "UTC"},
        "isAllDay": False,
        "location": {"displayName": "Room Harbour"},
        "attendees": [
            {"emailAddress": {"address": "lars@contoso.com", "name": "Lars"}, "type": "required"},
            {"emailAddress": {"address": "harbour-room@contoso.com", "name": "Room Harbour"}, "type": "resource"},
        ],
        "singleValueExtendedProperties": [
            {"id": CRM_ACTIVITY_PROPERTY, "value": str(activity_id)},
            {"id": ADDIN_PROPERTY, "value": f'{{"crmActivityId":"{activity_id}","crmMeetingKind":"internal"}}'},
        ],
    }
    assert "fabrikam" not in call.request.body.decode()
    internal = links(app, activity_id)["internal"]
    assert (internal.state, internal.graph_event_id, internal.ical_uid) == (
        "sent", "AAMkInternal1", "040000008200E00074C5B7101A82E008INT1")
    with app.app_context():
        assert db.session().get(InternalMeetingSyncRow, activity_id).transaction_id == transaction_id
    assert [(j.done, j.attempts, j.reason) for j in jobs(app, activity_id)] == [(True, 1, "created")]


def test_the_property_ids_are_the_documented_ones():
    assert ADDIN_PROPERTY == ("String {00020329-0000-0000-C000-000000000046} "
                              "Name cecp-5a86e20a-85a4-4649-8c8a-9aaa9689b0c7")
    assert re.fullmatch(r"String \{[0-9a-f-]{36}\} Name crmActivityId", CRM_ACTIVITY_PROPERTY)


# Changing ------------------------------------------------------------------------------------------------------


def test_editing_the_notes_sends_exactly_one_patch_to_the_internal_meeting_and_no_external(app, anna, synced, rsps):
    current(rsps)
    rsps.patch(f"{EVENTS}/AAMkInternal1", json=created_event())

    patch(anna, synced, internalNotes="New internal note: walk away below 9 %")

    assert [c.request.method for c in rsps.calls] == ["GET", "PATCH"]  # the attendees are checked first
    assert "$select=attendees,isOrganizer" in unquote(rsps.calls[0].request.url)
    call = rsps.calls[1]
    assert call.request.method == "PATCH"
    assert call.request.url == f"{EVENTS}/AAMkInternal1"
    assert sent_json(call) == {"body": {"contentType": "text", "content": "New internal note: walk away below 9 %"}}
    assert "fabrikam" not in call.request.body.decode()


def test_a_new_time_sends_start_end_and_all_day_together(anna, synced, rsps):
    current(rsps)
    rsps.patch(f"{EVENTS}/AAMkInternal1", json=created_event())

    patch(anna, synced, start="2030-03-04T13:00:00Z", end="2030-03-04T14:30:00Z")

    assert [sent_json(c) for c in writes(rsps)] == [{
        "start": {"dateTime": "2030-03-04T13:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2030-03-04T14:30:00", "timeZone": "UTC"},
        "isAllDay": False,
    }]


def test_new_participants_update_the_attendees_with_the_internal_ones_only(anna, synced, rsps):
    current(rsps)
    rsps.patch(f"{EVENTS}/AAMkInternal1", json=created_event())
    participants = activity_json()["participants"] + [
        {"email": "sofie@contoso.com", "type": "optional"},
        {"email": "ceo@fabrikam.example"},
        {"email": "their-room@fabrikam.example", "type": "resource"},
    ]

    patch(anna, synced, participants=participants)

    assert [sent_json(c) for c in writes(rsps)] == [{"attendees": [
        {"emailAddress": {"address": "lars@contoso.com", "name": "Lars"}, "type": "required"},
        {"emailAddress": {"address": "harbour-room@contoso.com", "name": "Room Harbour"}, "type": "resource"},
        {"emailAddress": {"address": "sofie@contoso.com"}, "type": "optional"},
    ]}]


def test_a_change_to_what_only_externals_see_sends_nothing(anna, synced, rsps):
    patch(anna, synced, externalAgenda="1. Status\n2. Prices")

    assert len(rsps.calls) == 0


def test_cancelling_the_activity_cancels_the_internal_meeting_and_nothing_else(app, anna, synced, rsps):
    aid = synced.json["id"]
    linked = anna.post(f"/api/activities/{aid}/links",
                       json={"kind": "external", "state": "sent", "graphEventId": "AAMkExternal1"})
    assert linked.status_code == 201
    current(rsps)
    rsps.post(f"{EVENTS}/AAMkInternal1/cancel", status=202)

    patch(anna, synced, status="cancelled")

    assert [(c.request.method, c.request.url) for c in writes(rsps)] == [("POST", f"{EVENTS}/AAMkInternal1/cancel")]
    assert rsps.calls[0].request.method == "GET"
    assert sent_json(writes(rsps)[0]) == {}
    assert links(app, aid)["internal"].state == "cancelled"
    assert links(app, aid)["external"].state == "sent"


def test_planning_a_cancelled_activity_again_creates_a_new_meeting_with_a_new_transaction_id(app, anna, synced,
                                                                                             rsps):
    current(rsps)
    rsps.post(f"{EVENTS}/AAMkInternal1/cancel", status=202)
    cancelled = patch(anna, synced, status="cancelled")
    first_transaction = _transaction_id(app, synced.json["id"])
    rsps.post(EVENTS, status=201, json=created_event("AAMkInternal2", "UID2"))

    patch(anna, cancelled, status="planned")

    body = sent_json(rsps.calls[-1])
    assert body["transactionId"] != first_transaction
    internal = links(app, synced.json["id"])["internal"]
    assert (internal.state, internal.graph_event_id, internal.ical_uid) == ("sent", "AAMkInternal2", "UID2")


def test_an_internal_meeting_deleted_in_outlook_is_made_again(app, anna, synced, rsps):
    rsps.get(re.compile(re.escape(f"{EVENTS}/AAMkInternal1") + r"\?"), status=404,
             json={"error": {"code": "ErrorItemNotFound"}})
    rsps.post(EVENTS, status=201, json=created_event("AAMkInternal2", "UID2"))
    first_transaction = _transaction_id(app, synced.json["id"])

    patch(anna, synced, location="Room Lighthouse")

    assert [c.request.method for c in rsps.calls] == ["GET", "POST"]
    assert sent_json(rsps.calls[1])["transactionId"] != first_transaction
    assert links(app, synced.json["id"])["internal"].graph_event_id == "AAMkInternal2"


def _transaction_id(app, activity_id):
    with app.app_context():
        return db.session().get(InternalMeetingSyncRow, activity_id).transaction_id


# Failures and the outbox ---------------------------------------------------------------------------------------


def test_a_failed_create_keeps_the_change_and_is_retried_with_the_same_transaction_id(app, anna, runner, rsps,
                                                                                      caplog):
    client = GraphClient(lambda mailbox: "static-token", max_retries=0, sleep=lambda seconds: None)
    graph_setup.install(app, client)
    rsps.post(EVENTS, status=503, json={"error": {"code": "ServiceUnavailable", "message": NOTES}})

    with caplog.at_level(logging.INFO):
        response = create(anna)

    assert response.status_code == 201
    [job] = jobs(app, response.json["id"])
    assert (job.done, job.attempts, job.last_error) == (False, 1, "GraphUnavailable 503 ServiceUnavailable")
    assert job.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)
    assert "discount" not in caplog.text and "failed" in caplog.text
    assert "internal" not in links(app, response.json["id"])

    # The first create may have reached Graph: it is looked up by its extended property before it is sent again.
    rsps.get(re.compile(re.escape(EVENTS) + r"\?\$filter="), json={"value": []})
    rsps.post(EVENTS, status=201, json=created_event())
    result = runner.invoke(args=["sync", "--retry-now"])

    assert result.exit_code == 0, result.output
    assert "1 created" in result.output and "2 Graph requests" in result.output
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "POST"]
    first, second = (sent_json(c)["transactionId"] for c in rsps.calls if c.request.method == "POST")
    assert first == second
    assert jobs(app, response.json["id"])[0].done


def test_a_job_not_yet_due_waits_and_one_held_by_another_worker_is_left_alone(app, anna, rsps):
    graph_setup.install(app, GraphClient(lambda mailbox: "static-token", max_retries=0))
    rsps.post(EVENTS, status=503)
    aid = create(anna).json["id"]
    client = GraphClient(lambda mailbox: "static-token")
    with app.app_context():
        session = db.session()
        assert sync.run_due(session, client, ORG).actions == {}  # waiting for its retry time
        job = session.query(SyncJobRow).one()
        job.claimed_by, job.next_attempt_at = "another-worker", datetime.now(UTC) + timedelta(minutes=4)
        session.commit()
        assert sync.run_due(session, client, ORG, retry_now=True).actions == {}
    assert len(rsps.calls) == 1
    assert jobs(app, aid)[0].attempts == 1


def test_retry_delays_grow_and_stop_at_an_hour():
    assert [sync.retry_delay(n).total_seconds() for n in (1, 2, 3, 8, 50)] == [30, 60, 120, 3600, 3600]


def test_with_graph_off_the_change_is_kept_in_the_outbox_and_nothing_is_sent(app, anna, rsps, runner):
    response = create(anna)

    assert len(rsps.calls) == 0
    assert [(j.done, j.attempts) for j in jobs(app, response.json["id"])] == [(False, 0)]
    result = runner.invoke(args=["sync"])
    assert result.exit_code != 0 and "CRMBRIDGE_GRAPH_MODE=application" in result.output


def test_in_delegated_mode_no_request_sends_anything_and_every_change_waits_in_the_outbox(app, client, anna, rsps):
    # The worker takes them, with each organizer's own token (test_worker.py).
    graph_setup.install(app, GraphClient(lambda mailbox: "token-of-the-caller"), mode="delegated")
    crm = Api(client, token_for(app, "crm@contoso.com", ("Activities.ReadWrite.All",)))
    by_crm = crm.post("/api/activities", json=activity_json(start=START, end=END, organizerEmail="anna@contoso.com"))
    assert by_crm.status_code == 201
    by_anna = create(anna)

    assert len(rsps.calls) == 0
    assert [(j.done, j.attempts) for j in jobs(app, by_crm.json["id"]) + jobs(app, by_anna.json["id"])] == [
        (False, 0), (False, 0)]


def test_a_write_aimed_at_the_external_meeting_is_refused(app, anna, graph, rsps, caplog):
    rsps.post(EVENTS, status=503)
    graph_setup.install(app, GraphClient(lambda mailbox: "static-token", max_retries=0))
    created = create(anna)
    aid = created.json["id"]
    # A taskpane mistake: the external meeting's id recorded, in EWS form, as the internal meeting.
    assert anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "sent",
                                                          "graphEventId": "AAMk-ext_1"}).status_code == 201
    current(rsps, "AAMk-ext_1")  # Graph shows only colleagues on it, so the link check lets it through
    assert anna.post(f"/api/activities/{aid}/links", json={"kind": "internal", "state": "sent",
                                                          "ewsItemId": "AAMk/ext+1"}).status_code == 201
    rsps.calls.reset()

    with caplog.at_level(logging.WARNING):
        patch(anna, created, internalNotes="changed")

    assert len(rsps.calls) == 0
    assert "RefusedWrite" in caplog.text


def test_a_past_activity_is_not_written_to_outlook(app, anna, rsps):
    graph_setup.install(app, GraphClient(lambda mailbox: "static-token"))
    response = anna.post("/api/activities", json=activity_json(start="2020-03-04T09:00:00Z",
                                                               end="2020-03-04T10:00:00Z"))
    worker_round(app)

    assert response.status_code == 201
    assert len(rsps.calls) == 0
    assert jobs(app, response.json["id"])[0].done


def test_a_cancelled_activity_whose_create_answer_was_lost_is_found_by_its_property_and_cancelled(app, anna, rsps):
    graph_setup.install(app, GraphClient(lambda mailbox: "static-token", max_retries=0))
    rsps.post(EVENTS, body=requests.ConnectionError("dropped after the create was applied"))
    created = create(anna)
    aid = created.json["id"]
    rsps.get(re.compile(re.escape(EVENTS) + r"\?\$filter=.*crmActivityId.*"),
             json={"value": [{"id": "AAMkInternal1", "isCancelled": False}]})
    current(rsps)
    rsps.post(f"{EVENTS}/AAMkInternal1/cancel", status=202)

    patch(anna, created, status="cancelled")

    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "GET", "POST"]
    assert f"ep/value eq '{aid}'" in unquote(rsps.calls[1].request.url)
    assert "$select=attendees" in unquote(rsps.calls[2].request.url)
    assert rsps.calls[3].request.url == f"{EVENTS}/AAMkInternal1/cancel"
    assert links(app, aid)["internal"].state == "cancelled"
    with app.app_context():  # the first job, still waiting for its retry, has nothing left to do
        assert sync.run_due(db.session(), GraphClient(lambda m: "static-token"), ORG, retry_now=True).actions == {
            "unchanged": 1}
    assert len(rsps.calls) == 4


# The internal meeting as plain values --------------------------------------------------------------------------


def activity(**changes):
    base = Activity(
        subject="Review", start=datetime(2030, 3, 4, 8, tzinfo=UTC), end=datetime(2030, 3, 4, 9, tzinfo=UTC),
        time_zone="Europe/Copenhagen", organizer_email="anna@contoso.com", internal_notes="notes", id=7,
        participants=(Participant("anna@contoso.com", "Anna"), Participant("lars@contoso.com"),
                      Participant("mette@fabrikam.example"), Participant("room@contoso.com", "Room", "resource"),
                      Participant("room@fabrikam.example", "Their room", "resource")),
    )
    return base.with_changes(**changes)


def test_the_internal_meeting_leaves_out_the_organizer_externals_and_rooms_outside_the_organization():
    attendees = sync.internal_meeting(activity(), ORG)["attendees"]
    assert attendees == [
        {"emailAddress": {"address": "lars@contoso.com"}, "type": "required"},
        {"emailAddress": {"address": "room@contoso.com", "name": "Room"}, "type": "resource"},
    ]


def test_an_all_day_activity_is_sent_at_midnight_in_its_windows_zone():
    event = sync.internal_meeting(activity(is_all_day=True, start=datetime(2030, 3, 3, 23, tzinfo=UTC),
                                           end=datetime(2030, 3, 4, 23, tzinfo=UTC)), ORG)
    assert (event["start"], event["end"], event["isAllDay"]) == (
        {"dateTime": "2030-03-04T00:00:00", "timeZone": "Romance Standard Time"},
        {"dateTime": "2030-03-05T00:00:00", "timeZone": "Romance Standard Time"},
        True,
    )


@pytest.mark.parametrize(("change", "expected"), [
    ({"internal_notes": "other"}, {"body"}),
    ({"subject": "Other"}, {"subject"}),
    ({"location": "Elsewhere"}, {"location"}),
    ({"end": datetime(2030, 3, 4, 10, tzinfo=UTC)}, {"start", "end", "isAllDay"}),
    ({"participants": (Participant("lars@contoso.com"),)}, {"attendees"}),
    ({"external_agenda": "agenda"}, set()),
    ({"participants": (Participant("lars@contoso.com"), Participant("new@fabrikam.example"),
                       Participant("room@contoso.com", "Room", "resource"))}, set()),
    ({"status": Status.CANCELLED}, set()),
])
def test_only_the_changed_fields_are_sent(change, expected):
    before = sync.field_hashes(sync.internal_meeting(activity(), ORG))
    assert set(sync.changed_fields(sync.internal_meeting(activity(**change), ORG), before)) == expected


def test_errors_are_described_without_their_messages():
    described = sync.describe(GraphUnavailable(503, "ServiceUnavailable", NOTES))
    assert described == "GraphUnavailable 503 ServiceUnavailable"
    assert sync.describe(RuntimeError(NOTES)) == "RuntimeError"


def test_an_unchanged_save_adds_no_job(app, anna, synced):
    response = anna.patch(f"/api/activities/{synced.json['id']}", json={"subject": "Quarterly review"},
                          headers={"If-Match": synced.headers["ETag"]})
    assert response.status_code == 200
    assert len(jobs(app, synced.json["id"])) == 1


def test_a_stale_save_adds_no_job_and_sends_nothing(app, anna, synced, rsps):
    response = anna.patch(f"/api/activities/{synced.json['id']}", json={"subject": "Other"},
                          headers={"If-Match": '"v9"'})
    assert response.status_code == 412
    assert len(rsps.calls) == 0
    with app.app_context():
        assert db.session().query(SyncJobRow).count() == 1
        assert db.session().get(ActivityRow, synced.json["id"]).subject == "Quarterly review"


def test_finished_jobs_are_forgotten_after_a_week_and_waiting_ones_never(app, anna):
    aid = create(anna).json["id"]
    old = datetime.now(UTC) - timedelta(days=8)
    with app.app_context():
        session = db.session()
        session.add_all([SyncJobRow(activity_id=aid, reason="changed", done=True, updated_at=old),
                         SyncJobRow(activity_id=aid, reason="changed", done=True),
                         SyncJobRow(activity_id=aid, reason="changed", done=False, updated_at=old)])
        session.commit()
        assert sync.forget_done(session, datetime.now(UTC) - sync.KEEP_DONE) == 1
    assert [(j.done, j.reason) for j in jobs(app, aid)] == [(False, "created"), (True, "changed"),
                                                             (False, "changed")]


def test_sync_all_upcoming_creates_the_internal_meetings_of_activities_that_have_not_ended(app, anna, rsps, runner):
    upcoming = create(anna).json["id"]
    past = anna.post("/api/activities", json=activity_json(start="2020-03-04T09:00:00+01:00",
                                                            end="2020-03-04T10:00:00+01:00")).json["id"]
    with app.app_context():  # as if Graph had been off while these were written, and their jobs forgotten
        db.session().query(SyncJobRow).delete()
        db.session().commit()
    graph_setup.install(app, GraphClient(lambda mailbox: "static-token", sleep=lambda seconds: None))
    rsps.post(EVENTS, status=201, json=created_event())

    result = runner.invoke(args=["sync", "--all-upcoming"])

    assert result.exit_code == 0, result.output
    assert "Queued 1 upcoming" in result.output
    assert [call.request.method for call in rsps.calls] == ["POST"]
    assert NOTES in sent_json(rsps.calls[0])["body"]["content"]
    assert "internal" in links(app, upcoming) and links(app, past) == {}
