"""Upserts by the CRM's own id and Idempotency-Key on POST: a replayed request leaves one activity, one outbox job."""

import threading

import pytest
from conftest import Api, activity_json, token_for
from sqlalchemy import func, select

from crmbridge import db
from crmbridge.models import ActivityEventRow, ActivityRow, SyncJobRow

ROLE = "Activities.ReadWrite.All"
URL = "/api/activities/by-external-id/dynamics/MEET-0042"


@pytest.fixture
def crm(app, client):
    return Api(client, token_for(app, "crm-sync@contoso.com", (ROLE,)))


def counts(app) -> tuple[int, int]:
    with app.app_context():
        session = db.session()
        return (session.scalar(select(func.count()).select_from(ActivityRow)),
                session.scalar(select(func.count()).select_from(SyncJobRow)))


def test_put_by_external_id_creates_then_replaces_the_activity(crm, anna):
    created = crm.put(URL, json=activity_json(organizerEmail="anna@contoso.com"))
    assert created.status_code == 201, created.json
    assert created.json["externalSource"] == "dynamics" and created.json["externalId"] == "MEET-0042"
    assert created.headers["ETag"] == '"v1"'

    replaced = crm.put(URL, json=activity_json(organizerEmail="anna@contoso.com", location="Room Fjord"))
    assert replaced.status_code == 200
    assert replaced.json["id"] == created.json["id"]
    assert replaced.json["location"] == "Room Fjord" and replaced.headers["ETag"] == '"v2"'
    assert anna.get(f"/api/activities/{created.json['id']}").json["location"] == "Room Fjord"
    assert crm.get(URL).json["location"] == "Room Fjord"


def test_a_put_is_a_full_replacement_and_if_match_is_checked_when_sent(crm):
    crm.put(URL, json=activity_json(organizerEmail="anna@contoso.com"))
    bare = {k: v for k, v in activity_json(organizerEmail="anna@contoso.com").items() if k != "location"}
    assert crm.put(URL, json=bare).json["location"] == ""
    assert crm.put(URL, json=bare, headers={"If-Match": '"v1"'}).status_code == 412


def test_100_identical_upserts_leave_one_activity_and_one_outbox_job(app, crm):
    body = activity_json(organizerEmail="anna@contoso.com")
    statuses = [crm.put(URL, json=body).status_code for _ in range(100)]
    assert statuses == [201] + [200] * 99
    assert counts(app) == (1, 1)
    assert crm.get(URL).json["version"] == 1


def test_100_posts_with_one_idempotency_key_leave_one_activity_and_one_outbox_job(app, crm):
    body = activity_json(organizerEmail="anna@contoso.com")
    answers = [crm.post("/api/activities", json=body, headers={"Idempotency-Key": "crm-42-create"})
               for _ in range(100)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json["id"] for a in answers}) == 1
    assert all(a.json == answers[0].json for a in answers)
    assert "Idempotent-Replayed" not in answers[0].headers
    assert all(a.headers["Idempotent-Replayed"] == "true" for a in answers[1:])
    assert counts(app) == (1, 1)


def test_concurrent_posts_with_one_key_create_one_activity(app, crm):
    body = activity_json(organizerEmail="anna@contoso.com")
    ids, errors = [], []

    def post():
        try:
            answer = crm.client.application.test_client().post(
                "/api/activities", json=body,
                headers={"Authorization": f"Bearer {crm.token}", "Idempotency-Key": "race"})
            ids.append((answer.status_code, answer.json["id"]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {status for status, _ in ids} == {201} and len({aid for _, aid in ids}) == 1
    assert counts(app) == (1, 1)


def test_the_same_key_with_another_body_is_refused_and_creates_nothing(app, crm):
    key = {"Idempotency-Key": "k-1"}
    assert crm.post("/api/activities", json=activity_json(organizerEmail="anna@contoso.com"), headers=key).status_code \
        == 201
    other = crm.post("/api/activities", json=activity_json(organizerEmail="anna@contoso.com", subject="Other"),
                     headers=key)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json["errors"]
    assert counts(app) == (1, 1)


def test_idempotency_keys_belong_to_their_caller(app, client, crm, anna):
    key = {"Idempotency-Key": "shared-key"}
    first = crm.post("/api/activities", json=activity_json(organizerEmail="anna@contoso.com"), headers=key)
    second = anna.post("/api/activities", json=activity_json(organizerEmail="anna@contoso.com"), headers=key)
    assert first.json["id"] != second.json["id"]
    assert "Idempotent-Replayed" not in second.headers


def test_external_ids_are_unique_per_tenant_and_source(app, client, crm):
    other_tenant = Api(client, token_for(app, "crm-sync@fabrikam.example", (ROLE,), tenant="tenant-b"))
    a = crm.put(URL, json=activity_json(organizerEmail="anna@contoso.com"))
    b = other_tenant.put(URL, json=activity_json(organizerEmail="olga@fabrikam.example", subject="Theirs"))
    c = crm.put("/api/activities/by-external-id/salesforce/MEET-0042",
                json=activity_json(organizerEmail="anna@contoso.com"))
    assert (a.status_code, b.status_code, c.status_code) == (201, 201, 201)
    assert len({a.json["id"], b.json["id"], c.json["id"]}) == 3
    assert crm.get(URL).json["subject"] == "Quarterly review"
    assert other_tenant.get(URL).json["subject"] == "Theirs"
    assert other_tenant.get(f"/api/activities/{a.json['id']}").status_code == 404


def test_only_integrations_upsert_and_bad_ids_are_refused(anna, crm):
    assert anna.put(URL, json=activity_json()).status_code == 403
    assert crm.put("/api/activities/by-external-id/bad source!/1",
                   json=activity_json(organizerEmail="anna@contoso.com")).status_code == 422
    assert crm.put(URL, json=activity_json()).status_code == 422  # a new activity needs its organizer


def test_an_unchanged_upsert_records_no_event(app, crm):
    body = activity_json(organizerEmail="anna@contoso.com")
    for _ in range(3):
        crm.put(URL, json=body)
    crm.put(URL, json={**body, "subject": "Renamed"})
    with app.app_context():
        types = db.session().scalars(select(ActivityEventRow.type).order_by(ActivityEventRow.id)).all()
    assert types == ["activity.created", "activity.updated"]


def test_a_put_after_a_delete_brings_the_activity_back(app, crm):
    body = activity_json(organizerEmail="anna@contoso.com")
    aid = crm.put(URL, json=body).json["id"]
    assert crm.delete(URL).status_code == 200
    assert crm.get(URL).status_code == 404
    back = crm.put(URL, json=body)
    assert back.status_code == 200 and back.json["id"] == aid and back.json["status"] == "planned"
    assert crm.get(f"/api/activities/{aid}").status_code == 200
    assert counts(app) == (1, 3)  # created, deleted, restored: the internal meeting follows each
