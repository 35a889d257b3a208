"""Whose organization domains classify an activity's attendees: its own tenant's, never every tenant's.

A tenant-B address on tenant A's internal meeting is an outsider there; classified with the union of every
tenant's domains it would look internal, and the sync would write internal notes to a meeting it is on.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from .. import store
from ..domain.classification import OrgDomains


class TenantDomains:
    """The organization domains of each tenant (configured, stored for no tenant, stored for it), read from the
    store once per tenant for the life of this object: one worker round or one command."""

    def __init__(self, session: Session, configured: Iterable[str], include_subdomains: bool) -> None:
        self._session = session
        self._configured = list(configured)
        self._include_subdomains = include_subdomains
        self._known: dict[str, OrgDomains] = {}

    @classmethod
    def of_app(cls, session: Session, config) -> TenantDomains:
        return cls(session, config["ORG_DOMAINS"], config["INCLUDE_SUBDOMAINS"])

    def of(self, tenant_id: str) -> OrgDomains:
        if tenant_id not in self._known:
            self._known[tenant_id] = store.org_domains(self._session, self._configured, self._include_subdomains,
                                                       tenant_id=tenant_id)
        return self._known[tenant_id]


# A single OrgDomains means one set for every tenant (a one-tenant deployment, tests that call the sync directly).
OrgScope = OrgDomains | TenantDomains


def for_tenant(scope: OrgScope, tenant_id: str) -> OrgDomains:
    """The domains that classify the attendees of an activity of ``tenant_id``."""
    return scope.of(tenant_id) if isinstance(scope, TenantDomains) else scope
