"""With every logger at DEBUG, a whole session leaves neither the bearer token nor the internal notes in the logs."""

import logging
import uuid

import pytest
import responses
from conftest import Api, activity_json
from entra_fakes import entra_config, serve_keys, user_token, with_signature_flipped
from test_api_activities import graph_event
from test_graph_tokens import GRAPH_TOKEN, OIDC_URL, OPENID_CONFIGURATION, REFRESH_TOKEN, TOKEN_URL, obo_response

from crmbridge import create_app, db, migrations, services
from crmbridge.auth import graph_tokens
from crmbridge.auth.obo import CacheCipher
from crmbridge.auth.request import authenticate

NOISY_LOGGERS = ("werkzeug", "flask", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.engine.Engine", "sqlalchemy.pool",
                 "sqlalchemy.orm", "msal", "urllib3", "requests", "alembic", "crmbridge", "responses")


@pytest.fixture
def app(database_url):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ORG_DOMAINS": ["contoso.com"],
                      "SECRET_KEY": "test-secret-key", **entra_config(), "ENTRA_CLIENT_SECRET": "client-s3cret",
                      "TOKEN_CACHE_KEY": CacheCipher.generate_key()})

    def calendar_probe():
        authenticate()
        graph_tokens.graph_token_for_current_user(["https://graph.microsoft.com/Calendars.ReadWrite"])
        return {"ok": True}

    app.add_url_rule("/probe", view_func=calendar_probe)
    migrations.upgrade(database_url)
    yield app
    db.engine(app).dispose()


@pytest.fixture
def everything_at_debug(caplog):
    names = set(NOISY_LOGGERS) | set(logging.root.manager.loggerDict)
    caplog.set_level(logging.DEBUG)
    for name in names:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_a_full_session_logs_neither_the_bearer_token_nor_the_notes(client, everything_at_debug, monkeypatch):
    marker = f"notes-marker-{uuid.uuid4().hex}"
    token = user_token("anna@contoso.com")
    anna = Api(client, token)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as entra:
        serve_keys(entra)
        entra.get(OIDC_URL, json=OPENID_CONFIGURATION)
        entra.post(TOKEN_URL, json=obo_response())

        created = anna.post("/api/activities", json=activity_json(internalNotes=f"Internal: {marker}"))
        aid = created.json["id"]
        steps = [
            created,
            anna.get(f"/api/activities/{aid}"),
            anna.get("/api/activities"),
            anna.get(f"/api/activities/{aid}/external-draft"),
            anna.post(f"/api/activities/{aid}/drift", json=graph_event(location={"displayName": "Teams"})),
            anna.post(f"/api/activities/{aid}/reconcile", headers={"If-Match": '"v1"'}, json={
                "take": "outlook", "snapshot": graph_event(location={"displayName": "Teams"})}),
            anna.post(f"/api/activities/{aid}/links", json={"state": "sent", "iCalUId": "ical-1"}),
            anna.get("/api/lookup?iCalUId=ical-1"),
            anna.get("/probe"),
            Api(client, with_signature_flipped()).get("/api/activities"),
        ]

        def explode(*_args, **_kwargs):
            raise RuntimeError(f"boom: {marker} {token}")

        monkeypatch.setattr(services, "draft_for", explode)
        steps.append(anna.get(f"/api/activities/{aid}/external-draft"))

    assert [response.status_code for response in steps] == [201, 200, 200, 200, 200, 200, 201, 200, 200, 401, 500]
    assert marker in steps[1].get_data(as_text=True)  # the notes were there to leak
    logs = everything_at_debug.text
    # Logging really was on: SQL statements, msal's and our own records are there.
    assert "INSERT INTO activities" in logs and "UPDATE activities" in logs
    assert any(record.name.startswith("msal") for record in everything_at_debug.records)
    assert "Refused an access token: bad-signature" in logs and "RuntimeError" in logs
    for secret in (marker, token, token.split(".")[1], token.split(".")[2], GRAPH_TOKEN, REFRESH_TOKEN,
                   "client-s3cret"):
        assert secret not in logs
