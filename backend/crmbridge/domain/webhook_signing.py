"""Signing webhook deliveries, as Stripe signs its own: ``Crmbridge-Signature: t=<unix time>,v1=<hex>``.

``v1`` is HMAC-SHA256 with the endpoint's secret over ``"<t>.<raw body>"``. A receiver recomputes it over the raw
body it received, compares in constant time, and refuses a timestamp too far from its clock (a replayed delivery).
While a secret is being rolled, a header may carry several ``v1`` values; one match is enough.
"""

import hashlib
import hmac
import secrets
import time

HEADER = "Crmbridge-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"


class SignatureError(ValueError):
    """The header is missing or malformed, no signature matches, or the timestamp is outside the tolerance."""


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body``: ``t=<timestamp>,v1=<signature>``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def verify(secret: str, header: str | None, body: bytes, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS,
           now: float | None = None) -> int:
    """Check a received delivery; returns its timestamp or raises SignatureError."""
    if not header:
        raise SignatureError("no signature header")
    timestamp = None
    candidates = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("the header has no timestamp or no v1 signature")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("no signature matches the body")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("the timestamp is outside the tolerance")
    return timestamp
