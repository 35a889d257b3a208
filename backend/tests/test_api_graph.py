"""/api/graph/notifications (called by Graph, no bearer token) and /api/drift (the taskpane's out-of-sync list)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Api, activity_json, token_for

from crmbridge import db, doctor
from crmbridge.domain.classification import OrgDomains
from crmbridge.graph import GraphClient, GraphUnavailable, drift_watch
from crmbridge.graph import setup as graph_setup
from crmbridge.models import ActivityRow, DeltaStateRow, GraphNotificationRow, GraphSubscriptionRow

URL = "/api/graph/notifications"


@pytest.fixture
def subscribed(app):
    app.config["GRAPH_CLIENT_STATE"] = "s3cret"
    with app.app_context():
        session = db.session()
        session.add(GraphSubscriptionRow(id="sub-1", mailbox="anna@contoso.com",
                                         expires_at=datetime.now(UTC) + timedelta(days=2)))
        session.commit()


def change(change_key="ck1", client_state="s3cret"):
    return {"subscriptionId": "sub-1", "clientState": client_state, "changeType": "updated",
            "resource": "Users/x/Events/AAMkExt1",
            "resourceData": {"@odata.etag": f'W/"{change_key}"', "id": "AAMkExt1"}}


def notifications(app):
    with app.app_context():
        return [(r.event_id, r.change_key) for r in db.session().query(GraphNotificationRow)]


def test_the_validation_handshake_echoes_the_token_as_plain_text_without_a_bearer_token(client):
    response = client.post(f"{URL}?validationToken=Validation%3A%20Testing%20client%20application")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "Validation: Testing client application"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_notification_is_accepted_with_202_and_recorded_once_per_change_key(app, client, subscribed):
    for _ in range(3):
        response = client.post(URL, json={"value": [change()]})
        assert response.status_code == 202
        assert response.get_data() == b""
    assert client.post(URL, json={"value": [change("ck2")]}).status_code == 202

    assert notifications(app) == [("AAMkExt1", "ck1"), ("AAMkExt1", "ck2")]


@pytest.mark.parametrize(("body", "status"), [
    ({"value": [change(client_state="guessed")]}, 403),
    ({"value": [{"subscriptionId": "sub-1"}]}, 403),
    ({"nothing": []}, 400),
    ([change()], 400),
])
def test_a_notification_with_a_wrong_client_state_or_shape_is_refused_in_the_error_shape(app, client, subscribed,
                                                                                         body, status):
    response = client.post(URL, json=body)

    assert response.status_code == status
    assert response.json["code"] == status and "message" in response.json and "errors" in response.json
    assert notifications(app) == []


def test_without_a_configured_client_state_every_notification_is_refused(app, client, subscribed):
    app.config["GRAPH_CLIENT_STATE"] = ""
    assert client.post(URL, json={"value": [change(client_state="")]}).status_code == 403


def test_an_empty_or_huge_validation_token_is_refused(client):
    assert client.post(f"{URL}?validationToken=").status_code == 400
    assert client.post(f"{URL}?validationToken={'x' * 2000}").status_code == 400


# /api/drift ----------------------------------------------------------------------------------------------------


def test_the_drift_list_needs_a_token_and_answers_in_the_error_shape(client):
    response = client.get("/api/drift")
    assert response.status_code == 401
    assert response.json["code"] == 401 and "WWW-Authenticate" in response.headers


def test_an_integration_has_no_drift_list(app, client):
    crm = Api(client, token_for(app, "crm@contoso.com", ("Activities.ReadWrite.All",)))
    response = crm.get("/api/drift")
    assert response.status_code == 403 and response.json["code"] == 403


def test_the_drift_list_shows_the_callers_meetings_out_of_sync_with_each_externals_answer(app, anna, bo):
    aid = anna.post("/api/activities", json=activity_json(start="2030-03-04T08:00:00Z",
                                                          end="2030-03-04T09:00:00Z")).json["id"]
    in_sync = anna.post("/api/activities", json=activity_json(start="2030-03-05T08:00:00Z",
                                                              end="2030-03-05T09:00:00Z")).json["id"]
    for activity_id, event_id in ((aid, "AAMkExt1"), (in_sync, "AAMkExt2")):
        anna.post(f"/api/activities/{activity_id}/links", json={"state": "sent", "graphEventId": event_id})
    with app.app_context():
        session = db.session()
        org = OrgDomains.of(["contoso.com"])
        moved = outlook_event("AAMkExt1", "2030-03-04T09:00:00", "2030-03-04T10:00:00",
                              {"mette@fabrikam.example": "declined", "jonas@fabrikam.example": "accepted"})
        same = outlook_event("AAMkExt2", "2030-03-05T08:00:00", "2030-03-05T09:00:00", {})
        for activity_id, event in ((aid, moved), (in_sync, same)):
            row = session.get(ActivityRow, activity_id)
            link = next(lk for lk in row.links if lk.kind == "external")
            drift_watch.check_meeting(session, row, link, event, org, datetime.now(UTC))
        session.commit()

    response = anna.get("/api/drift")

    assert response.status_code == 200
    assert response.json["total"] == 1
    [item] = response.json["items"]
    assert item["activityId"] == aid and item["subject"] == "Quarterly review"
    assert (item["start"], item["end"], item["etag"]) == ("2030-03-04T08:00:00Z", "2030-03-04T09:00:00Z", '"v1"')
    assert (item["graphEventId"], item["meetingState"]) == ("AAMkExt1", "live")
    assert item["differences"] == [
        {"field": "start", "crm": "2030-03-04T08:00:00Z", "outlook": "2030-03-04T09:00:00Z"},
        {"field": "end", "crm": "2030-03-04T09:00:00Z", "outlook": "2030-03-04T10:00:00Z"},
    ]
    assert [(r["email"], r["displayName"], r["response"], r["inCrm"]) for r in item["responses"]] == [
        ("mette@fabrikam.example", "Mette Kunde", "declined", True),
        ("jonas@fabrikam.example", "", "accepted", True),
    ]
    assert "discount" not in response.get_data(as_text=True)
    assert bo.get("/api/drift").json == {"items": [], "total": 0, "watching": False}


def test_an_empty_drift_list_says_whether_the_calendar_is_watched_at_all(app, anna):
    assert anna.get("/api/drift").json["watching"] is False  # Graph off: nobody reads the calendar
    graph_setup.install(app, GraphClient(lambda mailbox: "token"))
    assert anna.get("/api/drift").json["watching"] is False  # on, but no scan has read it yet
    with app.app_context():
        session = db.session()
        session.add(DeltaStateRow(mailbox="anna@contoso.com", delta_link="https://graph.example/delta",
                                  window_start=datetime.now(UTC), window_end=datetime.now(UTC)))
        session.commit()

    assert anna.get("/api/drift").json == {"items": [], "total": 0, "watching": True}


def outlook_event(event_id, start, end, answers):
    return {
        "id": event_id, "changeKey": "ck1", "isCancelled": False,
        "start": {"dateTime": start, "timeZone": "UTC"}, "end": {"dateTime": end, "timeZone": "UTC"},
        "location": {"displayName": "Room Harbour"},
        "organizer": {"emailAddress": {"address": "anna@contoso.com"}},
        "attendees": [
            {"type": "required", "emailAddress": {"address": "mette@fabrikam.example", "name": "Mette Kunde"},
             "status": {"response": answers.get("mette@fabrikam.example", "none")}},
            {"type": "optional", "emailAddress": {"address": "jonas@fabrikam.example"},
             "status": {"response": answers.get("jonas@fabrikam.example", "none")}},
        ],
    }


# Wiring: which token each mode uses, and what doctor says ------------------------------------------------------


@pytest.fixture
def tokens(monkeypatch):
    """The real providers' sources, replaced: they record what they were asked for."""
    asked = []
    monkeypatch.setattr("crmbridge.auth.graph_tokens.graph_token_for_current_user",
                        lambda scopes: asked.append(("user", scopes)) or "user-token")
    monkeypatch.setattr("crmbridge.auth.graph_tokens.app_graph_token", lambda: asked.append(("app",)) or "app-token")
    return asked


