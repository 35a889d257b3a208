"""The one client for Microsoft Graph: timeouts, retries, throttling and our own exceptions.

Every request carries a bearer token from ``token_provider(mailbox)`` and ``Prefer: IdType="ImmutableId"``
so that stored event ids survive moves between folders. Paths use ``/users/{mailbox}`` so delegated (OBO)
and application tokens both work. Tokens and event bodies are never logged.
"""

from __future__ import annotations

import base64
import copy
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
BATCH_LIMIT = 20
# Outlook runs at most 4 requests per mailbox at a time, inside a $batch too; the rest come back 429
# MailboxConcurrency (graph:concepts/throttling-limits.md, Outlook service limits; DESIGN 8). A batch of GETs on
# one mailbox therefore holds 4; dependsOn would serialise more, but one 404 would fail every later one (424).
MAILBOX_BATCH_LIMIT = 4
# Retry-After is obeyed, but a request never sleeps longer than this inside one call: beyond it the call fails
# with GraphThrottled (its retry_after says when) and the outbox or the next scan tries again.
DEFAULT_RETRY_AFTER_CAP = 60.0
CALENDAR_VIEW_PAGE_SIZE = 500
DELTA_PAGE_SIZE = 100
IMMUTABLE_IDS = 'IdType="ImmutableId"'
UTC_TIMES = 'outlook.timezone="UTC"'
# 501 and 505 will not get better by asking again.
_RETRYABLE_5XX = frozenset({500, 502, 503, 504, 507, 509})
_QUERY_SAFE = "$(),'"
_TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class GraphError(Exception):
    """A failed Graph call, with Graph's own ``error.code`` and ``error.message`` when it sent them."""

    def __init__(
        self, status: int | None, code: str = "", message: str = "", *, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        super().__init__(f"Graph {status if status is not None else 'transport'} error {code}: {message}")


class GraphNotFound(GraphError):
    """404: the item does not exist (or is not visible to this token)."""


class GraphAuthError(GraphError):
    """401 or 403: the token is missing, expired or lacks the permission. ``permission`` names the application
    permission the call needs (what an administrator grants), when the client knows it. ``claims`` is the claims
    challenge of a 401 ``WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64>"``, decoded
    (entra:identity-platform/claims-challenge, https://learn.microsoft.com/entra/identity-platform/claims-challenge).
    """

    permission: str = ""
    claims: str | None = None

    def __str__(self) -> str:
        needs = f" (needs {self.permission})" if self.permission else ""
        return super().__str__() + needs


# The application permission each call needs, for the message when Graph answers 403 (Graph names none).
# graph:api-reference/v1.0/api/organization-get.md, user-translateexchangeids.md, event-*.md, subscription-post.
PERMISSIONS = (
    ("GET", "/organization", "Organization.Read.All"),
    ("POST", "/translateExchangeIds", "User.Read.All"),
    ("*", "/subscriptions", "Calendars.Read"),
    ("GET", "/users/", "Calendars.Read"),
    ("*", "/users/", "Calendars.ReadWrite"),
)


def required_permission(method: str, url: str) -> str:
    path = urlsplit(url).path
    for rule_method, part, permission in PERMISSIONS:
        if rule_method in ("*", method) and part in path:
            return permission
    return ""


class GraphThrottled(GraphError):
    """429 that outlasted every retry."""


class GraphUnavailable(GraphError):
    """5xx, connection error or timeout that outlasted every retry."""


class GraphDeltaExpired(GraphError):
    """410 on a delta link: the sync state is gone; start a new round without a delta link."""


def error_from_response(status: int, body: Any, headers: Any = None) -> GraphError:
    """Turn a Graph error response (also one item of a ``$batch`` answer) into our exception."""
    code, message = "", ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or "")
        message = str(body["error"].get("message") or "")
    retry_after = _parse_retry_after(_header(headers, "Retry-After"))
    cls: type[GraphError] = GraphError
    if status == 404:
        cls = GraphNotFound
    elif status in (401, 403):
        cls = GraphAuthError
    elif status == 410:
        cls = GraphDeltaExpired
    elif status == 429:
        cls = GraphThrottled
    elif status >= 500:
        cls = GraphUnavailable
    error = cls(status, code, message, retry_after=retry_after)
    if isinstance(error, GraphAuthError):
        error.claims = _claims_challenge(_header(headers, "WWW-Authenticate"))
    return error


