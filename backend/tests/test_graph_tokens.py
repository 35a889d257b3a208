"""Graph tokens through `graph_tokens`: on-behalf-of the signed-in user with the encrypted database cache, and the
app's own client-credentials token. Entra ID is stubbed at the HTTP boundary with `responses`."""

import base64
from urllib.parse import parse_qs

import pytest
import requests
import responses
from conftest import token_for
from entra_fakes import (
    CLIENT_ID,
    OIDC_URL,
    OPENID_CONFIGURATION,
    SECOND_TENANT,
    TENANT,
    TOKEN_URL,
    b64json,
    entra_config,
    oid_for,
    serve_keys,
    user_token,
)

from crmbridge import create_app, db, migrations
from crmbridge.auth import graph_tokens
from crmbridge.auth.obo import CacheCipher, IdentityUnavailable
from crmbridge.auth.request import authenticate
from crmbridge.models import TokenCacheRow

GRAPH_SCOPES = ["https://graph.microsoft.com/Calendars.ReadWrite"]
GRAPH_TOKEN = "graph-access-token-s3cr3t"
REFRESH_TOKEN = "graph-refresh-token-s3cr3t"
APP_GRAPH_TOKEN = "app-only-graph-token-s3cr3t"
CLAIMS_CHALLENGE = '{"access_token":{"capolids":{"essential":true,"values":["c1a1m5"]}}}'
CACHE_KEY = CacheCipher.generate_key()
ANNA = "anna@contoso.com"




def obo_response(email: str = ANNA) -> dict:
    oid = oid_for(email)
    return {
        "token_type": "Bearer",
        "scope": " ".join(GRAPH_SCOPES),
        "expires_in": 3600,
        "ext_expires_in": 3600,
        "access_token": GRAPH_TOKEN,
        "refresh_token": REFRESH_TOKEN,
        "id_token": f"{b64json({'alg': 'none'})}.{b64json({'oid': oid, 'tid': TENANT, 'sub': 'x'})}.",
        "client_info": b64json({"uid": oid, "utid": TENANT}),
    }


def make_app(database_url: str, **settings):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ORG_DOMAINS": ["contoso.com"],
                      "SECRET_KEY": "test-secret-key", **entra_config(), "ENTRA_CLIENT_SECRET": "client-s3cret",
                      "TOKEN_CACHE_KEY": CACHE_KEY, **settings})

    # What the Graph sync will do inside a request; the Graph token itself is never sent back.
    def calendar_probe():
        authenticate()
        return {"gotGraphToken": graph_tokens.graph_token_for_current_user(GRAPH_SCOPES) == GRAPH_TOKEN}

    app.add_url_rule("/probe", view_func=calendar_probe)
    return app


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    migrations.upgrade(database_url)
    yield app
    db.engine(app).dispose()


