"""GET /api/changes: what happened to activities, in the CRM and in Outlook, in order, one tenant at a time."""

from datetime import UTC, datetime

import pytest
import responses
from conftest import Api, activity_json, token_for
from entra_fakes import app_token, entra_config, serve_keys, user_token
from sqlalchemy import select

from crmbridge import create_app, db, migrations
from crmbridge.domain.classification import OrgDomains
from crmbridge.graph import drift_watch
from crmbridge.integration import events
from crmbridge.models import ActivityEventRow, ActivityRow

ROLE = "Activities.ReadWrite.All"
ORG = OrgDomains.of(["contoso.com"])


@pytest.fixture
def crm(app, client):
    return Api(client, token_for(app, "crm-sync@contoso.com", (ROLE,)))


def feed(api, after=None, **params):
    query = "&".join(f"{k}={v}" for k, v in ({"after": after} if after else {}).items() | params.items())
    response = api.get(f"/api/changes?{query}")
    assert response.status_code == 200, response.json
    return response.json


def types_of(page):
    return [item["type"] for item in page["items"]]


def graph_time(text):
    return {"dateTime": text, "timeZone": "UTC"}


def customer_event(response="none", start="2026-12-01T08:00:00", cancelled=False, change_key="ck1"):
    """The customer meeting as Graph shows it (the activity_json participants: Mette and Jonas)."""
    return {
        "id": "AAMk-customer", "changeKey": change_key, "iCalUId": "uid-customer",
        "start": graph_time(start), "end": graph_time("2026-12-01T09:00:00"),
        "location": {"displayName": "Room Harbour"}, "isCancelled": cancelled,
        "organizer": {"emailAddress": {"address": "anna@contoso.com"}},
        "attendees": [
            {"emailAddress": {"address": "mette@fabrikam.example"}, "type": "required",
             "status": {"response": response}},
            {"emailAddress": {"address": "jonas@fabrikam.example"}, "type": "optional",
             "status": {"response": "none"}},
        ],
    }


def scan_sees(app, aid, event):
    """What ``crmbridge scan`` does with one meeting it read: compare, store, record what changed."""
    with app.app_context():
        session = db.session()
        row = session.get(ActivityRow, aid)
        link = next(link for link in row.links if link.kind == "external")
        drift_watch.check_meeting(session, row, link, event, ORG, datetime.now(UTC))
        session.commit()


def test_the_feed_tells_an_integration_what_organizers_and_outlook_did(app, crm, anna):
    aid = anna.post("/api/activities", json=activity_json()).json["id"]
    anna.patch(f"/api/activities/{aid}", json={"location": "Room Fjord", "internalNotes": "secret price"},
               headers={"If-Match": '"v1"'})
    anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "pending"})
    anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "sent",
                                                    "graphEventId": "AAMk-customer"})
    scan_sees(app, aid, customer_event())  # Room Harbour in Outlook, Room Fjord in the CRM: drifted
    reconciled = anna.post(f"/api/activities/{aid}/reconcile", json={"take": "outlook",
                                                                      "snapshot": customer_event()},
                           headers={"If-Match": '"v2"'})
    assert reconciled.status_code == 200, reconciled.json
    scan_sees(app, aid, customer_event(response="accepted", change_key="ck2"))
    scan_sees(app, aid, customer_event(response="accepted", cancelled=True, change_key="ck3"))

    page = feed(crm)

    assert types_of(page) == [
        "activity.created", "activity.updated", "meeting.linked", "meeting.linked", "customer_meeting.sent",
        "customer_meeting.drifted", "activity.reconciled", "customer_meeting.response_changed",
        "customer_meeting.cancelled",
    ]
    items = {item["type"]: item for item in page["items"]}
    assert items["activity.updated"]["data"]["changedFields"] == ["location", "internalNotes"]
    assert items["activity.updated"]["actor"] == {"kind": "organizer", "id": "anna@contoso.com"}
    assert items["customer_meeting.drifted"]["data"]["differences"] == [
        {"field": "location", "crm": "Room Fjord", "outlook": "Room Harbour"}]
    assert items["customer_meeting.drifted"]["actor"]["kind"] == "outlook"
    assert items["activity.reconciled"]["data"]["changedFields"] == ["location"]
    assert items["customer_meeting.response_changed"]["data"] == {
        "email": "mette@fabrikam.example", "response": "accepted", "previousResponse": "none"}
    assert items["customer_meeting.cancelled"]["data"] == {"how": "cancelled"}
    assert [item["data"]["state"] for item in page["items"] if item["type"] == "meeting.linked"] == ["pending", "sent"]
    assert all(item["activity"]["id"] == aid for item in page["items"])
    assert "secret price" not in str(page)
    assert page["hasMore"] is False and page["next"] == page["items"][-1]["cursor"]


def test_paging_by_cursor_never_skips_nor_repeats_an_event(app, crm):
    for n in range(7):
        crm.put(f"/api/activities/by-external-id/crm/A-{n}", json=activity_json(organizerEmail="anna@contoso.com"))
    seen, cursor = [], None
    while True:
        page = feed(crm, cursor, limit=3)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next"]
        if not page["hasMore"]:
            break
    assert len(seen) == len(set(seen)) == 7
    assert feed(crm, cursor)["items"] == [] and feed(crm, cursor)["next"] == cursor
    crm.put("/api/activities/by-external-id/crm/A-0", json=activity_json(organizerEmail="anna@contoso.com",
                                                                        subject="Renamed"))
    assert types_of(feed(crm, cursor)) == ["activity.updated"]


