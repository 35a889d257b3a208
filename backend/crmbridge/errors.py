"""The one JSON error shape: ``{"code": 422, "message": "…", "errors": {"field": ["…"]}}``.

Every error leaves the app through here: HTTP errors, validation errors, domain errors and the 500 fallback,
which logs the exception and hides its details from the caller.
"""

import base64
import logging
import traceback

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from . import request_id
from .auth.entra import KeysUnavailable
from .auth.obo import ConsentRequired, IdentityUnavailable, OboError
from .domain.errors import AlreadyLinked, DomainError, Gone, InvalidInput, NotAllowed, StaleVersion
from .domain.errors import Conflict as DomainConflict
from .domain.errors import NotFound as DomainNotFound
from .graph.client import GraphAuthError, GraphError

log = logging.getLogger(__name__)

# Messages a person can act on, for the statuses werkzeug would otherwise describe in its own words.
MESSAGES = {
    400: "The request is not valid JSON, or not what this endpoint takes.",
    401: "Sign in again: the request carries no valid access token.",
    403: "You are signed in, but not allowed to do this.",
    404: "Not found, or not yours to see.",
    405: "This endpoint does not take that method.",
    409: "This conflicts with what is already stored.",
    410: "This is no longer here: the CRM deleted it or moved it to someone else.",
    412: "Someone changed this since you loaded it. Reload and try again.",
    413: "The request body is too large.",
    415: "Send the body as JSON (Content-Type: application/json).",
    422: "Some fields are not valid.",
    428: "Send the If-Match header with the ETag you loaded, so no change is lost.",
    500: "Something went wrong on our side. Try again; if it keeps happening, contact your administrator.",
    503: "A service we depend on is unavailable. Try again in a minute.",
}


class ApiError(Exception):
    """An error with a status, a message for people and optional per-field messages."""

    status = 400

    def __init__(self, message: str | None = None, errors: dict | None = None, status: int | None = None,
                 headers: dict | None = None, extra: dict | None = None):
        if status is not None:
            self.status = status
        self.message = message or MESSAGES.get(self.status, "Request failed.")
        self.errors = errors or {}
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.message)


class Unauthorized(ApiError):
    status = 401

    def __init__(self, message: str | None = None, error: str = "invalid_token"):
        description = (message or MESSAGES[401]).replace('"', "'")
        super().__init__(message, headers={
            "WWW-Authenticate": f'Bearer realm="crmbridge", error="{error}", error_description="{description}"'
        })


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PreconditionFailed(ApiError):
    status = 412


class PreconditionRequired(ApiError):
    status = 428


def error_response(status: int, message: str, errors: dict | None = None, headers: dict | None = None,
                   extra: dict | None = None):
    body = {"code": status, "message": message, "errors": errors or {}}
    if extra:
        body.update(extra)
    body["requestId"] = request_id.current()  # what the taskpane shows; the log lines of this request carry it
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow nests errors by field and index; the shape is flat dotted paths with lists of messages."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": messages}
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, path))
        return flat
    return {prefix or "_schema": [str(messages)]}


def handle_api_error(error: ApiError):
    return error_response(error.status, error.message, error.errors, error.headers, error.extra)


_DOMAIN_STATUS = {DomainNotFound: 404, NotAllowed: 403, AlreadyLinked: 409, DomainConflict: 409, StaleVersion: 412}


