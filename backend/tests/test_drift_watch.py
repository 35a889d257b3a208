"""Drift watch: delta rounds, RSVPs, change notifications, subscriptions and domains, with exact requests."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import activity_json

from crmbridge import db
from crmbridge.domain.classification import OrgDomains
from crmbridge.graph import GraphClient, drift_watch, event_path
from crmbridge.graph import setup as graph_setup
from crmbridge.models import (
    AttendeeResponseRow,
    DeltaStateRow,
    ExternalMeetingCheckRow,
    GraphNotificationRow,
    GraphSubscriptionRow,
    OrgDomainRow,
)

BASE = "https://graph.microsoft.com/v1.0"
MAILBOX = "anna@contoso.com"
USER = f"{BASE}/users/{MAILBOX}"
AT = datetime(2030, 3, 1, 12, tzinfo=UTC)
WINDOW = drift_watch.scan_window(AT, 60)
DELTA = f"{USER}/calendarView/delta"
DELTA_LINK = f"{DELTA}?$deltatoken=round1"
ORG = OrgDomains.of(["contoso.com"])


@pytest.fixture
def graph():
    client = GraphClient(lambda mailbox: f"token-for-{mailbox or 'app'}", sleep=lambda seconds: None)
    yield client
    client.close()


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session()


def linked_activity(anna, external_id, *, start="2030-03-04T08:00:00Z", end="2030-03-04T09:00:00Z", **fields):
    aid = anna.post("/api/activities", json=activity_json(start=start, end=end, **fields)).json["id"]
    response = anna.post(f"/api/activities/{aid}/links", json={"state": "sent", "graphEventId": external_id})
    assert response.status_code == 201
    return aid


def external_event(event_id, *, start="2030-03-04T08:00:00", end="2030-03-04T09:00:00", responses_=None,
                   change_key="ck1", **extra):
    answers = {"mette@fabrikam.example": "none", "jonas@fabrikam.example": "none", **(responses_ or {})}
    return {
        "id": event_id, "iCalUId": f"UID-{event_id}", "changeKey": change_key, "isOrganizer": True,
        "type": "singleInstance", "isCancelled": False, "isAllDay": False,
        "start": {"dateTime": start, "timeZone": "UTC"}, "end": {"dateTime": end, "timeZone": "UTC"},
        "location": {"displayName": "Room Harbour"},
        "organizer": {"emailAddress": {"address": MAILBOX}},
        "attendees": [{"type": "optional" if a.startswith("jonas") else "required",
                       "emailAddress": {"address": a, "name": a.split("@")[0].title()},
                       "status": {"response": r}} for a, r in answers.items()],
        **extra,
    }


def window_query():
    return {"startDateTime": WINDOW[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": WINDOW[1].strftime("%Y-%m-%dT%H:%M:%SZ")}


def query_of(call):
    return dict(parse_qsl(urlsplit(call.request.url).query))


def scan(session, graph, full=True, at=AT):
    return drift_watch.scan(session, graph, ORG, at=at, window_days=60, full=full)


# Full and incremental rounds -----------------------------------------------------------------------------------


def test_a_full_scan_reads_the_window_once_and_only_the_missing_meetings_by_id(app, anna, session, graph, rsps):
    moved = linked_activity(anna, "AAMkExt1")
    gone = linked_activity(anna, "AAMkExt2")
    in_sync = linked_activity(anna, "AAMkExt3")
    rsps.get(DELTA, json={"value": [
        external_event("AAMkExt1", start="2030-03-04T10:00:00", end="2030-03-04T11:00:00",
                       responses_={"mette@fabrikam.example": "accepted", "jonas@fabrikam.example": "declined"}),
        external_event("AAMkExt3"),
        {"id": "AAMkSomethingElse", "start": {"dateTime": "2030-03-05T08:00:00", "timeZone": "UTC"},
         "end": {"dateTime": "2030-03-05T09:00:00", "timeZone": "UTC"}, "attendees": []},
    ], "@odata.deltaLink": DELTA_LINK})
    rsps.post(f"{BASE}/$batch", json={"responses": [
        {"id": "0", "status": 404, "body": {"error": {"code": "ErrorItemNotFound"}}}]})

    stats = scan(session, graph)

    assert [(c.request.method, c.request.url.split("?")[0]) for c in rsps.calls] == [
        ("GET", DELTA), ("POST", f"{BASE}/$batch")]
    delta = rsps.calls[0].request
    assert query_of(rsps.calls[0]) == window_query()
    assert delta.headers["Authorization"] == f"Bearer token-for-{MAILBOX}"
    assert "odata.maxpagesize=100" in delta.headers["Prefer"] and 'IdType="ImmutableId"' in delta.headers["Prefer"]
    assert json.loads(rsps.calls[1].request.body)["requests"] == [{
        "id": "0", "method": "GET", "url": event_path(MAILBOX, "AAMkExt2", select=drift_watch.EVENT_SELECT),
        "headers": {"Prefer": 'IdType="ImmutableId", outlook.timezone="UTC"'}}]
    assert (stats.checked, stats.drifted, stats.rsvp_changed, stats.requests) == (3, 2, 2, 2)
    checks = {c.activity_id: c for c in session.query(ExternalMeetingCheckRow)}
    assert (checks[moved].in_sync, checks[moved].event_state) == (False, "live")
    assert (checks[gone].in_sync, checks[gone].event_state) == (False, "deleted")
    assert checks[in_sync].in_sync
    answers = {(r.activity_id, r.email): r.response for r in session.query(AttendeeResponseRow)}
    assert answers[(moved, "mette@fabrikam.example")] == "accepted"
    assert answers[(moved, "jonas@fabrikam.example")] == "declined"
    assert answers[(in_sync, "mette@fabrikam.example")] == "none"
    assert session.get(DeltaStateRow, MAILBOX).delta_link == DELTA_LINK


def test_an_incremental_scan_with_no_change_is_one_request(app, anna, session, graph, rsps):
    linked_activity(anna, "AAMkExt1")
    rsps.get(DELTA, json={"value": [external_event("AAMkExt1")], "@odata.deltaLink": DELTA_LINK})
    scan(session, graph)
    rsps.calls.reset()
    rsps.reset()
    rsps.get(DELTA_LINK, json={"value": [], "@odata.deltaLink": f"{DELTA}?$deltatoken=round2"})

    stats = scan(session, graph, full=False, at=AT + timedelta(minutes=5))

    assert [c.request.url for c in rsps.calls] == [DELTA_LINK]
    assert (stats.requests, stats.checked) == (1, 0)
    assert session.get(DeltaStateRow, MAILBOX).delta_link == f"{DELTA}?$deltatoken=round2"


def test_an_incremental_scan_reads_a_removed_meeting_by_id_and_sees_the_cancellation(app, anna, session, graph,
                                                                                      rsps):
    aid = linked_activity(anna, "AAMkExt1")
    rsps.get(DELTA, json={"value": [external_event("AAMkExt1")], "@odata.deltaLink": DELTA_LINK})
    scan(session, graph)
    rsps.reset()
    rsps.get(DELTA_LINK, json={"value": [{"id": "AAMkExt1", "@removed": {"reason": "deleted"}}],
                               "@odata.deltaLink": f"{DELTA}?$deltatoken=round2"})
    rsps.post(f"{BASE}/$batch", json={"responses": [
        {"id": "0", "status": 200, "body": external_event("AAMkExt1", isCancelled=True, change_key="ck2")}]})

    stats = scan(session, graph, full=False)

    assert (stats.checked, stats.drifted, stats.requests) == (1, 1, 2)
    check = session.get(ExternalMeetingCheckRow, aid)
    assert (check.event_state, check.in_sync) == ("cancelled", False)


def test_an_expired_delta_link_starts_a_full_round(app, anna, session, graph, rsps):
    linked_activity(anna, "AAMkExt1")
    rsps.get(DELTA, json={"value": [external_event("AAMkExt1")], "@odata.deltaLink": DELTA_LINK})
    scan(session, graph)
    rsps.reset()
    rsps.get(DELTA_LINK, status=410, json={"error": {"code": "SyncStateNotFound"}})
    rsps.get(DELTA, json={"value": [external_event("AAMkExt1", change_key="ck2")],
                          "@odata.deltaLink": f"{DELTA}?$deltatoken=fresh"})

    stats = scan(session, graph, full=False)

    assert (stats.requests, stats.checked) == (2, 1)
    assert query_of(rsps.calls[-1]) == window_query()


def test_a_notified_version_already_compared_is_not_counted_as_an_rsvp_change_again(app, anna, session, graph,
                                                                                     rsps):
    linked_activity(anna, "AAMkExt1")
    accepted = external_event("AAMkExt1", responses_={"mette@fabrikam.example": "accepted"})
    rsps.get(DELTA, json={"value": [accepted], "@odata.deltaLink": DELTA_LINK})
    assert scan(session, graph).rsvp_changed == 1
    assert scan(session, graph).rsvp_changed == 0


def test_a_failing_mailbox_is_counted_and_the_others_go_on(app, anna, bo, session, rsps):
    graph = GraphClient(lambda mailbox: "t", max_retries=0)
    linked_activity(anna, "AAMkExt1")
    linked_activity(bo, "AAMkBo1")
    rsps.get(DELTA, status=503)
    rsps.get(f"{BASE}/users/bo@contoso.com/calendarView/delta", json={"value": [], "@odata.deltaLink": DELTA_LINK})
    rsps.post(f"{BASE}/$batch", json={"responses": [{"id": "0", "status": 200, "body": external_event("AAMkBo1")}]})

    stats = scan(session, graph)

    assert stats.failed == [MAILBOX] and stats.mailboxes == 1 and stats.checked == 1
    assert "1 mailbox(es) failed" in stats.summary()


# Change notifications ------------------------------------------------------------------------------------------


def notification(event_id="AAMkExt1", change_key="ck2", client_state="s3cret", subscription="sub-1"):
    return {"subscriptionId": subscription, "clientState": client_state, "changeType": "updated",
            "resource": f"Users/0000/Events/{event_id}", "tenantId": "t",
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": f"Users/0000/Events/{event_id}",
                             "@odata.etag": f'W/"{change_key}"', "id": event_id}}


def test_notifications_are_recorded_once_per_change_key_and_only_with_the_right_client_state(session):
    session.add(GraphSubscriptionRow(id="sub-1", mailbox=MAILBOX, expires_at=AT + timedelta(days=2)))
    session.commit()

    outcome = drift_watch.record_notifications(session, [
        notification(), notification(), notification(change_key="ck3"), notification(client_state="guess"),
        notification(subscription="unknown"), "junk",
    ], "s3cret")

    assert (outcome.recorded, outcome.duplicates, outcome.refused, outcome.unknown) == (2, 1, 2, 1)
    rows = session.query(GraphNotificationRow).order_by(GraphNotificationRow.id).all()
    assert [(r.mailbox, r.event_id, r.change_key, r.processed) for r in rows] == [
        (MAILBOX, "AAMkExt1", "ck2", False), (MAILBOX, "AAMkExt1", "ck3", False)]
    assert drift_watch.notified_mailboxes(session) == [MAILBOX]
    assert drift_watch.record_notifications(session, [notification()], "").refused == 1  # no secret: nothing in


# Subscriptions -------------------------------------------------------------------------------------------------


def test_subscriptions_are_created_renewed_kept_and_removed(session, graph, rsps):
    session.add_all([
        GraphSubscriptionRow(id="old", mailbox="bo@contoso.com", expires_at=AT + timedelta(hours=5)),
        GraphSubscriptionRow(id="fresh", mailbox="carl@contoso.com", expires_at=AT + timedelta(days=2)),
        GraphSubscriptionRow(id="gone", mailbox="dora@contoso.com", expires_at=AT + timedelta(hours=1)),
        GraphSubscriptionRow(id="unwatched", mailbox="eve@contoso.com", expires_at=AT + timedelta(days=2)),
    ])
    session.commit()
    expiry = (AT + drift_watch.SUBSCRIPTION_LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ")
    rsps.post(f"{BASE}/subscriptions", json={"id": "new-anna"})
    rsps.patch(f"{BASE}/subscriptions/old", json={"id": "old"})
    rsps.patch(f"{BASE}/subscriptions/gone", status=404, json={"error": {"code": "ResourceNotFound"}})
    rsps.post(f"{BASE}/subscriptions", json={"id": "new-dora"})
    rsps.delete(f"{BASE}/subscriptions/unwatched", status=204)

    report = drift_watch.renew_subscriptions(
        session, graph, ["Anna@Contoso.com", "bo@contoso.com", "carl@contoso.com", "dora@contoso.com"],
        "https://crm.example.com/api/graph/notifications", "s3cret", at=AT)

    assert (report.created, report.renewed, report.kept, report.removed, report.failed) == (2, 1, 1, 1, 0)
    assert json.loads(rsps.calls[0].request.body) == {
        "changeType": "created,updated,deleted", "notificationUrl": "https://crm.example.com/api/graph/notifications",
        "resource": "users/anna@contoso.com/events", "expirationDateTime": expiry, "clientState": "s3cret",
        # graph:concepts/change-notifications-lifecycle-events.md: lifecycle notifications only with this URL.
        "lifecycleNotificationUrl": "https://crm.example.com/api/graph/notifications"}
    assert json.loads(rsps.calls[1].request.body) == {"expirationDateTime": expiry}
    stored = {row.mailbox: row.id for row in session.query(GraphSubscriptionRow)}
    assert stored == {"anna@contoso.com": "new-anna", "bo@contoso.com": "old", "carl@contoso.com": "fresh",
                      "dora@contoso.com": "new-dora"}


# Organization domains ------------------------------------------------------------------------------------------


def test_verified_domains_are_stored_and_graph_ones_no_longer_listed_are_dropped(session, graph, rsps):
    session.add_all([OrgDomainRow(domain="contoso.dk", source="graph"),
                     OrgDomainRow(domain="partner.example", source="admin")])
    session.commit()
    rsps.get(f"{BASE}/organization", json={"value": [{"verifiedDomains": [
        {"name": "contoso.com"}, {"name": "Contoso.onmicrosoft.com"}, {"name": "bücher.example"}]}]})

    assert drift_watch.sync_domains(session, graph) == (
        ["contoso.com", "contoso.onmicrosoft.com", "xn--bcher-kva.example"], ["contoso.dk"])

    assert rsps.calls[0].request.headers["Authorization"] == "Bearer token-for-app"
    assert query_of(rsps.calls[0]) == {"$select": "verifiedDomains"}
    assert {(r.domain, r.source) for r in session.query(OrgDomainRow)} == {
        ("contoso.com", "graph"), ("contoso.onmicrosoft.com", "graph"), ("xn--bcher-kva.example", "graph"),
        ("partner.example", "admin")}


def test_verified_domains_are_stored_as_the_tenants_own_and_other_tenants_domains_are_left_alone(session, graph,
                                                                                                 rsps):
    tenant, other = "72f988bf-86f1-41af-91ab-2d7cd011db47", "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
    session.add_all([OrgDomainRow(domain="fabrikam.example", tenant_id=other, source="graph"),
                     OrgDomainRow(domain="contoso.com", tenant_id="", source="graph")])  # stored before tenants
    session.commit()
    # graph:api-reference/v1.0/api/organization-get.md: verifiedDomains of the token's own tenant
    rsps.get(f"{BASE}/organization", json={"value": [{"verifiedDomains": [{"name": "contoso.com"},
                                                                          {"name": "contoso.dk"}]}]})

    assert drift_watch.sync_domains(session, graph, tenant) == (["contoso.dk"], [])

    assert {(r.domain, r.tenant_id) for r in session.query(OrgDomainRow)} == {
        ("contoso.com", tenant), ("contoso.dk", tenant), ("fabrikam.example", other)}


# The list of meetings out of sync ------------------------------------------------------------------------------


def test_the_out_of_sync_list_follows_the_activity_as_it_is_now(app, anna, session, graph, rsps):
    aid = linked_activity(anna, "AAMkExt1")
    rsps.get(DELTA, json={"value": [external_event(
        "AAMkExt1", start="2030-03-04T10:00:00", end="2030-03-04T11:00:00",
        responses_={"mette@fabrikam.example": "tentativelyAccepted"})], "@odata.deltaLink": DELTA_LINK})
    scan(session, graph)

    [item] = drift_watch.out_of_sync(session, MAILBOX, ORG, at=AT)
    assert item.activity_id == aid
    assert [d.field for d in item.differences] == ["start", "end"]
    assert [(r.email, r.response, r.in_crm) for r in item.responses] == [
        ("mette@fabrikam.example", "tentative", True), ("jonas@fabrikam.example", "none", True)]

    etag = anna.get(f"/api/activities/{aid}").headers["ETag"]
    anna.patch(f"/api/activities/{aid}", json={"start": "2030-03-04T10:00:00Z", "end": "2030-03-04T11:00:00Z"},
               headers={"If-Match": etag})
    session.expire_all()
    assert drift_watch.out_of_sync(session, MAILBOX, ORG, at=AT) == []
    assert drift_watch.out_of_sync(session, "bo@contoso.com", ORG, at=AT) == []


@pytest.mark.parametrize(("graph_value", "ours"), [
    ("accepted", "accepted"), ("tentativelyAccepted", "tentative"), ("declined", "declined"),
    ("none", "none"), ("notResponded", "none"), ("organizer", "none"),
])
def test_graph_responses_become_the_four_answers(graph_value, ours):
    assert drift_watch.answer(graph_value) == ours


# Commands ------------------------------------------------------------------------------------------------------


def test_the_background_commands_refuse_without_application_mode(runner):
    for args in (["scan"], ["scan", "--incremental"], ["subscriptions", "renew"], ["domains", "sync"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert any(name in result.output for name in ("CRMBRIDGE_GRAPH_MODE=application",
                                                      "CRMBRIDGE_GRAPH_NOTIFICATION_URL"))


def test_subscriptions_renew_needs_the_notification_url_and_secret(app, runner, graph):
    graph_setup.install(app, graph)
    result = runner.invoke(args=["subscriptions", "renew"])
    assert result.exit_code != 0 and "CRMBRIDGE_GRAPH_NOTIFICATION_URL" in result.output


def test_domains_sync_stores_the_verified_domains_and_classification_follows_at_once(app, anna, runner, graph, rsps):
    graph_setup.install(app, graph)
    aid = anna.post("/api/activities", json=activity_json(
        start="2020-03-04T08:00:00Z", end="2020-03-04T09:00:00Z",
        participants=[{"email": "ole@contoso.dk"}])).json["id"]
    assert anna.get(f"/api/activities/{aid}").json["participants"][0]["classification"] == "external"
    rsps.get(f"{BASE}/organization", json={"value": [{"verifiedDomains": [{"name": "contoso.com"},
                                                                          {"name": "contoso.dk"}]}]})

    result = runner.invoke(args=["domains", "sync"])

    assert result.exit_code == 0, result.output
    assert "contoso.com, contoso.dk added" in result.output
    assert anna.get(f"/api/activities/{aid}").json["participants"][0]["classification"] == "internal"
    assert "contoso.dk\t(graph)" in runner.invoke(args=["domains", "list"]).output


def test_scan_prints_the_summary_line_with_the_requests_used(app, anna, runner, graph, rsps):
    graph_setup.install(app, graph)
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now + timedelta(days=2), now + timedelta(days=2, hours=1)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    linked_activity(anna, "AAMkExt1", start=start.strftime(iso), end=end.strftime(iso))
    rsps.get(f"{BASE}/organization", json={"value": [{"verifiedDomains": [{"name": "contoso.com"}]}]})
    rsps.get(DELTA, json={"value": [external_event("AAMkExt1", start=start.strftime(iso)[:-1],
                                                   end=end.strftime(iso)[:-1],
                                                   responses_={"mette@fabrikam.example": "accepted"})],
                          "@odata.deltaLink": DELTA_LINK})

    result = runner.invoke(args=["scan"])

    assert result.exit_code == 0, result.output
    assert "Checking meetings" in result.output
    assert result.output.strip().splitlines()[-1] == (
        "1 meetings checked in 1 mailbox(es): 0 drifted, 1 RSVPs changed, 0 invitations linked; 2 Graph requests.")
