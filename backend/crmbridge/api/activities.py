"""/api/activities: the caller's CRM activities, their external draft, drift, reconcile and links."""

from flask import make_response
from marshmallow import RAISE

from .. import db, schemas, services
from ..auth.request import current_caller
from .common import BODY_ERRORS, IF_MATCH, QUERY_ERRORS, api_blueprint, expected_version, org_domains

blp = api_blueprint("activities", __name__, "CRM activities and their Outlook meetings.")

ACTIVITY = schemas.ActivityOut()
# OpenAPI links from a created activity to the calls on it, so that stateful fuzzing works on real activities.
_ON_CREATED = {"getActivity": False, "updateActivity": True, "externalDraft": False, "compareDrift": False,
               "reconcile": True, "recordLink": False}
CREATED_LINKS = {
    operation: {"operationId": operation, "parameters": {
        "path.activity_id": "$response.body#/id",
        **({"header.If-Match": "$response.header.ETag"} if if_match else {}),
    }}
    for operation, if_match in _ON_CREATED.items()
}
ETAG_HEADER = {"ETag": {"description": 'The activity\'s version, such as "v3", for If-Match.',
                        "schema": {"type": "string"}}}


def _with_etag(activity_view: services.ActivityView, status: int = 200):
    response = make_response(ACTIVITY.dump(activity_view), status)
    response.headers["ETag"] = activity_view.etag
    return response


@blp.post("/activities")
@blp.arguments(schemas.ActivityIn)
@blp.response(201, schemas.ActivityOut, description="Created; the ETag header holds its version.",
              headers={**ETAG_HEADER, "Location": {"schema": {"type": "string"}}})
@blp.errors(*BODY_ERRORS)
@blp.doc(operationId="createActivity", responses={201: {"links": CREATED_LINKS}})
def create_activity(data):
    created = services.create_activity(db.session(), current_caller(), data, org_domains())
    response = _with_etag(created, 201)
    response.headers["Location"] = f"/api/activities/{created.activity.id}"
    return response


@blp.get("/activities")
@blp.arguments(schemas.ActivityQuery, location="query", unknown=RAISE)
@blp.response(200, schemas.ActivityPage)
@blp.errors(*QUERY_ERRORS)
@blp.doc(operationId="listActivities")
def list_activities(query):
    return services.list_activities(db.session(), current_caller(), query, org_domains())


@blp.get("/activities/<id:activity_id>")
@blp.response(200, schemas.ActivityOut, headers=ETAG_HEADER)
@blp.errors(404)
@blp.doc(operationId="getActivity")
def get_activity(activity_id):
    return _with_etag(services.get_activity(db.session(), current_caller(), activity_id, org_domains()))


@blp.patch("/activities/<id:activity_id>")
@blp.arguments(schemas.ActivityPatch(partial=schemas.PATCHABLE))
@blp.response(200, schemas.ActivityOut, description="Needs If-Match with the ETag; a stale one gets 412.",
              headers=ETAG_HEADER)
@blp.errors(*BODY_ERRORS, 404, 412, 428)
@blp.doc(parameters=[IF_MATCH])
@blp.doc(operationId="updateActivity")
def update_activity(changes, activity_id):
    version = expected_version()
    updated = services.update_activity(db.session(), current_caller(), activity_id, version, changes, org_domains())
    return _with_etag(updated)


@blp.get("/activities/<id:activity_id>/external-draft")
@blp.response(200, schemas.ExternalDraftOut, description="Organizer + externals, the external agenda, no notes.")
@blp.errors(404)
@blp.doc(operationId="externalDraft")
def external_draft(activity_id):
    return services.draft_for(db.session(), current_caller(), activity_id, org_domains())


@blp.post("/activities/<id:activity_id>/drift")
@blp.arguments(schemas.GraphEventIn)
@blp.response(200, schemas.DriftOut)
@blp.errors(*BODY_ERRORS, 404)
@blp.doc(operationId="compareDrift")
def drift(event, activity_id):
    return services.drift_for(db.session(), current_caller(), activity_id, event, org_domains())


@blp.post("/activities/<id:activity_id>/reconcile")
@blp.arguments(schemas.ReconcileIn)
@blp.response(200, schemas.ActivityOut, description="Changes the CRM only; externals get nothing.",
              headers=ETAG_HEADER)
@blp.errors(*BODY_ERRORS, 404, 412, 428)
@blp.doc(parameters=[IF_MATCH])
@blp.doc(operationId="reconcile")
def reconcile(data, activity_id):
    version = expected_version()
    updated = services.reconcile(db.session(), current_caller(), activity_id, version, data["snapshot"],
                                 data["apply_cancellation"], org_domains())
    return _with_etag(updated)


@blp.post("/activities/<id:activity_id>/links")
@blp.arguments(schemas.LinkIn)
@blp.response(201, schemas.LinkOut, description="A new link.")
@blp.alt_response(200, schema=schemas.LinkOut, description="The activity's existing link, updated.", success=True)
@blp.alt_response(409, response="CONFLICT", description="The Outlook meeting is already linked to another activity.")
@blp.errors(*BODY_ERRORS, 404)
@blp.doc(operationId="recordLink")
def record_link(data, activity_id):
    link, created = services.record_link(db.session(), current_caller(), activity_id, data)
    return link, 201 if created else 200