@pytest.fixture
def entra():
    """Entra's keys for our API and the tenant's metadata; each test adds the token endpoint's answers."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        serve_keys(rsps)
        rsps.get(OIDC_URL, json=OPENID_CONFIGURATION)
        yield rsps


def probe(client, token: str):
    return client.get("/probe", headers={"Authorization": f"Bearer {token}"})


def cache_rows(app) -> list[TokenCacheRow]:
    with db.standalone_session(app) as session:
        return list(session.query(TokenCacheRow))


def test_the_users_token_is_exchanged_on_their_behalf_for_a_graph_token(app, client, entra):
    exchange = entra.post(TOKEN_URL, json=obo_response())
    incoming = user_token(ANNA)

    response = probe(client, incoming)

    assert response.status_code == 200 and response.json == {"gotGraphToken": True}
    body = parse_qs(exchange.calls[0].request.body)
    assert body["assertion"] == [incoming]
    assert body["requested_token_use"] == ["on_behalf_of"]
    assert body["client_id"] == [CLIENT_ID]
    assert [row.user_key for row in cache_rows(app)] == [f"{TENANT}:{oid_for(ANNA)}"]


def test_a_cached_graph_token_is_reused_without_calling_entra_again_even_after_a_restart(app, client, entra,
                                                                                           database_url):
    exchange = entra.post(TOKEN_URL, json=obo_response())
    assert probe(client, user_token(ANNA)).status_code == 200

    assert probe(client, user_token(ANNA, iat=0)).json == {"gotGraphToken": True}  # a later token of the same user
    restarted = make_app(database_url)
    entra.get(OIDC_URL, json=OPENID_CONFIGURATION)  # a new process reads the tenant's metadata once
    try:
        serve_keys(entra)
        assert probe(restarted.test_client(), user_token(ANNA)).json == {"gotGraphToken": True}
    finally:
        db.engine(restarted).dispose()

    assert exchange.call_count == 1


def test_the_database_holds_only_ciphertext(app, client, entra):
    entra.post(TOKEN_URL, json=obo_response())
    incoming = user_token(ANNA)

    probe(client, incoming)

    (row,) = cache_rows(app)
    for secret in (GRAPH_TOKEN, REFRESH_TOKEN, incoming, oid_for(ANNA), ANNA):
        assert secret not in row.blob
    assert GRAPH_TOKEN in CacheCipher(CACHE_KEY).decrypt(row.blob)


def test_consent_required_sends_the_claims_challenge_back_to_the_taskpane(app, client, entra):
    entra.post(TOKEN_URL, status=400, json={
        "error": "interaction_required",
        "error_description": "AADSTS50076: you must use multi-factor authentication.\r\nTrace ID: 0000",
        "error_codes": [50076], "suberror": "basic_action", "claims": CLAIMS_CHALLENGE,
    })

    response = probe(client, user_token(ANNA))

    assert response.status_code == 401
    assert response.json == {"code": 401, "message": response.json["message"], "errors": {},
                             "claims": CLAIMS_CHALLENGE, "requestId": response.headers["X-Request-Id"]}
    assert "sign in again" in response.json["message"]
    header = response.headers["WWW-Authenticate"]
    assert header.startswith('Bearer realm="crmbridge", error="insufficient_claims", claims="')
    encoded = header.split('claims="')[1].rstrip('"')
    assert base64.b64decode(encoded).decode() == CLAIMS_CHALLENGE
    assert cache_rows(app) == []


def test_consent_without_a_claims_challenge_asks_for_interaction(client, entra):
    entra.post(TOKEN_URL, status=400, json={"error": "consent_required", "error_description": "AADSTS65001"})

    response = probe(client, user_token(ANNA))

    assert response.status_code == 401 and "claims" not in response.json
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="crmbridge", error="interaction_required"'


@pytest.mark.parametrize("failure", [
    {"body": requests.ConnectionError("connection reset")},
    {"body": requests.Timeout("read timed out")},
    {"status": 503, "body": "Service Unavailable"},
    {"status": 400, "json": {"error": "temporarily_unavailable", "error_description": "AADSTS90033"}},
], ids=["connection-error", "timeout", "http-503", "temporarily-unavailable"])
def test_entra_unavailable_is_a_503_with_a_clear_message(client, entra, failure):
    entra.post(TOKEN_URL, **failure)

    response = probe(client, user_token(ANNA))

    assert response.status_code == 503
    assert response.json["code"] == 503 and response.json["errors"] == {}
    assert response.json["message"].startswith("Microsoft Entra ID does not answer")
    assert response.headers["Retry-After"] == "60"


def test_another_refusal_is_a_503_asking_for_the_administrator_without_entra_details(client, entra):
    entra.post(TOKEN_URL, status=401, json={"error": "invalid_client", "error_description": "AADSTS7000215: Bad."})

    response = probe(client, user_token(ANNA))

    assert response.status_code == 503
    assert "administrator" in response.json["message"] and "AADSTS" not in response.json["message"]


def test_without_a_secret_or_cache_key_the_user_is_told_graph_is_not_set_up(database_url):
    app = make_app(database_url, TOKEN_CACHE_KEY="")
    migrations.upgrade(database_url)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
            serve_keys(rsps)
            response = probe(app.test_client(), user_token(ANNA))
    finally:
        db.engine(app).dispose()

    assert response.status_code == 503
    assert "not set up to reach Outlook calendars" in response.json["message"]


def test_a_development_token_has_no_graph_token_on_its_behalf(app, client):
    response = probe(client, token_for(app, ANNA))

    assert response.status_code == 503
    assert "not set up to reach Outlook calendars" in response.json["message"]


CLIENT_CREDENTIALS_RESPONSE = {"token_type": "Bearer", "expires_in": 3599, "access_token": APP_GRAPH_TOKEN}


def test_the_app_gets_its_own_graph_token_once_and_reuses_it(app):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(OIDC_URL, json=OPENID_CONFIGURATION)
        exchange = rsps.post(TOKEN_URL, json=CLIENT_CREDENTIALS_RESPONSE)
        with app.app_context():
            first = graph_tokens.app_graph_token(TENANT)
            second = graph_tokens.app_graph_token(TENANT)

    assert first == second == APP_GRAPH_TOKEN
    assert exchange.call_count == 1
    body = parse_qs(exchange.calls[0].request.body)
    assert body["grant_type"] == ["client_credentials"]
    assert body["scope"] == ["https://graph.microsoft.com/.default"]


def test_the_app_token_names_the_tenant_when_several_are_allowed(app):
    assert app.config["ENTRA_TENANTS"] == [TENANT, SECOND_TENANT]
    with app.app_context(), pytest.raises(graph_tokens.GraphNotConfigured, match="Name the tenant"):
        graph_tokens.app_graph_token()
    with app.app_context(), pytest.raises(graph_tokens.GraphNotConfigured, match="not in CRMBRIDGE_ENTRA_TENANTS"):
        graph_tokens.app_graph_token("f00dfeed-0000-4000-8000-000000000bad")


def test_the_app_token_raises_identity_unavailable_when_entra_does_not_answer(app):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(OIDC_URL, json=OPENID_CONFIGURATION)
        rsps.post(TOKEN_URL, body=requests.ConnectionError("no route to host"))
        with app.app_context(), pytest.raises(IdentityUnavailable):
            graph_tokens.app_graph_token(TENANT)


def test_the_app_token_needs_the_client_secret(database_url):
    app = make_app(database_url, ENTRA_CLIENT_SECRET="")
    try:
        with app.app_context(), pytest.raises(graph_tokens.GraphNotConfigured, match="CLIENT_SECRET"):
            graph_tokens.app_graph_token(TENANT)
    finally:
        db.engine(app).dispose()