ORGANIZATION = "https://graph.microsoft.com/v1.0/organization?$select=verifiedDomains"


def test_application_mode_uses_the_apps_token_and_a_single_try_inside_requests(app, tokens, rsps):
    app.config["GRAPH_MODE"] = "application"
    rsps.get(ORGANIZATION, json={"value": []})
    rsps.get(ORGANIZATION, status=503)

    with app.app_context():
        assert graph_setup.background_client(app).organization_domains() == []
        with pytest.raises(GraphUnavailable):
            graph_setup.request_client(app).organization_domains()

    assert [c.request.headers["Authorization"] for c in rsps.calls] == ["Bearer app-token"] * 2
    assert tokens == [("app",), ("app",)]


def test_delegated_mode_uses_the_callers_on_behalf_of_token_and_the_organizers_own_in_the_background(
        app, tokens, rsps, monkeypatch):
    app.config["GRAPH_MODE"] = "delegated"
    monkeypatch.setattr("crmbridge.auth.graph_tokens.graph_token_for_organizer",
                        lambda mailbox, scopes: tokens.append(("organizer", mailbox)) or "organizer-token")
    rsps.get(ORGANIZATION, json={"value": []})
    rsps.get(re.compile(r"https://graph.microsoft.com/v1.0/users/anna@contoso.com/events/AAMk1"), json={"id": "AAMk1"})

    graph_setup.request_client(app).organization_domains()
    graph_setup.background_client(app).get_event("anna@contoso.com", "AAMk1")

    assert [c.request.headers["Authorization"] for c in rsps.calls] == ["Bearer user-token", "Bearer organizer-token"]
    assert tokens == [("user", ["https://graph.microsoft.com/.default"]), ("organizer", "anna@contoso.com")]
    # Work that goes through every mailbox or the directory needs the app's own token.
    with pytest.raises(graph_setup.GraphModeRefused, match="CRMBRIDGE_GRAPH_MODE=application"):
        graph_setup.background_client(app, every_mailbox=True)


