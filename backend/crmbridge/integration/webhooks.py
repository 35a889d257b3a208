"""Webhooks: an integration's https endpoints, and the outbox that delivers each event to each of them.

- ``fan_out`` runs when events are sequenced (``events.sequence``): one delivery row per matching endpoint, in the
  same transaction, so an event is queued for every endpoint exactly once.
- ``deliver_due`` sends what is due: JSON of the event, signed (``domain.webhook_signing``), with the event id in a
  header. A 2xx answer is the acknowledgement; anything else, a timeout or a refused connection is retried with
  backoff (30 s doubling, capped at 6 h), 16 tries over about 38 hours, then the delivery is marked failed (``crmbridge
  webhooks deliver --retry-failed`` sends those again; the change feed keeps the events).
- Each endpoint is worked on its own: after one failure in a run its other deliveries wait for its next retry
  time, so a dead or slow endpoint costs one timeout per run and never holds up another endpoint or anything else.
- Deliveries are claimed with a lease, so two workers never send the same one at once; a worker that dies after
  sending and before recording the answer sends it again later. Delivery is therefore at least once: receivers
  keep the event ids they have acknowledged and ignore a repeat.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..auth.caller import Caller
from ..domain import webhook_signing
from ..domain.errors import InvalidInput, NotFound
from ..models import ActivityEventRow, WebhookDeliveryRow, WebhookEndpointRow, now
from . import events, tenancy

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 6 * 3600
MAX_ATTEMPTS = 16  # the last about 38 hours after the first
MAX_ENDPOINTS_PER_TENANT = 20
DEFAULT_TIMEOUT = (3.05, 10.0)
USER_AGENT = "crmbridge-webhooks/1"
LOOPBACK_HOSTS = ("localhost",)


# Endpoints ------------------------------------------------------------------------------------------------------


def _checked_url(url: str, allow_http_loopback: bool) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return url.strip()
    if parts.scheme == "http" and allow_http_loopback and _is_loopback(host):
        return url.strip()
    raise InvalidInput.one("url", "Webhook endpoints must be https:// URLs.")


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_types(types: list[str] | None) -> list[str]:
    if not types:
        return ["*"]
    unknown = sorted(set(types) - set(events.PUBLIC_TYPES) - {"*"})
    if unknown:
        raise InvalidInput.one("events", f"Unknown event types: {', '.join(unknown)}. "
                                         f"Known: {', '.join(events.PUBLIC_TYPES)}, or *.")
    return sorted(set(types))


def create_endpoint(session: Session, caller: Caller, data: dict, *, allow_http_loopback: bool) -> WebhookEndpointRow:
    """Register an endpoint; the returned row's secret is shown to the caller this once."""
    tenancy.require_integration(caller)
    url = _checked_url(data["url"], allow_http_loopback)
    count = len(list_endpoints(session, caller))
    if count >= MAX_ENDPOINTS_PER_TENANT:
        raise InvalidInput.one("url", f"At most {MAX_ENDPOINTS_PER_TENANT} endpoints; delete one first.")
    row = WebhookEndpointRow(
        tenant_id=tenancy.tenant_of(caller), url=url, secret=webhook_signing.new_secret(),
        event_types=json.dumps(_checked_types(data.get("events"))), enabled=True,
        description=data.get("description", ""), created_by=events.actor_of(caller).id[:255], created_at=now(),
    )
    session.add(row)
    session.commit()
    return row


def list_endpoints(session: Session, caller: Caller) -> list[WebhookEndpointRow]:
    tenancy.require_integration(caller)
    return list(session.scalars(select(WebhookEndpointRow).where(tenancy.scoped(WebhookEndpointRow.tenant_id, caller))
                                .order_by(WebhookEndpointRow.id)).all())


def get_endpoint(session: Session, caller: Caller, endpoint_id: int) -> WebhookEndpointRow:
    tenancy.require_integration(caller)
    row = session.get(WebhookEndpointRow, endpoint_id)
    if not tenancy.owns(caller, row):
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return row


def delete_endpoint(session: Session, caller: Caller, endpoint_id: int) -> None:
    """The endpoint and its undelivered deliveries go; nothing else waits for it."""
    session.delete(get_endpoint(session, caller, endpoint_id))
    session.commit()


def endpoint_types(row: WebhookEndpointRow) -> list[str]:
    return json.loads(row.event_types or '["*"]')


def delivery_counts(session: Session, endpoint_id: int) -> dict[str, int]:
    counts = {"pending": 0, "delivered": 0, "failed": 0}
    for state in session.scalars(select(WebhookDeliveryRow.state).where(WebhookDeliveryRow.endpoint_id == endpoint_id)):
        counts[state] = counts.get(state, 0) + 1
    return counts


# Fan-out --------------------------------------------------------------------------------------------------------


def fan_out(session: Session, new_events: list[ActivityEventRow]) -> int:
    """Queue each new public event for every enabled endpoint of its tenant that takes its type."""
    if not new_events:
        return 0
    tenants = {event.tenant_id for event in new_events}
    endpoints = list(session.scalars(select(WebhookEndpointRow).where(
        WebhookEndpointRow.tenant_id.in_(tenants), WebhookEndpointRow.enabled.is_(True))).all())
    queued = 0
    at = now()
    for event in new_events:
        for endpoint in endpoints:
            types = endpoint_types(endpoint)
            if endpoint.tenant_id != event.tenant_id or not ("*" in types or event.type in types):
                continue
            session.add(WebhookDeliveryRow(tenant_id=event.tenant_id, endpoint_id=endpoint.id, event_row_id=event.id,
                                           state="pending", attempts=0, next_attempt_at=at, created_at=at))
            queued += 1
    return queued


