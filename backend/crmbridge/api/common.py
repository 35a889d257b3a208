"""What the API views share: the caller's organization domains, the request session, strict reading of ids and
bodies, and the If-Match rule."""

import re
from http import HTTPStatus

from flask import current_app, request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import BaseConverter

from .. import org, strict_json
from ..auth.request import authenticate, current_caller
from ..domain.classification import OrgDomains
from ..errors import ApiError, PreconditionFailed, PreconditionRequired
from ..models import MAX_ID

_ETAG = re.compile(r'^\s*(?:W/)?"v(\d+)"\s*$')


class IdConverter(BaseConverter):
    """``<id:activity_id>``: ASCII digits only. werkzeug's ``int`` takes any Unicode digit (``١٢`` would be 12).

    Too large an id is left to the store, which finds nothing: a converter that refused it would make werkzeug
    answer 405 for the methods of the rule it tried first.
    """

    regex = r"[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def id_parameter_schema(_converter) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID}


class StrictParser(FlaskParser):
    """webargs reads bodies with the standard ``json.loads``; ours refuses deep nesting and unstorable text."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return super()._raw_load_json(req)
        return strict_json.loads(req.get_data(cache=True))


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema, **kwargs):
        """As flask-smorest's, with a schema class made into its instance here, once: webargs given a class makes a
        new schema on every request (marshmallow deep-copies every field for it)."""
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)

    def errors(self, *statuses: int):
        """Document the error statuses a view answers besides those of every API call (``CALLER_ERRORS``)."""

        def decorate(view):
            for status in sorted({*CALLER_ERRORS, *statuses}, reverse=True):
                view = self.alt_response(status, response=HTTPStatus(status).name)(view)
            return view

        return decorate


# Every API call may answer these: no or a bad token, signed in but not allowed, our fault, Entra ID down.
CALLER_ERRORS = (401, 403, 500, 503)
# And every call with a body: not JSON or too deep, too large, not sent as JSON (422 comes with the arguments).
BODY_ERRORS = (400, 413, 415)
# Calls with query parameters: a request line past gunicorn's limit (4094 bytes) is refused before it reaches us.
QUERY_ERRORS = (414,)
# If-Match, on the calls that change an activity.
IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
            "description": 'The ETag you loaded, such as "v3"; missing: 428, stale: 412. `*` overwrites whatever '
                           "version is there (RFC 9110) and so gives up the protection against lost updates."}


BODY_METHODS = ("POST", "PATCH", "PUT")


def takes_no_body(view):
    """Mark a POST that takes no body (an action on the resource in its path): require_json_body lets it through."""
    view.takes_no_body = True
    return view


def require_json_body() -> None:
    """A body in another format, or none, would otherwise read as an empty change and be answered 200."""
    if request.method not in BODY_METHODS:
        return
    if getattr(current_app.view_functions.get(request.endpoint), "takes_no_body", False):
        return
    if request.mimetype and not request.is_json:
        raise ApiError(status=415)
    if not request.get_data(cache=True).strip():
        raise ApiError("The request needs a JSON body (Content-Type: application/json).", status=400)
    if not request.mimetype:
        raise ApiError(status=415)


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    blueprint = ApiBlueprint(name, import_name, url_prefix="/api", description=description)
    blueprint.before_request(authenticate)
    blueprint.before_request(require_json_body)
    return blueprint


def org_domains() -> OrgDomains:
    """The caller's tenant's organization domains."""
    return org.for_tenant(current_caller().tenant_id)


def forget_org_domains(app) -> None:
    org.forget(app)


def expected_version() -> int | None:
    """The version the caller's ``If-Match`` names, or None for ``*``.

    ``If-Match: *`` means "whatever is there" (RFC 9110, 13.1.1): the change overwrites the current version, so
    it gives up the protection against lost updates that an ETag gives.
    """
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired()
    if header.strip() == "*":
        return None
    match = _ETAG.match(header)
    if not match:
        raise PreconditionFailed("The If-Match header does not hold an ETag from this API. Reload and try again.")
    return int(match.group(1))
