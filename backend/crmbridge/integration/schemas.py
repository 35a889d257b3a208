"""Request and response schemas of the integration contract (JSON in camelCase, as everywhere in the API)."""

import json

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..dump_plan import PlannedSchema
from ..schemas import ActivityOut, Text, UtcDateTime, Whole, _valid_address
from . import events


class OutlookEffectOut(PlannedSchema):
    calendar = fields.String(metadata={"description": "Whose calendar the meeting is in."})
    meeting = fields.String(metadata={"description": "internal or external (the customer meeting)"})
    action = fields.String(metadata={"description": "cancel or create (through the outbox, `crmbridge sync`), or "
                                                    "none: crmbridge never changes the customer meeting"})
    mails_attendees = fields.Boolean(data_key="mailsAttendees", metadata={
        "description": "Exchange mails the meeting's attendees (a cancellation or an invitation)."})
    attendees = fields.List(fields.String(), metadata={"description": "Who gets that mail, as far as the CRM knows."})
    note = fields.String(allow_none=True)


class UpsertOut(ActivityOut):
    outlook = fields.List(fields.Nested(OutlookEffectOut), metadata={
        "description": "What the change does in Outlook when it moved the activity to another organizer."})


class DeleteOut(PlannedSchema):
    id = fields.Integer()
    deleted_at = UtcDateTime(data_key="deletedAt")
    outlook = fields.List(fields.Nested(OutlookEffectOut))


class ReassignIn(Schema):
    organizer_email = Text(data_key="organizerEmail", required=True,
                                    validate=[validate.Length(max=320), _valid_address])


class ReassignOut(PlannedSchema):
    activity = fields.Nested(ActivityOut, attribute="view")
    outlook = fields.List(fields.Nested(OutlookEffectOut))


class ChangeQuery(Schema):
    after = Text(validate=validate.Regexp(r"^[0-9]{1,18}$", error="Pass a cursor from an earlier page."),
                          metadata={"description": "The cursor of the last change you processed; left out: from "
                                                   "the oldest kept."})
    limit = Whole(load_default=100, maximum=500)
    types = Text(validate=validate.Length(max=2000),
                 metadata={"description": "Comma-separated event types; left out: all."})
    activity_id = Whole(data_key="activityId")

    @validates_schema
    def _known_types(self, data, **_kwargs):
        unknown = set(_types(data.get("types"))) - set(events.PUBLIC_TYPES)
        if unknown:
            raise ValidationError(f"Unknown event types: {', '.join(sorted(unknown))}.", field_name="types")


def _types(value: str | None) -> list[str]:
    return [t.strip() for t in (value or "").split(",") if t.strip()]


class EventActivityOut(PlannedSchema):
    id = fields.Integer(allow_none=True)
    external_source = fields.String(attribute="externalSource", data_key="externalSource", allow_none=True)
    external_id = fields.String(attribute="externalId", data_key="externalId", allow_none=True)
    organizer_email = fields.String(attribute="organizerEmail", data_key="organizerEmail", allow_none=True)


class ActorOut(PlannedSchema):
    kind = fields.String(metadata={"description": "organizer, integration, outlook (found by the scan) or system"})
    id = fields.String()


class ChangeOut(PlannedSchema):
    id = fields.String(metadata={"description": "The event id: the same in the feed and in every webhook delivery."})
    type = fields.String(metadata={"description": ", ".join(events.PUBLIC_TYPES)})
    created_at = fields.String(attribute="createdAt", data_key="createdAt")
    cursor = fields.String()
    activity = fields.Nested(EventActivityOut)
    actor = fields.Nested(ActorOut)
    data = fields.Dict(metadata={"description": "What changed; never internal notes."})


class ChangePage(PlannedSchema):
    items = fields.List(fields.Nested(ChangeOut))
    next = fields.String(metadata={"description": "Pass as `after` for the next page (the same cursor when there "
                                                  "was nothing new)."})
    has_more = fields.Boolean(data_key="hasMore")


class WebhookIn(Schema):
    url = Text(required=True, validate=validate.Length(min=1, max=2048))
    events = fields.List(Text(validate=validate.Length(max=64)),
                         validate=validate.Length(max=len(events.PUBLIC_TYPES) + 1),
                         metadata={"description": "Event types to deliver; left out or [\"*\"]: all."})
    description = Text(load_default="", validate=validate.Length(max=255))


class DeliveryCountsOut(PlannedSchema):
    pending = fields.Integer()
    delivered = fields.Integer()
    failed = fields.Integer()


class WebhookOut(PlannedSchema):
    id = fields.Integer()
    url = fields.String()
    events = fields.Function(lambda row: json.loads(row.event_types), metadata={"type": "array"})
    enabled = fields.Boolean()
    description = fields.String()
    created_at = UtcDateTime(data_key="createdAt")
    deliveries = fields.Nested(DeliveryCountsOut, metadata={"description": "How its deliveries stand."})


class WebhookCreatedOut(WebhookOut):
    secret = fields.String(metadata={"description": "Signs every delivery (Crmbridge-Signature). Shown this once."})


class WebhookList(PlannedSchema):
    items = fields.List(fields.Nested(WebhookOut))


class AuditQuery(Schema):
    activity_id = Whole(data_key="activityId")
    after = Whole(load_default=0, minimum=0, maximum=2**62,
                  metadata={"description": "The `next` of the previous page."})
    limit = Whole(load_default=100, maximum=500)


class AuditEntryOut(PlannedSchema):
    id = fields.String(attribute="event_id")
    at = UtcDateTime(attribute="created_at")
    type = fields.String()
    activity_id = fields.Integer(data_key="activityId", allow_none=True)
    organizer_email = fields.String(data_key="organizerEmail", allow_none=True)
    actor = fields.Function(lambda row: {"kind": row.actor_kind, "id": row.actor}, metadata={"type": "object"})
    data = fields.Function(lambda row: json.loads(row.data or "{}"), metadata={"type": "object"})


class AuditPage(PlannedSchema):
    items = fields.List(fields.Nested(AuditEntryOut))
    next = fields.Integer()


class GoneOut(PlannedSchema):
    """The error shape, with why the meeting's activity is gone: what the old organizer's taskpane shows."""

    code = fields.Integer()
    message = fields.String()
    errors = fields.Dict()
    reason = fields.String(metadata={"description": "deleted-in-crm or moved"})
    activity_id = fields.Integer(data_key="activityId", metadata={"description": "deleted-in-crm: the activity"})
    moved_to = fields.String(data_key="movedTo", metadata={"description": "moved: the new organizer"})
    meeting = fields.String(metadata={"description": "moved: which of your meetings this is (internal, external)"})
    since = fields.String(metadata={"description": "When the CRM deleted or moved it (ISO 8601, UTC)."})
    request_id = fields.String(data_key="requestId",
                               metadata={"description": "The request's id, as in X-Request-Id and its log lines."})
