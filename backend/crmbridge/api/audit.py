"""/api/audit: who changed what and when, every invitation and guard verdict; for administrators."""

from .. import db
from ..auth.request import current_caller
from ..integration import audit, schemas
from .common import QUERY_ERRORS, api_blueprint

blp = api_blueprint("audit", __name__, "The audit trail (the Crmbridge.Admin role).")


@blp.get("/audit")
@blp.arguments(schemas.AuditQuery, location="query")
@blp.response(200, schemas.AuditPage, description="Oldest first; entries older than the retention are pruned.")
@blp.errors(*QUERY_ERRORS, 400)
@blp.doc(operationId="auditTrail")
def audit_trail(query):
    rows = audit.entries(db.session(), current_caller(), query.get("activity_id"), query["after"], query["limit"])
    return {"items": rows, "next": rows[-1].id if rows else query["after"]}
