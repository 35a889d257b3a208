"""What the API views share: the caller's organization domains, the request session and the If-Match rule."""

import re
import time

from flask import current_app, request
from flask_smorest import Blueprint

from .. import db, store
from ..auth.request import authenticate
from ..domain.classification import OrgDomains
from ..errors import PreconditionFailed, PreconditionRequired

ORG_DOMAINS_CACHE = "crmbridge.org_domains"
_ETAG = re.compile(r'^\s*(?:W/)?"v(\d+)"\s*$')


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    blueprint = Blueprint(name, import_name, url_prefix="/api", description=description)
    blueprint.before_request(authenticate)
    return blueprint


def org_domains() -> OrgDomains:
    """The organization's domains, read from the database at most every ORG_DOMAINS_CACHE_SECONDS per process.

    Every lookup classifies participants; the table changes rarely (``crmbridge domains``, the Graph sync).
    """
    cache = current_app.extensions.setdefault(ORG_DOMAINS_CACHE, {})
    now = time.monotonic()
    if cache.get("expires", 0) <= now:
        cache["value"] = store.org_domains(
            db.session(), current_app.config["ORG_DOMAINS"], current_app.config["INCLUDE_SUBDOMAINS"]
        )
        cache["expires"] = now + current_app.config["ORG_DOMAINS_CACHE_SECONDS"]
    return cache["value"]


def forget_org_domains(app) -> None:
    app.extensions.pop(ORG_DOMAINS_CACHE, None)


def expected_version() -> int:
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired()
    match = _ETAG.match(header)
    if not match:
        raise PreconditionFailed("The If-Match header does not hold an ETag from this API. Reload and try again.")
    return int(match.group(1))
