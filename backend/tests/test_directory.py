"""The signed-in user's addresses come from Graph when Graph is on: the primary SMTP address and its aliases, so an
activity the CRM pushed under them reaches a user whose UPN differs or was renamed. Graph and Entra are answered at
the HTTP boundary (`responses`); every request goes through the Flask test client."""

import json
import logging

import pytest
import requests
import responses
from conftest import Api, activity_json
from entra_fakes import (
    OIDC_URL,
    OPENID_CONFIGURATION,
    TENANT,
    TOKEN_URL,
    app_token,
    b64json,
    entra_config,
    oid_for,
    serve_keys,
    user_token,
)

from crmbridge import create_app, db, migrations
from crmbridge.auth.obo import CacheCipher
from crmbridge.graph import GraphClient
from crmbridge.graph import setup as graph_setup
from crmbridge.graph.directory import AddressCache, UserAddresses, addresses_from

BASE = "https://graph.microsoft.com/v1.0"
SELECT = "?$select=mail,proxyAddresses,userPrincipalName"
OID = "0d6c4b2a-1111-4aaa-8bbb-123456789abc"
OBO_TOKEN = "graph-token-on-behalf-of-anna"


def directory_user(upn: str = "anna.berg@contoso.com", mail: str | None = "anna@contoso.com",
                   proxies: tuple[str, ...] = ("SMTP:anna@contoso.com", "smtp:anna.b@contoso.com")) -> dict:
    # Graph's user with $select=mail,proxyAddresses,userPrincipalName (https://learn.microsoft.com/graph/api/user-get;
    # proxyAddresses: "SMTP:" is the primary address, "smtp:" an alias, https://learn.microsoft.com/graph/api/resources/user)
    return {"@odata.context": f"{BASE}/$metadata#users(mail,proxyAddresses,userPrincipalName)/$entity",
            "mail": mail, "proxyAddresses": list(proxies), "userPrincipalName": upn}


@pytest.fixture
def app(database_url):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ORG_DOMAINS": ["contoso.com"],
                      "SECRET_KEY": "test-secret-key", "ENTRA_CLIENT_SECRET": "client-secret",
                      "TOKEN_CACHE_KEY": CacheCipher.generate_key(), **entra_config()})
    migrations.upgrade(database_url)
    yield app
    db.engine(app).dispose()


@pytest.fixture
def microsoft():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        serve_keys(rsps)
        yield rsps


def graph_in(app, mode: str) -> GraphClient:
    client = GraphClient(lambda mailbox: "app-token", max_retries=0, sleep=lambda seconds: None)
    graph_setup.install(app, client, mode=mode)
    return client


def anna(client, upn: str = "anna.berg@contoso.com", oid: str = OID) -> Api:
    return Api(client, user_token(upn, oid=oid))


def pushed_by_crm(client, organizer: str) -> int:
    created = Api(client, app_token()).post("/api/activities", json=activity_json(organizerEmail=organizer))
    assert created.status_code == 201, created.json
    return created.json["id"]


def graph_calls(rsps) -> list:
    return [call for call in rsps.calls if call.request.url.startswith(BASE)]


# Application mode: GET /users/{oid} with the app's token ---------------------------------------------------------


def test_a_user_whose_upn_differs_from_the_primary_smtp_address_sees_the_activities_pushed_under_it(
        app, client, microsoft):
    graph_in(app, "application")
    microsoft.get(f"{BASE}/users/{OID}{SELECT}", json=directory_user())
    aid = pushed_by_crm(client, "anna@contoso.com")

    seen = anna(client).get(f"/api/activities/{aid}")
    listed = anna(client).get("/api/activities")

    assert seen.status_code == 200, seen.json
    assert [item["id"] for item in listed.json["items"]] == [aid]
    [call] = graph_calls(microsoft)
    assert call.request.headers["Authorization"] == "Bearer app-token"


def test_an_alias_among_the_proxy_addresses_finds_the_activity(app, client, microsoft):
    graph_in(app, "application")
    microsoft.get(f"{BASE}/users/{OID}{SELECT}", json=directory_user())
    aid = pushed_by_crm(client, "Anna.B@contoso.com")

    assert anna(client).get(f"/api/activities/{aid}").status_code == 200


