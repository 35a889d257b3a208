"""A small in-memory fake of the Microsoft Graph endpoints crmbridge uses, as a WSGI app with fault injection.

Start it with ``start_fake_graph(...)``, which serves it on 127.0.0.1 on a free port:

    base_url, fake, stop = start_fake_graph(seed=1, fault_rate=0.3)
    try:
        client = GraphClient(lambda mailbox: "token", base_url=base_url)
        ...
    finally:
        stop()

What it models (only what crmbridge relies on): events per mailbox with ``id``, ``iCalUId``, a
``changeKey`` that changes on every change, ``singleValueExtendedProperties`` (returned only when
``$expand``-ed, as Graph does), attendees with responses, ``isCancelled``; ``transactionId``
de-duplication of creates; ``calendarView`` with ``$top``/``$skip`` paging; ``calendarView/delta`` rounds
whose links encode a sequence number; the extended-property ``$filter`` in the exact form the client
sends; ``$batch``; ``/organization``; subscriptions. Times are returned in UTC, as Graph does by default.
Pages hold at most ``max_page_size`` items whatever the client asks for, so small values exercise paging.

Assumptions where Graph's behaviour is not documented: cancelling moves the organizer's copy out of the
calendar (so it leaves ``calendarView`` and shows up as ``@removed`` in delta) but a GET by id still returns
it with ``isCancelled: true``; cancelling twice is accepted. Subscriptions skip the validation handshake.

Faults (``fault_rate`` of outer requests, drawn from a seeded ``random.Random``) happen before any state
change: ``throttle`` (429, ``Retry-After`` 0 or 1), ``unavailable`` (503), ``slow`` (waits ``slow_seconds``,
then 504), ``drop`` (connection closed without an answer). Items inside ``$batch`` get ``throttle`` or
``unavailable`` at the same rate. ``applied_then_drop_rate`` is the one fault that happens after the change:
a create is stored and then the connection is dropped, which is what ``transactionId`` exists for.

Every request is recorded (``fake.requests``), inner ``$batch`` requests too; ``fake.writes_to(event_id)``
lists every non-GET request aimed at one event, whether or not it was applied. A write to an event also records
the event's attendees as they were when it arrived (``RecordedRequest.attendees``).

Mail (``fake.mails``, ``fake.mails_to(address)``): what Exchange sends when a meeting is written, each message with
who caused it: ``api`` (a Graph request) or ``organizer`` (the organizer in Outlook, through the helpers below).
- ``POST /events`` with attendees sends the invitations at once; there is no draft meeting in Graph
  (graph:api-reference/v1.0/api/user-post-events.md, DESIGN 5).
- An organizer's ``PATCH`` mails every attendee an update; there is no switch to suppress it (docs-contrib #6637):
  attendees added get an invitation, removed ones a cancellation (DESIGN 8). Graph does not document a PATCH that
  mails nobody, so the fake mails on every PATCH of a meeting with attendees, whatever it changes (stricter).
- ``POST /events/{id}/cancel`` mails every attendee a cancellation and is organizer-only: an attendee's copy
  answers 400 (graph:api-reference/v1.0/api/event-cancel.md).
- ``DELETE`` of a meeting by its organizer sends the attendees a cancellation
  (graph:api-reference/v1.0/api/event-delete.md).

The platform rules of shared/DESIGN.md 8, each beside the code that applies it and pinned by a test in
``test_fake_graph.py`` that names the same source:

- All-day events: start and end must be midnight in one time zone (graph:api-reference/v1.0/resources/event.md,
  ``isAllDay``) and come back floating midnight to midnight in the event's zone, whatever
  ``Prefer: outlook.timezone`` says (microsoftgraph/microsoft-graph-docs #1802, #6003).
- Ids: every event has a regular REST id and an immutable id; with ``Prefer: IdType="ImmutableId"`` Graph answers
  with the immutable one, and a request may name the event by either (graph:concepts/outlook-immutable-id.md).
  EWS ids (Office.js ``itemId``, with ``/`` and ``+``) are not Graph ids: 400. ``translateExchangeIds``:
  ``/me/...`` is delegated only, ``/users/{id}/...`` app-only needs ``User.Read.All``
  (graph:api-reference/v1.0/api/user-translateexchangeids.md).
- Permissions: each route needs a permission (table ``_PERMISSIONS``); without it Graph answers 403
  (``Authorization_RequestDenied`` from the directory, ``ErrorAccessDenied`` from Outlook). Every token holds
  ``GRANTED`` less ``missing_permissions``.
- Rooms (``rooms``) accept a booking and decline one that overlaps a booking they accepted
  (Exchange ``Set-CalendarProcessing -AllowConflicts``, default ``$false``).
- A ``body`` PATCH of an online meeting loses its join information (microsoftgraph/microsoft-graph-docs-contrib
  #3670, #311): ``onlineMeeting`` becomes null and the join block leaves the body.
- ``$batch``: at most 20 requests (graph:concepts/json-batching.md); Outlook runs at most 4 per mailbox at a time,
  the rest answer 429 ``MailboxConcurrency`` with ``Retry-After`` (graph:concepts/throttling-limits.md, Outlook
  service limits; DESIGN 8). The fake runs the first 4 items per mailbox of each batch and refuses the rest
  (stricter: Graph may run a fifth once one of the four is done).
- Recurrence: ``/events`` lists the ``seriesMaster``; ``calendarView`` and delta list its occurrences and
  exceptions, each with its own ``id`` and ``iCalUId`` (graph:api-reference/v1.0/resources/event.md, ``type``,
  ``iCalUId``: "different for each occurrence in a recurring series"). Patterns: daily and weekly, ranges
  numbered and endDate; anything else is refused (stricter).
- Delta: an initial round begins with an empty page and a nextLink; an expired token answers 410
  ``SyncStateNotFound`` (graph:api-reference/v1.0/api/event-delta.md; DESIGN 8).
- Subscriptions on Outlook events last at most 10,080 minutes (graph:api-reference/v1.0/resources/subscription.md);
  lifecycle notifications (``subscriptionRemoved``, ``missed``, ``reauthorizationRequired``) reach a subscription
  only if it was created with ``lifecycleNotificationUrl``
  (graph:concepts/change-notifications-lifecycle-events.md): ``lifecycle_notification`` builds the POST body.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

FAULT_KINDS = ("throttle", "unavailable", "slow", "drop")
_BATCH_FAULT_KINDS = ("throttle", "unavailable")
_READ_ONLY = frozenset(
    {
        "id",
        "changeKey",
        "iCalUId",
        "createdDateTime",
        "lastModifiedDateTime",
        "transactionId",
        "isOrganizer",
        "organizer",
        "@odata.etag",
    }
)
_LITERAL = r"'((?:[^']|'')*)'"
_FILTER_RE = re.compile(
    rf"^singleValueExtendedProperties/Any\(ep: ep/id eq {_LITERAL} and ep/value eq {_LITERAL}\)$"
)
_EXPAND_RE = re.compile(r"^singleValueExtendedProperties\(\$filter=(.*)\)$")
_EXPAND_ID_RE = re.compile(rf"id eq {_LITERAL}")
_SUBSCRIPTION_RESOURCE_RE = re.compile(r"^(?:users/[^/]+|me)/events$")
# graph:api-reference/v1.0/resources/subscription.md, maximum length of subscription per resource type: event.
SUBSCRIPTION_MAX_MINUTES = 10080
# graph:concepts/throttling-limits.md (Outlook service limits) and DESIGN 8: 4 concurrent requests per mailbox.
MAILBOX_CONCURRENCY = 4
# What an app registration set up as the admin guide says is granted; ``missing_permissions`` takes some away.
GRANTED = frozenset({"Calendars.ReadWrite", "Organization.Read.All", "User.Read.All"})
_ID_TYPES = ("ewsId", "restId", "restImmutableEntryId")
_OCCURRENCE = "_OCC"
# Which permissions let an app-only token make a request: (method, path pattern, any of these, error code).
# graph:api-reference/v1.0/api/organization-get.md; user-translateexchangeids.md; event-get.md, event-update.md,
# user-post-events.md, event-cancel.md, event-delta.md, user-list-calendarview.md; subscription-post-subscriptions.md.
_READ_CALENDARS = ("Calendars.Read", "Calendars.ReadWrite")
_PERMISSIONS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("GET", ("organization",), ("Organization.Read.All", "Directory.Read.All"), "Authorization_RequestDenied"),
    ("POST", ("users", "*", "translateExchangeIds"), ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All"),
     "Authorization_RequestDenied"),
    ("GET", ("users", "*", "*"), _READ_CALENDARS, "ErrorAccessDenied"),
    ("*", ("users", "*", "*"), ("Calendars.ReadWrite",), "ErrorAccessDenied"),
    ("*", ("subscriptions",), _READ_CALENDARS, "ExtensionError"),
)


class _Dropped(ConnectionAbortedError):
    """Raised from the app to make werkzeug close the connection without an answer."""


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    prefer: str
    token: str
    in_batch: bool = False
    status: int | None = None
    fault: str | None = None
    attendees: tuple[str, ...] | None = None  # of the event a write was aimed at, when it arrived


@dataclass(frozen=True)
class Mail:
    """A message Exchange sent to one address because a meeting was written."""

    to: str
    kind: str  # invitation | update | cancellation
    event_id: str
    subject: str
    body: str
    by: str  # api (a Graph request) | organizer (the organizer in Outlook)


@dataclass
class _Item:
    mailbox: str
    event: dict
    seq: int
    state: str = "live"  # live | cancelled (organizer's copy in Deleted Items) | deleted


class _GraphFault(Exception):
    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class _Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeGraph:
    def __init__(
        self,
        *,
        seed: int = 0,
        fault_rate: float = 0.0,
        faults: Iterable[str] = FAULT_KINDS,
        slow_seconds: float = 0.5,
        applied_then_drop_rate: float = 0.0,
        domains: Iterable[str] = ("contoso.com",),
        page_size: int = 10,
        max_page_size: int = 1000,
        require_immutable_ids: bool = True,
        rooms: Iterable[str] = (),
        missing_permissions: Iterable[str] = (),
        delegated_tokens: dict[str, str] | None = None,
        batch_retry_after: str = "1",
    ) -> None:
        self.fault_rate = fault_rate
        self.faults = tuple(faults)
        unknown = set(self.faults) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}")
        self.slow_seconds = slow_seconds
        self.applied_then_drop_rate = applied_then_drop_rate
        self.domains = list(domains)
        self.page_size = page_size
        self.max_page_size = max_page_size
        self.require_immutable_ids = require_immutable_ids
        self.rooms = {r.lower() for r in rooms}
        self.missing_permissions = set(missing_permissions)
        self.delegated_tokens = dict(delegated_tokens or {})  # token -> the signed-in user's mailbox
        self.batch_retry_after = batch_retry_after
        self.join_info_lost: list[str] = []
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # what "now" is for subscription lifetimes
        self.requests: list[RecordedRequest] = []
        self.mails: list[Mail] = []
        self.faults_injected: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._seq = 0
        self._ids = 0
        self._delta_floor = 0
        self._items: dict[str, _Item] = {}
        self._aliases: dict[str, str] = {}  # regular REST id -> immutable id
        self._exceptions: dict[str, dict[str, dict]] = {}  # series master id -> occurrence id -> changes
        self._subscriptions: dict[str, dict] = {}
        # Concurrency per mailbox, as the clients send it: requests arrived and not yet answered, and the most seen.
        self.in_flight_per_mailbox: Counter[str] = Counter()
        self.max_in_flight_per_mailbox: Counter[str] = Counter()
        # hold_creates(): every POST .../events waits (before any state change) until release_creates().
        self._creates_open = threading.Event()
        self._creates_open.set()
        self.create_arrived = threading.Event()

    # Test helpers: what the organizer or an attendee does in Outlook (not recorded as API requests) ---

    def add_event(self, mailbox: str, event: dict, *, is_organizer: bool = True) -> dict:
        """Store an event as if the organizer made (and sent) it in Outlook; returns it as Graph would.
        ``is_organizer=False``: an attendee's copy of someone else's meeting."""
        with self._lock:
            item = self._create(mailbox, event)
            item.event["isOrganizer"] = is_organizer
            if is_organizer:
                self._mail(item, "invitation", self._addresses(item), by="organizer")
            return self._render(item, expand=None)

    def outlook_update(self, mailbox: str, event_id: str, changes: dict) -> dict:
        """The organizer changes the meeting in Outlook and presses Send Update. Given an occurrence's id, only that
        occurrence changes (it becomes an exception)."""
        with self._lock:
            master_id, _, day = event_id.partition(_OCCURRENCE)
            if day:
                item = self._live(mailbox, master_id)
                self._exceptions.setdefault(item.event["id"], {}).setdefault(event_id, {}).update(changes)
                self._bump(item)
                occurrence = self._occurrence(item, event_id)
                if occurrence is None:
                    raise ValueError(f"no occurrence {event_id}")
                self._mail(item, "update", self._addresses(item), by="organizer")
                return occurrence
            return self._render(self._write(self._live(mailbox, event_id), changes, by="organizer"), expand=None)

    def rest_id(self, event_id: str) -> str:
        """The regular REST id of an event (what Office.js ``convertToRestId`` gives)."""
        with self._lock:
            return next(rest for rest, immutable in self._aliases.items() if immutable == event_id)

    def ews_id(self, event_id: str) -> str:
        """The EWS id of an event (Office.js ``item.itemId``): the REST id with ``/`` and ``+``."""
        return self.rest_id(event_id).replace("-", "/").replace("_", "+")

    def lifecycle_notification(self, subscription_id: str, event: str) -> dict | None:
        """The POST body Graph sends to the subscription's ``lifecycleNotificationUrl`` for ``event``, or None when
        the subscription was created without one (graph:concepts/change-notifications-lifecycle-events.md).
        ``subscriptionRemoved`` also ends the subscription."""
        with self._lock:
            subscription = self._subscriptions.get(subscription_id)
            if subscription is None or not subscription.get("lifecycleNotificationUrl"):
                return None
            if event == "subscriptionRemoved":
                del self._subscriptions[subscription_id]
            return {"value": [{
                "subscriptionId": subscription_id,
                "subscriptionExpirationDateTime": subscription["expirationDateTime"],
                "tenantId": "fake-tenant",
                "clientState": subscription.get("clientState"),
                "lifecycleEvent": event,
            }]}

    def respond(self, mailbox: str, event_id: str, address: str, response: str) -> None:
        """An attendee accepts, declines, ... (``status.response`` of that attendee)."""
        with self._lock:
            item = self._live(mailbox, event_id)
            attendees = [dict(a) for a in item.event.get("attendees", [])]
            for attendee in attendees:
                if attendee["emailAddress"]["address"].lower() == address.lower():
                    attendee["status"] = {"response": response, "time": _now()}
            self._touch(item, {"attendees": attendees})

    def outlook_cancel(self, mailbox: str, event_id: str) -> None:
        with self._lock:
            item = self._live(mailbox, event_id)
            self._mail(item, "cancellation", self._addresses(item), by="organizer")
            self._cancel(item)

    def outlook_delete(self, mailbox: str, event_id: str) -> None:
        with self._lock:
            item = self._live(mailbox, event_id)
            item.state = "deleted"
            self._bump(item)

    def expire_delta_links(self) -> None:
        """Every delta link handed out so far answers 410 from now on."""
        with self._lock:
            self._delta_floor = self._seq + 1

    def events(self, mailbox: str, *, include_removed: bool = False) -> list[dict]:
        """Snapshot of a mailbox's events (extended properties included), in creation order."""
        with self._lock:
            return [
                self._render(item, expand=None, all_properties=True)
                for item in self._items.values()
                if item.mailbox == mailbox.lower() and (include_removed or item.state == "live")
            ]

    def subscriptions(self) -> list[dict]:
        with self._lock:
            return [dict(s) for s in self._subscriptions.values()]

    def mails_to(self, address: str, *, by: str | None = None) -> list[Mail]:
        """Every message sent to ``address`` (case-insensitive), optionally only those ``by`` api or organizer."""
        with self._lock:
            return [m for m in self.mails if m.to.lower() == address.lower() and by in (None, m.by)]

    def writes_to(self, event_id: str) -> list[RecordedRequest]:
        """Every non-GET request (applied, faulted or inside a batch) whose path names ``event_id``."""
        with self._lock:
            return [r for r in self.requests if r.method != "GET" and _names_event(r.path, event_id)]

    # WSGI -------------------------------------------------------------------------------------------------

    def hold_creates(self) -> None:
        """From now on a create (``POST .../events``) waits, unapplied, until ``release_creates``; a client that
        gives up meanwhile does not stop it from being applied afterwards, as with a real server."""
        self.create_arrived.clear()
        self._creates_open.clear()

    def release_creates(self) -> None:
        self._creates_open.set()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        mailbox = _mailbox_of(environ.get("PATH_INFO") or "")
        with self._lock:
            self._in_flight += 1
            if mailbox:
                self.in_flight_per_mailbox[mailbox] += 1
                self.max_in_flight_per_mailbox[mailbox] = max(self.max_in_flight_per_mailbox[mailbox],
                                                              self.in_flight_per_mailbox[mailbox])
        try:
            if environ.get("REQUEST_METHOD") == "POST" and (environ.get("PATH_INFO") or "").endswith("/events"):
                self.create_arrived.set()
                while not self._creates_open.wait(0.05) and not self._stopping.is_set():
                    pass
            response = self._handle(environ, Request(environ))
        finally:
            with self._lock:
                self._in_flight -= 1
                if mailbox:
                    self.in_flight_per_mailbox[mailbox] -= 1
                self._idle.notify_all()
        return response(environ, start_response)

    def _handle(self, environ: dict, request: Request) -> Response:
        raw_path = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.path).split("?", 1)[0]
        segments = [unquote(s) for s in raw_path.strip("/").split("/")]
        if segments[:1] != ["v1.0"]:
            return _json_response(_error(404, "fakeUnknownVersion", "only /v1.0 is faked"))
        body = request.get_json(silent=True) if request.get_data() else None
        record = RecordedRequest(
            method=request.method,
            path="/" + "/".join(segments[1:]),
            query=dict(request.args.items()),
            body=body,
            prefer=request.headers.get("Prefer", ""),
            token=request.headers.get("Authorization", "").removeprefix("Bearer "),
        )
        with self._lock:
            self.requests.append(record)
            fault = self._draw_fault(self.faults)
        if fault:
            record.fault = fault
            return self._fault_response(fault, environ, record)

        if not record.token:
            answer = _error(401, "InvalidAuthenticationToken", "Access token is empty.")
        elif self.require_immutable_ids and 'IdType="ImmutableId"' not in record.prefer:
            answer = _error(400, "fakeMissingImmutableIdPreference", 'send Prefer: IdType="ImmutableId"')
        elif segments[1:] == ["$batch"] and request.method == "POST":
            answer = self._batch(body, request.host_url, record.token)
        else:
            answer = self._dispatch(
                request.method, segments[1:], record.query, body, record.prefer, request.host_url, record
            )
        if 'IdType="ImmutableId"' not in record.prefer and answer.body is not None:
            answer.body = self._regular_ids(answer.body)
        record.status = answer.status
        if (
            answer.status == 201
            and request.method == "POST"
            and segments[-1:] == ["events"]
            and self.applied_then_drop_rate
        ):
            with self._lock:
                dropped = self._rng.random() < self.applied_then_drop_rate
                if dropped:
                    record.fault = "applied_then_drop"
                    self.faults_injected["applied_then_drop"] += 1
            if dropped:
                _drop(environ)
        return _json_response(answer)

    def _draw_fault(self, kinds: tuple[str, ...]) -> str | None:
        if not self.fault_rate or not kinds or self._rng.random() >= self.fault_rate:
            return None
        kind = self._rng.choice(kinds)
        self.faults_injected[kind] += 1
        return kind

    def _fault_response(self, fault: str, environ: dict, record: RecordedRequest) -> Response:
        if fault == "drop":
            _drop(environ)
        if fault == "slow":
            self._stopping.wait(self.slow_seconds)
            answer = _error(504, "GatewayTimeout", "fault: slow")
        else:
            answer = self._fault_answer(fault)
        record.status = answer.status
        return _json_response(answer)

    def _fault_answer(self, fault: str) -> _Answer:
        if fault == "throttle":
            with self._lock:
                retry_after = self._rng.choice(("0", "1"))
            answer = _error(429, "ApplicationThrottled", "fault: throttled")
            answer.headers["Retry-After"] = retry_after
            return answer
        return _error(503, "ServiceUnavailable", "fault: unavailable")

    # Routing --------------------------------------------------------------------------------------------

    def _dispatch(
        self, method: str, segments: list[str], query: dict[str, str], body: Any, prefer: str, host_url: str,
        record: RecordedRequest | None = None,
    ) -> _Answer:
        base = host_url.rstrip("/") + "/v1.0"
        try:
            with self._lock:
                segments = self._me(segments, record.token if record is not None else "")
                self._check_permission(method, segments)
                if record is not None and method != "GET":
                    record.attendees = self._attendees_of_target(segments)
                return self._route(method, segments, query, body, prefer, base)
        except _GraphFault as fault:
            return _error(fault.status, fault.code, fault.message)

    def _me(self, segments: list[str], token: str) -> list[str]:
        """``/me`` is the signed-in user: only a delegated token has one (graph:concepts/outlook-immutable-id.md,
        user-translateexchangeids.md: ``/me/translateExchangeIds`` is delegated only)."""
        if segments[:1] != ["me"]:
            return segments
        if token not in self.delegated_tokens:
            raise _GraphFault(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        return ["users", self.delegated_tokens[token], *segments[1:]]

    def _check_permission(self, method: str, segments: list[str]) -> None:
        """403 naming nothing, as Graph does, when no permission in ``_PERMISSIONS`` for the route is granted."""
        for rule_method, pattern, any_of, code in _PERMISSIONS:
            if rule_method not in ("*", method) or len(segments) < len(pattern):
                continue
            if all(p in ("*", seg) for p, seg in zip(pattern, segments, strict=False)):
                if not set(any_of) & (GRANTED - self.missing_permissions):
                    if code == "ErrorAccessDenied":
                        raise _GraphFault(403, code, "Access is denied. Check credentials and try again.")
                    raise _GraphFault(403, code, "Insufficient privileges to complete the operation.")
                return

    def _regular_ids(self, body: Any) -> Any:
        """Without ``Prefer: IdType="ImmutableId"`` Graph answers with regular REST ids."""
        regular = {immutable: rest for rest, immutable in self._aliases.items()}

        def walk(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: (regular.get(v, v) if k in ("id", "seriesMasterId") and isinstance(v, str) else walk(v))
                        for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v) for v in value]
            return value

        with self._lock:
            return walk(body)

    def _route(
        self, method: str, s: list[str], query: dict[str, str], body: Any, prefer: str, base: str
    ) -> _Answer:
        if s == ["organization"] and method == "GET":
            return _Answer(
                200,
                {
                    "value": [
                        {
                            "id": "fake-tenant",
                            "verifiedDomains": [
                                {"name": d, "isDefault": i == 0, "isInitial": False, "type": "Managed"}
                                for i, d in enumerate(self.domains)
                            ],
                        }
                    ]
                },
            )
        if s[:1] == ["subscriptions"]:
            return self._subscription_route(method, s[1:], body)
        if len(s) >= 3 and s[0] == "users":
            mailbox, rest = s[1].lower(), s[2:]
            if rest == ["events"] and method == "POST":
                return self._post_event(mailbox, body)
            if rest == ["events"] and method == "GET":
                return self._list_events(mailbox, query, base, s)
            if rest == ["calendarView"] and method == "GET":
                return self._calendar_view(mailbox, query, base, s)
            if rest == ["calendarView", "delta"] and method == "GET":
                return self._delta(mailbox, query, prefer, base, s)
            if rest == ["translateExchangeIds"] and method == "POST":
                return self._translate(mailbox, body)
            if len(rest) == 2 and rest[0] == "events" and _OCCURRENCE in rest[1]:
                if method != "GET":
                    raise _GraphFault(400, "fakeUnsupportedRequest", "only GET of an occurrence is faked")
                master = self._existing(mailbox, rest[1].partition(_OCCURRENCE)[0])
                occurrence = self._occurrence(master, self._resolve(rest[1]), expand=_expand_ids(query),
                                              select=query.get("$select"))
                if occurrence is None:
                    raise _GraphFault(404, "ErrorItemNotFound", "The specified object was not found in the store.")
                return _Answer(200, occurrence)
            if len(rest) == 2 and rest[0] == "events":
                return self._event_route(method, mailbox, rest[1], query, body)
            if len(rest) == 3 and rest[0] == "events" and rest[2] == "cancel" and method == "POST":
                item = self._existing(mailbox, rest[1])
                if item.event.get("isOrganizer") is False:
                    # event-cancel.md: "Only the organizer can cancel a meeting"; an attendee gets 400.
                    raise _GraphFault(400, "ErrorAccessDenied", "Your request can't be completed. You need to be "
                                                                "an organizer to cancel a meeting.")
                if item.state == "live":
                    self._mail(item, "cancellation", self._addresses(item), by="api")
                self._cancel(item)
                return _Answer(202)
        raise _GraphFault(400, "fakeUnsupportedRequest", f"{method} /{'/'.join(s)} is not faked")

    def _event_route(
        self, method: str, mailbox: str, event_id: str, query: dict[str, str], body: Any
    ) -> _Answer:
        if method == "GET":
            item = self._existing(mailbox, event_id)
            return _Answer(200, self._render(item, expand=_expand_ids(query), select=query.get("$select")))
        if method == "PATCH":
            if not isinstance(body, dict):
                raise _GraphFault(400, "ErrorInvalidRequest", "PATCH needs a JSON object")
            return _Answer(
                200, self._render(self._write(self._existing(mailbox, event_id), body, by="api"), expand=None)
            )
        if method == "DELETE":
            item = self._existing(mailbox, event_id)
            if item.state == "live" and item.event.get("isOrganizer") is not False:
                self._mail(item, "cancellation", self._addresses(item), by="api")
            item.state = "deleted"
            self._bump(item)
            return _Answer(204)
        raise _GraphFault(405, "ErrorInvalidRequest", f"{method} not allowed")

    def _batch(self, body: Any, host_url: str, token: str) -> _Answer:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return _error(400, "BadRequest", "requests is required")
        if len(requests) > 20:
            return _error(400, "BadRequest", "Number of batch request steps exceeds the maximum of 20.")
        if len({str(r.get("id")) for r in requests}) != len(requests):
            return _error(400, "BadRequest", "Batch request ids must be unique.")
        responses = []
        per_mailbox: Counter[str] = Counter()
        for inner in requests:
            url = str(inner.get("url", ""))
            path, _, query_string = url.lstrip("/").partition("?")
            segments = [unquote(seg) for seg in path.split("/")]
            query = dict(parse_qsl(query_string, keep_blank_values=True))
            headers = inner.get("headers") or {}
            record = RecordedRequest(
                method=str(inner.get("method", "GET")).upper(),
                path="/" + "/".join(segments),
                query=query,
                body=inner.get("body"),
                prefer=str(headers.get("Prefer", "")),
                token=token,
                in_batch=True,
            )
            with self._lock:
                self.requests.append(record)
                fault = self._draw_fault(tuple(k for k in self.faults if k in _BATCH_FAULT_KINDS))
            mailbox = segments[1].lower() if len(segments) > 1 and segments[0] == "users" else ""
            if mailbox:
                per_mailbox[mailbox] += 1
            if inner.get("dependsOn"):
                answer = _error(400, "fakeUnsupportedRequest", "dependsOn is not faked")
            elif mailbox and per_mailbox[mailbox] > MAILBOX_CONCURRENCY:
                # graph:concepts/throttling-limits.md (Outlook): 4 concurrent requests per mailbox; DESIGN 8.
                answer = _error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
                answer.headers["Retry-After"] = self.batch_retry_after
            elif fault:
                record.fault = fault
                answer = self._fault_answer(fault)
            else:
                answer = self._dispatch(
                    record.method, segments, query, record.body, record.prefer, host_url, record
                )
            record.status = answer.status
            responses.append(
                {
                    "id": str(inner.get("id")),
                    "status": answer.status,
                    "headers": {"Content-Type": "application/json", **answer.headers},
                    "body": answer.body,
                }
            )
        return _Answer(200, {"responses": responses})

    # Events -----------------------------------------------------------------------------------------------

    def _post_event(self, mailbox: str, body: Any) -> _Answer:
        if not isinstance(body, dict):
            raise _GraphFault(400, "ErrorInvalidRequest", "body must be a JSON object")
        transaction_id = body.get("transactionId")
        if transaction_id:
            for item in self._items.values():
                if item.mailbox == mailbox and item.event.get("transactionId") == transaction_id:
                    return _Answer(201, self._render(item, expand=None))
        item = self._create(mailbox, body)
        self._mail(item, "invitation", self._addresses(item), by="api")
        return _Answer(201, self._render(item, expand=None))

    def _translate(self, mailbox: str, body: Any) -> _Answer:
        """graph:api-reference/v1.0/api/user-translateexchangeids.md: ids of one mailbox from one type to another."""
        if not isinstance(body, dict) or not isinstance(body.get("inputIds"), list):
            raise _GraphFault(400, "ErrorInvalidRequest", "inputIds is required")
        source, target = body.get("sourceIdType"), body.get("targetIdType")
        if source not in _ID_TYPES or target not in _ID_TYPES:
            raise _GraphFault(400, "fakeUnsupportedIdType", f"only {', '.join(_ID_TYPES)} are faked")
        value = []
        for given in body["inputIds"]:
            rest = str(given).replace("/", "-").replace("+", "_") if source == "ewsId" else str(given)
            immutable = self._aliases.get(rest, rest) if source != "restImmutableEntryId" else rest
            item = self._items.get(immutable)
            if item is None or item.mailbox != mailbox:
                raise _GraphFault(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            regular = next(r for r, i in self._aliases.items() if i == immutable)
            out = {"ewsId": regular.replace("-", "/").replace("_", "+"), "restId": regular,
                   "restImmutableEntryId": immutable}[target]
            value.append({"sourceId": given, "targetId": out})
        return _Answer(200, {"value": value})

    def _list_events(self, mailbox: str, query: dict[str, str], base: str, s: list[str]) -> _Answer:
        items = [i for i in self._items.values() if i.mailbox == mailbox and i.state == "live"]
        if "$filter" in query:
            match = _FILTER_RE.match(query["$filter"])
            if not match:
                raise _GraphFault(
                    400, "fakeUnsupportedFilter", "only the extended-property Any() filter is faked"
                )
            prop_id, value = (_unquote_literal(g) for g in match.groups())
            items = [
                i
                for i in items
                if any(
                    p.get("id") == prop_id and str(p.get("value", "")).lower() == value.lower()
                    for p in i.event.get("singleValueExtendedProperties", [])
                )
            ]
        return self._page(items, query, base, s)

    def _calendar_view(self, mailbox: str, query: dict[str, str], base: str, s: list[str]) -> _Answer:
        start, end = _window(query)
        expand, select = _expand_ids(query), query.get("$select")
        events = [
            event
            for i in self._items.values()
            if i.mailbox == mailbox and i.state == "live"
            for event in self._instances(i, expand=expand, select=select)
            if _overlaps(event, start, end)
        ]
        events.sort(key=lambda e: _instant(e["start"]))
        return self._page(events, query, base, s)

    def _page(self, items: list, query: dict[str, str], base: str, s: list[str]) -> _Answer:
        """One page of ``items`` (stored items, or events already rendered)."""
        top = min(int(query.get("$top", self.page_size)), self.max_page_size)
        skip = int(query.get("$skip", 0))
        expand = _expand_ids(query)
        page = {
            "value": [
                i if isinstance(i, dict) else self._render(i, expand=expand, select=query.get("$select"))
                for i in items[skip : skip + top]
            ]
        }
        if skip + top < len(items):
            page["@odata.nextLink"] = _link(base, s, {**query, "$skip": str(skip + top)})
        return _Answer(200, page)

    def _delta(self, mailbox: str, query: dict[str, str], prefer: str, base: str, s: list[str]) -> _Answer:
        lowered = {k.lower(): v for k, v in query.items()}
        unsupported = {"$select", "$expand", "$filter", "$orderby", "$search", "$top"} & set(lowered)
        if unsupported:
            raise _GraphFault(400, "ErrorInvalidUrlQuery", f"delta does not support {sorted(unsupported)}")
        if "$deltatoken" in lowered:
            state = _decode(lowered["$deltatoken"])
            if state["q"] < self._delta_floor:
                raise _GraphFault(410, "SyncStateNotFound", "The sync state is no longer valid.")
            state = {**state, "since": state["q"], "upto": self._seq, "off": 0}
        elif "$skiptoken" in lowered:
            state = _decode(lowered["$skiptoken"])
        else:
            start, end = _window(query)
            state = {
                "m": mailbox,
                "s": start.isoformat(),
                "e": end.isoformat(),
                "since": 0,
                "upto": self._seq,
                "off": 0,
            }
        if state["m"] != mailbox:
            raise _GraphFault(400, "fakeForeignDeltaToken", "token belongs to another mailbox")
        start, end = datetime.fromisoformat(state["s"]), datetime.fromisoformat(state["e"])
        changed = sorted(
            (
                i
                for i in self._items.values()
                if i.mailbox == mailbox and state["since"] < i.seq <= state["upto"]
            ),
            key=lambda i: i.seq,
        )
        entries = []
        for item in changed:
            shown = [e for e in self._instances(item, expand=None) if _overlaps(e, start, end)]
            if item.state == "live" and shown:
                entries.extend(shown)
            elif state["since"]:
                entries.append(
                    {
                        "@odata.type": "#microsoft.graph.event",
                        "id": item.event["id"],
                        "@removed": {"reason": "deleted"},
                    }
                )
        if not state["since"] and "$skiptoken" not in lowered:
            # An initial round begins with an empty page and a nextLink (event-delta.md; DESIGN 8).
            return _Answer(200, {"value": [], "@odata.nextLink": _link(base, s, {"$skiptoken": _encode(state)})})
        size = min(_max_page_size(prefer) or self.page_size, self.max_page_size)
        off = state["off"]
        page: dict[str, Any] = {"value": entries[off : off + size]}
        if off + size < len(entries):
            page["@odata.nextLink"] = _link(base, s, {"$skiptoken": _encode({**state, "off": off + size})})
        else:
            token = {"m": mailbox, "s": state["s"], "e": state["e"], "q": state["upto"]}
            page["@odata.deltaLink"] = _link(base, s, {"$deltatoken": _encode(token)})
        return _Answer(200, page)

    def _resolve(self, event_id: str) -> str:
        """The immutable id of an event named by its immutable or regular REST id (occurrences too)."""
        if "/" in event_id or "+" in event_id:
            # An EWS id (Office.js item.itemId) is not a Graph id; convertToRestId or translateExchangeIds first.
            raise _GraphFault(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        master, _, day = event_id.partition(_OCCURRENCE)
        master = self._aliases.get(master, master)
        return f"{master}{_OCCURRENCE}{day}" if day else master

    def _existing(self, mailbox: str, event_id: str) -> _Item:
        item = self._items.get(self._resolve(event_id))
        if item is None or item.mailbox != mailbox or item.state == "deleted":
            raise _GraphFault(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return item

    def _live(self, mailbox: str, event_id: str) -> _Item:
        item = self._existing(mailbox.lower(), event_id)
        if item.state != "live":
            raise ValueError(f"event {event_id} is {item.state}")
        return item

    def _create(self, mailbox: str, body: dict) -> _Item:
        mailbox = mailbox.lower()
        if "start" not in body or "end" not in body:
            raise _GraphFault(400, "ErrorInvalidRequest", "start and end are required")
        self._ids += 1
        # Two ids per event (graph:concepts/outlook-immutable-id.md): the regular REST id, which changes when the
        # item moves between folders, and the immutable one. The REST id holds - and _, which EWS writes / and +.
        event_id = "AAkALgAA" + base64.urlsafe_b64encode(f"{mailbox}#{self._ids}#immutable".encode()).decode()
        rest_id = "AAMkAD" + base64.urlsafe_b64encode(f"{mailbox}#{self._ids}".encode() + b"\xfb\xef\xfe").decode()
        self._aliases[rest_id] = event_id
        now = _now()
        event = {
            "id": event_id,
            "createdDateTime": now,
            "lastModifiedDateTime": now,
            "iCalUId": "040000008200E00074C5B7101A82E008"
            + hashlib.sha1(event_id.encode()).hexdigest().upper(),
            "transactionId": body.get("transactionId"),
            "subject": "",
            "body": {"contentType": "text", "content": ""},
            "location": {"displayName": ""},
            "attendees": [],
            "isCancelled": False,
            "isOrganizer": True,
            "type": "singleInstance",
            "responseStatus": {"response": "organizer", "time": now},
            "organizer": {"emailAddress": {"name": mailbox, "address": mailbox}},
            "singleValueExtendedProperties": [],
        }
        self._seq += 1
        item = _Item(mailbox=mailbox, event=event, seq=self._seq)
        self._apply(item, {k: v for k, v in body.items() if k not in _READ_ONLY})
        if event.get("recurrence"):
            _check_recurrence(event["recurrence"])
            event["type"] = "seriesMaster"
        if event.get("isOnlineMeeting"):
            join_url = f"https://teams.microsoft.com/l/meetup-join/fake-{self._ids}"
            event["onlineMeeting"] = {"joinUrl": join_url}
            content = (event.get("body") or {}).get("content") or ""
            event["body"] = {"contentType": "text", "content": f"{content}\n{_JOIN_BLOCK}{join_url}"}
        event["changeKey"] = _change_key(item.seq)
        self._items[event_id] = item
        self._book_rooms(item)
        return item

    def _write(self, item: _Item, changes: dict, *, by: str) -> _Item:
        """The organizer's change, and the mail it causes (module docstring)."""
        before = set(self._addresses(item))
        self._patch(item, changes)
        if "body" in changes and item.event.get("onlineMeeting"):
            # docs-contrib #3670, #311: PATCHing the body of an online meeting loses its join information.
            item.event["onlineMeeting"] = None
            self.join_info_lost.append(item.event["id"])
        self._book_rooms(item)
        if item.event.get("isOrganizer") is False:
            return item  # an attendee's own copy: Exchange sends nothing
        after = self._addresses(item)
        self._mail(item, "cancellation", [a for a in before if a not in set(after)], by=by)
        self._mail(item, "update", [a for a in after if a in before], by=by)
        self._mail(item, "invitation", [a for a in after if a not in before], by=by)
        return item

    def _addresses(self, item: _Item) -> list[str]:
        return [a["emailAddress"]["address"].lower() for a in item.event.get("attendees", [])]

    def _book_rooms(self, item: _Item) -> None:
        """Each room on the meeting answers: accepted, or declined when it overlaps a booking the room accepted
        (Exchange ``Set-CalendarProcessing -AllowConflicts`` defaults to ``$false``; DESIGN 8)."""
        if item.event.get("isOrganizer") is False:
            return
        for attendee in item.event.get("attendees", []):
            room = attendee["emailAddress"]["address"].lower()
            if room not in self.rooms:
                continue
            taken = any(
                other is not item and other.state == "live" and _overlaps(other.event, *_span(item.event))
                and any(a["emailAddress"]["address"].lower() == room
                        and (a.get("status") or {}).get("response") == "accepted"
                        for a in other.event.get("attendees", []))
                for other in self._items.values()
            )
            response = "declined" if taken else "accepted"
            if (attendee.get("status") or {}).get("response") != response:
                attendee["status"] = {"response": response, "time": _now()}

    def _instances(self, item: _Item, *, expand: list[str] | None, select: str | None = None) -> list[dict]:
        """What calendarView and delta list for a stored item: itself, or a series' occurrences and exceptions."""
        if item.event.get("type") != "seriesMaster":
            return [self._render(item, expand=expand, select=select)]
        found = []
        for day in _occurrence_days(item.event):
            occurrence = self._occurrence(item, f"{item.event['id']}{_OCCURRENCE}{day}", expand=expand,
                                          select=select)
            if occurrence is not None:
                found.append(occurrence)
        return found

    def _occurrence(self, master: _Item, occurrence_id: str, *, expand: list[str] | None = None,
                    select: str | None = None) -> dict | None:
        """One occurrence (or exception) of a series, with its own id and iCalUId (event.md)."""
        day = occurrence_id.partition(_OCCURRENCE)[2]
        if day not in _occurrence_days(master.event):
            return None
        event = self._render(master, expand=expand)
        first = datetime.fromisoformat(master.event["start"]["dateTime"][:19])
        offset = datetime.strptime(day, "%Y%m%d").date() - first.date()
        for key in ("start", "end"):
            moment = datetime.fromisoformat(event[key]["dateTime"][:19]) + offset
            event[key] = {**event[key], "dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S.0000000")}
        event.update(id=occurrence_id, seriesMasterId=master.event["id"], type="occurrence", recurrence=None,
                     iCalUId=master.event["iCalUId"] + day)
        changes = self._exceptions.get(master.event["id"], {}).get(occurrence_id)
        if changes:
            scratch = _Item(mailbox=master.mailbox, event=event, seq=master.seq)
            self._apply(scratch, changes)
            event["type"] = "exception"
        if select:
            keep = {"id", "@odata.etag", "singleValueExtendedProperties", *select.split(",")}
            event = {k: v for k, v in event.items() if k in keep}
        return event

    def _mail(self, item: _Item, kind: str, recipients: Iterable[str], *, by: str) -> None:
        body = (item.event.get("body") or {}).get("content") or ""
        for address in recipients:
            self.mails.append(Mail(address, kind, item.event["id"], item.event.get("subject") or "", body, by))

    def _attendees_of_target(self, segments: list[str]) -> tuple[str, ...] | None:
        if len(segments) >= 4 and segments[0] == "users" and segments[2] == "events":
            item = self._items.get(self._aliases.get(segments[3], segments[3]))
            if item is not None and item.mailbox == segments[1].lower():
                return tuple(self._addresses(item))
        return None

    def _patch(self, item: _Item, changes: dict) -> _Item:
        self._apply(item, {k: v for k, v in changes.items() if k not in _READ_ONLY})
        self._bump(item)
        return item

    def _touch(self, item: _Item, changes: dict) -> None:
        item.event.update(changes)
        self._bump(item)

    def _cancel(self, item: _Item) -> None:
        if item.state == "cancelled":
            return
        item.state = "cancelled"
        item.event["isCancelled"] = True
        self._bump(item)

    def _bump(self, item: _Item) -> None:
        self._seq += 1
        item.seq = self._seq
        item.event["changeKey"] = _change_key(item.seq)
        item.event["lastModifiedDateTime"] = _now()

    def _apply(self, item: _Item, changes: dict) -> None:
        event = item.event
        for key, value in changes.items():
            if key in ("start", "end"):
                if not isinstance(value, dict) or "dateTime" not in value:
                    raise _GraphFault(400, "ErrorInvalidRequest", "start/end need dateTime and timeZone")
                event[key] = dict(value)
                event["originalStartTimeZone" if key == "start" else "originalEndTimeZone"] = value.get(
                    "timeZone"
                )
            elif key == "attendees":
                previous = {
                    a["emailAddress"]["address"].lower(): a.get("status") for a in event.get("attendees", [])
                }
                event["attendees"] = [
                    {
                        "type": a.get("type", "required"),
                        "emailAddress": dict(a["emailAddress"]),
                        "status": previous.get(a["emailAddress"]["address"].lower())
                        or {"response": "none", "time": "0001-01-01T00:00:00Z"},
                    }
                    for a in value
                ]
            elif key == "singleValueExtendedProperties":
                merged = {p["id"]: dict(p) for p in event.get("singleValueExtendedProperties", [])}
                merged.update({p["id"]: {"id": p["id"], "value": p.get("value")} for p in value})
                event[key] = list(merged.values())
            else:
                event[key] = value
        if "start" in event and "end" in event:
            _settle_times(event)

    def _render(
        self,
        item: _Item,
        *,
        expand: list[str] | None,
        select: str | None = None,
        all_properties: bool = False,
    ) -> dict:
        event = json.loads(json.dumps(item.event))
        event["@odata.etag"] = f'W/"{event["changeKey"]}"'
        properties = event.pop("singleValueExtendedProperties", [])
        if all_properties:
            event["singleValueExtendedProperties"] = properties
        elif expand is not None:
            event["singleValueExtendedProperties"] = [p for p in properties if p["id"] in expand]
        if select:
            keep = {"id", "@odata.etag", "singleValueExtendedProperties", *select.split(",")}
            event = {k: v for k, v in event.items() if k in keep}
        return event

    # Subscriptions --------------------------------------------------------------------------------------

    def _subscription_route(self, method: str, rest: list[str], body: Any) -> _Answer:
        if not rest and method == "POST":
            if not isinstance(body, dict):
                raise _GraphFault(400, "InvalidRequest", "body must be a JSON object")
            missing = {"changeType", "notificationUrl", "resource", "expirationDateTime"} - set(body)
            if missing:
                raise _GraphFault(400, "InvalidRequest", f"missing {sorted(missing)}")
            if not _SUBSCRIPTION_RESOURCE_RE.match(body["resource"]):
                raise _GraphFault(400, "InvalidRequest", "unsupported resource")
            if len(body.get("clientState") or "") > 128:
                raise _GraphFault(400, "InvalidRequest", "clientState is longer than 128 characters")
            _check_expiration(body["expirationDateTime"], self.clock())
            subscription_id = f"{self._rng.getrandbits(128):032x}"
            subscription = {
                "id": subscription_id,
                **{
                    k: body.get(k)
                    for k in (
                        "resource",
                        "changeType",
                        "notificationUrl",
                        "expirationDateTime",
                        "clientState",
                        "lifecycleNotificationUrl",
                    )
                },
            }
            self._subscriptions[subscription_id] = subscription
            return _Answer(201, dict(subscription))
        if len(rest) == 1:
            subscription = self._subscriptions.get(rest[0])
            if subscription is None:
                raise _GraphFault(404, "ResourceNotFound", "subscription not found")
            if method == "GET":
                return _Answer(200, dict(subscription))
            if method == "PATCH" and isinstance(body, dict) and "expirationDateTime" in body:
                _check_expiration(body["expirationDateTime"], self.clock())
                subscription["expirationDateTime"] = body["expirationDateTime"]
                return _Answer(200, dict(subscription))
            if method == "DELETE":
                del self._subscriptions[rest[0]]
                return _Answer(204)
        raise _GraphFault(400, "fakeUnsupportedRequest", f"{method} subscriptions/{'/'.join(rest)}")

    # Serving --------------------------------------------------------------------------------------------

    def _wake_and_wait_idle(self, timeout: float = 5.0) -> None:
        # Slow faults sleep on this event, so stopping does not wait for them.
        self._stopping.set()
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)


class _QuietHandler(WSGIRequestHandler):
    def log(self, kind: str, message: str, *args: Any) -> None:
        pass


def start_fake_graph(**options: Any) -> tuple[str, FakeGraph, Callable[[], None]]:
    """Serve a ``FakeGraph(**options)`` on 127.0.0.1 in a thread; returns (base_url, fake, stop)."""
    fake = FakeGraph(**options)
    server = make_server("127.0.0.1", 0, fake, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-graph", daemon=True
    )
    thread.start()

    def stop() -> None:
        fake._wake_and_wait_idle()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}/v1.0", fake, stop


