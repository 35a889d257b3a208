"""Development tokens: signed with the app's secret key, accepted only in development and test modes.

They stand in for Entra access tokens until those are configured. ``create_app`` refuses production mode with
them enabled, and this module refuses to issue or accept one unless the app allows it.
"""

from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..domain.addresses import AddressError, parse_identity
from .caller import DEFAULT_TENANT, Caller

PREFIX = "dev."
SALT = "crmbridge-dev-token"
MAX_AGE_SECONDS = 30 * 24 * 3600


class DevTokenError(Exception):
    pass


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def issue(secret_key: str, email: str, roles: tuple[str, ...] = (), tenant: str | None = None) -> str:
    """A token for ``email`` (strictly ``local@domain``), an integration's with ``roles``; ``tenant`` stands in
    for an Entra tenant (none: the tenant "default")."""
    try:
        address = parse_identity(email)
    except AddressError as exc:
        raise DevTokenError(f"not a usable email address: {exc}") from exc
    payload: dict = {"email": address.email.lower()}
    if roles:
        payload["roles"] = sorted(roles)
    if tenant:
        payload["tid"] = tenant
    return PREFIX + _serializer(secret_key).dumps(payload)


def looks_like(token: str) -> bool:
    return token.startswith(PREFIX)


def verify(secret_key: str, token: str) -> Caller:
    if not looks_like(token):
        raise DevTokenError("not a development token")
    try:
        payload = _serializer(secret_key).loads(token[len(PREFIX):], max_age=MAX_AGE_SECONDS)
    except BadSignature as exc:
        raise DevTokenError("the development token is invalid or expired; create a new one") from exc
    roles = frozenset(payload.get("roles", ()))
    kind = "app" if roles else "user"
    tenant = payload.get("tid") or DEFAULT_TENANT
    # The same address in two tenants is two callers; the default tenant's keep their short subject.
    subject = f"dev:{payload['email']}" if tenant == DEFAULT_TENANT else f"dev:{tenant}:{payload['email']}"
    return Caller(kind=kind, email=payload["email"], subject=subject, roles=roles, tenant_id=tenant)