def test_an_event_committed_late_with_a_lower_id_is_not_skipped(app, crm):
    """Ids are drawn at insert and transactions commit in any order; the feed orders by position, given after
    commit, so a cursor never passes an event that was not yet visible."""
    with app.app_context():
        session = db.session()
        session.add(ActivityEventRow(id=100, event_id="evt_late_high", tenant_id="default", type="activity.created",
                                     public=True, actor_kind="system", actor="t", data="{}",
                                     created_at=datetime.now(UTC)))
        session.commit()
    first = feed(crm)
    assert [item["id"] for item in first["items"]] == ["evt_late_high"]
    with app.app_context():
        session = db.session()
        session.add(ActivityEventRow(id=50, event_id="evt_late_low", tenant_id="default", type="activity.created",
                                     public=True, actor_kind="system", actor="t", data="{}",
                                     created_at=datetime.now(UTC)))
        session.commit()
    assert [item["id"] for item in feed(crm, first["next"])["items"]] == ["evt_late_low"]


def test_filters_by_type_and_activity(app, crm):
    a = crm.put("/api/activities/by-external-id/crm/A", json=activity_json(organizerEmail="anna@contoso.com"))
    crm.put("/api/activities/by-external-id/crm/B", json=activity_json(organizerEmail="anna@contoso.com"))
    crm.delete("/api/activities/by-external-id/crm/A")
    assert types_of(feed(crm, types="activity.deleted")) == ["activity.deleted"]
    assert types_of(feed(crm, activityId=a.json["id"])) == ["activity.created", "activity.deleted"]
    assert crm.get("/api/changes?types=no.such").status_code == 422
    assert crm.get("/api/changes?after=abc").status_code == 422


def test_one_tenant_never_sees_another_tenants_changes(app, client, crm):
    other = Api(client, token_for(app, "crm@fabrikam.example", (ROLE,), tenant="tenant-b"))
    crm.put("/api/activities/by-external-id/crm/A", json=activity_json(organizerEmail="anna@contoso.com"))
    other.put("/api/activities/by-external-id/crm/A", json=activity_json(organizerEmail="olga@fabrikam.example",
                                                                          subject="Fabrikam's own"))
    mine, theirs = feed(crm), feed(other)
    assert [i["activity"]["organizerEmail"] for i in mine["items"]] == ["anna@contoso.com"]
    assert [i["activity"]["organizerEmail"] for i in theirs["items"]] == ["olga@fabrikam.example"]
    assert feed(crm, theirs["next"])["items"] == [] and feed(other, mine["next"])["items"] == theirs["items"]


def test_organizers_do_not_read_the_feed_and_the_audit_only_verdicts_stay_out(app, anna, crm):
    assert anna.get("/api/changes").status_code == 403
    aid = anna.post("/api/activities", json=activity_json()).json["id"]
    refused = anna.post(f"/api/activities/{aid}/links", json={
        "kind": "internal", "state": "sent", "graphEventId": "x", "attendees": ["mette@fabrikam.example"]})
    assert refused.status_code == 409
    assert types_of(feed(crm)) == ["activity.created"]
    with app.app_context():
        kinds = db.session().scalars(select(ActivityEventRow.type).order_by(ActivityEventRow.id)).all()
    assert kinds == ["activity.created", "guard.internal_link_refused"]


def test_sequencing_twice_gives_each_event_one_position(app):
    with app.app_context():
        session = db.session()
        for n in range(3):
            events.record(session, "activity.created", None, events.SYSTEM, {"n": n}, tenant_id="default")
        session.commit()
        assert events.sequence(session) == 3
        assert events.sequence(session) == 0
        positions = session.scalars(select(ActivityEventRow.position).order_by(ActivityEventRow.id)).all()
    assert positions == sorted(positions) and len(set(positions)) == 3


# The integration's app-only Entra token --------------------------------------------------------------------------


@pytest.fixture
def entra_app(database_url, tmp_path):
    migrations.upgrade(database_url)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ORG_DOMAINS": ["contoso.com"],
                      "SECRET_KEY": "test-secret-key", **entra_config()})
    yield app
    db.engine(app).dispose()


def test_the_feed_through_the_integrations_app_only_token(entra_app):
    client = entra_app.test_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        serve_keys(rsps)
        crm = Api(client, app_token())
        created = crm.post("/api/activities", json=activity_json(organizerEmail="anna@contoso.com"))
        assert created.status_code == 201
        page = feed(crm)
        assert types_of(page) == ["activity.created"]
        assert page["items"][0]["actor"]["kind"] == "integration"
        dev_crm = Api(client, token_for(entra_app, "crm-sync@contoso.com", (ROLE,)))
        assert feed(dev_crm)["items"] == []  # the development tenant is another tenant
        assert Api(client, user_token()).get("/api/changes").status_code == 403
        assert Api(client, app_token(roles=("Other.Role",))).get("/api/changes").status_code == 403