@pytest.mark.parametrize("organizer", ["anna@contoso.com", "Anna.B@contoso.com"], ids=["primary", "alias"])
def test_the_pane_finds_an_activity_pushed_under_the_primary_address_or_an_alias_by_id_and_by_outlook_id(
        app, client, microsoft, organizer):
    graph_in(app, "application")
    microsoft.get(f"{BASE}/users/{OID}{SELECT}", json=directory_user())
    aid = pushed_by_crm(client, organizer)
    user = anna(client)
    assert user.post(f"/api/activities/{aid}/links", json={"state": "sent", "iCalUId": "UID-1"}).status_code == 201

    assert user.get("/api/lookup", query_string={"activityId": aid}).json["activity"]["id"] == aid
    assert user.get("/api/lookup", query_string={"iCalUId": "UID-1"}).json["activity"]["id"] == aid
    someone_else = anna(client, upn="bo@contoso.com", oid="00000000-0000-0000-0000-0000000000b0")
    assert someone_else.get("/api/lookup", query_string={"iCalUId": "UID-1"}).status_code == 404


def test_what_the_user_creates_is_organized_under_the_primary_smtp_address(app, client, microsoft):
    graph_in(app, "application")
    microsoft.get(f"{BASE}/users/{OID}{SELECT}", json=directory_user())

    created = anna(client).post("/api/activities", json=activity_json())

    assert created.status_code == 201 and created.json["organizerEmail"] == "anna@contoso.com"


def test_a_renamed_upn_keeps_the_activities_by_object_id_and_by_address(app, client, microsoft):
    graph_in(app, "application")
    microsoft.get(f"{BASE}/users/{OID}{SELECT}", json=directory_user())
    by_crm = pushed_by_crm(client, "anna@contoso.com")
    own = anna(client).post("/api/activities", json=activity_json()).json["id"]

    renamed = anna(client, upn="anna.nielsen@contoso.com")  # the same person (oid), answered from the cache

    assert sorted(item["id"] for item in renamed.get("/api/activities").json["items"]) == sorted([by_crm, own])
    stranger = anna(client, upn="anna.berg@contoso.com", oid=oid_for("someone-else"))
    microsoft.get(f"{BASE}/users/{oid_for('someone-else')}{SELECT}",
                  json=directory_user(upn="anna.berg@contoso.com", mail="ab@contoso.com", proxies=()))
    assert stranger.get("/api/activities").json["total"] == 0


def test_the_answer_is_cached_per_user_so_a_second_request_does_not_call_graph(app, client, microsoft):
    graph_in(app, "application")
    microsoft.get(f"{BASE}/users/{OID}{SELECT}", json=directory_user())

    for _ in range(3):
        assert anna(client).get("/api/activities").status_code == 200

    assert len(graph_calls(microsoft)) == 1


@pytest.mark.parametrize("outage", [
    pytest.param({"body": requests.ConnectionError("no route to host")}, id="unreachable"),
    pytest.param({"status": 503, "json": {"error": {"code": "ServiceUnavailable", "message": "busy"}}}, id="5xx"),
    pytest.param({"status": 429, "headers": {"Retry-After": "120"},
                  "json": {"error": {"code": "TooManyRequests", "message": "slow down"}}}, id="throttled"),
])
def test_with_graph_unreachable_the_upn_claim_serves_and_a_warning_names_no_token(app, client, microsoft, caplog,
                                                                                 outage):
    graph_in(app, "application")
    microsoft.get(f"{BASE}/users/{OID}{SELECT}", **outage)
    own_by_upn = pushed_by_crm(client, "anna.berg@contoso.com")
    by_mail = pushed_by_crm(client, "anna@contoso.com")

    with caplog.at_level(logging.WARNING):
        listed = anna(client).get("/api/activities")
        anna(client).get("/api/activities")  # the failure is remembered for a minute: Graph is not asked again

    assert [item["id"] for item in listed.json["items"]] == [own_by_upn]
    assert by_mail not in [item["id"] for item in listed.json["items"]]
    assert len(graph_calls(microsoft)) == 1
    assert "using the upn claim" in caplog.text
    assert "app-token" not in caplog.text and "Bearer" not in caplog.text


