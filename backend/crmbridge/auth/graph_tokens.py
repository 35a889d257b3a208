"""Microsoft Graph tokens for the backend: on the signed-in user's behalf, or as the application itself.

Graph tokens never leave the backend. Both functions raise ``obo.OboError`` subclasses, which ``errors`` turns
into responses the taskpane can act on: ``ConsentRequired`` (401 with Entra's claims challenge),
``IdentityUnavailable`` (503), ``GraphNotConfigured`` and any other refusal (503).
"""

import json
import logging
import threading

import msal
import requests
from flask import Flask, current_app
from msal.exceptions import MsalServiceError

from .. import db
from ..token_cache_store import DatabaseTokenCacheStore, encrypted_store
from .obo import IdentityUnavailable, OboError, OnBehalfOfClient, SignInNeeded, _access_token
from .request import current_caller, entra_assertion

log = logging.getLogger(__name__)

OBO_CLIENT = "crmbridge.obo_client"
TOKEN_CACHES = "crmbridge.token_caches"
APP_TOKENS = "crmbridge.app_graph_tokens"
AUTHORITY_HOST = "https://login.microsoftonline.com"
GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
HTTP_TIMEOUT_SECONDS = 10


class GraphNotConfigured(OboError):
    """This server cannot get the Graph token asked for; the message says what an administrator must set."""

    public_message = ("This server is not set up to reach Outlook calendars through Microsoft Graph. "
                      "Ask your administrator to run `crmbridge doctor`.")


def init_app(app: Flask) -> None:
    """One on-behalf-of client and one app-token provider per process, when their settings are there."""
    config = app.config
    client_id, secret, key = config["ENTRA_CLIENT_ID"], config["ENTRA_CLIENT_SECRET"], config["TOKEN_CACHE_KEY"]
    app.extensions[OBO_CLIENT] = None
    app.extensions[APP_TOKENS] = None
    app.extensions[TOKEN_CACHES] = DatabaseTokenCacheStore(app.extensions[db.EXTENSION])
    if client_id and secret and key:
        # "organizations" is only a base: every exchange goes to the user's own tenant.
        store = encrypted_store(app.extensions[db.EXTENSION], key)
        app.extensions[OBO_CLIENT] = OnBehalfOfClient(client_id, secret, f"{AUTHORITY_HOST}/organizations", store,
                                                      http_timeout=HTTP_TIMEOUT_SECONDS)
    if client_id and secret:
        app.extensions[APP_TOKENS] = AppGraphTokens(client_id, secret, config["ENTRA_TENANTS"])


def graph_token_for_current_user(scopes: list[str]) -> str:
    """A Graph token for the signed-in user (on-behalf-of the request's own access token), from their cache if
    it still holds one. ``scopes`` like ``["https://graph.microsoft.com/Calendars.ReadWrite"]``."""
    caller = current_caller()
    assertion = entra_assertion()
    if not caller.is_user or assertion is None:
        raise GraphNotConfigured(
            "Only a user signed in with Microsoft Entra ID has Graph tokens on their behalf "
            f"(this caller: {caller.kind}, {'Entra' if assertion else 'development'} token).",
            error="no_user_assertion",
        )
    token = graph_token_on_behalf_of(caller.subject, assertion, scopes)
    signed_in(current_app._get_current_object(), caller.subject, caller.email)
    return token


def graph_token_on_behalf_of(user_key: str, assertion: str, scopes: list[str]) -> str:
    """A Graph token for the user ``user_key`` ("tid:oid") whose access token for our API is ``assertion``, from
    their cache if it still holds one; the exchange goes to their own tenant."""
    client = current_app.extensions.get(OBO_CLIENT)
    if client is None:
        raise GraphNotConfigured("On-behalf-of needs CRMBRIDGE_ENTRA_CLIENT_ID, CRMBRIDGE_ENTRA_CLIENT_SECRET "
                                 "and CRMBRIDGE_TOKEN_CACHE_KEY.", error="not_configured")
    return client.graph_token(user_key, assertion, list(scopes), tenant_id=user_key.partition(":")[0])


