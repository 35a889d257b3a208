"""Authenticating each API request: the Bearer token becomes a Caller, or the request gets 401 (or 403, 503).

Microsoft Entra ID access tokens are always accepted once configured; development tokens only where the app
allows them (development and test modes). The raw token stays in the request context for the on-behalf-of
exchange (``graph_tokens``) and is never logged.
"""

import logging

import jwt
from flask import Flask, current_app, g, request

from .. import org
from ..domain.addresses import AddressError, parse_identity
from ..domain.classification import Kind, classify
from ..errors import Forbidden, Unauthorized
from ..graph import directory
from . import dev_tokens
from .caller import INTEGRATION_ROLE, Caller
from .entra import EntraSettings, EntraTokenValidator, Principal, TokenError

log = logging.getLogger(__name__)

VALIDATOR = "crmbridge.entra_validator"


def init_app(app: Flask) -> None:
    """One validator per app (it caches Entra's signing keys), or None when Entra ID is not configured."""
    app.extensions[VALIDATOR] = entra_validator(app.config)


def entra_validator(config) -> EntraTokenValidator | None:
    if not (config.get("ENTRA_CLIENT_ID") and config.get("ENTRA_TENANTS")):
        return None
    return EntraTokenValidator(EntraSettings(
        client_id=config["ENTRA_CLIENT_ID"],
        app_id_uri=config.get("ENTRA_APP_ID_URI") or None,
        allowed_tenants=frozenset(config["ENTRA_TENANTS"]),
        app_role=INTEGRATION_ROLE,
    ))


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Sign in: the request has no 'Authorization: Bearer' access token.", error="invalid_request")
    return token.strip()


def authenticate() -> None:
    """``before_request`` hook of the API blueprints."""
    if request.method == "OPTIONS":
        return
    token = bearer_token()
    if dev_tokens.looks_like(token):
        g.caller = _dev_caller(token)
        return
    validator = current_app.extensions.get(VALIDATOR)
    if validator is None:
        raise Unauthorized("This server is not set up for Microsoft sign-in yet; ask your administrator.")
    try:
        principal = validator.validate(token)
    except TokenError as exc:
        log.info("Refused an access token: %s", exc.reason)
        if exc.reason == "missing-scope" and _is_app_only(token):
            # The validator names a missing scope only after the signature, tenant and audience checked out.
            raise Forbidden(f"This application has no app role for crmbridge; an administrator must grant it "
                            f"{INTEGRATION_ROLE}.") from exc
        raise Unauthorized(exc.message) from exc
    g.caller = _entra_caller(principal, token)
    g.entra_assertion = token


def _dev_caller(token: str) -> Caller:
    config = current_app.config
    if not config["DEV_TOKENS"] or config["CRMBRIDGE_ENV"] == "production":
        raise Unauthorized("Development tokens are not accepted here. Sign in with your Microsoft account.")
    try:
        return dev_tokens.verify(config["SECRET_KEY"], token)
    except dev_tokens.DevTokenError as exc:
        raise Unauthorized(f"{exc}.") from exc


def _entra_caller(principal: Principal, assertion: str) -> Caller:
    """The user is their tenant and object id. Their addresses come from Graph when Graph is on (the primary SMTP
    address and its aliases, so a UPN that differs from it or was renamed changes nothing), else from the upn
    claim; either way only addresses at their tenant's organization domains count: a guest's or a look-alike
    address names no one here."""
    subject = f"{principal.tenant_id}:{principal.object_id}"
    if principal.kind == "app":
        return Caller(kind="app", email=None, subject=subject, roles=principal.roles, tenant_id=principal.tenant_id)
    org_domains = org.for_tenant(principal.tenant_id)
    found = directory.user_addresses(current_app._get_current_object(), principal.tenant_id, principal.object_id,
                                     assertion)
    if found is None:
        primary, addresses = _upn_address(principal), frozenset()
    else:
        primary = found.primary
        addresses = frozenset(a for a in found.every if _internal(a, org_domains))
    if not _internal(primary, org_domains):
        raise Forbidden(f"{primary} is not an address of your organization's domains; ask your administrator "
                        "to add the domain (`crmbridge domains add`).")
    return Caller(kind="user", email=primary, subject=subject, roles=principal.roles,
                  tenant_id=principal.tenant_id, object_id=principal.object_id, addresses=addresses | {primary})


def _upn_address(principal: Principal) -> str:
    try:
        return parse_identity(principal.email).email.lower()
    except AddressError as exc:
        raise Unauthorized("The token names no usable address (upn); sign in with your work account.") from exc


def _internal(address: str, org_domains) -> bool:
    return classify(address, "required", org_domains).kind is Kind.INTERNAL


def _is_app_only(token: str) -> bool:
    # Delegated (user) tokens always carry scp; client-credentials tokens never do.
    return "scp" not in jwt.decode(token, options={"verify_signature": False})


def current_caller() -> Caller:
    return g.caller


def entra_assertion() -> str | None:
    """The request's Entra access token, for the on-behalf-of exchange; None for development tokens."""
    return g.get("entra_assertion")
