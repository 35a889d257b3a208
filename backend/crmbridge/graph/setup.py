"""Where crmbridge gets its Microsoft Graph clients: the one place that wires real token providers.

``CRMBRIDGE_GRAPH_MODE`` picks the credentials:

- ``off`` (default): no Graph calls at all; everything else works.
- ``delegated``: API requests call Graph on behalf of the signed-in organizer (on-behalf-of token); the worker
  acts for each organizer with the refresh token in that organizer's token cache. The commands that go through
  every mailbox (``crmbridge scan``, ``subscriptions``, ``domains sync``) need application mode.
- ``application``: the app's own token (client credentials), for requests and background work alike.

Tests and benchmarks call ``install`` with a client of their own (a static token against ``responses`` or the
fake Graph server); nothing else in the code knows where tokens come from.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from .client import GraphClient

EXTENSION = "crmbridge.graph"
# .default: every Graph permission the admin consented to (Calendars.ReadWrite, User.Read), as on-behalf-of wants.
SCOPES = ("https://graph.microsoft.com/.default",)
# An API request waits for Graph once, briefly; what fails is left in the outbox for `crmbridge sync`.
REQUEST_TIMEOUT = (3.05, 10.0)
REQUEST_RETRIES = 0


class GraphModeRefused(RuntimeError):
    """Graph work was asked for in a mode that cannot do it; the message says what to set."""


@dataclass
class GraphWiring:
    mode: str
    request_client: GraphClient | None
    background_client: GraphClient | None


def init_app(app: Flask) -> GraphWiring:
    """Build the clients for the configured mode (once per app; later calls return the same wiring)."""
    wiring = app.extensions.get(EXTENSION)
    if wiring is None:
        wiring = _from_config(app.config)
        app.extensions[EXTENSION] = wiring
    return wiring


def install(app: Flask, client: GraphClient, *, request_client: GraphClient | None = None,
            mode: str = "application") -> GraphWiring:
    """Use these clients instead of the configured ones (tests, benchmarks)."""
    wiring = GraphWiring(mode=mode, request_client=request_client or client, background_client=client)
    app.extensions[EXTENSION] = wiring
    return wiring


def mode(app: Flask) -> str:
    return init_app(app).mode


def request_client(app: Flask) -> GraphClient | None:
    """The client for work done inside an API request, or None when Graph is off."""
    return init_app(app).request_client


def background_client(app: Flask, *, every_mailbox: bool = False) -> GraphClient:
    """The client for work outside a request (the worker, the CLI). ``every_mailbox``: work that goes through
    every organizer's mailbox or the directory (scans, subscriptions, domains), which only the app's own token can
    do. Raises GraphModeRefused when the mode cannot do it."""
    wiring = init_app(app)
    if wiring.background_client is None or (every_mailbox and wiring.mode != "application"):
        raise GraphModeRefused(
            "This Graph work needs CRMBRIDGE_GRAPH_MODE=application (it is "
            f"'{wiring.mode}'): without a signed-in organizer only the app's own token can reach the mailboxes."
        )
    return wiring.background_client


def application_tenant(config) -> str:
    """The tenant of the app's own token in application mode: the one in CRMBRIDGE_ENTRA_TENANTS ("" when none is
    configured, as in development with a fake Graph)."""
    tenants = config.get("ENTRA_TENANTS") or []
    return tenants[0] if len(tenants) == 1 else ""


def problems(config) -> list[tuple[bool, str]]:
    """What keeps the Graph features from working, as (required, words an administrator can act on), for
    ``crmbridge doctor``. Required ones break the configured mode; the others switch a part off."""
    graph_mode = config.get("GRAPH_MODE", "off")
    if graph_mode == "off":
        return []
    found = []
    for setting, key in (("CRMBRIDGE_ENTRA_CLIENT_ID", "ENTRA_CLIENT_ID"),
                         ("CRMBRIDGE_ENTRA_CLIENT_SECRET", "ENTRA_CLIENT_SECRET")):
        if not config.get(key):
            found.append((True, f"{setting} is not set: Graph tokens need the app registration."))
    if graph_mode == "application" and len(config.get("ENTRA_TENANTS") or []) != 1:
        found.append((True, "application mode needs exactly one tenant in CRMBRIDGE_ENTRA_TENANTS."))

    if graph_mode == "delegated":
        if not config.get("TOKEN_CACHE_KEY"):
            found.append((True, "delegated mode needs CRMBRIDGE_TOKEN_CACHE_KEY (on-behalf-of token caches)."))
        found.append((False, "delegated mode: `crmbridge scan`, `subscriptions` and `domains sync` need application "
                             "mode; the worker brings the internal meetings along with each organizer's own token."))
    url = config.get("GRAPH_NOTIFICATION_URL") or ""
    if not url:
        found.append((False, "CRMBRIDGE_GRAPH_NOTIFICATION_URL is not set: no change notifications; drift is "
                             "found by `crmbridge scan` only."))
    elif not url.startswith("https://"):
        found.append((True, "CRMBRIDGE_GRAPH_NOTIFICATION_URL must be https:// for Graph to deliver to it."))
    if url and not config.get("GRAPH_CLIENT_STATE"):
        found.append((True, "CRMBRIDGE_GRAPH_CLIENT_STATE is not set: every change notification would be refused."))
    return found


# What each mode needs from the app registration: (permission, kind, required, what for). Application permissions
# are in an app-only token's ``roles`` claim (entra:docs/identity-platform/access-tokens.md).
PERMISSIONS = {
    "application": (
        ("Calendars.ReadWrite", "application", True, "internal meeting sync, scans, subscriptions"),
        # graph:api-reference/v1.0/api/user-get.md (https://learn.microsoft.com/graph/api/user-get)
        ("User.Read.All", "application", True, "each signed-in user's addresses (GET /users/{id}): their primary "
                                               "SMTP address and aliases"),
        ("Organization.Read.All", "application", False, "`crmbridge domains sync` and the domain step of "
                                                        "`crmbridge scan`, which goes on without it"),
    ),
    "delegated": (
        ("Calendars.ReadWrite", "delegated", True, "the organizer's internal meeting, consented for on-behalf-of"),
        ("User.Read", "delegated", True, "sign-in, the organization's domains and the user's own addresses "
                                          "(GET /me)"),
    ),
}


def permissions_needed(mode: str) -> str:
    """The permissions of ``mode`` in words, for ``crmbridge doctor``."""
    needs = ", ".join(f"{name} ({kind}{'' if required else ', optional'})"
                      for name, kind, required, _ in PERMISSIONS.get(mode, ()))
    return (f"needs the permissions {needs}, with admin consent (`crmbridge doctor --graph` asks Entra ID which "
            "are granted)") if needs else ""


def permission_problems(mode: str, granted: set[str]) -> list[tuple[bool, str]]:
    """The permissions of ``mode`` that ``granted`` (an app token's roles) lacks, as ``problems`` words them."""
    return [(required, f"the {kind} permission {name} is not granted ({what}).")
            for name, kind, required, what in PERMISSIONS.get(mode, ()) if name not in granted]


def granted_roles(token: str) -> set[str]:
    """The ``roles`` claim of an access token Entra just issued to this app (read, not verified: it only tells the
    administrator what was consented)."""
    import base64
    import json

    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return set()
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return {r for r in roles if isinstance(r, str)} if isinstance(roles, list) else set()


def _from_config(config) -> GraphWiring:
    graph_mode = config.get("GRAPH_MODE", "off")
    base_url = config.get("GRAPH_BASE_URL") or "https://graph.microsoft.com/v1.0"
    cap = float(config.get("GRAPH_RETRY_AFTER_CAP", 60))
    if graph_mode == "application":
        background = GraphClient(_application_token, base_url=base_url, retry_after_cap=cap)
        in_request = GraphClient(_application_token, base_url=base_url, timeout=REQUEST_TIMEOUT,
                                 max_retries=REQUEST_RETRIES, retry_after_cap=cap)
        return GraphWiring(graph_mode, in_request, background)
    if graph_mode == "delegated":
        in_request = GraphClient(_delegated_token, base_url=base_url, timeout=REQUEST_TIMEOUT,
                                 max_retries=REQUEST_RETRIES, retry_after_cap=cap)
        # The worker acts for each organizer with the refresh token in their own cache.
        background = GraphClient(_organizer_token, base_url=base_url, retry_after_cap=cap)
        return GraphWiring(graph_mode, in_request, background)
    return GraphWiring("off", None, None)


def _application_token(mailbox: str) -> str:
    from ..auth.graph_tokens import app_graph_token

    return app_graph_token()


def _organizer_token(mailbox: str) -> str:
    from ..auth.graph_tokens import graph_token_for_organizer

    return graph_token_for_organizer(mailbox, list(SCOPES))


def _delegated_token(mailbox: str) -> str:
    # On behalf of the request's user: valid for that user's own mailbox (and /organization) only. The sync
    # only asks for the caller's own mailbox in this mode.
    from ..auth.graph_tokens import graph_token_for_current_user

    return graph_token_for_current_user(list(SCOPES))
