"""Authenticating API requests with Microsoft Entra ID access tokens, at the HTTP level.

Keys are made in the tests and served as Entra's JWKS through `responses`; every request goes through the Flask
test client against /api.
"""

import time

import pytest
import requests
import responses
from conftest import Api, activity_json, token_for
from entra_fakes import (
    APP_ID_URI,
    CLIENT_ID,
    FOREIGN_TENANT,
    JWKS_URL,
    OTHER_KEY,
    ROLE,
    SECOND_TENANT,
    TENANT,
    app_token,
    entra_config,
    hs256_signed_with_public_key,
    oid_for,
    serve_keys,
    sign,
    unsigned,
    user_claims,
    user_token,
    v1_user_claims,
    with_payload_replaced,
    with_signature_flipped,
)
from test_api_activities import graph_event

from crmbridge import create_app, db, migrations
from crmbridge.config import ConfigError


@pytest.fixture
def app(database_url):
    """The test app, trusting the fake Entra ID (development tokens stay on, as in every test app)."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ORG_DOMAINS": ["contoso.com"],
                      "SECRET_KEY": "test-secret-key", **entra_config()})
    migrations.upgrade(database_url)
    yield app
    db.engine(app).dispose()


@pytest.fixture
def entra():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        serve_keys(rsps)
        yield rsps


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response):
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="crmbridge", error="')
    assert set(response.json) == {"code", "message", "errors", "requestId"}
    assert response.json["code"] == 401 and response.json["errors"] == {}
    assert response.json["message"]


def now() -> int:
    return int(time.time())


BAD_TOKENS = [
    pytest.param(lambda: user_token(exp=now() - 600), id="expired"),
    pytest.param(lambda: user_token(nbf=now() + 600), id="not-yet-valid"),
    pytest.param(lambda: user_token(aud="api://someone-else"), id="wrong-audience"),
    pytest.param(lambda: user_token(aud=APP_ID_URI), id="v2-token-for-the-app-id-uri"),
    pytest.param(lambda: user_token(iss=f"https://login.evil.example/{TENANT}/v2.0"), id="wrong-issuer"),
    pytest.param(lambda: user_token(iss=f"https://login.microsoftonline.com/{SECOND_TENANT}/v2.0"),
                 id="iss-and-tid-disagree"),
    pytest.param(lambda: user_token(tid=FOREIGN_TENANT, iss=f"https://login.microsoftonline.com/{FOREIGN_TENANT}/v2.0"),
                 id="tenant-not-allowed"),
    pytest.param(lambda: user_token(tid="contoso.com", iss="https://login.microsoftonline.com/contoso.com/v2.0"),
                 id="tid-not-a-guid"),
    pytest.param(lambda: user_token(scp="User.Read Calendars.Read"), id="missing-scope"),
    pytest.param(unsigned, id="alg-none"),
    pytest.param(hs256_signed_with_public_key, id="hs256-signed-with-the-public-key"),
    pytest.param(lambda: sign(user_claims(), key=OTHER_KEY, kid="forged"), id="unknown-kid"),
    pytest.param(lambda: sign(user_claims(), key=OTHER_KEY), id="known-kid-other-key"),
    pytest.param(with_payload_replaced, id="tampered-payload"),
    pytest.param(with_signature_flipped, id="tampered-signature"),
    pytest.param(lambda: "not-a-jwt", id="malformed"),
    pytest.param(lambda: user_token(upn="not an address"), id="no-usable-address"),
    pytest.param(lambda: None, id="missing-header"),
    pytest.param(lambda: "Basic YW5uYTpwYXNz", id="not-a-bearer-token"),
]


@pytest.mark.parametrize("make_token", BAD_TOKENS)
def test_a_bad_token_is_answered_401_with_www_authenticate_and_the_error_shape(client, entra, make_token):
    # A good request first: the keys are fetched and cached, so only the token differs.
    assert client.get("/api/activities", headers=bearer(user_token())).status_code == 200
    token = make_token()
    if token is None:
        headers = {}
    elif token.startswith("Basic "):
        headers = {"Authorization": token}
    else:
        headers = bearer(token)

    response = client.get("/api/activities", headers=headers)

    assert_unauthorized(response)
    assert "discount" not in response.get_data(as_text=True)


@pytest.mark.parametrize("claims", [
    pytest.param(user_claims, id="v2"),
    pytest.param(v1_user_claims, id="v1-for-the-app-id-uri"),
    pytest.param(lambda email: v1_user_claims(email, aud=CLIENT_ID), id="v1-for-the-client-id"),
])
def test_good_v1_and_v2_tokens_are_accepted_and_the_user_is_the_organizer(client, entra, claims):
    token = sign(claims("Anna@Contoso.com"))

    created = client.post("/api/activities", json=activity_json(), headers=bearer(token))
    listed = client.get("/api/activities", headers=bearer(token))

    assert created.status_code == 201, created.json
    assert created.json["organizerEmail"] == "anna@contoso.com"
    assert listed.status_code == 200 and listed.json["total"] == 1


def test_the_caller_is_the_tenant_and_object_id_with_the_address_and_roles(app, entra):
    from crmbridge.auth.request import authenticate, current_caller

    token = user_token("anna@contoso.com", roles=["Reader"])
    with app.test_request_context("/api/activities", headers=bearer(token)):
        authenticate()
        caller = current_caller()

    assert (caller.kind, caller.email) == ("user", "anna@contoso.com")
    assert caller.subject == f"{TENANT}:{oid_for('anna@contoso.com')}"
    assert caller.roles == frozenset({"Reader"})


def test_keys_are_fetched_once_and_reused_for_later_requests(client, entra):
    for _ in range(3):
        assert client.get("/api/activities", headers=bearer(user_token())).status_code == 200
    assert [call.request.url for call in entra.calls] == [JWKS_URL]


def test_entra_unreachable_for_keys_is_a_503_with_a_clear_message(client):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(JWKS_URL, body=requests.ConnectionError("no route to host"))
        response = client.get("/api/activities", headers=bearer(user_token()))

    assert response.status_code == 503
    assert response.json["code"] == 503 and response.json["errors"] == {}
    assert "Microsoft Entra ID does not answer" in response.json["message"]
    assert response.headers["Retry-After"]


# Every endpoint an organizer can reach for one activity, as (method, path, body, needs If-Match).
def endpoints(aid: int) -> list[tuple[str, str, dict | None, bool]]:
    return [
        ("GET", f"/api/activities/{aid}", None, False),
        ("PATCH", f"/api/activities/{aid}", {"location": "Somewhere else"}, True),
        ("GET", f"/api/activities/{aid}/external-draft", None, False),
        ("POST", f"/api/activities/{aid}/drift", graph_event(), False),
        ("POST", f"/api/activities/{aid}/reconcile", {"take": "outlook", "snapshot": graph_event()}, True),
        ("POST", f"/api/activities/{aid}/links", {"state": "sent", "iCalUId": "bo-steals-it"}, False),
        ("GET", f"/api/lookup?activityId={aid}", None, False),
        ("GET", "/api/lookup?iCalUId=ical-anna", None, False),
        ("POST", "/api/lookup", {"iCalUId": "ical-anna", "snapshot": graph_event()}, False),
    ]


def test_an_organizer_gets_404_for_every_endpoint_on_another_organizers_activity(client, entra):
    anna = Api(client, user_token("anna@contoso.com"))
    bo = Api(client, user_token("bo@contoso.com"))
    aid = anna.post("/api/activities", json=activity_json()).json["id"]
    assert anna.post(f"/api/activities/{aid}/links", json={"state": "sent", "iCalUId": "ical-anna"}).status_code == 201

    for method, path, body, needs_etag in endpoints(aid):
        headers = {"If-Match": '"v1"'} if needs_etag else {}
        response = getattr(bo, method.lower())(path, json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.json)
        assert response.json["code"] == 404
        assert "discount" not in response.get_data(as_text=True).lower()

    unchanged = anna.get(f"/api/activities/{aid}")
    assert unchanged.headers["ETag"] == '"v1"' and unchanged.json["location"] == "Room Harbour"


def test_an_integration_with_the_role_creates_updates_and_cancels_for_a_named_organizer(client, entra):
    crm = Api(client, app_token())
    bo = Api(client, user_token("bo@contoso.com"))

    created = crm.post("/api/activities", json=activity_json(organizerEmail="Bo@Contoso.com"))
    assert created.status_code == 201, created.json
    aid = created.json["id"]
    assert created.json["organizerEmail"].lower() == "bo@contoso.com"
    assert bo.get(f"/api/activities/{aid}").json["subject"] == "Quarterly review"

    moved = crm.patch(f"/api/activities/{aid}", json={"location": "Teams"}, headers={"If-Match": '"v1"'})
    cancelled = crm.patch(f"/api/activities/{aid}", json={"status": "cancelled"}, headers={"If-Match": '"v2"'})

    assert moved.status_code == 200 and cancelled.status_code == 200, cancelled.json
    seen = bo.get(f"/api/activities/{aid}").json
    assert (seen["location"], seen["status"]) == ("Teams", "cancelled")
    assert bo.get("/api/activities").json["total"] == 1


def test_an_integration_must_name_the_organizer(client, entra):
    response = Api(client, app_token()).post("/api/activities", json=activity_json())
    assert response.status_code == 422 and "organizerEmail" in response.json["errors"]


@pytest.mark.parametrize("roles", [("Something.Else",), None], ids=["another-role", "no-roles-at-all"])
def test_an_application_token_without_the_role_is_forbidden(app, client, entra, roles):
    anna = Api(client, token_for(app, "anna@contoso.com"))
    aid = anna.post("/api/activities", json=activity_json()).json["id"]
    crm = Api(client, app_token(roles))

    for response in (
        crm.post("/api/activities", json=activity_json(organizerEmail="bo@contoso.com")),
        crm.get(f"/api/activities/{aid}"),
        crm.patch(f"/api/activities/{aid}", json={"status": "cancelled"}, headers={"If-Match": '"v1"'}),
    ):
        assert response.status_code == 403, response.json
        assert ROLE in response.json["message"]
    assert anna.get(f"/api/activities/{aid}").json["status"] == "planned"


@pytest.mark.parametrize("roles", [None, [ROLE]], ids=["plain-user", "user-holding-the-app-role"])
def test_a_user_token_cannot_name_another_organizer(client, entra, roles):
    claims = {"roles": roles} if roles else {}
    anna = Api(client, user_token("anna@contoso.com", **claims))

    response = anna.post("/api/activities", json=activity_json(organizerEmail="bo@contoso.com"))

    assert response.status_code == 403
    assert Api(client, user_token("bo@contoso.com")).get("/api/activities").json["total"] == 0


def test_an_integration_lists_its_tenants_activities_but_not_as_an_organizer(client, entra):
    # Integrations list by organizer, window and change time (issue 15); a token without the role may not.
    crm = Api(client, app_token())
    assert crm.post("/api/activities", json=activity_json(organizerEmail="bo@contoso.com")).status_code == 201
    listed = crm.get("/api/activities?organizer=bo@contoso.com")
    assert listed.status_code == 200 and listed.json["total"] == 1
    assert Api(client, app_token(roles=("Something.Else",))).get("/api/activities").status_code == 403


def test_development_tokens_still_work_beside_entra_in_test_mode(app, client):
    assert client.get("/api/activities", headers=bearer(token_for(app, "anna@contoso.com"))).status_code == 200


def test_without_entra_settings_test_mode_runs_on_development_tokens_and_refuses_other_tokens(database_url):
    plain = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key"})
    migrations.upgrade(database_url)
    client = plain.test_client()
    try:
        assert client.get("/api/activities", headers=bearer(token_for(plain, "anna@contoso.com"))).status_code == 200
        assert_unauthorized(client.get("/api/activities", headers=bearer(user_token())))
    finally:
        db.engine(plain).dispose()


PRODUCTION = {"CRMBRIDGE_ENV": "production", "CRMBRIDGE_SECRET_KEY": "k" * 48}
ENTRA_ENV = {"CRMBRIDGE_ENTRA_CLIENT_ID": CLIENT_ID, "CRMBRIDGE_ENTRA_TENANTS": TENANT,
             "CRMBRIDGE_ORG_DOMAINS": "contoso.com"}


def production_env(monkeypatch, tmp_path, **env):
    for name in ("CRMBRIDGE_DEV_TOKENS", "CRMBRIDGE_ENTRA_CLIENT_ID", "CRMBRIDGE_ENTRA_TENANTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'production.sqlite3'}")
    for name, value in {**PRODUCTION, **env}.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("env", "named"), [
    ({}, ["CRMBRIDGE_ENTRA_CLIENT_ID", "CRMBRIDGE_ENTRA_TENANTS"]),
    ({"CRMBRIDGE_ENTRA_CLIENT_ID": CLIENT_ID}, ["CRMBRIDGE_ENTRA_TENANTS"]),
    ({"CRMBRIDGE_ENTRA_TENANTS": TENANT}, ["CRMBRIDGE_ENTRA_CLIENT_ID"]),
])
def test_production_refuses_to_start_without_the_entra_settings_and_names_them(monkeypatch, tmp_path, env, named):
    production_env(monkeypatch, tmp_path, **env)
    with pytest.raises(ConfigError) as refused:
        create_app()
    for name in named:
        assert name in str(refused.value)


def test_production_refuses_to_start_with_development_tokens_on(monkeypatch, tmp_path):
    production_env(monkeypatch, tmp_path, **ENTRA_ENV, CRMBRIDGE_DEV_TOKENS="1")
    with pytest.raises(ConfigError, match="CRMBRIDGE_DEV_TOKENS"):
        create_app()
    monkeypatch.delenv("CRMBRIDGE_DEV_TOKENS")
    with pytest.raises(ConfigError, match="CRMBRIDGE_DEV_TOKENS"):  # the same when set by code, not environment
        create_app({"CRMBRIDGE_ENV": "production", "DEV_TOKENS": True, "SECRET_KEY": "k" * 48,
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", **entra_config()})


@pytest.mark.parametrize(("name", "value"), [
    ("CRMBRIDGE_ENTRA_TENANTS", "common"),
    ("CRMBRIDGE_ENTRA_CLIENT_ID", "crmbridge"),
    ("CRMBRIDGE_TOKEN_CACHE_KEY", "not-a-fernet-key"),
    ("CRMBRIDGE_ADDIN_ORIGIN", "https://crm.example.com/taskpane"),
])
def test_a_malformed_entra_setting_stops_the_start_naming_the_variable(monkeypatch, tmp_path, name, value):
    production_env(monkeypatch, tmp_path, **{**ENTRA_ENV, name: value})
    with pytest.raises(ConfigError, match=name):
        create_app()


def test_production_with_entra_settings_starts_and_refuses_development_tokens(monkeypatch, tmp_path):
    production_env(monkeypatch, tmp_path, **ENTRA_ENV, CRMBRIDGE_PUBLIC_URL="https://crm.example.com")
    app = create_app()
    migrations.upgrade(app.config["DATABASE_URL"])
    client = app.test_client()
    try:
        assert app.config["ENTRA_APP_ID_URI"] == f"api://crm.example.com/{CLIENT_ID}"
        assert app.config["ADDIN_ORIGIN"] == "https://crm.example.com"
        assert client.post("/dev/token", json={"email": "anna@contoso.com"}).status_code == 404
        forged = token_for(app, "anna@contoso.com")  # signed with the real secret key, so only the mode stops it
        assert_unauthorized(client.get("/api/activities", headers=bearer(forged)))
        with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
            serve_keys(rsps)
            assert client.get("/api/activities", headers=bearer(user_token())).status_code == 200
    finally:
        db.engine(app).dispose()
