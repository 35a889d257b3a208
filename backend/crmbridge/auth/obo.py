"""On-behalf-of tokens for Microsoft Graph, with each user's msal token cache kept encrypted in our store."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol
from urllib.parse import urlsplit

import msal
import requests
from cryptography.fernet import Fernet, InvalidToken
from msal.exceptions import MsalServiceError
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

_CONSENT_ERRORS = frozenset({"interaction_required", "consent_required", "login_required"})
_UNAVAILABLE_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


class OboError(Exception):
    """Entra would not issue a Graph token on the user's behalf; `error` is Entra's OAuth error code."""

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error = error


class ConsentRequired(OboError):
    """The user must consent or satisfy a policy (MFA, ...) in the taskpane.

    `claims` is Entra's claims challenge, to be passed to MSAL.js when it asks for a new token.
    """

    def __init__(self, claims: str | None, message: str, *, error: str | None = None) -> None:
        super().__init__(message, error=error)
        self.claims = claims


class IdentityUnavailable(OboError):
    """Entra ID could not be reached, timed out or failed on its side."""


class SignInNeeded(OboError):
    """Background work for a user found no usable refresh token in their cache (none yet, expired or revoked):
    it waits until the user signs in again in the taskpane."""


class TokenCacheStore(Protocol):
    def load(self, user_key: str) -> str | None: ...

    def save(self, user_key: str, blob: str) -> None: ...


class MemoryTokenCacheStore:
    def __init__(self) -> None:
        self.blobs: dict[str, str] = {}

    def load(self, user_key: str) -> str | None:
        return self.blobs.get(user_key)

    def save(self, user_key: str, blob: str) -> None:
        self.blobs[user_key] = blob


class CacheCipher:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key)

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """Raises `cryptography.fernet.InvalidToken` for a wrong key or tampered data."""
        return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")


class EncryptedTokenCacheStore:
    def __init__(self, inner: TokenCacheStore, cipher: CacheCipher) -> None:
        self._inner = inner
        self._cipher = cipher

    def load(self, user_key: str) -> str | None:
        blob = self._inner.load(user_key)
        if blob is None:
            return None
        try:
            return self._cipher.decrypt(blob)
        except (InvalidToken, UnicodeError):
            # A rotated key or a damaged row only costs one extra on-behalf-of call.
            log.warning("Discarding a token cache that does not decrypt")
            return None

    def save(self, user_key: str, blob: str) -> None:
        self._inner.save(user_key, self._cipher.encrypt(blob))


class _TimeoutSession(requests.Session):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout
        # msal leaves retries to a caller-supplied client; this matches its default of one retry on connect.
        adapter = HTTPAdapter(max_retries=1)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


class OnBehalfOfClient:
    """Exchanges the user's access token for our API for a Graph token (on-behalf-of flow).

    msal binds a ConfidentialClientApplication to one token cache for its lifetime (callbacks are bound at
    construction), so per-user caches mean one application per call, as msal's own web-app library does.
    What is worth sharing is shared: the HTTP session and msal's `http_cache`, which keeps the authority's
    OpenID configuration (so it is fetched once a day, not per call) and Entra's throttling state.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        authority: str,
        store: TokenCacheStore,
        http_timeout: float = 10,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._authority = authority.rstrip("/")
        self._store = store
        self._http = _TimeoutSession(http_timeout)
        self._http_cache: dict[str, Any] = {}

    def graph_token(
        self, user_key: str, assertion: str, scopes: list[str], *, tenant_id: str | None = None
    ) -> str:
        """Return a Graph access token for the user; never hand it to the client.

        `user_key` names the user's cache partition (e.g. "tid:oid"). Pass the validated principal's
        `tenant_id` when the configured authority is multi-tenant: Entra wants OBO sent to the user's tenant.
        """
        cache = self._load_cache(user_key)
        try:
            app = self._msal_app(cache, tenant_id)
            result = _from_cache(app, scopes) or app.acquire_token_on_behalf_of(assertion, scopes)
        except (requests.RequestException, MsalServiceError, json.JSONDecodeError) as exc:
            # msal raises MsalServiceError for HTTP 5xx and lets network errors through.
            raise IdentityUnavailable(f"Entra ID did not answer: {type(exc).__name__}") from exc
        if cache.has_state_changed:
            self._store.save(user_key, cache.serialize())
        return _access_token(result)

    def silent_token(self, user_key: str, scopes: list[str], *, tenant_id: str | None = None) -> str:
        """A Graph token for the user without their request: from the cache, or refreshed with the refresh token
        the last on-behalf-of exchange left there (msal's ``acquire_token_silent``). Raises SignInNeeded when the
        cache holds no account or Entra refuses the refresh."""
        cache = self._load_cache(user_key)
        try:
            app = self._msal_app(cache, tenant_id)
            accounts = app.get_accounts()
            # The "with error" variant keeps Entra's answer to a refused refresh (invalid_grant, ...).
            result = app.acquire_token_silent_with_error(scopes, account=accounts[0]) if accounts else None
        except (requests.RequestException, MsalServiceError, json.JSONDecodeError) as exc:
            raise IdentityUnavailable(f"Entra ID did not answer: {type(exc).__name__}") from exc
        if cache.has_state_changed:
            self._store.save(user_key, cache.serialize())
        if not result:
            raise SignInNeeded("no usable refresh token in the user's cache", error="no_refresh_token")
        try:
            return _access_token(result)
        except IdentityUnavailable:
            raise
        except OboError as exc:
            raise SignInNeeded(exc.message, error=exc.error) from exc

    def _load_cache(self, user_key: str) -> msal.SerializableTokenCache:
        """The user's stored token cache (an empty one when it is missing or not valid JSON)."""
        cache = msal.SerializableTokenCache()
        blob = self._store.load(user_key)
        if blob:
            try:
                cache.deserialize(blob)
            except ValueError:
                log.warning("Discarding a token cache that is not valid JSON")
        return cache

    def _msal_app(self, cache: msal.SerializableTokenCache,
                  tenant_id: str | None) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            self._client_id, client_credential=self._client_secret, authority=self._authority_for(tenant_id),
            token_cache=cache, http_client=self._http, http_cache=self._http_cache, instance_discovery=False,
        )

    def _authority_for(self, tenant_id: str | None) -> str:
        if tenant_id is None:
            return self._authority
        parts = urlsplit(self._authority)
        return f"{parts.scheme}://{parts.netloc}/{tenant_id}"


def _from_cache(app: msal.ConfidentialClientApplication, scopes: list[str]) -> dict[str, Any] | None:
    # The cache holds one user's tokens, so its account is the one to use; msal refreshes with the
    # cached refresh token when the access token is about to expire.
    accounts = app.get_accounts()
    return app.acquire_token_silent(scopes, account=accounts[0]) if accounts else None


def _access_token(result: dict[str, Any]) -> str:
    if "access_token" in result:
        return result["access_token"]
    error = result.get("error")
    # Entra's descriptions hold an AADSTS code, a sentence and trace ids; no secrets.
    description = (result.get("error_description") or "").splitlines()[:1]
    message = f"{error}: {description[0]}" if description else f"{error}"
    challenged = error == "invalid_grant" and (result.get("suberror") or result.get("claims"))
    if error in _CONSENT_ERRORS or challenged:
        raise ConsentRequired(result.get("claims"), message, error=error)
    if error in _UNAVAILABLE_ERRORS:
        raise IdentityUnavailable(message, error=error)
    raise OboError(message, error=error)