def signed_in(app: Flask, user_key: str, email: str) -> None:
    """The user's cache holds a fresh refresh token: note their mailbox for the worker, and give their jobs that
    waited for a sign-in their turn now."""
    from .. import store
    from ..graph.sync import release_waiting_for_sign_in

    mailbox = store.organizer_key(email)
    app.extensions[TOKEN_CACHES].remember_mailbox(user_key, mailbox)
    with db.standalone_session(app) as session:
        release_waiting_for_sign_in(session, mailbox)


def graph_token_for_organizer(mailbox: str, scopes: list[str]) -> str:
    """Delegated mode, outside a request (the worker): a Graph token for ``mailbox``'s owner from their own token
    cache, refreshed with the refresh token their last sign-in left there. Raises SignInNeeded when there is none
    or Entra refuses it: the work waits for their next sign-in in the taskpane."""
    client = current_app.extensions.get(OBO_CLIENT)
    if client is None:
        raise GraphNotConfigured("On-behalf-of needs CRMBRIDGE_ENTRA_CLIENT_ID, CRMBRIDGE_ENTRA_CLIENT_SECRET "
                                 "and CRMBRIDGE_TOKEN_CACHE_KEY.", error="not_configured")
    user_key = current_app.extensions[TOKEN_CACHES].user_key_for(mailbox)
    if user_key is None:
        raise SignInNeeded("the organizer has not signed in on this server yet", error="no_token_cache")
    return client.silent_token(user_key, list(scopes), tenant_id=user_key.partition(":")[0])


def app_graph_token(tenant_id: str | None = None) -> str:
    """A Graph token for the application itself (client credentials, the application permissions an admin
    granted), for ``tenant_id`` or the one allowed tenant."""
    provider = current_app.extensions.get(APP_TOKENS)
    if provider is None:
        raise GraphNotConfigured("App-only Graph access needs CRMBRIDGE_ENTRA_CLIENT_ID and "
                                 "CRMBRIDGE_ENTRA_CLIENT_SECRET.", error="not_configured")
    return provider.token(tenant_id)


class AppGraphTokens:
    """One long-lived msal application per tenant; msal keeps the app token in memory until it nears expiry."""

    def __init__(self, client_id: str, client_secret: str, tenants: list[str]) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._tenants = list(tenants)
        self._apps: dict[str, msal.ConfidentialClientApplication] = {}
        self._lock = threading.Lock()

    def token(self, tenant_id: str | None = None) -> str:
        tenant = (tenant_id or self._only_tenant()).lower()
        if tenant not in self._tenants:
            raise GraphNotConfigured(f"Tenant {tenant} is not in CRMBRIDGE_ENTRA_TENANTS.", error="not_configured")
        try:
            result = self._app(tenant).acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])
        except (requests.RequestException, MsalServiceError, json.JSONDecodeError) as exc:
            raise IdentityUnavailable(f"Entra ID did not answer: {type(exc).__name__}") from exc
        except ValueError as exc:  # msal's word for an authority Entra does not know
            raise OboError(f"Entra ID refused the authority for tenant {tenant}.", error="invalid_authority") from exc
        # The same mapping as for on-behalf-of results: access_token, else our exception for Entra's error.
        return _access_token(result)

    def _only_tenant(self) -> str:
        if len(self._tenants) != 1:
            raise GraphNotConfigured("Name the tenant: CRMBRIDGE_ENTRA_TENANTS lists "
                                     f"{len(self._tenants)} tenants.", error="not_configured")
        return self._tenants[0]

    def _app(self, tenant: str) -> msal.ConfidentialClientApplication:
        with self._lock:
            if tenant not in self._apps:
                self._apps[tenant] = msal.ConfidentialClientApplication(
                    self._client_id,
                    client_credential=self._client_secret,
                    authority=f"{AUTHORITY_HOST}/{tenant}",
                    timeout=HTTP_TIMEOUT_SECONDS,
                    instance_discovery=False,
                )
            return self._apps[tenant]
