"""/api/activities: the caller's CRM activities, their external draft, drift, reconcile and links."""

from flask import current_app, make_response, request
from marshmallow import RAISE

from .. import db, schemas, services, store
from ..auth.request import current_caller
from ..domain.errors import Conflict
from ..graph import linking
from ..graph import setup as graph_setup
from ..integration import idempotency
from .common import BODY_ERRORS, IF_MATCH, QUERY_ERRORS, api_blueprint, expected_version, org_domains, takes_no_body

blp = api_blueprint("activities", __name__, "CRM activities and their Outlook meetings.")

ACTIVITY = schemas.ActivityOut()
PANE_ACTIVITY = schemas.PaneActivityOut()  # what the taskpane's answers carry: never the internal notes
# The attendee check before recording an internal link: a few seconds at most, then 503 with Retry-After.
ATTENDEE_CHECK_TIMEOUT = (2.0, 4.0)
APPOINTMENT_TIMEOUT = (2.0, 5.0)
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


def _with_etag(activity_view: services.ActivityView, status: int = 200, schema=ACTIVITY):
    response = make_response(schema.dump(activity_view), status)
    response.headers["ETag"] = activity_view.etag
    return response


# RFC 7240: "Prefer: return=minimal" asks for no body. The taskpane sends it on the customer meeting, where it
# changes the CRM (cancel there too) and has no use for the activity back: the answer would hold the notes.
PREFER = {"in": "header", "name": "Prefer", "required": False,
          "schema": {"type": "string", "enum": ["return=minimal", "return=representation"]},
          "description": "`return=minimal`: 204 with the ETag and no body (RFC 7240)."}


def _wants_minimal() -> bool:
    return any(part.strip().lower() == "return=minimal" for part in request.headers.get("Prefer", "").split(","))


@blp.post("/activities")
@blp.doc(parameters=[idempotency.HEADER_PARAMETER])
@blp.arguments(schemas.ActivityIn)
@blp.response(201, schemas.ActivityOut, description="Created; the ETag header holds its version. With an "
              "Idempotency-Key header, a retry with the same key and body gets the first answer again "
              "(Idempotent-Replayed: true) and creates nothing; the same key with another body gets 422.",
              headers={**ETAG_HEADER, "Location": {"schema": {"type": "string"}}})
@blp.errors(*BODY_ERRORS, 422)
@blp.doc(operationId="createActivity", responses={201: {"links": CREATED_LINKS}})
def create_activity(data):
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        created = services.create_activity(db.session(), current_caller(), data, org_domains())
        return _created(ACTIVITY.dump(created), created.etag)
    session = db.session()

    def create():
        row = services.add_activity(session, current_caller(), data)
        return 201, ACTIVITY.dump(services.view(store.to_domain(row), org_domains())), row.id

    answer = idempotency.once(session, current_caller(), key, idempotency.fingerprint(request.get_json()), create)
    response = _created(answer.body, services.etag_for(answer.body["version"]))
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _created(body: dict, etag: str):
    response = make_response(body, 201)
    response.headers["ETag"] = etag
    response.headers["Location"] = f"/api/activities/{body['id']}"
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
@blp.alt_response(204, description="Changed, with Prefer: return=minimal: the ETag, no body.", headers=ETAG_HEADER,
                  success=True)
@blp.errors(*BODY_ERRORS, 404, 412, 428)
@blp.doc(parameters=[IF_MATCH, PREFER])
@blp.doc(operationId="updateActivity")
def update_activity(changes, activity_id):
    version = expected_version()
    updated = services.update_activity(db.session(), current_caller(), activity_id, version, changes, org_domains())
    if _wants_minimal():
        response = make_response("", 204)
        response.headers.update({"ETag": updated.etag, "Preference-Applied": "return=minimal"})
        return response
    return _with_etag(updated)


@blp.get("/activities/<id:activity_id>/external-draft")
@blp.response(200, schemas.ExternalDraftOut, description="Organizer + externals, the external agenda, no notes.")
@blp.errors(404)
@blp.doc(operationId="externalDraft")
def external_draft(activity_id):
    # The room is booked by the internal meeting unless CRMBRIDGE_ROOM_BOOKING=external.
    book_rooms = current_app.config.get("ROOM_BOOKING", "internal") == "external"
    return services.draft_for(db.session(), current_caller(), activity_id, org_domains(), book_rooms=book_rooms)


