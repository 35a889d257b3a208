"""What the API views share: the caller's organization domains, the request session and the If-Match rule."""

import re

from flask import current_app, g, request
from flask_smorest import Blueprint

from .. import db, store
from ..auth.request import authenticate
from ..domain.classification import OrgDomains
from ..errors import PreconditionFailed, PreconditionRequired

_ETAG = re.compile(r'^\s*(?:W/)?"v(\d+)"\s*$')


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    blueprint = Blueprint(name, import_name, url_prefix="/api", description=description)
    blueprint.before_request(authenticate)
    return blueprint


def org_domains() -> OrgDomains:
    if "org_domains" not in g:
        g.org_domains = store.org_domains(
            db.session(), current_app.config["ORG_DOMAINS"], current_app.config["INCLUDE_SUBDOMAINS"]
        )
    return g.org_domains


def expected_version() -> int:
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired()
    match = _ETAG.match(header)
    if not match:
        raise PreconditionFailed("The If-Match header does not hold an ETag from this API. Reload and try again.")
    return int(match.group(1))