# Delivery -------------------------------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    gave_up: int = 0
    postponed: int = 0
    endpoints_down: list[int] = field(default_factory=list)

    def summary(self) -> str:
        line = (f"{self.delivered} delivered, {self.failed} failed (left for retry), {self.gave_up} given up, "
                f"{self.postponed} postponed behind a failing endpoint")
        return line + (f"; endpoints not answering: {', '.join(map(str, self.endpoints_down))}"
                       if self.endpoints_down else "")


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)))


def body_of(event: ActivityEventRow) -> bytes:
    return json.dumps(events.payload(event), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def headers_for(endpoint: WebhookEndpointRow, event: ActivityEventRow, body: bytes, attempt: int,
                timestamp: int | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        webhook_signing.HEADER: webhook_signing.sign(endpoint.secret, body, timestamp),
        "Crmbridge-Event-Id": event.event_id,
        "Crmbridge-Event-Type": event.type,
        "Crmbridge-Delivery-Attempt": str(attempt),
    }


def deliver_due(session: Session, *, at: datetime | None = None, limit: int | None = None,
                http: requests.Session | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                retry_now: bool = False) -> DeliveryReport:
    """Sequence new events (which queues their deliveries), then send every due delivery, endpoint by endpoint.
    ``retry_now``: also what waits for a later retry. The function the worker calls; commits as it goes."""
    events.sequence(session)
    at = at or now()
    http = http or requests.Session()
    report = DeliveryReport()
    due = WebhookDeliveryRow.state == "pending"
    if retry_now:  # whatever no worker holds right now
        due = due & ((WebhookDeliveryRow.next_attempt_at <= at) | WebhookDeliveryRow.claimed_by.is_(None))
    else:
        due = due & (WebhookDeliveryRow.next_attempt_at <= at)
    endpoint_ids = list(session.scalars(select(WebhookDeliveryRow.endpoint_id).where(due)
                                        .group_by(WebhookDeliveryRow.endpoint_id)
                                        .order_by(WebhookDeliveryRow.endpoint_id)).all())
    budget = limit
    for endpoint_id in endpoint_ids:
        if budget is not None and budget <= 0:
            break
        sent = _deliver_endpoint(session, endpoint_id, due, at, http, timeout, report, budget)
        if budget is not None:
            budget -= sent
    return report


def _deliver_endpoint(session: Session, endpoint_id: int, due, at: datetime, http: requests.Session,
                      timeout: tuple[float, float], report: DeliveryReport, budget: int | None) -> int:
    query = (select(WebhookDeliveryRow.id).where(due, WebhookDeliveryRow.endpoint_id == endpoint_id)
             .order_by(WebhookDeliveryRow.event_row_id))
    if budget is not None:
        query = query.limit(budget)
    ids = list(session.scalars(query).all())
    token = uuid.uuid4().hex
    claimed = session.execute(
        update(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(ids), due)
        .values(claimed_by=token, next_attempt_at=at + LEASE).execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if not claimed:
        return 0
    deliveries = list(session.scalars(select(WebhookDeliveryRow).where(WebhookDeliveryRow.claimed_by == token)
                                      .order_by(WebhookDeliveryRow.event_row_id)
                                      .execution_options(populate_existing=True)).all())
    sent = 0
    down_until = None
    for delivery in deliveries:
        if down_until is not None:
            delivery.claimed_by, delivery.next_attempt_at = None, down_until
            report.postponed += 1
            continue
        sent += 1
        delivery.attempts += 1
        status, error = _send(http, delivery, timeout)
        delivery.claimed_by = None
        delivery.last_status = status
        if status is not None and 200 <= status < 300:
            delivery.state, delivery.delivered_at, delivery.last_error = "delivered", now(), None
            report.delivered += 1
        else:
            delivery.last_error = (error or f"HTTP {status}")[:255]
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.state = "failed"
                report.gave_up += 1
            else:
                delivery.next_attempt_at = at + retry_delay(delivery.attempts)
                report.failed += 1
            down_until = at + retry_delay(delivery.attempts)
            report.endpoints_down.append(endpoint_id)
            log.warning("webhook endpoint %s: delivery %s failed (%s); attempt %d", endpoint_id, delivery.id,
                        delivery.last_error, delivery.attempts)
        session.commit()  # one by one: an acknowledged delivery is recorded before the next is sent
    session.commit()
    return sent


def _send(http: requests.Session, delivery: WebhookDeliveryRow, timeout: tuple[float, float]
          ) -> tuple[int | None, str | None]:
    body = body_of(delivery.event)
    headers = headers_for(delivery.endpoint, delivery.event, body, delivery.attempts)
    try:
        response = http.post(delivery.endpoint.url, data=body, headers=headers, timeout=timeout,
                             allow_redirects=False)
    except requests.Timeout:
        return None, "timeout"
    except requests.RequestException as exc:
        return None, f"no answer ({type(exc).__name__})"
    response.close()
    return response.status_code, None


def retry_failed(session: Session) -> int:
    """Send the given-up deliveries again, from now."""
    count = session.execute(
        update(WebhookDeliveryRow).where(WebhookDeliveryRow.state == "failed")
        .values(state="pending", attempts=0, next_attempt_at=now(), claimed_by=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return count
