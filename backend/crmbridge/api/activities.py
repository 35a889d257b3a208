"""/api/activities: the caller's CRM activities, their external draft, drift, reconcile and links."""

from flask import make_response
from marshmallow import RAISE

from .. import db, schemas, services
from ..auth.request import current_caller
from .common import api_blueprint, expected_version, org_domains

blp = api_blueprint("activities", __name__, "CRM activities and their Outlook meetings.")

ACTIVITY = schemas.ActivityOut()


def _with_etag(activity_view: services.ActivityView, status: int = 200):
    response = make_response(ACTIVITY.dump(activity_view), status)
    response.headers["ETag"] = activity_view.etag
    return response


@blp.post("/activities")
@blp.arguments(schemas.ActivityIn)
@blp.response(201, schemas.ActivityOut, description="Created; the ETag header holds its version.")
def create_activity(data):
    created = services.create_activity(db.session(), current_caller(), data, org_domains())
    response = _with_etag(created, 201)
    response.headers["Location"] = f"/api/activities/{created.activity.id}"
    return response


@blp.get("/activities")
@blp.arguments(schemas.ActivityQuery, location="query", unknown=RAISE)
@blp.response(200, schemas.ActivityPage)
def list_activities(query):
    return services.list_activities(db.session(), current_caller(), query, org_domains())


@blp.get("/activities/<id:activity_id>")
@blp.response(200, schemas.ActivityOut)
def get_activity(activity_id):
    return _with_etag(services.get_activity(db.session(), current_caller(), activity_id, org_domains()))


@blp.patch("/activities/<id:activity_id>")
@blp.arguments(schemas.ActivityPatch(partial=schemas.PATCHABLE))
@blp.response(200, schemas.ActivityOut, description="Needs If-Match with the ETag; a stale one gets 412.")
def update_activity(changes, activity_id):
    version = expected_version()
    updated = services.update_activity(db.session(), current_caller(), activity_id, version, changes, org_domains())
    return _with_etag(updated)


@blp.get("/activities/<id:activity_id>/external-draft")
@blp.response(200, schemas.ExternalDraftOut, description="Organizer + externals, the external agenda, no notes.")
def external_draft(activity_id):
    return services.draft_for(db.session(), current_caller(), activity_id, org_domains())


@blp.post("/activities/<id:activity_id>/drift")
@blp.arguments(schemas.GraphEventIn)
@blp.response(200, schemas.DriftOut)
def drift(event, activity_id):
    return services.drift_for(db.session(), current_caller(), activity_id, event, org_domains())


@blp.post("/activities/<id:activity_id>/reconcile")
@blp.arguments(schemas.ReconcileIn)
@blp.response(200, schemas.ActivityOut, description="Changes the CRM only; externals get nothing.")
def reconcile(data, activity_id):
    version = expected_version()
    updated = services.reconcile(db.session(), current_caller(), activity_id, version, data["snapshot"],
                                 data["apply_cancellation"], org_domains())
    return _with_etag(updated)


@blp.post("/activities/<id:activity_id>/links")
@blp.arguments(schemas.LinkIn)
@blp.response(201, schemas.LinkOut, description="201 when new, 200 when an existing link was updated.")
@blp.alt_response(409, description="The Outlook meeting is already linked to another activity.")
def record_link(data, activity_id):
    link, created = services.record_link(db.session(), current_caller(), activity_id, data)
    return link, 201 if created else 200
