"""/api/lookup: everything the taskpane needs when it opens on a meeting, in one call."""

from marshmallow import RAISE

from .. import db, schemas, services
from ..auth.request import current_caller
from .common import BODY_ERRORS, QUERY_ERRORS, api_blueprint, org_domains

blp = api_blueprint("lookup", __name__, "One call for the taskpane: activity, classification, link state, drift.")


@blp.get("/lookup")
@blp.arguments(schemas.LookupQuery, location="query", unknown=RAISE)
@blp.response(200, schemas.LookupOut)
@blp.errors(*QUERY_ERRORS, 404)
def lookup(query):
    return services.lookup(db.session(), current_caller(), query, org_domains())


@blp.post("/lookup")
@blp.arguments(schemas.LookupIn)
@blp.response(200, schemas.LookupOut, description="As GET, with a Graph-shaped snapshot of the open meeting.")
@blp.errors(*BODY_ERRORS, 404)
def lookup_with_snapshot(query):
    return services.lookup(db.session(), current_caller(), query, org_domains())
