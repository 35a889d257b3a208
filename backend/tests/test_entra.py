import base64
import hashlib
import hmac
import json
import threading
import time

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from crmbridge.auth.entra import EntraSettings, EntraTokenValidator, KeysUnavailable, Principal, TokenError

CLIENT_ID = "6b1f3c1e-8e0a-4d57-9d3b-1f0b6a3c2d11"
APP_ID_URI = f"api://crm.example.com/{CLIENT_ID}"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SECOND_TENANT = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
FOREIGN_TENANT = "f00dfeed-0000-4000-8000-000000000bad"
OID = "a1b2c3d4-0000-4000-8000-00000000cafe"
CALLER_APP = "5e6f7a8b-1111-4222-8333-944455566677"
JWKS_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
KID = "key-2024"
CACHE_SECONDS = 3600

SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = SIGNING_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def jwks(*keys: tuple[str, rsa.RSAPrivateKey]) -> dict:
    entries = [
        {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"} for kid, key in keys
    ]
    return {"keys": entries}


def v2_claims(**overrides: object) -> dict:
    now = int(time.time())
    claims = {
        "aud": CLIENT_ID,
        "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
        "tid": TENANT,
        "oid": OID,
        "azp": CALLER_APP,
        "scp": "access_as_user Calendars.Read",
        "preferred_username": "Ada.Lovelace@Contoso.com",
        "upn": "Ada.Lovelace@Contoso.com",  # an optional claim in v2 tokens; the app registration adds it
        "ver": "2.0",
    }
    return {**claims, **overrides}


def v1_claims(**overrides: object) -> dict:
    claims = {key: value for key, value in v2_claims().items() if key not in ("azp", "preferred_username", "upn")}
    claims.update(
        aud=APP_ID_URI,
        iss=f"https://sts.windows.net/{TENANT}/",
        appid=CALLER_APP,
        upn="Ada.Lovelace@Contoso.com",
        ver="1.0",
    )
    return {**claims, **overrides}


def sign(claims: dict, *, key: rsa.RSAPrivateKey = SIGNING_KEY, kid: str = KID, alg: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: dict) -> str:
    return b64url(json.dumps(value).encode())


def hs256_signed_with_public_pem() -> str:
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': KID})}.{b64json(v2_claims())}"
    mac = hmac.new(PUBLIC_PEM, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def unsigned() -> str:
    return f"{b64json({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{b64json(v2_claims())}."


def with_payload_replaced() -> str:
    header, _, signature = sign(v2_claims()).split(".")
    return f"{header}.{b64json(v2_claims(oid='00000000-0000-4000-8000-000000000000'))}.{signature}"


def with_signature_flipped() -> str:
    header, payload, signature = sign(v2_claims()).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 0x01
    return f"{header}.{payload}.{b64url(bytes(raw))}"


def without(*names: str) -> dict:
    return {key: value for key, value in v2_claims().items() if key not in names}


def make_settings(**overrides: object) -> EntraSettings:
    values = {
        "client_id": CLIENT_ID,
        "app_id_uri": APP_ID_URI,
        "allowed_tenants": frozenset({TENANT, SECOND_TENANT}),
        "jwks_cache_seconds": CACHE_SECONDS,
    }
    return EntraSettings(**{**values, **overrides})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def validator(clock: FakeClock) -> EntraTokenValidator:
    return EntraTokenValidator(make_settings(), clock=clock)


@pytest.fixture
def entra():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(JWKS_URL, json=jwks((KID, SIGNING_KEY)))
        yield rsps


BAD_TOKENS = [
    pytest.param(lambda: sign(v2_claims(exp=int(time.time()) - 120)), "expired", id="expired"),
    pytest.param(lambda: sign(v2_claims(nbf=int(time.time()) + 600)), "not-yet-valid", id="not-yet-valid"),
    pytest.param(lambda: sign(v2_claims(iat=int(time.time()) + 600)), "not-yet-valid", id="issued-in-future"),
    pytest.param(lambda: sign(v2_claims(aud="api://someone-else")), "bad-audience", id="wrong-audience"),
    pytest.param(lambda: sign(v2_claims(aud=APP_ID_URI)), "bad-audience", id="v2-token-for-app-id-uri"),
    pytest.param(lambda: sign(v2_claims(aud=[CLIENT_ID])), "bad-audience", id="audience-list"),
    pytest.param(
        lambda: sign(v2_claims(iss=f"https://login.evil.example/{TENANT}/v2.0")),
        "bad-issuer",
        id="wrong-issuer",
    ),
    pytest.param(
        lambda: sign(v2_claims(iss=f"https://login.microsoftonline.com/{SECOND_TENANT}/v2.0")),
        "issuer-tenant-mismatch",
        id="iss-and-tid-disagree",
    ),
    pytest.param(
        lambda: sign(
            v2_claims(tid=FOREIGN_TENANT, iss=f"https://login.microsoftonline.com/{FOREIGN_TENANT}/v2.0")
        ),
        "tenant-not-allowed",
        id="tenant-not-allowed",
    ),
    pytest.param(
        lambda: sign(v2_claims(tid="contoso.com", iss="https://login.microsoftonline.com/contoso.com/v2.0")),
        "bad-tenant",
        id="tid-not-a-guid",
    ),
    pytest.param(lambda: sign(v2_claims(scp="User.Read")), "missing-scope", id="missing-scope"),
    pytest.param(lambda: sign(without("scp")), "missing-scope", id="neither-scope-nor-roles"),
    pytest.param(unsigned, "bad-algorithm", id="alg-none"),
    pytest.param(hs256_signed_with_public_pem, "bad-algorithm", id="hs256-with-public-key"),
    pytest.param(lambda: sign(v2_claims(), alg="RS384"), "bad-algorithm", id="rs384"),
    pytest.param(lambda: sign(v2_claims(), key=OTHER_KEY, kid="forged"), "unknown-key", id="unknown-kid"),
    pytest.param(lambda: sign(v2_claims(), key=OTHER_KEY), "bad-signature", id="known-kid-other-key"),
    pytest.param(with_payload_replaced, "bad-signature", id="tampered-payload"),
    pytest.param(with_signature_flipped, "bad-signature", id="tampered-signature"),
    pytest.param(lambda: "not-a-jwt", "malformed", id="malformed"),
    pytest.param(lambda: "e30.e30.e30.e30", "malformed", id="four-segments"),
    pytest.param(lambda: sign(without("oid")), "missing-claim", id="missing-oid"),
    pytest.param(lambda: sign(without("exp")), "missing-claim", id="missing-exp"),
    pytest.param(lambda: sign(without("nbf")), "missing-claim", id="missing-nbf"),
    pytest.param(lambda: sign(without("tid")), "missing-claim", id="missing-tid"),
]


@pytest.mark.parametrize(("make_token", "reason"), BAD_TOKENS)
def test_bad_token_is_rejected_with_its_reason(validator, make_token, reason):
    # Not every bad token gets as far as the keys, so the JWKS stub may stay unused.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(JWKS_URL, json=jwks((KID, SIGNING_KEY)))
        with pytest.raises(TokenError) as caught:
            validator.validate(make_token())
    assert caught.value.reason == reason
    assert caught.value.message


@pytest.mark.parametrize("make_token", [unsigned, hs256_signed_with_public_pem, lambda: "not-a-jwt"])
def test_wrong_algorithm_or_garbage_is_rejected_before_keys_are_fetched(validator, make_token):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(JWKS_URL, json=jwks((KID, SIGNING_KEY)))
        with pytest.raises(TokenError):
            validator.validate(make_token())
        assert len(rsps.calls) == 0


def test_v2_user_token_is_accepted(validator, entra):
    principal = validator.validate(sign(v2_claims()))

    assert principal == Principal(
        kind="user",
        tenant_id=TENANT,
        object_id=OID,
        email="ada.lovelace@contoso.com",
        roles=frozenset(),
        scopes=frozenset({"access_as_user", "Calendars.Read"}),
        app_id=CALLER_APP,
    )


@pytest.mark.parametrize("audience", [APP_ID_URI, CLIENT_ID])
def test_v1_user_token_is_accepted_for_app_id_uri_or_client_id(validator, entra, audience):
    principal = validator.validate(sign(v1_claims(aud=audience)))

    assert principal == Principal(
        kind="user",
        tenant_id=TENANT,
        object_id=OID,
        email="ada.lovelace@contoso.com",
        roles=frozenset(),
        scopes=frozenset({"access_as_user", "Calendars.Read"}),
        app_id=CALLER_APP,
    )


def test_v1_token_without_configured_app_id_uri_needs_client_id_audience(clock, entra):
    validator = EntraTokenValidator(make_settings(app_id_uri=None), clock=clock)

    with pytest.raises(TokenError) as caught:
        validator.validate(sign(v1_claims(aud=APP_ID_URI)))

    assert caught.value.reason == "bad-audience"


def test_second_allowed_tenant_is_accepted(validator, entra):
    token = sign(v2_claims(tid=SECOND_TENANT, iss=f"https://login.microsoftonline.com/{SECOND_TENANT}/v2.0"))

    assert validator.validate(token).tenant_id == SECOND_TENANT


@pytest.mark.parametrize(
    ("names", "email"),
    [
        ({"upn": "UPN@Contoso.com", "email": "mail@contoso.com"}, "upn@contoso.com"),
        ({"email": "Mail@Contoso.com"}, None),
        ({"preferred_username": "bob@contoso.com"}, None),
        ({"preferred_username": "bob@contoso.com", "email": "bob@contoso.com"}, None),
        ({}, None),
    ],
)
def test_only_the_upn_names_the_user_never_preferred_username_or_email(validator, entra, names, email):
    claims = {**without("preferred_username", "upn"), **names}

    assert validator.validate(sign(claims)).email == email


def test_token_expired_within_leeway_is_accepted(validator, entra):
    assert validator.validate(sign(v2_claims(exp=int(time.time()) - 30))).object_id == OID


def test_application_token_with_roles_is_an_app_principal(validator, entra):
    claims = {**without("scp", "preferred_username"), "roles": ["Activities.ReadWrite.All"]}

    principal = validator.validate(sign(claims))

    assert principal.kind == "app"
    assert principal.email is None
    assert principal.scopes == frozenset()
    assert principal.app_id == CALLER_APP
    assert principal.has_role("Activities.ReadWrite.All")
    assert not principal.has_role("Activities.Read.All")


def test_user_token_keeps_the_users_app_roles(validator, entra):
    principal = validator.validate(sign(v2_claims(roles=["Admin"])))

    assert principal.kind == "user"
    assert principal.has_role("Admin")


def test_keys_are_fetched_once_for_many_tokens(validator, entra):
    validator.validate(sign(v2_claims()))
    validator.validate(sign(v1_claims()))

    assert len(entra.calls) == 1
    assert entra.calls[0].request.url == JWKS_URL


def test_keys_are_fetched_again_when_the_cache_expires(validator, clock, entra):
    validator.validate(sign(v2_claims()))
    clock.now += CACHE_SECONDS

    validator.validate(sign(v2_claims()))

    assert len(entra.calls) == 2


def test_unknown_kid_refetches_at_most_once_per_five_minutes(validator, clock):
    new_key_token = sign(v2_claims(), key=OTHER_KEY, kid="rotated")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(JWKS_URL, json=jwks((KID, SIGNING_KEY)))
        rsps.get(JWKS_URL, json=jwks((KID, SIGNING_KEY), ("rotated", OTHER_KEY)))
        for _ in range(3):
            with pytest.raises(TokenError) as caught:
                validator.validate(new_key_token)
            assert caught.value.reason == "unknown-key"
            clock.now += 60
        assert len(rsps.calls) == 1

        clock.now += 300 - 180
        principal = validator.validate(new_key_token)

        assert len(rsps.calls) == 2
        assert principal.object_id == OID


def test_forged_kids_do_not_cause_more_fetches(validator, clock, entra):
    for number in range(20):
        with pytest.raises(TokenError):
            validator.validate(sign(v2_claims(), key=OTHER_KEY, kid=f"forged-{number}"))
        clock.now += 10

    assert len(entra.calls) == 1


@pytest.mark.parametrize(
    "failure",
    [
        {"body": requests.ConnectionError("connection refused")},
        {"body": requests.Timeout("read timed out")},
        {"status": 503, "json": {"error": "unavailable"}},
        {"body": "<html>not json</html>"},
        {"json": {"keys": [{"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}]}},
    ],
    ids=["connection-error", "timeout", "http-503", "not-json", "no-rsa-keys"],
)
def test_unreachable_jwks_endpoint_raises_keys_unavailable(validator, failure):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(JWKS_URL, **failure)
        with pytest.raises(KeysUnavailable):
            validator.validate(sign(v2_claims()))


def test_after_a_failed_fetch_requests_fail_fast_then_retry(validator, clock):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(JWKS_URL, body=requests.ConnectionError("down"))
        rsps.get(JWKS_URL, json=jwks((KID, SIGNING_KEY)))
        with pytest.raises(KeysUnavailable):
            validator.validate(sign(v2_claims()))
        clock.now += 5
        with pytest.raises(KeysUnavailable):
            validator.validate(sign(v2_claims()))
        assert len(rsps.calls) == 1

        clock.now += 5
        assert validator.validate(sign(v2_claims())).object_id == OID
        assert len(rsps.calls) == 2


def test_cached_keys_outlive_a_failed_refresh(validator, clock):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(JWKS_URL, json=jwks((KID, SIGNING_KEY)))
        rsps.get(JWKS_URL, status=503)
        validator.validate(sign(v2_claims()))
        clock.now += CACHE_SECONDS + 1

        principal = validator.validate(sign(v2_claims()))

        assert principal.object_id == OID
        assert len(rsps.calls) == 2


def test_cached_keys_are_used_for_a_bounded_time_only_when_entra_cannot_be_reached(validator, clock):
    settings = make_settings()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(JWKS_URL, json=jwks((KID, SIGNING_KEY)))
        validator.validate(sign(v2_claims()))
        rsps.replace(responses.GET, JWKS_URL, status=503)
        clock.now += settings.jwks_cache_seconds + settings.jwks_max_stale_seconds - 60
        assert validator.validate(sign(v2_claims())).object_id == OID

        clock.now += 61
        with pytest.raises(KeysUnavailable):
            validator.validate(sign(v2_claims()))


def test_a_slow_key_fetch_holds_up_no_request_that_has_a_usable_key(validator, clock):
    fetching, release = threading.Event(), threading.Event()

    def slow_keys(_request):
        fetching.set()
        release.wait(30)
        return 200, {}, json.dumps(jwks((KID, SIGNING_KEY)))

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(JWKS_URL, json=jwks((KID, SIGNING_KEY)))
        validator.validate(sign(v2_claims()))
        rsps.remove(responses.GET, JWKS_URL)
        rsps.add_callback(responses.GET, JWKS_URL, callback=slow_keys)
        clock.now += make_settings().jwks_cache_seconds + 1  # expired: the next request refreshes

        refresher = threading.Thread(target=validator.validate, args=(sign(v2_claims()),))
        refresher.start()
        assert fetching.wait(30)
        try:
            # The refresh is under way and blocked; this request still gets its answer from the cached keys.
            assert validator.validate(sign(v2_claims())).object_id == OID
            assert refresher.is_alive()
        finally:
            release.set()
            refresher.join(30)