_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


def _claims_challenge(header: str | None) -> str | None:
    params = dict(_AUTH_PARAM.findall(header or ""))
    encoded = params.get("claims")
    if params.get("error") != "insufficient_claims" or not encoded:
        return None
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        return None


def odata_string(value: str) -> str:
    """An OData string literal: single quotes around, embedded single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def expand_properties(property_ids: Sequence[str]) -> str:
    """``$expand`` value that returns only the named single-value extended properties."""
    condition = " or ".join(f"id eq {odata_string(pid)}" for pid in property_ids)
    return f"singleValueExtendedProperties($filter={condition})"


def graph_datetime(value: datetime) -> str:
    """A timezone-aware datetime as Graph's UTC ISO 8601 form; naive datetimes are refused as ambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Graph datetimes must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_path(mailbox: str, *segments: str) -> str:
    if not mailbox:
        raise ValueError("mailbox is required for /users/{mailbox} paths")
    return _path("users", mailbox, *segments)


def event_path(
    mailbox: str,
    event_id: str,
    *,
    select: Sequence[str] | None = None,
    expand_property_ids: Sequence[str] = (),
) -> str:
    """Relative path of one event, usable with ``get`` and as a ``batch_get`` item."""
    params: dict[str, str] = {}
    if select:
        params["$select"] = ",".join(select)
    if expand_property_ids:
        params["$expand"] = expand_properties(expand_property_ids)
    return user_path(mailbox, "events", event_id) + _query(params)


