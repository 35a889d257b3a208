"""Validate Entra ID access tokens issued for our API (entra: docs/identity-platform/access-tokens.md)."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jwt
import requests

log = logging.getLogger(__name__)

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ISSUERS = (
    ("2.0", re.compile(r"https://login\.microsoftonline\.com/(?P<tid>[^/]+)/v2\.0")),
    ("1.0", re.compile(r"https://sts\.windows\.net/(?P<tid>[^/]+)/")),
)
_REQUIRED_CLAIMS = ["exp", "nbf", "iat", "iss", "aud", "tid", "oid"]
# A kid we do not know is either a key rotation or a forgery; refetching for every such token would let anyone
# make us hammer Entra, so an unknown kid may trigger at most one refetch per interval.
_UNKNOWN_KID_REFETCH_SECONDS = 300
# After a failed fetch, requests fail fast (or use the stale keys) for a while instead of each one waiting out
# the HTTP timeout against an endpoint that is down.
_FAILED_FETCH_RETRY_SECONDS = 10


@dataclass(frozen=True)
class EntraSettings:
    client_id: str
    app_id_uri: str | None
    allowed_tenants: frozenset[str]
    jwks_url: str = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
    leeway_seconds: int = 60
    required_scope: str = "access_as_user"
    app_role: str = "Activities.ReadWrite.All"
    jwks_cache_seconds: int = 24 * 3600
    # When Entra's key endpoint cannot be reached, keys older than jwks_cache_seconds are still used for this long,
    # and no longer: a key Microsoft withdrew (a compromise, an emergency rotation) must stop working.
    jwks_max_stale_seconds: int = 24 * 3600
    http_timeout: float = 5.0


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "app"]
    tenant_id: str
    object_id: str
    email: str | None
    roles: frozenset[str]
    scopes: frozenset[str]
    app_id: str | None

    def has_role(self, name: str) -> bool:
        return name in self.roles


class TokenError(Exception):
    """The bearer token is not an acceptable access token for this API; `reason` is a short machine code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class KeysUnavailable(Exception):
    """Entra's signing keys could not be fetched, so no token can be checked."""


