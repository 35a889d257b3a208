"""Microsoft Graph on the HTTP side: Graph's change notifications and the caller's meetings out of sync.

A request that changes an activity only adds a job to the outbox in its own transaction; ``crmbridge worker``
brings the internal meeting along, so no request waits on Graph for it.

``POST /api/graph/notifications`` is called by Graph, which has no bearer token for us: it lives on a plain Flask
blueprint without the ``authenticate`` hook and trusts only the ``clientState`` secret.
"""

import logging

from flask import Blueprint, current_app, request
from marshmallow import fields
from werkzeug.routing import Rule

from .. import db, schemas, services
from ..auth.request import current_caller
from ..domain.errors import NotAllowed
from ..dump_plan import PlannedSchema
from ..errors import ApiError, Forbidden
from ..graph import drift_watch
from ..graph import setup as graph_setup
from .common import api_blueprint, org_domains

log = logging.getLogger(__name__)

MAX_VALIDATION_TOKEN = 1024

notifications_bp = Blueprint("graph_notifications", __name__, url_prefix="/api/graph")
blp = api_blueprint("drift", __name__, "The caller's external meetings that are out of sync with the CRM.")


# Change notifications ------------------------------------------------------------------------------------------


@notifications_bp.post("/notifications")
def notifications():
    token = request.args.get("validationToken")
    if token is not None:
        # Subscription handshake: echo the token as plain text within 10 seconds.
        if not token or len(token) > MAX_VALIDATION_TOKEN:
            raise ApiError("The validation token is empty or too long.", status=400)
        response = current_app.response_class(token, status=200, mimetype="text/plain")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
        raise ApiError("Expected a Graph change notification: {\"value\": [...]}.", status=400)
    items = payload["value"]
    outcome = drift_watch.record_notifications(db.session(), items, current_app.config["GRAPH_CLIENT_STATE"])
    if items and outcome.refused == len(items):
        log.warning("refused %d change notification(s): clientState does not match", outcome.refused)
        raise Forbidden("The notification's clientState does not match this server's.")
    return "", 202


def document_notifications(spec) -> None:
    """The endpoint is Graph's, outside the bearer-token API, but described with it so it is fuzzed with it."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    spec.path(rule=Rule("/api/graph/notifications"), operations={"post": {
        "tags": ["drift"],
        "summary": "Microsoft Graph change notifications and the subscription handshake (no bearer token).",
        "security": [],
        "parameters": [{"in": "query", "name": "validationToken", "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_VALIDATION_TOKEN}}],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "required": ["value"],
            "properties": {"value": {"type": "array", "items": {"type": "object"}}}}}}},
        "responses": {
            "200": {"description": "The handshake: the validation token, echoed.",
                    "content": {"text/plain": {"schema": {"type": "string"}}}},
            "202": {"description": "Notifications taken."},
            "400": {"description": "Not a change notification, or not valid JSON.", **error},
            "403": {"description": "The clientState does not match.", **error},
            "413": {"description": "The body is too large.", **error},
            "414": {"description": "The request line is too long.", **error},
            "500": {"description": "Our fault; logged, not returned.", **error},
        },
    }})


# Meetings out of sync ------------------------------------------------------------------------------------------


class ExternalResponseOut(PlannedSchema):
    email = fields.String()
    display_name = fields.String(data_key="displayName")
    response = fields.String(metadata={"description": "accepted, tentative, declined or none (no answer yet)"})
    in_crm = fields.Boolean(data_key="inCrm")
    changed_at = schemas.UtcDateTime(data_key="changedAt")


class OutOfSyncOut(PlannedSchema):
    activity_id = fields.Integer(data_key="activityId")
    subject = fields.String(attribute="activity.subject")
    start = schemas.UtcDateTime(attribute="activity.start")
    end = schemas.UtcDateTime(attribute="activity.end")
    etag = fields.Function(lambda item: services.etag_for(item.activity.version))
    graph_event_id = fields.String(data_key="graphEventId")
    meeting_state = fields.String(attribute="event_state", data_key="meetingState",
                                  metadata={"description": "live, cancelled or deleted"})
    checked_at = schemas.UtcDateTime(data_key="checkedAt")
    differences = fields.List(fields.Nested(schemas.DifferenceOut))
    responses = fields.List(fields.Nested(ExternalResponseOut))
    rooms = fields.List(fields.Nested(schemas.RoomOut), metadata={"description": "Each booked room's answer."})


class DriftListOut(PlannedSchema):
    items = fields.List(fields.Nested(OutOfSyncOut))
    total = fields.Integer()
    watching = fields.Boolean(metadata={"description": "Whether the caller's calendar is watched (Graph on and read at "
                                                       "least once): without it an empty list proves nothing."})


@blp.get("/drift")
@blp.response(200, DriftListOut, description="Upcoming external meetings that differ from their activities, as "
                                             "Graph last showed them, with each external's answer.")
@blp.errors()
def drift_list():
    caller = current_caller()
    if not caller.is_user:
        raise NotAllowed("The list shows an organizer's own meetings; sign in as the organizer.")
    session = db.session()
    items = drift_watch.out_of_sync(session, caller.email, org_domains())
    watching = graph_setup.mode(current_app) != "off" and drift_watch.is_watched(session, caller.email)
    return {"items": items, "total": len(items), "watching": watching}
