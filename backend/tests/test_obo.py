import logging
from urllib.parse import parse_qs

import pytest
import requests
import responses
from cryptography.fernet import InvalidToken
from entra_fakes import AUTHORITY, CLIENT_ID, OIDC_URL, OPENID_CONFIGURATION, TENANT, TOKEN_URL, b64json

from crmbridge.auth.obo import (
    CacheCipher,
    ConsentRequired,
    EncryptedTokenCacheStore,
    IdentityUnavailable,
    MemoryTokenCacheStore,
    OboError,
    OnBehalfOfClient,
    SignInNeeded,
)

OID = "a1b2c3d4-0000-4000-8000-00000000cafe"
GRAPH_SCOPES = ["https://graph.microsoft.com/Calendars.ReadWrite"]
ASSERTION = "incoming.user-assertion.for-our-api"
GRAPH_TOKEN = "graph-access-token-s3cr3t"
REFRESH_TOKEN = "refresh-token-s3cr3t"
CLAIMS_CHALLENGE = '{"access_token":{"capolids":{"essential":true,"values":["c1a1m5"]}}}'


OBO_RESPONSE = {
    "token_type": "Bearer",
    "scope": " ".join(GRAPH_SCOPES),
    "expires_in": 3600,
    "ext_expires_in": 3600,
    "access_token": GRAPH_TOKEN,
    "refresh_token": REFRESH_TOKEN,
    # msal reads, and does not verify, the id token and client_info to name the account in the cache.
    "id_token": f"{b64json({'alg': 'none'})}.{b64json({'oid': OID, 'tid': TENANT, 'sub': 'x'})}.",
    "client_info": b64json({"uid": OID, "utid": TENANT}),
}


def user_key(oid: str = OID) -> str:
    return f"{TENANT}:{oid}"


@pytest.fixture
def cipher() -> CacheCipher:
    return CacheCipher(CacheCipher.generate_key())


@pytest.fixture
def database() -> MemoryTokenCacheStore:
    return MemoryTokenCacheStore()


@pytest.fixture
def client(database, cipher) -> OnBehalfOfClient:
    return OnBehalfOfClient(CLIENT_ID, "client-secret", AUTHORITY, EncryptedTokenCacheStore(database, cipher))


@pytest.fixture
def entra():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(OIDC_URL, json=OPENID_CONFIGURATION)
        yield rsps


def test_users_token_is_exchanged_for_a_graph_token(client, entra):
    exchange = entra.post(TOKEN_URL, json=OBO_RESPONSE)

    assert client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES) == GRAPH_TOKEN

    body = parse_qs(exchange.calls[0].request.body)
    assert body["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert body["requested_token_use"] == ["on_behalf_of"]
    assert body["assertion"] == [ASSERTION]
    assert GRAPH_SCOPES[0] in body["scope"][0].split()


def test_cached_graph_token_is_reused_without_calling_entra(client, entra):
    exchange = entra.post(TOKEN_URL, json=OBO_RESPONSE)

    first = client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)
    second = client.graph_token(user_key(), "a.later.assertion", GRAPH_SCOPES)

    assert first == second == GRAPH_TOKEN
    assert exchange.call_count == 1
    assert entra.calls[0].request.url == OIDC_URL
    assert len(entra.calls) == 2


def test_cache_persisted_in_the_store_serves_a_new_client(database, cipher, entra):
    exchange = entra.post(TOKEN_URL, json=OBO_RESPONSE)
    store = EncryptedTokenCacheStore(database, cipher)
    first = OnBehalfOfClient(CLIENT_ID, "client-secret", AUTHORITY, store)
    first.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)

    restarted = OnBehalfOfClient(CLIENT_ID, "client-secret", AUTHORITY, store)
    token = restarted.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)

    assert token == GRAPH_TOKEN
    assert exchange.call_count == 1


def test_each_user_has_their_own_cache(client, database, entra):
    other_oid = "b2c3d4e5-0000-4000-8000-00000000beef"
    other = {
        **OBO_RESPONSE,
        "access_token": "other-graph-token",
        "client_info": b64json({"uid": other_oid, "utid": TENANT}),
    }
    entra.post(TOKEN_URL, json=OBO_RESPONSE)
    entra.post(TOKEN_URL, json=other)

    assert client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES) == GRAPH_TOKEN
    assert (
        client.graph_token(user_key(other_oid), "other.user.assertion", GRAPH_SCOPES) == "other-graph-token"
    )
    assert set(database.blobs) == {user_key(), user_key(other_oid)}


def test_store_holds_only_encrypted_cache(client, database, cipher, entra):
    entra.post(TOKEN_URL, json=OBO_RESPONSE)

    client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)

    blob = database.blobs[user_key()]
    for secret in (GRAPH_TOKEN, REFRESH_TOKEN, ASSERTION, OID):
        assert secret not in blob
    assert GRAPH_TOKEN in cipher.decrypt(blob)


@pytest.mark.parametrize("damage", ["wrong-key", "tampered"])
def test_undecryptable_cache_is_treated_as_empty(client, database, cipher, entra, damage):
    entra.post(TOKEN_URL, json=OBO_RESPONSE)
    if damage == "wrong-key":
        database.save(user_key(), CacheCipher(CacheCipher.generate_key()).encrypt('{"AccessToken": {}}'))
    else:
        blob = cipher.encrypt('{"AccessToken": {}}')
        database.save(user_key(), blob[:-8] + ("A" * 8 if not blob.endswith("A" * 8) else "B" * 8))

    assert client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES) == GRAPH_TOKEN
    assert GRAPH_TOKEN in cipher.decrypt(database.blobs[user_key()])


