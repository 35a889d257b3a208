"""``Idempotency-Key`` on POST: a retried create returns the first answer instead of making a second activity.

The key is scoped to the caller (tenant and token subject). The first request stores its answer in the same
transaction as the activity it created, so either both exist or neither; a concurrent retry that loses the race
on the unique key is answered with the winner's stored answer. The same key with a different body is refused
(422). Keys are kept for ``KEEP`` (``crmbridge retention prune`` forgets older ones), as Stripe keeps its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..auth.caller import Caller
from ..domain.errors import InvalidInput
from ..models import IdempotencyKeyRow, now
from . import tenancy

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
HEADER_PARAMETER = {"in": "header", "name": HEADER, "required": False, "schema": {"type": "string", "maxLength": 255},
                    "description": "Makes a retried create return the first answer (for 24 hours)."}
KEEP = timedelta(hours=24)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    replayed: bool


def fingerprint(body: object) -> str:
    """The request body, canonical: the same JSON in another order or spacing is the same request."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def checked_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput.one(HEADER, f"An idempotency key is 1 to {MAX_KEY_LENGTH} printable characters.")
    return key


def _stored(session: Session, caller: Caller, key: str) -> IdempotencyKeyRow | None:
    return session.scalars(select(IdempotencyKeyRow).where(
        tenancy.scoped(IdempotencyKeyRow.tenant_id, caller), IdempotencyKeyRow.caller == caller.subject,
        IdempotencyKeyRow.key == key)).first()


def _replay(row: IdempotencyKeyRow, request_hash: str) -> Answer:
    if row.request_hash != request_hash:
        raise InvalidInput.one(HEADER, "This idempotency key was used with a different request body. Use a new key "
                                       "for a new request.")
    return Answer(row.status, json.loads(row.response), True)


def once(session: Session, caller: Caller, key: str, request_hash: str,
         create: Callable[[], tuple[int, dict, int | None]]) -> Answer:
    """Answer a keyed request: the stored answer when there is one, else ``create()`` (which adds its rows without
    committing and returns status, body and the activity id), stored and committed together."""
    key = checked_key(key)
    found = _stored(session, caller, key)
    if found is not None:
        return _replay(found, request_hash)
    status, body, activity_id = create()
    session.add(IdempotencyKeyRow(tenant_id=tenancy.tenant_of(caller), caller=caller.subject, key=key,
                                  request_hash=request_hash, status=status, response=json.dumps(body),
                                  activity_id=activity_id, created_at=now()))
    try:
        session.commit()
    except IntegrityError:  # the same key, committed by a concurrent request a moment ago
        session.rollback()
        found = _stored(session, caller, key)
        if found is None:
            raise
        return _replay(found, request_hash)
    return Answer(status, body, False)


def forget_old(session: Session, before) -> int:
    count = session.execute(delete(IdempotencyKeyRow).where(IdempotencyKeyRow.created_at < before)
                            .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return count
