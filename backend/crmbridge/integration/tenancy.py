"""One tenant's rows never reach another: every integration query is scoped through here.

A caller's tenant is the ``tid`` of its Entra token (development tokens name one, or get ``default``).
"""

from ..auth.caller import ADMIN_ROLE, INTEGRATION_ROLE, Caller
from ..domain.errors import NotAllowed


def tenant_of(caller: Caller) -> str:
    return caller.tenant_id


def scoped(column, caller: Caller):
    """The condition that keeps a query to the caller's tenant: ``select(Row).where(scoped(Row.tenant_id, c))``."""
    return column == tenant_of(caller)


def owns(caller: Caller, row) -> bool:
    return row is not None and row.tenant_id == tenant_of(caller)


def require_integration(caller: Caller) -> None:
    """The integration's app-only token with the role (or a development token with it)."""
    if caller.is_user or INTEGRATION_ROLE not in caller.roles:
        raise NotAllowed(f"This is for integrations: an application token with the {INTEGRATION_ROLE} role.")


def require_reader(caller: Caller) -> None:
    """The change feed: the integration, or an administrator."""
    if ADMIN_ROLE in caller.roles:
        return
    require_integration(caller)


def require_admin(caller: Caller) -> None:
    if ADMIN_ROLE not in caller.roles:
        raise NotAllowed(f"The audit trail is for administrators: the {ADMIN_ROLE} role.")
