"""/api/changes: the change feed of the caller's tenant, for integrations (and administrators)."""

from .. import db
from ..auth.request import current_caller
from ..integration import events, schemas, tenancy
from .common import QUERY_ERRORS, api_blueprint

blp = api_blueprint("changes", __name__, "The change feed: what happened to activities, in the CRM and in Outlook.")


@blp.get("/changes")
@blp.arguments(schemas.ChangeQuery, location="query")
@blp.response(200, schemas.ChangePage, description="Oldest first. Keep `next` and pass it as `after`; an event is "
              "never skipped, and its id is the one webhook deliveries carry.")
@blp.errors(*QUERY_ERRORS, 400)
@blp.doc(operationId="changes")
def changes(query):
    caller = current_caller()
    tenancy.require_reader(caller)
    after = int(query.get("after") or 0)
    limit = query["limit"]
    types = [t.strip() for t in (query.get("types") or "").split(",") if t.strip()]
    rows = events.feed(db.session(), tenancy.tenant_of(caller), after, limit + 1, types,
                       query.get("activity_id"))
    page = rows[:limit]
    return {"items": [events.payload(row) for row in page],
            "next": str(page[-1].position) if page else str(after), "has_more": len(rows) > limit}
