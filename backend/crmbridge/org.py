"""The organization's domains per tenant, as every request classifies participants with them.

Configured domains (CRMBRIDGE_ORG_DOMAINS) and stored ones without a tenant count for every tenant; a stored
domain with a tenant counts for that tenant only. Read from the database at most every
ORG_DOMAINS_CACHE_SECONDS per process and tenant: the table changes rarely (``crmbridge domains``, the Graph sync).
"""

import time

from flask import Flask, current_app

from . import db, store
from .domain.classification import OrgDomains

CACHE = "crmbridge.org_domains"


def for_tenant(tenant_id: str) -> OrgDomains:
    cache = current_app.extensions.setdefault(CACHE, {})
    now = time.monotonic()
    entry = cache.get(tenant_id)
    if entry is None or entry[0] <= now:
        value = store.org_domains(db.session(), current_app.config["ORG_DOMAINS"],
                                  current_app.config["INCLUDE_SUBDOMAINS"], tenant_id=tenant_id)
        entry = cache[tenant_id] = (now + current_app.config["ORG_DOMAINS_CACHE_SECONDS"], value)
    return entry[1]


def forget(app: Flask) -> None:
    app.extensions.pop(CACHE, None)