# Helpers --------------------------------------------------------------------------------------------------


def _mailbox_of(path: str) -> str:
    """The mailbox a request path names (``/v1.0/users/{mailbox}/...``), lower case; "" for other paths."""
    segments = [unquote(s) for s in path.strip("/").split("/")]
    return segments[2].lower() if len(segments) > 2 and segments[1] == "users" else ""


def _error(status: int, code: str, message: str) -> _Answer:
    return _Answer(status, {"error": {"code": code, "message": message}})


def _json_response(answer: _Answer) -> Response:
    if answer.body is None:
        return Response(status=answer.status, headers=answer.headers)
    return Response(
        json.dumps(answer.body), status=answer.status, headers=answer.headers, content_type="application/json"
    )


def _drop(environ: dict) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise _Dropped("fault: connection dropped")


def _names_event(path: str, event_id: str) -> bool:
    segments = path.strip("/").split("/")
    return any(seg == "events" and nxt == event_id for seg, nxt in zip(segments, segments[1:], strict=False))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _change_key(seq: int) -> str:
    return base64.b64encode(f"fake-change-{seq}".encode()).decode()


def _zone(name: str | None) -> ZoneInfo:
    name = name or "UTC"
    try:
        return ZoneInfo(win_tz.get(name, name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _GraphFault(400, "TimeZoneNotSupportedException", f"unknown time zone {name!r}") from exc


def _instant(value: dict) -> datetime:
    moment = datetime.fromisoformat(value["dateTime"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(value.get("timeZone")))
    return moment.astimezone(UTC)


def _normalise_time(value: Any) -> dict:
    if not isinstance(value, dict) or "dateTime" not in value:
        raise _GraphFault(400, "ErrorInvalidRequest", "start/end need dateTime and timeZone")
    return {"dateTime": _instant(value).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def _settle_times(event: dict) -> None:
    """Times as Graph keeps them: UTC (the default without ``Prefer: outlook.timezone``), except all-day events,
    which stay floating midnight to midnight in their own zone (docs #1802, #6003). graph:api-reference/v1.0/
    resources/event.md, isAllDay: "start and end time must be set to midnight and be in the same time zone"."""
    if not event.get("isAllDay"):
        event["start"], event["end"] = _normalise_time(event["start"]), _normalise_time(event["end"])
        return
    zones = {_zone(event[k].get("timeZone")).key for k in ("start", "end")}
    local = [datetime.fromisoformat(_seven_to_six(event[k]["dateTime"])) for k in ("start", "end")]
    if len(zones) != 1 or any(m.tzinfo is not None or m.time() != datetime.min.time() for m in local):
        raise _GraphFault(400, "ErrorInvalidRequest", "An all-day event's start and end must be midnight in "
                                                      "one time zone.")
    for key, moment in zip(("start", "end"), local, strict=True):
        event[key] = {"dateTime": moment.strftime("%Y-%m-%dT00:00:00.0000000"), "timeZone": event[key]["timeZone"]}


def _seven_to_six(text: str) -> str:
    head, dot, fraction = text.partition(".")
    return head + (dot + fraction[:6] if dot else "")


def _span(event: dict) -> tuple[datetime, datetime]:
    return _instant(event["start"]), _instant(event["end"])


_JOIN_BLOCK = "________________________________________________________________________________\nMicrosoft Teams " \
              "meeting\nJoin: "


def _check_recurrence(recurrence: Any) -> None:
    pattern, span = (recurrence or {}).get("pattern") or {}, (recurrence or {}).get("range") or {}
    if pattern.get("type") not in ("daily", "weekly") or span.get("type") not in ("numbered", "endDate"):
        raise _GraphFault(400, "fakeUnsupportedRecurrence", "only daily/weekly patterns with numbered/endDate "
                                                            "ranges are faked")


def _occurrence_days(event: dict) -> list[str]:
    """The dates (YYYYMMDD) of a series' occurrences: daily or weekly (on the start's weekday and any
    ``daysOfWeek``), every ``interval``, for ``numberOfOccurrences`` or up to ``endDate``."""
    from datetime import timedelta

    recurrence = event.get("recurrence") or {}
    pattern, span = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    first = datetime.fromisoformat(_seven_to_six(event["start"]["dateTime"])).date()
    interval = max(1, int(pattern.get("interval") or 1))
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    weekdays = {names.index(d.lower()) for d in pattern.get("daysOfWeek") or []} or {first.weekday()}
    count = int(span.get("numberOfOccurrences") or 0) if span.get("type") == "numbered" else None
    last = datetime.fromisoformat(span["endDate"]).date() if span.get("type") == "endDate" else None
    days, day = [], first
    while len(days) < 500:
        if count is not None and len(days) >= count or last is not None and day > last:
            break
        if pattern.get("type") == "daily":
            if (day - first).days % interval == 0:
                days.append(day)
        elif day.weekday() in weekdays and ((day - first).days // 7) % interval == 0:
            days.append(day)
        day += timedelta(days=1)
    return [d.strftime("%Y%m%d") for d in days]


def _check_expiration(value: Any, now: datetime) -> None:
    """graph:api-reference/v1.0/resources/subscription.md: an Outlook event subscription lasts at most
    10,080 minutes."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _GraphFault(400, "InvalidRequest", "expirationDateTime is not a date and time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if (moment - now).total_seconds() > SUBSCRIPTION_MAX_MINUTES * 60:
        raise _GraphFault(400, "ExtensionError", f"Subscription expiration can only be {SUBSCRIPTION_MAX_MINUTES} "
                                                 "minutes in the future.")


def _overlaps(event: dict, start: datetime, end: datetime) -> bool:
    return _instant(event["start"]) < end and _instant(event["end"]) > start


def _window(query: dict[str, str]) -> tuple[datetime, datetime]:
    lowered = {k.lower(): v for k, v in query.items()}
    try:
        start = datetime.fromisoformat(lowered["startdatetime"])
        end = datetime.fromisoformat(lowered["enddatetime"])
    except (KeyError, ValueError) as exc:
        raise _GraphFault(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required") from exc
    return (
        start if start.tzinfo else start.replace(tzinfo=UTC),
        end if end.tzinfo else end.replace(tzinfo=UTC),
    )


def _expand_ids(query: dict[str, str]) -> list[str] | None:
    expand = query.get("$expand")
    if not expand:
        return None
    match = _EXPAND_RE.match(expand)
    if not match:
        raise _GraphFault(
            400, "fakeUnsupportedExpand", "only singleValueExtendedProperties($filter=...) is faked"
        )
    return [_unquote_literal(lit) for lit in _EXPAND_ID_RE.findall(match.group(1))]


def _unquote_literal(literal: str) -> str:
    return literal.replace("''", "'")


def _max_page_size(prefer: str) -> int | None:
    match = re.search(r"odata\.maxpagesize=(\d+)", prefer)
    return int(match.group(1)) if match else None


def _link(base: str, segments: list[str], query: dict[str, str]) -> str:
    path = "/".join(quote(s, safe="@=") for s in segments)
    return f"{base}/{path}?" + "&".join(f"{k}={quote(v, safe='$(),')}" for k, v in query.items())


def _encode(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def _decode(token: str) -> dict:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError as exc:
        raise _GraphFault(400, "fakeBadToken", "unreadable state token") from exc