def test_cipher_round_trips_and_refuses_tampering(cipher):
    sealed = cipher.encrypt("plain text")

    assert cipher.decrypt(sealed) == "plain text"
    assert "plain text" not in sealed
    with pytest.raises(InvalidToken):
        CacheCipher(CacheCipher.generate_key()).decrypt(sealed)


CONSENT_ERRORS = [
    pytest.param(
        {
            "error": "interaction_required",
            "error_description": "AADSTS50076: Due to a configuration change made by your administrator, "
            "you must use multi-factor authentication.\r\nTrace ID: 0000\r\nCorrelation ID: 1111",
            "error_codes": [50076],
            "suberror": "basic_action",
            "claims": CLAIMS_CHALLENGE,
        },
        CLAIMS_CHALLENGE,
        id="mfa-claims-challenge",
    ),
    pytest.param(
        {
            "error": "invalid_grant",
            "error_description": "AADSTS65001: The user or administrator has not consented.",
            "error_codes": [65001],
            "suberror": "consent_required",
        },
        None,
        id="consent-not-granted",
    ),
    pytest.param(
        {"error": "consent_required", "error_description": "AADSTS65001"}, None, id="consent-required"
    ),
]


@pytest.mark.parametrize(("error", "claims"), CONSENT_ERRORS)
def test_interaction_needed_raises_consent_required_with_claims(client, entra, error, claims):
    entra.post(TOKEN_URL, status=400, json=error)

    with pytest.raises(ConsentRequired) as caught:
        client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)

    assert caught.value.claims == claims
    assert caught.value.error == error["error"]
    assert "Trace ID" not in caught.value.message


def test_other_entra_refusal_raises_obo_error(client, entra):
    entra.post(
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": "AADSTS7000215: Bad secret."},
    )

    with pytest.raises(OboError) as caught:
        client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)

    assert type(caught.value) is OboError
    assert caught.value.error == "invalid_client"
    assert caught.value.message == "invalid_client: AADSTS7000215: Bad secret."


@pytest.mark.parametrize(
    "failure",
    [
        {"body": requests.ConnectionError("connection reset")},
        {"body": requests.Timeout("read timed out")},
        {"status": 503, "body": "Service Unavailable"},
        {"status": 200, "body": "<html>captive portal</html>"},
        {"status": 400, "json": {"error": "temporarily_unavailable", "error_description": "AADSTS90033"}},
    ],
    ids=["connection-error", "timeout", "http-503", "not-json", "temporarily-unavailable"],
)
def test_unavailable_entra_raises_identity_unavailable(client, entra, failure):
    entra.post(TOKEN_URL, **failure)

    with pytest.raises(IdentityUnavailable):
        client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)


def test_unreachable_authority_metadata_raises_identity_unavailable(client):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(OIDC_URL, body=requests.ConnectionError("no route to host"))

        with pytest.raises(IdentityUnavailable):
            client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)


def test_multi_tenant_authority_sends_the_exchange_to_the_users_tenant(database, cipher, entra):
    client = OnBehalfOfClient(
        CLIENT_ID,
        "client-secret",
        "https://login.microsoftonline.com/organizations",
        EncryptedTokenCacheStore(database, cipher),
    )
    exchange = entra.post(TOKEN_URL, json=OBO_RESPONSE)

    assert client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES, tenant_id=TENANT) == GRAPH_TOKEN
    assert exchange.call_count == 1


def test_tokens_are_not_logged(client, entra, caplog):
    entra.post(TOKEN_URL, json=OBO_RESPONSE)
    entra.post(TOKEN_URL, status=400, json=CONSENT_ERRORS[0].values[0])
    caplog.set_level(logging.DEBUG)

    client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)
    with pytest.raises(ConsentRequired):
        client.graph_token(user_key("c0ffee00-0000-4000-8000-000000000000"), "second.assertion", GRAPH_SCOPES)

    assert caplog.records
    for secret in (GRAPH_TOKEN, REFRESH_TOKEN, ASSERTION, "second.assertion", "client-secret"):
        assert secret not in caplog.text


# Background work in delegated mode: the refresh token the last exchange left in the user's cache --------------


def test_background_work_gets_the_cached_token_without_calling_entra(client, entra):
    entra.post(TOKEN_URL, json=OBO_RESPONSE)
    client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)

    assert client.silent_token(user_key(), GRAPH_SCOPES) == GRAPH_TOKEN
    assert len([c for c in entra.calls if c.request.url.startswith(TOKEN_URL)]) == 1


def test_background_work_refreshes_an_expired_token_with_the_cached_refresh_token(client, entra):
    entra.post(TOKEN_URL, json={**OBO_RESPONSE, "expires_in": 1})  # msal refreshes tokens this close to expiry
    client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)
    refresh = entra.post(TOKEN_URL, json={**OBO_RESPONSE, "access_token": "refreshed-graph-token"})

    assert client.silent_token(user_key(), GRAPH_SCOPES) == "refreshed-graph-token"
    sent = parse_qs(refresh.calls[0].request.body)
    assert sent["grant_type"] == ["refresh_token"] and sent["refresh_token"] == [REFRESH_TOKEN]


def test_background_work_without_a_usable_refresh_token_waits_for_a_sign_in(client, entra):
    with pytest.raises(SignInNeeded):
        client.silent_token(user_key(), GRAPH_SCOPES)  # never signed in: no cache

    entra.post(TOKEN_URL, json={**OBO_RESPONSE, "expires_in": 1})
    client.graph_token(user_key(), ASSERTION, GRAPH_SCOPES)
    entra.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "AADSTS700082: expired"})
    with pytest.raises(SignInNeeded) as refused:
        client.silent_token(user_key(), GRAPH_SCOPES)
    assert refused.value.error == "invalid_grant"