class EntraTokenValidator:
    """Checks signature, lifetime, issuer, tenant, audience and scope of Entra access tokens.

    One instance per process: it caches the JWKS and is safe to share between threads.
    """

    def __init__(
        self,
        settings: EntraSettings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._allowed_tenants = frozenset(tenant.lower() for tenant in settings.allowed_tenants)
        self._session = session or requests.Session()
        self._clock = clock
        # Held only by the request that fetches the keys; the others use the cached keys meanwhile, or wait for it
        # only when they have no usable key.
        self._fetch_lock = threading.Lock()
        # The keys and when they were fetched, replaced as one tuple so that readers need no lock.
        self._cache: tuple[dict[str, jwt.PyJWK], float | None] = ({}, None)
        self._attempted_at: float | None = None

    def validate(self, token: str) -> Principal:
        kid = _checked_kid(token)
        claims = self._decode(token, self._signing_key(kid))
        tenant_id, version = self._tenant(claims)
        self._check_audience(claims["aud"], version)
        return _principal(claims, tenant_id, self._settings.required_scope)

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                leeway=self._settings.leeway_seconds,
                # Issuer and audience depend on the token version and tenant; they are checked afterwards.
                options={"require": _REQUIRED_CLAIMS, "verify_iss": False, "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("expired", "The token has expired.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise TokenError("not-yet-valid", "The token is not valid yet.") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenError("bad-signature", "The token signature does not verify.") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError("missing-claim", f"The token has no {exc.claim!r} claim.") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError("malformed", "The token could not be decoded.") from exc

    def _tenant(self, claims: Mapping[str, Any]) -> tuple[str, str]:
        version, issuer_tid = _issuer(claims["iss"])
        tid = claims["tid"]
        if not isinstance(tid, str) or not _GUID.fullmatch(tid.lower()):
            raise TokenError("bad-tenant", "The token's tenant id is not a GUID.")
        tid = tid.lower()
        if issuer_tid.lower() != tid:
            raise TokenError("issuer-tenant-mismatch", "The token's issuer and tenant disagree.")
        if tid not in self._allowed_tenants:
            raise TokenError("tenant-not-allowed", "The token's tenant is not allowed to use this service.")
        return tid, version

    def _check_audience(self, aud: object, version: str) -> None:
        accepted = {self._settings.client_id}
        if version == "1.0" and self._settings.app_id_uri:
            accepted.add(self._settings.app_id_uri)
        if not isinstance(aud, str) or aud not in accepted:
            raise TokenError("bad-audience", "The token was issued for another application.")

    def _age(self, fetched_at: float | None, now: float) -> float:
        return math.inf if fetched_at is None else now - fetched_at

    def _signing_key(self, kid: str) -> jwt.PyJWK:
        cache_seconds = self._settings.jwks_cache_seconds
        keys, fetched_at = self._cache
        age = self._age(fetched_at, self._clock())
        if age < cache_seconds and kid in keys:
            return keys[kid]
        if age < cache_seconds + self._settings.jwks_max_stale_seconds and kid in keys:
            # Expired but still usable: one request refreshes, no one waits for it.
            if self._fetch_lock.acquire(blocking=False):
                try:
                    self._refresh_if_due(fresh=False)
                finally:
                    self._fetch_lock.release()
            return self._cache[0].get(kid, keys[kid])
        # An unknown kid, or no usable keys: wait for the one fetch under way, or make it.
        with self._fetch_lock:
            keys, fetched_at = self._cache
            age = self._age(fetched_at, self._clock())
            if not (age < cache_seconds and kid in keys):
                self._refresh_if_due(fresh=age < cache_seconds)
                keys, fetched_at = self._cache
                age = self._age(fetched_at, self._clock())
        if age >= cache_seconds + self._settings.jwks_max_stale_seconds:
            raise KeysUnavailable("Entra's signing keys could not be fetched, and the cached ones are too old.")
        key = keys.get(kid)
        if key is None:
            raise TokenError("unknown-key", "The token was signed with a key Entra does not publish.")
        return key

    def _refresh_if_due(self, *, fresh: bool) -> None:
        """Fetch unless a fetch was tried too recently: an unknown kid may trigger one fetch per interval, a failed
        fetch is retried after a short pause (requests meanwhile fail fast rather than each wait for a timeout)."""
        now = self._clock()
        since_attempt = math.inf if self._attempted_at is None else now - self._attempted_at
        if since_attempt >= (_UNKNOWN_KID_REFETCH_SECONDS if fresh else _FAILED_FETCH_RETRY_SECONDS):
            self._refresh(now)

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            response = self._session.get(self._settings.jwks_url, timeout=self._settings.http_timeout)
            response.raise_for_status()
            keys = _parse_jwks(response.json())
        except (requests.RequestException, ValueError) as exc:
            if not self._cache[0]:
                raise KeysUnavailable(f"Could not fetch Entra's signing keys: {exc}") from exc
            # Keys rotate rarely and with overlap, so the last good set beats failing every request (for a while).
            log.warning("Refreshing Entra's signing keys failed, keeping the cached ones: %s", exc)
            return
        self._cache = (keys, now)


def _issuer(iss: object) -> tuple[str, str]:
    """Return the token version and the tenant named in `iss`."""
    if isinstance(iss, str):
        for version, pattern in _ISSUERS:
            if match := pattern.fullmatch(iss):
                return version, match["tid"]
    raise TokenError("bad-issuer", "The token was not issued by Entra ID.")


def _checked_kid(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise TokenError("malformed", "The token is not a well-formed JWT.") from exc
    # Decided from the header alone so that no key is ever used with an algorithm we did not choose.
    if header.get("alg") != "RS256":
        raise TokenError("bad-algorithm", "The token must be signed with RS256.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("unknown-key", "The token names no signing key.")
    return kid


def _parse_jwks(document: Any) -> dict[str, jwt.PyJWK]:
    entries = document.get("keys") if isinstance(document, dict) else None
    keys = {}
    for entry in entries if isinstance(entries, list) else []:
        if not (
            isinstance(entry, dict)
            and entry.get("kty") == "RSA"
            and entry.get("use", "sig") == "sig"
            and isinstance(entry.get("kid"), str)
        ):
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256")
        except jwt.PyJWTError:
            log.warning("Ignoring unusable key %r in Entra's JWKS", entry["kid"])
    if not keys:
        raise ValueError("the JWKS holds no RSA signing keys")
    return keys


def _principal(claims: Mapping[str, Any], tenant_id: str, required_scope: str) -> Principal:
    oid, scp, roles = claims["oid"], claims.get("scp"), claims.get("roles", [])
    if not isinstance(oid, str) or not oid:
        raise TokenError("malformed", "The token's object id is not a string.")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise TokenError("malformed", "The token's roles are not a list of strings.")
    app_id = claims.get("azp") or claims.get("appid")
    if scp is None:
        # Client-credentials tokens carry application roles instead of delegated scopes.
        if not roles:
            raise TokenError("missing-scope", "The token has neither delegated scopes nor application roles.")
        return Principal(
            kind="app",
            tenant_id=tenant_id,
            object_id=oid,
            email=None,
            roles=frozenset(roles),
            scopes=frozenset(),
            app_id=app_id,
        )
    if not isinstance(scp, str):
        raise TokenError("malformed", "The token's scopes are not a string.")
    scopes = frozenset(scp.split())
    if required_scope not in scopes:
        raise TokenError("missing-scope", f"The token lacks the {required_scope!r} scope.")
    # Only upn: preferred_username and email are not verified (a user or guest can set them to anything).
    upn = claims.get("upn")
    email = upn.lower() if isinstance(upn, str) and upn else None
    return Principal(
        kind="user",
        tenant_id=tenant_id,
        object_id=oid,
        email=email,
        roles=frozenset(roles),
        scopes=scopes,
        app_id=app_id,
    )
