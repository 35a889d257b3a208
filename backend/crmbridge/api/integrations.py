"""/api/activities by the CRM's own id, delete and reassign: what an integration needs beyond create and change."""

from flask import make_response, request

from .. import db, services, store
from ..auth.request import current_caller
from ..integration import activities as integration
from ..integration import schemas
from ..schemas import ActivityIn, ActivityOut
from .common import BODY_ERRORS, api_blueprint, expected_version, org_domains

blp = api_blueprint("integrations", __name__, "For integrations: upsert by external id, delete, reassign.")

UPSERT = schemas.UpsertOut()
IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
            "description": "The activity's ETag (missing: 428, stale: 412)."}
BY_EXTERNAL_ID = "/activities/by-external-id/<string:source>/<path:external_id>"


class _Upserted:
    def __init__(self, view: services.ActivityView, outlook: list[dict]):
        self.activity, self.participants, self.outlook = view.activity, view.participants, outlook


def _optional_version() -> int | None:
    return expected_version() if request.headers.get("If-Match") else None


@blp.put(BY_EXTERNAL_ID)
@blp.doc(parameters=[{**IF_MATCH, "required": False}])
@blp.arguments(ActivityIn)
@blp.response(200, schemas.UpsertOut, description="Replaced (200) or created (201); sending the same body again "
              "changes nothing (same version, no outbox job). If-Match is optional. A new organizerEmail moves the "
              "activity (see reassign).")
@blp.alt_response(201, schema=schemas.UpsertOut, description="Created.", success=True)
@blp.errors(*BODY_ERRORS, 404, 409, 412, 422)
@blp.doc(operationId="upsertByExternalId")
def upsert(data, source, external_id):
    integration.check_external_id(source, external_id)
    view, created, outlook = integration.upsert(db.session(), current_caller(), source, external_id, data,
                                                org_domains(), _optional_version())
    response = make_response(UPSERT.dump(_Upserted(view, outlook)), 201 if created else 200)
    response.headers["ETag"] = view.etag
    response.headers["Location"] = f"/api/activities/{view.activity.id}"
    return response


@blp.get(BY_EXTERNAL_ID)
@blp.response(200, ActivityOut)
@blp.errors(400, 404, 410)
@blp.doc(operationId="getByExternalId")
def get_by_external_id(source, external_id):
    view = integration.get_by_external_id(db.session(), current_caller(), source, external_id, org_domains())
    response = make_response(ActivityOut().dump(view))
    response.headers["ETag"] = view.etag
    return response


@blp.delete(BY_EXTERNAL_ID)
@blp.response(200, schemas.DeleteOut, description="Deleted; again: the same answer, nothing more happens.")
@blp.errors(400, 404)
@blp.doc(operationId="deleteByExternalId")
def delete_by_external_id(source, external_id):
    caller = current_caller()
    session = db.session()
    row = integration.find_by_external_id(session, caller, source, external_id)
    return integration.delete(session, caller, row, org_domains())


@blp.delete("/activities/<id:activity_id>")
@blp.response(200, schemas.DeleteOut, description="The internal meeting is cancelled through the outbox; the "
              "customer meeting is never touched (its organizer's taskpane says the CRM deleted the activity).")
@blp.errors(404)
@blp.doc(operationId="deleteActivity")
def delete_activity(activity_id):
    caller = current_caller()
    session = db.session()
    return integration.delete(session, caller, store.load(session, activity_id), org_domains())


@blp.post("/activities/<id:activity_id>/reassign")
@blp.doc(parameters=[IF_MATCH])
@blp.arguments(schemas.ReassignIn)
@blp.response(200, schemas.ReassignOut, description="Needs If-Match. The internal meeting is cancelled in the old "
              "calendar and created in the new one (both mail their attendees); the customer meeting stays with "
              "the old organizer, whose taskpane says it moved and to whom.")
@blp.errors(*BODY_ERRORS, 404, 409, 412, 428)
@blp.doc(operationId="reassign")
def reassign(data, activity_id):
    view, outlook = integration.reassign(db.session(), current_caller(), activity_id, expected_version(),
                                         data["organizer_email"], org_domains())
    response = make_response(schemas.ReassignOut().dump({"view": view, "outlook": outlook}))
    response.headers["ETag"] = view.etag
    return response
