"""The audit trail (who changed what, every invitation and guard verdict; the Crmbridge.Admin role) and retention."""

from datetime import UTC, datetime, timedelta

import pytest
from conftest import Api, activity_json, token_for
from fake_graph import start_fake_graph
from sqlalchemy import select

from crmbridge import db, graph_setup
from crmbridge.graph import GraphClient
from crmbridge.models import ActivityEventRow, ActivityRow, IdempotencyKeyRow, MeetingLinkRow

ROLE = "Activities.ReadWrite.All"
ADMIN = "Crmbridge.Admin"


@pytest.fixture
def admin(app, client):
    return Api(client, token_for(app, "it-admin@contoso.com", (ADMIN,)))


@pytest.fixture
def crm(app, client):
    return Api(client, token_for(app, "crm-sync@contoso.com", (ROLE,)))


def trail(api, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = api.get(f"/api/audit?{query}")
    assert response.status_code == 200, response.json
    return response.json


def test_an_admin_reads_who_did_what_and_when(admin, anna, crm):
    aid = anna.post("/api/activities", json=activity_json()).json["id"]
    anna.patch(f"/api/activities/{aid}", json={"subject": "Renamed"}, headers={"If-Match": '"v1"'})
    refused = anna.post(f"/api/activities/{aid}/links", json={
        "kind": "internal", "state": "sent", "graphEventId": "x", "attendees": ["mette@fabrikam.example"]})
    assert refused.status_code == 409
    anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "pending"})
    crm.delete(f"/api/activities/{aid}")

    entries = trail(admin)["items"]

    assert [(e["type"], e["actor"]["kind"], e["actor"]["id"]) for e in entries] == [
        ("activity.created", "organizer", "anna@contoso.com"),
        ("activity.updated", "organizer", "anna@contoso.com"),
        ("guard.internal_link_refused", "organizer", "anna@contoso.com"),
        ("meeting.linked", "organizer", "anna@contoso.com"),
        ("activity.deleted", "integration", "dev:crm-sync@contoso.com"),
    ]
    assert entries[1]["data"]["changedFields"] == ["subject"]
    assert entries[2]["data"] == {"reason": "outsiders-on-internal-meeting", "outsiders": ["mette@fabrikam.example"]}
    assert all(e["activityId"] == aid and e["at"].endswith("Z") for e in entries)


def test_the_trail_pages_and_filters_and_is_for_admins_of_the_tenant_only(app, client, admin, anna, crm):
    first = anna.post("/api/activities", json=activity_json()).json["id"]
    anna.post("/api/activities", json=activity_json())
    page = trail(admin, limit=1)
    assert len(page["items"]) == 1
    assert [e["activityId"] for e in trail(admin, after=page["next"])["items"]] != [first]
    assert [e["activityId"] for e in trail(admin, activityId=first)["items"]] == [first]
    assert anna.get("/api/audit").status_code == 403
    assert crm.get("/api/audit").status_code == 403
    other_admin = Api(client, token_for(app, "admin@fabrikam.example", (ADMIN,), tenant="tenant-b"))
    assert trail(other_admin)["items"] == []


def test_a_write_the_sync_refused_is_in_the_trail(app, anna, admin, runner):
    base_url, fake, stop = start_fake_graph(seed=7, domains=("contoso.com",))
    graph = GraphClient(lambda mailbox: "app-token", base_url=base_url, timeout=(1.0, 2.0), max_retries=2,
                        sleep=lambda seconds: None)
    graph_setup.install(app, graph)
    try:
        start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
        created = anna.post("/api/activities", json=activity_json(start=start.isoformat(),
                                                                  end=(start + timedelta(hours=1)).isoformat()))
        aid = created.json["id"]
        with app.app_context():
            event_id = db.session().scalars(select(MeetingLinkRow.graph_event_id).where(
                MeetingLinkRow.activity_id == aid, MeetingLinkRow.kind == "internal")).one()
        fake.outlook_update("anna@contoso.com", event_id, {"attendees": [
            {"emailAddress": {"address": "lars@contoso.com"}, "type": "required"},
            {"emailAddress": {"address": "boss@fabrikam.example"}, "type": "required"}]})
        anna.patch(f"/api/activities/{aid}", json={"internalNotes": "new notes"}, headers={"If-Match": '"v1"'})
        runner.invoke(args=["sync", "--retry-now"])
    finally:
        stop()
        graph.close()
    verdicts = [e for e in trail(admin)["items"] if e["type"] == "guard.internal_write_refused"]
    assert len(verdicts) == 1
    assert verdicts[0]["data"] == {"reason": "outsiders", "outsiders": ["boss@fabrikam.example"]}
    assert verdicts[0]["actor"]["kind"] == "system"


def test_retention_prunes_old_entries_and_the_notes_of_old_activities(app, anna, runner):
    old_start = datetime.now(UTC) - timedelta(days=120)
    old = anna.post("/api/activities", json=activity_json(start=old_start.isoformat(),
                                                          end=(old_start + timedelta(hours=1)).isoformat())).json
    recent = anna.post("/api/activities", json=activity_json()).json
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with app.app_context():
        session = db.session()
        session.add(ActivityEventRow(event_id="evt_ancient", tenant_id="default", type="activity.created",
                                     public=True, actor_kind="system", actor="t", data="{}", created_at=long_ago))
        session.add(IdempotencyKeyRow(tenant_id="default", caller="c", key="k", request_hash="h", status=201,
                                      response="{}", created_at=long_ago))
        session.commit()
    app.config.update(AUDIT_RETENTION_DAYS=365, NOTES_RETENTION_DAYS=90)

    result = runner.invoke(args=["retention", "prune"])

    assert result.exit_code == 0, result.output
    assert "1 audit entries" in result.output and "2 past activities" not in result.output
    with app.app_context():
        session = db.session()
        notes = dict(session.execute(select(ActivityRow.id, ActivityRow.internal_notes)).all())
        assert notes[old["id"]] == "" and notes[recent["id"]] == recent["internalNotes"]
        assert session.get(ActivityRow, old["id"]).version == old["version"]
        assert session.scalar(select(ActivityEventRow.id).where(ActivityEventRow.event_id == "evt_ancient")) is None
        assert session.scalar(select(IdempotencyKeyRow.id)) is None
        pruned = session.scalars(select(ActivityEventRow.activity_id).where(
            ActivityEventRow.type == "retention.notes_pruned")).all()
    assert pruned == [old["id"]]
    assert anna.get(f"/api/activities/{old['id']}").json["internalNotes"] == ""


def test_each_send_time_guard_verdict_is_in_the_trail_without_any_text(app, anna, admin):
    notes = "Internal only: they also talk to Northwind, our price is 8 % higher."
    aid = anna.post("/api/activities", json=activity_json(internalNotes=notes)).json["id"]
    body = {"activityId": str(aid), "meetingKind": "external", "subject": "Quarterly review",
            "location": "Room Harbour", "body": f"Hi,\n{notes.split(': ')[1]}",
            "attendees": ["anna@contoso.com", "mette@fabrikam.example"]}
    assert anna.post("/api/guard/check", json=body).json["verdict"] == "prompt"

    [entry] = [e for e in trail(admin)["items"] if e["type"] == "guard.send_checked"]

    assert entry["data"] == {"meeting": "external", "verdict": "prompt", "reason": "notes-in-customer-meeting",
                             "fields": ["body"], "outsiders": []}
    assert (entry["actor"]["kind"], entry["activityId"]) == ("organizer", aid)
    assert "Northwind" not in str(trail(admin))
