"""A fake Microsoft Entra ID for the HTTP-level tests: keys made here, served as JWKS through `responses`, tokens
signed with them, and the settings of an app that trusts them."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "6b1f3c1e-8e0a-4d57-9d3b-1f0b6a3c2d11"
APP_ID_URI = f"api://crm.example.com/{CLIENT_ID}"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SECOND_TENANT = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
# Each tenant's own organization domain, for the tests of more than one tenant.
TENANT_DOMAINS = {TENANT: "contoso.com", SECOND_TENANT: "fabrikam.example"}
FOREIGN_TENANT = "f00dfeed-0000-4000-8000-000000000bad"
TASKPANE_APP = "5e6f7a8b-1111-4222-8333-944455566677"
CRM_APP = "c0de0000-2222-4333-8444-555566667777"
JWKS_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
KID = "test-key-1"
ROLE = "Activities.ReadWrite.All"

SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = SIGNING_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
OIDS = {}


def oid_for(email: str) -> str:
    """A stable object id per person, as Entra would have it."""
    return OIDS.setdefault(email, str(uuid.uuid4()))


def jwks() -> dict:
    return {"keys": [{**RSAAlgorithm.to_jwk(SIGNING_KEY.public_key(), as_dict=True), "kid": KID, "use": "sig"}]}


def serve_keys(rsps) -> None:
    """Register Entra's key endpoint on a `responses.RequestsMock`."""
    rsps.get(JWKS_URL, json=jwks())


def entra_config() -> dict:
    return {
        "ENTRA_CLIENT_ID": CLIENT_ID,
        "ENTRA_APP_ID_URI": APP_ID_URI,
        "ENTRA_TENANTS": [TENANT, SECOND_TENANT],
    }


def user_claims(email: str = "anna@contoso.com", **overrides) -> dict:
    """A v2 delegated token for our API, as the taskpane gets it through nested app authentication."""
    now = int(time.time())
    claims = {
        "aud": CLIENT_ID,
        "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
        "tid": TENANT,
        "oid": oid_for(email),
        "azp": TASKPANE_APP,
        "scp": "access_as_user",
        "preferred_username": email,
        # upn is an optional claim of v2 access tokens; the app registration adds it (docs/admin-guide.md).
        "upn": email,
        "ver": "2.0",
    }
    return {**claims, **overrides}


def v1_user_claims(email: str = "anna@contoso.com", **overrides) -> dict:
    v2_only = ("azp", "preferred_username", "upn")
    claims = {key: value for key, value in user_claims(email).items() if key not in v2_only}
    claims.update(aud=APP_ID_URI, iss=f"https://sts.windows.net/{TENANT}/", appid=TASKPANE_APP, upn=email, ver="1.0")
    return {**claims, **overrides}


def app_claims(roles: tuple[str, ...] | None = (ROLE,), **overrides) -> dict:
    """A client-credentials token of the CRM integration: app roles, no scp, no user."""
    claims = {key: value for key, value in user_claims().items() if key not in ("scp", "preferred_username", "upn")}
    claims.update(oid=oid_for("crm-integration"), azp=CRM_APP, idtyp="app")
    if roles is not None:
        claims["roles"] = list(roles)
    return {**claims, **overrides}


def sign(claims: dict, *, key=SIGNING_KEY, kid: str = KID, alg: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def user_token(email: str = "anna@contoso.com", **overrides) -> str:
    return sign(user_claims(email, **overrides))


def app_token(roles: tuple[str, ...] | None = (ROLE,)) -> str:
    return sign(app_claims(roles))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: dict) -> str:
    return _b64url(json.dumps(value).encode())


def unsigned() -> str:
    return f"{_b64json({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{_b64json(user_claims())}."


def hs256_signed_with_public_key() -> str:
    signing_input = f"{_b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': KID})}.{_b64json(user_claims())}"
    mac = hmac.new(PUBLIC_PEM, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(mac)}"


def with_payload_replaced() -> str:
    header, _, signature = user_token().split(".")
    return f"{header}.{_b64json(user_claims('bo@contoso.com'))}.{signature}"


def with_signature_flipped() -> str:
    header, payload, signature = user_token().split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 0x01
    return f"{header}.{payload}.{_b64url(bytes(raw))}"


# Entra's token endpoint for the tenant, as msal reads it (on-behalf-of, client credentials).
AUTHORITY = f"https://login.microsoftonline.com/{TENANT}"
OIDC_URL = f"{AUTHORITY}/v2.0/.well-known/openid-configuration"
TOKEN_URL = f"{AUTHORITY}/oauth2/v2.0/token"
OPENID_CONFIGURATION = {
    "issuer": f"{AUTHORITY}/v2.0",
    "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
    "token_endpoint": TOKEN_URL,
}


def b64json(value: dict) -> str:
    return _b64json(value)