def test_with_graph_off_there_is_no_client_at_all(app):
    assert graph_setup.mode(app) == "off"
    assert graph_setup.request_client(app) is None
    with pytest.raises(graph_setup.GraphModeRefused):
        graph_setup.background_client(app)


COMPLETE = {"GRAPH_MODE": "application", "ENTRA_CLIENT_ID": "c", "ENTRA_CLIENT_SECRET": "s", "ENTRA_TENANTS": ["t"],
            "GRAPH_NOTIFICATION_URL": "https://crm.example.com/api/graph/notifications", "GRAPH_CLIENT_STATE": "x"}


@pytest.mark.parametrize(("change", "level", "named"), [
    ({"GRAPH_MODE": "off"}, doctor.OK, "CRMBRIDGE_GRAPH_MODE"),
    ({}, doctor.OK, "application mode"),
    ({"ENTRA_CLIENT_SECRET": ""}, doctor.MISSING, "CRMBRIDGE_ENTRA_CLIENT_SECRET"),
    ({"ENTRA_TENANTS": ["t", "u"]}, doctor.MISSING, "exactly one tenant"),
    ({"GRAPH_NOTIFICATION_URL": "http://crm.example.com/x"}, doctor.MISSING, "https://"),
    ({"GRAPH_CLIENT_STATE": ""}, doctor.MISSING, "CRMBRIDGE_GRAPH_CLIENT_STATE"),
    ({"GRAPH_NOTIFICATION_URL": ""}, doctor.ADVICE, "crmbridge scan"),
    ({"GRAPH_MODE": "delegated", "TOKEN_CACHE_KEY": "k"}, doctor.ADVICE, "need application mode"),
    ({"GRAPH_MODE": "delegated"}, doctor.MISSING, "CRMBRIDGE_TOKEN_CACHE_KEY"),
])
def test_doctor_says_what_the_graph_mode_misses(change, level, named):
    finding = doctor.microsoft_graph({**COMPLETE, **change})
    assert finding.level == level and named in finding.text
