"""/api/lookup: everything the taskpane needs when it opens on a meeting, in one call."""

import logging
from dataclasses import replace

from flask import current_app
from marshmallow import RAISE

from .. import db, schemas, services
from ..auth.graph_tokens import graph_token_for_current_user
from ..auth.obo import OboError
from ..auth.request import current_caller, entra_assertion
from ..domain.errors import NotFound
from ..graph import setup as graph_setup
from ..integration.activities import explain_missing
from ..integration.schemas import GoneOut
from .common import BODY_ERRORS, QUERY_ERRORS, api_blueprint, org_domains

log = logging.getLogger(__name__)

GONE = ("The meeting's activity is no longer the caller's: the CRM deleted it (reason deleted-in-crm, with "
        "activityId and since) or moved it to another organizer (reason moved, with movedTo, since and meeting).")

blp = api_blueprint("lookup", __name__, "One call for the taskpane: activity, classification, link state, drift.")


@blp.get("/lookup")
@blp.arguments(schemas.LookupQuery, location="query", unknown=RAISE)
@blp.response(200, schemas.LookupOut)
@blp.alt_response(410, schema=GoneOut, description=GONE)
@blp.errors(*QUERY_ERRORS, 404)
def lookup(query):
    return _lookup(query)


@blp.post("/lookup")
@blp.arguments(schemas.LookupIn)
@blp.response(200, schemas.LookupOut, description="As GET, with a Graph-shaped snapshot of the open meeting.")
@blp.alt_response(410, schema=GoneOut, description=GONE)
@blp.errors(*BODY_ERRORS, 404)
def lookup_with_snapshot(query):
    return _lookup(query)


def _lookup(query):
    caller = current_caller()
    try:
        found = services.lookup(db.reads(), caller, query, org_domains())
    except NotFound:
        explain_missing(db.session(), caller, query)  # deleted or moved by the CRM: 410 with the reason
        raise
    app = current_app._get_current_object()
    can_prepare = graph_setup.request_client(app) is not None and (
        caller.is_user or graph_setup.mode(app) == "application")
    waiting = found.waiting_for_sign_in and not _signed_in_again(app, caller)
    return replace(found, can_prepare_appointment=can_prepare, waiting_for_sign_in=waiting)


def _signed_in_again(app, caller) -> bool:
    """The organizer's jobs wait for a sign-in and here they are, signed in: one on-behalf-of exchange (Entra, not
    Graph; its own timeout) leaves a fresh refresh token in their cache and releases the jobs."""
    if graph_setup.mode(app) != "delegated" or not caller.is_user or entra_assertion() is None:
        return False
    try:
        graph_token_for_current_user(list(graph_setup.SCOPES))
    except OboError as exc:
        log.info("the organizer's jobs still wait for a sign-in: %s", type(exc).__name__)
        return False
    return True