class GraphClient:
    """Microsoft Graph calls for crmbridge. Thread-safe; one instance per process is enough.

    ``token_provider(mailbox)`` returns a bearer token for that mailbox; ``token_provider("")`` must return a
    token for calls that belong to no mailbox (``/organization``, subscription renewal), typically the app's
    own client-credentials token.
    """

    def __init__(
        self,
        token_provider: Callable[[str], str],
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple[float, float] = (3.05, 15),
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 30,
        max_concurrent_per_mailbox: int = 4,
        retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self._token_provider = token_provider
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_concurrent_per_mailbox = max_concurrent_per_mailbox
        self.retry_after_cap = retry_after_cap
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            # Several mailboxes times 4 requests each would overflow urllib3's default pool of 10.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=64)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self._session = session
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self.requests_sent = 0

    def bounded(self, timeout: float | tuple[float, float]) -> GraphClient:
        """This client with a short timeout and no retries, for the calls an organizer waits for. It shares the
        session, the token provider and the per-mailbox limits."""
        clone = copy.copy(self)
        clone.timeout = timeout
        clone.max_retries = 0
        clone._owns_session = False
        return clone

    def with_token(self, token: str) -> GraphClient:
        """This client with one fixed bearer token (a user's on-behalf-of token for ``/me``); it shares the session
        and the per-mailbox limits."""
        clone = copy.copy(self)
        clone._token_provider = lambda mailbox: token
        clone._owns_session = False
        return clone

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Events ---------------------------------------------------------------------------------------------

    def get_event(
        self,
        mailbox: str,
        event_id: str,
        select: Sequence[str] | None = None,
        *,
        expand_property_ids: Sequence[str] = (),
    ) -> dict:
        path = event_path(mailbox, event_id, select=select, expand_property_ids=expand_property_ids)
        return self._call("GET", path, mailbox=mailbox, prefer=(UTC_TIMES,))

    def create_event(
        self,
        mailbox: str,
        event: dict,
        transaction_id: str,
        *,
        find_existing: Callable[[], dict | None] | None = None,
    ) -> dict:
        """Create (and, with attendees, send) a meeting. Retries reuse ``transaction_id``, so Graph should return
        the first event instead of creating a second one; but how long Graph remembers a transactionId is not
        documented (DESIGN 8), so before sending again after an answer that may hide a success (no answer, 5xx,
        429) ``find_existing()`` looks the event up, and a found one is returned instead of a second POST."""
        body = {**event, "transactionId": transaction_id}
        url = self.base_url + user_path(mailbox, "events")
        attempt = 0
        while True:
            outcome = self._send_once("POST", url, mailbox=mailbox, json_body=body, prefer=(UTC_TIMES,))
            if isinstance(outcome, requests.Response):
                answer = _json_or_none(outcome)
                if not isinstance(answer, dict):
                    raise GraphError(outcome.status_code, "invalidResponse", "Graph answered without a JSON object")
                return answer
            self._wait_before_retry("POST", outcome, attempt, url)
            attempt += 1
            if find_existing is not None:
                found = find_existing()
                if found is not None:
                    logger.info("Graph POST events: the event was created after all; not sending it again")
                    return found

    def translate_ids(self, mailbox: str, ids: Sequence[str], source: str, target: str) -> dict[str, str]:
        """``POST /users/{mailbox}/translateExchangeIds``: source id -> target id (``ewsId``, ``restId``,
        ``restImmutableEntryId``). App-only it needs ``User.Read.All``; reading the event by its REST id with
        ``Prefer: IdType="ImmutableId"`` needs nothing more
        (graph:api-reference/v1.0/api/user-translateexchangeids.md)."""
        body = {"inputIds": list(ids), "sourceIdType": source, "targetIdType": target}
        answer = self._call("POST", user_path(mailbox, "translateExchangeIds"), mailbox=mailbox, json_body=body)
        return {item["sourceId"]: item["targetId"] for item in answer.get("value", []) if item.get("targetId")}

    def update_event(self, mailbox: str, event_id: str, patch: dict) -> dict:
        """PATCH an event. On a meeting with attendees this mails them an update."""
        return self._call(
            "PATCH",
            user_path(mailbox, "events", event_id),
            mailbox=mailbox,
            json_body=patch,
            prefer=(UTC_TIMES,),
        )

    def cancel_event(self, mailbox: str, event_id: str, comment: str = "") -> None:
        """Cancel a meeting as its organizer: attendees get a cancellation, the organizer's copy goes to
        Deleted Items."""
        body = {"comment": comment} if comment else {}
        self._request(
            "POST", user_path(mailbox, "events", event_id, "cancel"), mailbox=mailbox, json_body=body
        )

    def find_events_by_extended_property(self, mailbox: str, property_id: str, value: str) -> list[dict]:
        """Events (single instances and series masters) whose extended property equals ``value``
        (Graph compares the value case-insensitively), with that property expanded."""
        params = {
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq {odata_string(property_id)}"
            f" and ep/value eq {odata_string(value)})",
            "$expand": expand_properties([property_id]),
        }
        url = self.base_url + user_path(mailbox, "events") + _query(params)
        return [
            item for page in self._pages(url, mailbox, prefer=(UTC_TIMES,)) for item in page.get("value", [])
        ]

    def calendar_view(
        self, mailbox: str, start: datetime, end: datetime, expand_property_ids: Sequence[str] = ()
    ) -> list[dict]:
        """Every event instance (occurrences expanded) overlapping [start, end), all pages."""
        params = {
            "startDateTime": graph_datetime(start),
            "endDateTime": graph_datetime(end),
            "$top": str(CALENDAR_VIEW_PAGE_SIZE),
        }
        if expand_property_ids:
            params["$expand"] = expand_properties(expand_property_ids)
        url = self.base_url + user_path(mailbox, "calendarView") + _query(params)
        return [
            item for page in self._pages(url, mailbox, prefer=(UTC_TIMES,)) for item in page.get("value", [])
        ]

    def calendar_view_delta(
        self, mailbox: str, start: datetime, end: datetime, delta_link: str | None
    ) -> tuple[list[dict], str]:
        """One round of ``calendarView/delta``: the changes since ``delta_link`` (or, without one, every
        event in the window) and the delta link for the next round.

        Entries with ``@removed`` are deletions, cancellations by the organizer, or events that moved out of
        the window. ``start``/``end`` only matter without a delta link (the link encodes them). Raises
        ``GraphDeltaExpired`` when Graph no longer knows the link: call again with ``delta_link=None``.
        """
        if delta_link:
            url = self._own_url(delta_link)
        else:
            params = {"startDateTime": graph_datetime(start), "endDateTime": graph_datetime(end)}
            url = self.base_url + user_path(mailbox, "calendarView", "delta") + _query(params)
        changes: list[dict] = []
        new_link = ""
        # Delta accepts no $select/$expand/$filter; page size goes through Prefer instead of $top.
        for page in self._pages(url, mailbox, prefer=(UTC_TIMES, f"odata.maxpagesize={DELTA_PAGE_SIZE}")):
            changes.extend(page.get("value", []))
            new_link = page.get("@odata.deltaLink", new_link)
        if not new_link:
            raise GraphError(200, "missingDeltaLink", "delta round ended without @odata.deltaLink")
        return changes, new_link

    def batch_get(
        self, mailbox: str, paths: Sequence[str], *, return_errors: bool = False
    ) -> dict[str, dict | GraphError]:
        """GET many relative paths (e.g. from ``event_path``) of one mailbox through ``$batch``, 4 per POST
        (``MAILBOX_BATCH_LIMIT``: Outlook's concurrency per mailbox).

        Items answered 429 or 5xx are sent again in a later batch, after the longest ``Retry-After`` among
        them (or backoff), up to ``max_retries`` times. Returns path -> body. Failed items raise the first
        failure (in ``paths`` order) unless ``return_errors``, in which case they map to their GraphError.
        """
        unique = list(dict.fromkeys(paths))
        for path in unique:
            if not path.startswith("/"):
                raise ValueError(f"batch paths are relative and start with '/': {path!r}")
        results: dict[str, dict | GraphError] = {}
        pending = unique
        for attempt in range(self.max_retries + 1):
            retry: list[str] = []
            delay = 0.0
            for start in range(0, len(pending), MAILBOX_BATCH_LIMIT):
                chunk = pending[start : start + MAILBOX_BATCH_LIMIT]
                for path, outcome in self._send_batch(mailbox, chunk).items():
                    if (isinstance(outcome, GraphError) and _retryable(outcome) and attempt < self.max_retries
                            and not self._over_cap(outcome)):
                        retry.append(path)
                        delay = max(delay, self._delay(outcome, attempt))
                    else:
                        results[path] = outcome
            if not retry:
                break
            logger.info("Graph $batch: %d items to retry in %.2fs", len(retry), delay)
            self._sleep(delay)
            pending = retry
        if not return_errors:
            for path in unique:
                if isinstance(results[path], GraphError):
                    raise results[path]
        return {path: results[path] for path in unique}

    # Organization ---------------------------------------------------------------------------------------

    def organization_domains(self, mailbox: str = "") -> list[str]:
        """The tenant's verified domain names. ``mailbox`` picks the token: a user's (delegated
        ``User.Read`` is enough) or, with the default ``""``, the app's."""
        answer = self._call("GET", "/organization" + _query({"$select": "verifiedDomains"}), mailbox=mailbox)
        names: dict[str, None] = {}
        for org in answer.get("value", []):
            for domain in org.get("verifiedDomains") or []:
                if domain.get("name"):
                    names[domain["name"]] = None
        return list(names)

    # Directory ------------------------------------------------------------------------------------------

    def get_user(self, object_id: str | None, select: Sequence[str]) -> dict:
        """``GET /me`` (``object_id`` None: the token's own user, delegated ``User.Read``) or ``GET /users/{id}``
        (application ``User.Read.All``), with only the ``select`` properties
        (graph:api-reference/v1.0/api/user-get.md, https://learn.microsoft.com/graph/api/user-get)."""
        path = "/me" if object_id is None else _path("users", object_id)
        return self._call("GET", path + _query({"$select": ",".join(select)}), mailbox=object_id or "")

    # Change notifications -------------------------------------------------------------------------------

    def create_subscription(
        self, mailbox: str, notification_url: str, client_state: str, expiration: datetime,
        *, lifecycle_url: str = "",
    ) -> dict:
        """Subscribe to the mailbox's events. With ``lifecycle_url`` Graph also sends lifecycle notifications
        (``missed``, ``subscriptionRemoved``, ``reauthorizationRequired``) there; without it, none
        (graph:concepts/change-notifications-lifecycle-events.md)."""
        if len(client_state) > 128:
            raise ValueError("clientState is limited to 128 characters")
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": notification_url,
            "resource": f"users/{mailbox}/events",
            "expirationDateTime": graph_datetime(expiration),
            "clientState": client_state,
        }
        if lifecycle_url:
            body["lifecycleNotificationUrl"] = lifecycle_url
        return self._call("POST", "/subscriptions", mailbox=mailbox, json_body=body)

    def renew_subscription(self, subscription_id: str, expiration: datetime, *, mailbox: str = "") -> dict:
        """Extend a subscription. ``mailbox`` picks the token, as for ``organization_domains``; a delegated
        subscription needs the same user's token."""
        body = {"expirationDateTime": graph_datetime(expiration)}
        return self._call("PATCH", _path("subscriptions", subscription_id), mailbox=mailbox, json_body=body)

    def delete_subscription(self, subscription_id: str, *, mailbox: str = "") -> None:
        self._request("DELETE", _path("subscriptions", subscription_id), mailbox=mailbox)

    # Transport ------------------------------------------------------------------------------------------

    def _send_batch(self, mailbox: str, chunk: list[str]) -> dict[str, dict | GraphError]:
        prefer = ", ".join((IMMUTABLE_IDS, UTC_TIMES))
        body = {
            "requests": [
                {"id": str(i), "method": "GET", "url": path, "headers": {"Prefer": prefer}}
                for i, path in enumerate(chunk)
            ]
        }
        answer = self._call("POST", "/$batch", mailbox=mailbox, json_body=body, prefer=(UTC_TIMES,))
        from .. import metrics

        by_id = {str(item.get("id")): item for item in answer.get("responses", [])}
        outcomes: dict[str, dict | GraphError] = {}
        for i, path in enumerate(chunk):
            item = by_id.get(str(i))
            if item is not None:
                metrics.graph_answered("GET", int(item.get("status", 0)))  # each item counts against throttling
            if item is None:
                outcomes[path] = GraphUnavailable(None, "missingBatchResponse", "no response for batch item")
            elif 200 <= int(item.get("status", 0)) < 300:
                outcomes[path] = item.get("body") or {}
            else:
                outcomes[path] = error = error_from_response(
                    int(item["status"]), item.get("body"), item.get("headers")
                )
                if isinstance(error, GraphAuthError) and error.status == 403:
                    error.permission = required_permission("GET", path)
        return outcomes

    def _pages(self, url: str, mailbox: str, prefer: Sequence[str]) -> Iterator[dict]:
        while url:
            page = self._call("GET", url, mailbox=mailbox, prefer=prefer)
            yield page
            next_link = page.get("@odata.nextLink")
            url = self._own_url(next_link) if next_link else ""

    def _own_url(self, link: str) -> str:
        # The token must never travel to a host Graph did not name as itself.
        if not link.startswith(self._origin + "/"):
            raise GraphError(None, "foreignLink", "paging link points outside the Graph base URL")
        return link

    def _semaphore(self, mailbox: str) -> threading.BoundedSemaphore:
        key = mailbox.lower()
        with self._lock:
            if key not in self._semaphores:
                self._semaphores[key] = threading.BoundedSemaphore(self.max_concurrent_per_mailbox)
            return self._semaphores[key]

    def _call(
        self,
        method: str,
        path_or_url: str,
        *,
        mailbox: str,
        json_body: Any = None,
        prefer: Sequence[str] = (),
    ) -> dict:
        response = self._request(method, path_or_url, mailbox=mailbox, json_body=json_body, prefer=prefer)
        body = _json_or_none(response)
        if not isinstance(body, dict):
            raise GraphError(response.status_code, "invalidResponse", "Graph answered without a JSON object")
        return body

    def _request(
        self,
        method: str,
        path_or_url: str,
        *,
        mailbox: str,
        json_body: Any = None,
        prefer: Sequence[str] = (),
    ) -> requests.Response:
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        attempt = 0
        while True:
            outcome = self._send_once(method, url, mailbox=mailbox, json_body=json_body, prefer=prefer)
            if isinstance(outcome, requests.Response):
                return outcome
            self._wait_before_retry(method, outcome, attempt, url)
            attempt += 1

    def _wait_before_retry(self, method: str, outcome: GraphError, attempt: int, url: str) -> None:
        """Sleep before the next try, or raise ``outcome``: not retryable, out of retries, or a Retry-After longer
        than ``retry_after_cap``."""
        if isinstance(outcome, GraphAuthError) and outcome.status == 403:
            outcome.permission = required_permission(method, url)
        if not _retryable(outcome) or attempt >= self.max_retries or self._over_cap(outcome):
            raise outcome
        delay = self._delay(outcome, attempt)
        logger.info(
            "Graph %s answered %s %s; retry %d in %.2fs",
            method,
            outcome.status or "no response",
            outcome.code,
            attempt + 1,
            delay,
        )
        self._sleep(delay)

    def _over_cap(self, error: GraphError) -> bool:
        return error.retry_after is not None and error.retry_after > self.retry_after_cap

    def _send_once(
        self, method: str, url: str, *, mailbox: str, json_body: Any, prefer: Sequence[str]
    ) -> requests.Response | GraphError:
        headers = {
            "Authorization": f"Bearer {self._token_provider(mailbox)}",
            "Prefer": ", ".join((IMMUTABLE_IDS, *prefer)),
            "Accept": "application/json",
        }
        from .. import metrics  # here, not at import: see crmbridge.metrics

        with self._semaphore(mailbox):
            with self._lock:
                self.requests_sent += 1
            try:
                response = self._session.request(
                    method, url, headers=headers, json=json_body, timeout=self.timeout
                )
            except _TRANSPORT_ERRORS as exc:
                metrics.graph_answered(method, None)
                return GraphUnavailable(None, type(exc).__name__, "no response from Graph")
        metrics.graph_answered(method, response.status_code)
        if response.status_code < 400:
            return response
        return error_from_response(response.status_code, _json_or_none(response), response.headers)

    def _delay(self, error: GraphError, attempt: int) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.retry_after_cap)
        # Full jitter: spreads retries of many workers instead of having them return in step.
        return self._rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))


def _retryable(error: GraphError) -> bool:
    return error.status is None or error.status == 429 or error.status in _RETRYABLE_5XX


def _path(*segments: str) -> str:
    return "/" + "/".join(quote(segment, safe="@=") for segment in segments)


def _query(params: dict[str, str]) -> str:
    if not params:
        return ""
    # Spaces as %20, not '+'; ':' and '/' encoded as Graph's filter docs ask; OData punctuation kept readable.
    return "?" + "&".join(f"{key}={quote(value, safe=_QUERY_SAFE)}" for key, value in params.items())


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