def handle_domain_error(error: DomainError):
    if isinstance(error, InvalidInput):
        return error_response(422, MESSAGES[422], error.errors)
    if isinstance(error, DomainConflict):
        status = 410 if isinstance(error, Gone) else 409
        return error_response(status, str(error), extra={"reason": error.reason, **error.details})
    status = next((code for kind, code in _DOMAIN_STATUS.items() if isinstance(error, kind)), 400)
    return error_response(status, str(error) or MESSAGES.get(status, "Request failed."))


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    errors = {}
    data = getattr(error, "data", None)  # webargs puts validation messages here
    if isinstance(data, dict) and "messages" in data:
        messages = data["messages"]
        # webargs groups by location ("json", "query", ...); callers only need the field paths.
        if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in (
            "json", "query", "headers", "form", "files", "view_args", "querystring",
        ):
            messages = next(iter(messages.values()))
        errors = _flatten(messages)
        if status == 400 and "_schema" in errors and any("Invalid JSON" in m for m in errors["_schema"]):
            errors = {}
    message = MESSAGES.get(status, error.description or "Request failed.")
    headers = {}
    if status == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return error_response(status, message, errors, headers)


IDENTITY_MESSAGES = {
    KeysUnavailable: "Your sign-in cannot be checked right now: Microsoft Entra ID does not answer. "
                     "Try again in a minute.",
    IdentityUnavailable: "Microsoft Entra ID does not answer, so your Outlook calendar cannot be reached right now. "
                         "Try again in a minute.",
    OboError: "Microsoft Entra ID refused this server access to your Outlook calendar. "
              "Ask your administrator to check the app registration (`crmbridge doctor`).",
    ConsentRequired: "Microsoft asks you to sign in again or to approve access before your Outlook calendar "
                     "can be reached.",
}


def handle_identity_error(error: Exception):
    """Entra ID could not check the caller's token, or would not give us a Graph token for them."""
    if isinstance(error, ConsentRequired):
        # The taskpane passes the claims challenge to MSAL.js, which signs the user in again to satisfy it.
        if error.claims:
            encoded = base64.b64encode(error.claims.encode("utf-8")).decode("ascii")
            challenge = f'Bearer realm="crmbridge", error="insufficient_claims", claims="{encoded}"'
            extra = {"claims": error.claims}
        else:
            challenge, extra = 'Bearer realm="crmbridge", error="interaction_required"', None
        return error_response(401, IDENTITY_MESSAGES[ConsentRequired], headers={"WWW-Authenticate": challenge},
                              extra=extra)
    # Entra's error code and first description line: no tokens, no secrets.
    log.warning("Microsoft Entra ID: %s: %s", type(error).__name__, error)
    for unavailable in (KeysUnavailable, IdentityUnavailable):
        if isinstance(error, unavailable):
            return error_response(503, IDENTITY_MESSAGES[unavailable], headers={"Retry-After": "60"})
    return error_response(503, getattr(error, "public_message", IDENTITY_MESSAGES[OboError]))


GRAPH_MESSAGES = {
    GraphAuthError: "This server may not read your Outlook calendar (a Microsoft Graph permission is missing). "
                    "Ask your administrator to run `crmbridge doctor`.",
    GraphError: "Your Outlook calendar did not answer in time. Try again in a moment.",
}


def handle_graph_error(error: GraphError):
    """A call to Microsoft Graph that the caller waited for failed: 503, never a half-done change (those calls
    come before any write), with Retry-After when Graph is only slow or busy."""
    log.warning("Microsoft Graph: %s %s %s", type(error).__name__, error.status or "no answer", error.code)
    if isinstance(error, GraphAuthError):
        return error_response(503, GRAPH_MESSAGES[GraphAuthError])
    retry_after = max(1, min(60, round(error.retry_after or 5)))
    return error_response(503, GRAPH_MESSAGES[GraphError], headers={"Retry-After": str(retry_after)})


def handle_unexpected(error: Exception):
    # Only the type and the stack: exception messages (SQL errors carry their parameters) may hold note text.
    stack = "\n".join(f"  {f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(error.__traceback__))
    log.error("unhandled %s.%s\n%s", type(error).__module__, type(error).__name__, stack)
    return error_response(500, MESSAGES[500])


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(KeysUnavailable, handle_identity_error)
    app.register_error_handler(OboError, handle_identity_error)
    app.register_error_handler(GraphError, handle_graph_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
