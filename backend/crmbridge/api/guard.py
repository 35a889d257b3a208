"""/api/guard/check: Outlook's send handler asks whether the meeting it is about to send may go."""

from marshmallow import Schema, fields, validate

from .. import db, guard
from ..auth.request import current_caller
from ..dump_plan import PlannedSchema
from ..schemas import LINK_KINDS, MAX_TEXT, Text, Whole
from .common import BODY_ERRORS, api_blueprint, org_domains

blp = api_blueprint("guard", __name__, "The send-time guard (Outlook's OnAppointmentSend handler).")

# Outlook allows far longer bodies than the CRM's texts; the request size limit (CRMBRIDGE_MAX_BODY_BYTES) still
# applies on top.
MAX_BODY = 10 * MAX_TEXT


class GuardCheckIn(Schema):
    activity_id = Whole(data_key="activityId", required=True,
                        metadata={"description": "The crmActivityId custom property of the meeting."})
    meeting_kind = Text(data_key="meetingKind", allow_none=True, validate=validate.OneOf(LINK_KINDS),
                        metadata={"description": "The crmMeetingKind custom property, if any."})
    item_id = Text(data_key="itemId", allow_none=True, validate=validate.Length(min=1, max=512),
                   metadata={"description": "The item's EWS id (getItemIdAsync), when it has one."})
    subject = Text(load_default="", validate=validate.Length(max=MAX_TEXT))
    location = Text(load_default="", validate=validate.Length(max=MAX_TEXT))
    body = Text(load_default="", validate=validate.Length(max=MAX_BODY),
                metadata={"description": "The body as plain text."})
    attendees = fields.List(Text(validate=validate.Length(max=320)), load_default=list,
                            validate=validate.Length(max=1000),
                            metadata={"description": "Required and optional attendees' addresses."})


class GuardCheckOut(PlannedSchema):
    verdict = fields.String(metadata={"description": "allow, block (rule 1: fix before sending) or prompt (rule 2: "
                                                     "the organizer may send anyway)"})
    reason = fields.String(allow_none=True, metadata={
        "description": "outsiders-on-internal-meeting or notes-in-customer-meeting"})
    meeting = fields.String(metadata={"description": "internal or external: which of the activity's meetings"})
    outsiders = fields.List(fields.String(), metadata={"description": "The attendees outside the organization."})
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields",
                          metadata={"description": "subject, location, body: where notes text was found"})
    recorded = fields.Boolean(metadata={"description": "The customer meeting was recorded as sent."})


@blp.post("/guard/check")
@blp.arguments(GuardCheckIn)
@blp.response(200, GuardCheckOut, description="A verdict and field names only; never text of the notes.")
@blp.errors(*BODY_ERRORS, 404)
@blp.doc(operationId="guardCheck")
def check(data):
    return guard.check_send(db.session(), current_caller(), data, org_domains())