@blp.post("/activities/<id:activity_id>/drift")
@blp.arguments(schemas.GraphEventIn)
@blp.response(200, schemas.DriftOut)
@blp.errors(*BODY_ERRORS, 404)
@blp.doc(operationId="compareDrift")
def drift(event, activity_id):
    return services.drift_for(db.session(), current_caller(), activity_id, event, org_domains())


@blp.post("/activities/<id:activity_id>/reconcile")
@blp.arguments(schemas.ReconcileIn)
@blp.response(200, schemas.PaneActivityOut, description="Changes the CRM only; externals get nothing. The answer "
              "has no internal notes: it is read on the customer meeting.", headers=ETAG_HEADER)
@blp.errors(*BODY_ERRORS, 404, 412, 428)
@blp.doc(parameters=[IF_MATCH])
@blp.doc(operationId="reconcile")
def reconcile(data, activity_id):
    version = expected_version()
    updated = services.reconcile(db.session(), current_caller(), activity_id, version, data["snapshot"],
                                 data["apply_cancellation"], org_domains())
    return _with_etag(updated, schema=PANE_ACTIVITY)


@blp.post("/activities/<id:activity_id>/links")
@blp.arguments(schemas.LinkIn)
@blp.response(201, schemas.LinkOut, description="A new link.")
@blp.alt_response(200, schema=schemas.LinkOut, description="The activity's existing link, updated.", success=True)
@blp.alt_response(409, schema=schemas.ErrorOut, description="The Outlook meeting is already linked to another "
                  "activity (reason already-linked), has attendees outside the organization and cannot be the "
                  "internal meeting (outsiders-on-internal-meeting, with outsiders), or the customer meeting was "
                  "already sent (already-sent).")
@blp.alt_response(503, schema=schemas.ErrorOut, description="Microsoft Graph did not answer the attendee check in "
                  "time (Retry-After), or Entra ID could not be reached.")
@blp.errors(*BODY_ERRORS, 404)
@blp.doc(operationId="recordLink")
def record_link(data, activity_id):
    caller = current_caller()
    link, created = services.record_link(db.session(), caller, activity_id, data, org_domains(),
                                         _graph_attendees(caller))
    graph = _organizer_graph(caller)
    if graph is not None and link.state == "sent":
        # Delta rounds and notifications carry immutable ids; Office.js gave an EWS or REST id.
        linking.learn_ids(db.session(), graph.bounded(ATTENDEE_CHECK_TIMEOUT), link, link.activity.organizer_email)
    return link, 201 if created else 200


@blp.post("/activities/<id:activity_id>/customer-appointment")
@blp.response(201, schemas.CustomerAppointmentOut, description="Created in the organizer's calendar with nobody "
              "invited; open it with Office.js displayAppointmentFormAsync.")
@blp.alt_response(200, schema=schemas.CustomerAppointmentOut, description="It already existed.", success=True)
@blp.alt_response(409, schema=schemas.ErrorOut, description="Cancelled (cancelled), over (over), nobody to invite "
                  "(no-externals), the customer meeting was already sent (already-sent), or this server does not "
                  "reach Outlook calendars (graph-off: a setting, not an outage; the pane starts a new meeting).")
@blp.alt_response(503, schema=schemas.ErrorOut, description="Microsoft Graph did not answer in time (Retry-After), "
                  "or Entra ID could not be reached.")
@blp.errors(404)
@blp.doc(operationId="prepareCustomerAppointment")
@takes_no_body
def customer_appointment(activity_id):
    caller = current_caller()
    graph = _organizer_graph(caller)
    if graph is None:  # how the server is set up, not an outage: nothing to retry
        raise Conflict("This server cannot reach Outlook calendars (Microsoft Graph is off). Start from a new "
                       "meeting instead.", reason="graph-off")
    link, created = services.prepare_customer_appointment(db.session(), caller, activity_id, org_domains(),
                                                          graph.bounded(APPOINTMENT_TIMEOUT))
    return {"link": link, "created": created}, 201 if created else 200


def _organizer_graph(caller):
    """The Graph client for a call the organizer waits for, or None when Graph is off or cannot act for them."""
    app = current_app._get_current_object()
    graph = graph_setup.request_client(app)
    if graph is None or (graph_setup.mode(app) == "delegated" and not caller.is_user):
        return None
    return graph


def _graph_attendees(caller):
    """Graph's view of a meeting's attendees, read with a short timeout (the organizer waits for it), or None
    when Graph is off or cannot act for this caller."""
    graph = _organizer_graph(caller)
    if graph is None:
        return None
    bounded = graph.bounded(ATTENDEE_CHECK_TIMEOUT)
    return lambda mailbox, ids: linking.read_attendees(bounded, mailbox, ids)