def test_without_user_read_all_in_application_mode_the_upn_claim_serves_and_the_log_names_the_permission(
        app, client, microsoft, caplog):
    graph_in(app, "application")
    # Graph's 403 for a missing permission (https://learn.microsoft.com/graph/errors)
    microsoft.get(f"{BASE}/users/{OID}{SELECT}", status=403,
                  json={"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}})
    own_by_upn = pushed_by_crm(client, "anna.berg@contoso.com")

    with caplog.at_level(logging.WARNING):
        response = anna(client).get("/api/activities")

    assert response.status_code == 200  # signing in does not stop working on an upgrade without the permission
    assert [item["id"] for item in response.json["items"]] == [own_by_upn]
    assert "User.Read.All" in caplog.text and "crmbridge doctor" in caplog.text


# Delegated mode: GET /me with the user's on-behalf-of token ------------------------------------------------------


def on_behalf_of(rsps) -> None:
    """Entra's on-behalf-of answer for anna (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow)."""
    rsps.get(OIDC_URL, json=OPENID_CONFIGURATION)
    rsps.post(TOKEN_URL, json={
        "token_type": "Bearer", "scope": "https://graph.microsoft.com/.default", "expires_in": 3600,
        "ext_expires_in": 3600, "access_token": OBO_TOKEN, "refresh_token": "refresh-token",
        "id_token": f"{b64json({'alg': 'none'})}.{b64json({'oid': OID, 'tid': TENANT, 'sub': 'x'})}.",
        "client_info": b64json({"uid": OID, "utid": TENANT}),
    })


def test_delegated_mode_reads_me_with_the_users_own_token(app, client, microsoft):
    graph_in(app, "delegated")
    on_behalf_of(microsoft)
    microsoft.get(f"{BASE}/me{SELECT}", json=directory_user())
    aid = pushed_by_crm(client, "anna@contoso.com")

    assert anna(client).get(f"/api/activities/{aid}").status_code == 200

    [call] = graph_calls(microsoft)
    assert call.request.url == f"{BASE}/me{SELECT}"
    assert call.request.headers["Authorization"] == f"Bearer {OBO_TOKEN}"


def test_a_claims_challenge_from_graph_reaches_the_taskpane_as_insufficient_claims(app, client, microsoft):
    graph_in(app, "delegated")
    on_behalf_of(microsoft)
    claims = '{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}'
    encoded = b64json(json.loads(claims))
    # Graph's claims challenge (https://learn.microsoft.com/entra/identity-platform/claims-challenge)
    microsoft.get(f"{BASE}/me{SELECT}", status=401, headers={"WWW-Authenticate": (
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
        f'error="insufficient_claims", claims="{encoded}"')},
        json={"error": {"code": "InvalidAuthenticationToken", "message": "Continuous access evaluation"}})

    response = anna(client).get("/api/activities")

    assert response.status_code == 401
    assert 'error="insufficient_claims"' in response.headers["WWW-Authenticate"]
    assert json.loads(response.json["claims"]) == json.loads(claims)


# Graph off: the upn claim, within the tenant's domains --------------------------------------------------------


def test_with_graph_off_a_upn_outside_the_org_domains_is_refused_and_graph_is_not_called(app, client, microsoft):
    response = anna(client, upn="anna@fabrikam.example").get("/api/activities")

    assert response.status_code == 403
    assert graph_calls(microsoft) == []


# What Graph's answer means ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "expected"), [
    pytest.param(directory_user(), UserAddresses("anna@contoso.com", frozenset({"anna@contoso.com",
                                                                                 "anna.b@contoso.com"})),
                 id="mail-and-an-alias"),
    pytest.param(directory_user(mail=None), UserAddresses("anna@contoso.com", frozenset({"anna@contoso.com",
                                                                                          "anna.b@contoso.com"})),
                 id="no-mail-the-SMTP-proxy-is-primary"),
    pytest.param(directory_user(mail=None, proxies=()), UserAddresses("anna.berg@contoso.com",
                                                                      frozenset({"anna.berg@contoso.com"})),
                 id="no-mailbox-the-upn"),
    pytest.param(directory_user(mail="Anna@Contoso.com", proxies=(
                     "SMTP:Anna@Contoso.com", "X500:/o=Contoso/cn=anna", "smtp:\uff41nna@contoso.com",
                     "sip:anna@contoso.com")),
                 UserAddresses("anna@contoso.com", frozenset({"anna@contoso.com"})),
                 id="only-smtp-proxies-and-plain-addresses"),
    pytest.param({"mail": "not an address", "proxyAddresses": None, "userPrincipalName": None}, None,
                 id="nothing-usable"),
])
def test_the_primary_address_and_the_aliases_come_from_graphs_answer(user, expected):
    assert addresses_from(user) == expected


def test_the_cache_forgets_after_its_time_and_keeps_at_most_its_size():
    now = [0.0]
    cache = AddressCache(seconds=3600, max_users=2, clock=lambda: now[0])
    found = UserAddresses("anna@contoso.com", frozenset({"anna@contoso.com"}))
    cache.put(("t", "anna"), found)
    cache.put(("t", "bo"), None)  # a failure: remembered for a minute only
    assert cache.get(("t", "anna")) == (True, found) and cache.get(("t", "bo")) == (True, None)
    now[0] = 61
    assert cache.get(("t", "bo")) == (False, None) and cache.get(("t", "anna")) == (True, found)
    cache.put(("t", "carl"), found)
    cache.put(("t", "dora"), found)
    assert cache.get(("t", "anna")) == (False, None)  # the oldest went when the cache was full
    now[0] = 3700
    assert cache.get(("t", "carl")) == (False, None)
