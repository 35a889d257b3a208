"""Authenticating each API request: the Bearer token becomes a Caller, or the request gets 401."""

from flask import current_app, g, request

from ..errors import Unauthorized
from . import dev_tokens
from .caller import Caller


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
        if not current_app.config["DEV_TOKENS"]:
            raise Unauthorized("Development tokens are not accepted here. Sign in with your Microsoft account.")
        try:
            g.caller = dev_tokens.verify(current_app.config["SECRET_KEY"], token)
        except dev_tokens.DevTokenError as exc:
            raise Unauthorized(f"{exc}.") from exc
        return
    raise Unauthorized("The access token is not valid here. Sign in again.")


def current_caller() -> Caller:
    return g.caller
