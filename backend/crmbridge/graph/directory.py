"""A signed-in user's addresses from the directory (Microsoft Graph), cached per tenant and object id.

The user is their tenant and object id; their addresses are what Exchange delivers to them: ``mail`` (the primary
SMTP address) and every ``smtp:`` proxy address. So an activity the CRM pushed under the primary address reaches
a user whose UPN differs, and a renamed UPN changes nothing. Delegated mode reads ``/me`` with the user's own
on-behalf-of token (``User.Read``), application mode ``/users/{oid}`` with the app's (``User.Read.All``)
(https://learn.microsoft.com/graph/api/user-get).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask

from ..auth.obo import ConsentRequired, OboError
from ..domain.addresses import AddressError, parse_identity
from . import setup as graph_setup
from .client import GraphAuthError, GraphError

log = logging.getLogger(__name__)

CACHE = "crmbridge.directory_addresses"
SELECT = ("mail", "proxyAddresses", "userPrincipalName")
MAX_USERS = 10_000
# A lookup that failed (Graph down, throttled) is not retried for this long, so an outage does not add Graph's
# timeout to every request; the upn rule serves meanwhile.
FAILED_LOOKUP_SECONDS = 60


@dataclass(frozen=True)
class UserAddresses:
    """``primary`` is the address mail goes out from; ``every`` holds it and each alias, lower-case."""

    primary: str
    every: frozenset[str]


def addresses_from(user: dict) -> UserAddresses | None:
    """The addresses in Graph's user object: ``mail``, else the ``SMTP:`` (upper case: primary) proxy address, else
    the ``userPrincipalName``, as primary; every ``smtp:``/``SMTP:`` proxy address besides
    (https://learn.microsoft.com/graph/api/resources/user, proxyAddresses). Addresses that are not plain
    ``local@domain`` are left out; None when no usable primary address is left."""
    proxies = [p for p in user.get("proxyAddresses") or [] if isinstance(p, str)]
    smtp = [p[5:] for p in proxies if p[:5].lower() == "smtp:"]
    primary_proxy = next((p[5:] for p in proxies if p.startswith("SMTP:")), None)
    every = _usable([user.get("mail"), *smtp])
    for candidate in (user.get("mail"), primary_proxy, user.get("userPrincipalName")):
        primary = next(iter(_usable([candidate])), None)
        if primary is not None:
            return UserAddresses(primary, every | {primary})
    return None


def _usable(raw: Iterable[object]) -> frozenset[str]:
    found = set()
    for value in raw:
        try:
            found.add(parse_identity(value.strip() if isinstance(value, str) else value).email.lower())
        except AddressError:
            continue
    return frozenset(found)


class AddressCache:
    """Answers per (tenant id, object id) for ``seconds``, at most ``max_users`` of them (the oldest go first)."""

    def __init__(self, seconds: float, max_users: int = MAX_USERS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._max_users = max_users
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, UserAddresses | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[bool, UserAddresses | None]:
        """(found, answer); an answer of None is a remembered failure."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            if entry[0] <= self._clock():
                del self._entries[key]
                return False, None
            return True, entry[1]

    def put(self, key: tuple[str, str], answer: UserAddresses | None) -> None:
        seconds = self._seconds if answer is not None else min(self._seconds, FAILED_LOOKUP_SECONDS)
        if seconds <= 0:
            return
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (self._clock() + seconds, answer)
            while len(self._entries) > self._max_users:
                self._entries.popitem(last=False)


def cache(app: Flask) -> AddressCache:
    found = app.extensions.get(CACHE)
    if found is None:
        found = app.extensions.setdefault(CACHE, AddressCache(app.config["DIRECTORY_CACHE_SECONDS"]))
    return found


def user_addresses(app: Flask, tenant_id: str, object_id: str, assertion: str) -> UserAddresses | None:
    """The user's addresses from Graph, or None when Graph is off or cannot tell (the caller then uses the upn
    claim, also when the app lacks User.Read.All in application mode: logged for the administrator). Raises
    ConsentRequired when the user must consent or satisfy a claims challenge first: the user can act on that."""
    mode = graph_setup.mode(app)
    client = graph_setup.request_client(app)
    if mode == "off" or client is None:
        return None
    key = (tenant_id, object_id)
    found, answer = cache(app).get(key)
    if found:
        return answer
    try:
        if mode == "delegated":
            from ..auth.graph_tokens import graph_token_on_behalf_of

            token = graph_token_on_behalf_of(f"{tenant_id}:{object_id}", assertion, list(graph_setup.SCOPES))
            user = client.with_token(token).get_user(None, SELECT)
        else:
            user = client.get_user(object_id, SELECT)
    except GraphAuthError as exc:
        if exc.claims or (mode == "delegated" and exc.status in (401, 403)):
            # The user's own token: they can act on it (sign in again, consent), as for on-behalf-of refusals.
            raise ConsentRequired(exc.claims, f"Graph refused /me: {exc.status} {exc.code}",
                                  error="insufficient_claims" if exc.claims else "consent_required") from exc
        # The app lacks User.Read.All (application mode): the administrator's to fix (`crmbridge doctor` names it).
        # Until then the upn rule serves, as when Graph is down, rather than nobody signing in at all.
        log.warning("Graph refused reading the signed-in user's addresses (%s %s): the app needs User.Read.All "
                    "(crmbridge doctor --graph); using the upn claim", exc.status, exc.code)
        cache(app).put(key, None)
        return None
    except ConsentRequired:
        raise
    except (GraphError, OboError) as exc:
        # Unreachable, timed out, 5xx, throttled; or Entra would not give a token. Type and status only.
        log.warning("Reading the signed-in user's addresses from Graph failed (%s %s); using the upn claim",
                    type(exc).__name__, getattr(exc, "status", None) or getattr(exc, "error", None) or "")
        cache(app).put(key, None)
        return None
    answer = addresses_from(user)
    cache(app).put(key, answer)
    return answer
