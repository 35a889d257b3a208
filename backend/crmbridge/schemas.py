"""Request and response schemas (JSON in camelCase). Validation lives in the fields; views only call them."""

import re
from datetime import UTC

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from .domain.activity import EARLIEST, LATEST, PARTICIPANT_TYPES, Status
from .domain.addresses import AddressError, parse_address
from .dump_plan import PlannedSchema
from .models import MAX_ID
from .strict_json import UNSTORABLE_MESSAGE, has_unstorable_text

MAX_TEXT = 20_000
LINK_STATES = ("pending", "sent", "cancelled")
LINK_KINDS = ("external", "internal")
MAX_PAGE = 100_000
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")


class Text(fields.String):
    """A string that a database can store: no NUL character, no lone surrogate (also in query strings)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if has_unstorable_text(text):
            raise ValidationError(UNSTORABLE_MESSAGE)
        return text


class Whole(fields.Integer):
    """A whole number in ASCII digits within a range: ``١٢``, ``+12`` or ``1_2`` are not another spelling of 12."""

    def __init__(self, *, minimum: int = 1, maximum: int = MAX_ID, **kwargs):
        self.bounds = (minimum, maximum)
        super().__init__(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if not _ASCII_DIGITS.fullmatch(value):
                raise ValidationError(f"Give a whole number from {self.bounds[0]} to {self.bounds[1]} in digits 0-9.")
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class UtcDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset on the way in, between the years EARLIEST and LATEST; UTC with ``Z`` on the way
    out."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            instant = parsed.astimezone(UTC)
        except OverflowError as exc:  # year 1 at +14:00 is before year 1 in UTC
            raise ValidationError(f"Give a time between {EARLIEST.year} and {LATEST.year}.") from exc
        if not EARLIEST <= instant < LATEST:
            raise ValidationError(f"Give a time between {EARLIEST.year} and {LATEST.year}.")
        return parsed

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _valid_address(value: str) -> None:
    try:
        parse_address(value)
    except AddressError as exc:
        raise ValidationError(f"Not a usable email address: {exc}.") from exc


class ParticipantIn(Schema):
    email = Text(required=True, validate=[validate.Length(max=320), _valid_address])
    display_name = Text(data_key="displayName", validate=validate.Length(max=255))
    type = Text(load_default="required", validate=validate.OneOf(PARTICIPANT_TYPES))


class ActivityIn(Schema):
    subject = Text(required=True, validate=validate.Length(min=1, max=255))
    start = UtcDateTime(required=True)
    end = UtcDateTime(required=True)
    time_zone = Text(data_key="timeZone", required=True, validate=validate.Length(min=1, max=64))
    is_all_day = fields.Boolean(data_key="isAllDay", load_default=False)
    location = Text(load_default="", validate=validate.Length(max=255))
    internal_notes = Text(data_key="internalNotes", load_default="", validate=validate.Length(max=MAX_TEXT))
    external_agenda = Text(
        data_key="externalAgenda", load_default="", validate=validate.Length(max=MAX_TEXT)
    )
    status = Text(load_default=Status.PLANNED.value, validate=validate.OneOf([s.value for s in Status]))
    participants = fields.List(fields.Nested(ParticipantIn), load_default=list, validate=validate.Length(max=500))
    organizer_email = Text(
        data_key="organizerEmail", validate=[validate.Length(max=320), _valid_address],
        metadata={"description": "Only for integrations (application tokens); organizers create their own."},
    )


class ActivityPatch(ActivityIn):
    """Any subset of the fields; ``participants``, when given, replaces the whole list."""

    class Meta:
        exclude = ("organizer_email",)


# Partial at the top level only: a participant in a PATCH still needs its email.
PATCHABLE = tuple(name for name in ActivityIn._declared_fields if name != "organizer_email")


class ParticipantOut(PlannedSchema):
    email = fields.String()
    display_name = fields.String(data_key="displayName")
    type = fields.String()
    classification = fields.String(metadata={"description": "internal, external or resource"})
    reason = fields.String(metadata={"description": "org-domain, org-subdomain, org-subdomain-not-counted, "
                                                    "not-org-domain or resource"})
    matched_domain = fields.String(data_key="matchedDomain", allow_none=True)


class ActivityOut(PlannedSchema):
    id = fields.Integer(attribute="activity.id")
    subject = fields.String(attribute="activity.subject")
    start = UtcDateTime(attribute="activity.start")
    end = UtcDateTime(attribute="activity.end")
    time_zone = fields.String(data_key="timeZone", attribute="activity.time_zone")
    is_all_day = fields.Boolean(data_key="isAllDay", attribute="activity.is_all_day")
    location = fields.String(attribute="activity.location")
    internal_notes = fields.String(data_key="internalNotes", attribute="activity.internal_notes")
    external_agenda = fields.String(data_key="externalAgenda", attribute="activity.external_agenda")
    status = fields.String(attribute="activity.status")
    organizer_email = fields.String(data_key="organizerEmail", attribute="activity.organizer_email")
    version = fields.Integer(attribute="activity.version")
    external_source = fields.String(data_key="externalSource", attribute="activity.external_source", allow_none=True,
                                    metadata={"description": "The CRM holding the activity (upserts by external id)."})
    external_id = fields.String(data_key="externalId", attribute="activity.external_id", allow_none=True,
                                metadata={"description": "The CRM's own id of the activity."})
    participants = fields.List(fields.Nested(ParticipantOut))


class PaneActivityOut(ActivityOut):
    """An activity as the taskpane and lists get it: never the internal notes, which the pane does not show
    (data minimisation); with the state of its external meeting."""

    class Meta:
        exclude = ("internal_notes",)

    external_state = fields.String(data_key="externalState", metadata={
        "description": "no-externals, not-invited, invitation-open, sent or cancelled (without drift)"})


class ActivityPage(PlannedSchema):
    items = fields.List(fields.Nested(PaneActivityOut))
    page = fields.Integer()
    page_size = fields.Integer(data_key="pageSize")
    total = fields.Integer()


class ActivityQuery(Schema):
    start = UtcDateTime(data_key="from")
    end = UtcDateTime(data_key="to")
    page = Whole(load_default=1, maximum=MAX_PAGE)
    page_size = Whole(data_key="pageSize", load_default=50, maximum=200)
    organizer = Text(validate=[validate.Length(max=320), _valid_address], metadata={
        "description": "Integrations: one organizer's activities (an organizer always lists their own)."})
    changed_since = UtcDateTime(data_key="changedSince", metadata={
        "description": "Only activities changed after this instant, oldest change first."})

    @validates_schema
    def _window(self, data, **_kwargs):
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("'to' must be after 'from'.", field_name="to")


class DraftAttendeeOut(PlannedSchema):
    email_address = fields.String(data_key="emailAddress")
    display_name = fields.String(data_key="displayName")


class ExternalDraftOut(PlannedSchema):
    subject = fields.String()
    start = UtcDateTime()
    end = UtcDateTime()
    is_all_day = fields.Boolean(data_key="isAllDay")
    location = fields.String()
    body = fields.String(metadata={"description": "Plain text: the external agenda only."})
    required_attendees = fields.List(fields.Nested(DraftAttendeeOut), data_key="requiredAttendees")
    optional_attendees = fields.List(fields.Nested(DraftAttendeeOut), data_key="optionalAttendees")
    resources = fields.List(fields.Nested(DraftAttendeeOut))


class DifferenceOut(PlannedSchema):
    field = fields.String()
    crm = fields.Raw()
    outlook = fields.Raw()


class ResponseOut(PlannedSchema):
    email = fields.String()
    display_name = fields.String(data_key="displayName")
    response = fields.String()
    in_crm = fields.Boolean(data_key="inCrm")


class DriftOut(PlannedSchema):
    in_sync = fields.Boolean(data_key="inSync")
    differences = fields.List(fields.Nested(DifferenceOut))
    responses = fields.List(fields.Nested(ResponseOut))


class GraphEventIn(Schema):
    """A Microsoft Graph event as Graph returns it; fields we do not compare are accepted and ignored."""

    class Meta:
        unknown = "include"


class ReconcileIn(Schema):
    take = Text(required=True, validate=validate.OneOf(["outlook"], error="Only 'outlook' can be taken: "
                         "the CRM's version reaches the externals through Outlook's Send Update."))
    snapshot = fields.Dict(required=True)
    apply_cancellation = fields.Boolean(data_key="applyCancellation", load_default=False)


class LinkIn(Schema):
    kind = Text(validate=validate.OneOf(LINK_KINDS), metadata={
        "description": "Left out: the attendees decide (anyone outside the organization makes it external; "
                       "a meeting that cannot be checked is recorded as external)."})
    attendees = fields.List(Text(validate=validate.Length(max=320)), validate=validate.Length(max=500),
                            metadata={"description": "The meeting's attendees' addresses as Outlook shows them. "
                                                     "Needed for kind internal unless Graph can read the meeting: "
                                                     "a meeting with anyone outside the organization is refused "
                                                     "(409, reason outsiders-on-internal-meeting)."})
    state = Text(required=True, validate=validate.OneOf(LINK_STATES))
    graph_event_id = Text(data_key="graphEventId", validate=validate.Length(min=1, max=512))
    ews_item_id = Text(data_key="ewsItemId", validate=validate.Length(min=1, max=512))
    ical_uid = Text(data_key="iCalUId", validate=validate.Length(min=1, max=512))

    @validates_schema
    def _ids_when_sent(self, data, **_kwargs):
        if data.get("state") == "sent" and not any(data.get(k) for k in ("graph_event_id", "ews_item_id", "ical_uid")):
            raise ValidationError("A sent meeting needs at least one of graphEventId, ewsItemId or iCalUId.",
                                  field_name="state")


class WriteBlockedOut(PlannedSchema):
    reason = fields.String(attribute="write_blocked", metadata={
        "description": "outsiders: someone outside the organization is on the meeting; not-organizer: the meeting "
                       "is an attendee's copy. The CRM stops updating the meeting until it is fixed."})
    outsiders = fields.List(fields.String(), attribute="blocked_outsiders")
    since = UtcDateTime(attribute="blocked_at")


class LinkOut(PlannedSchema):
    kind = fields.String()
    state = fields.String()
    write_blocked = fields.Nested(WriteBlockedOut, attribute="write_block", data_key="writeBlocked", allow_none=True,
                                  metadata={"description": "Set when the CRM stopped updating this meeting (the "
                                                           "internal one), and why."})
    graph_event_id = fields.String(data_key="graphEventId", allow_none=True)
    ews_item_id = fields.String(data_key="ewsItemId", allow_none=True)
    ical_uid = fields.String(data_key="iCalUId", allow_none=True)
    updated_at = UtcDateTime(data_key="updatedAt")


class LookupQuery(Schema):
    """One identifier; ``activityId`` may also come beside an Outlook id, as the fallback when it has no link.

    That is the taskpane's case: the item's id is the record, the custom property's activity id only a hint.
    """

    activity_id = Whole(data_key="activityId")
    item_id = Text(data_key="itemId", validate=validate.Length(min=1, max=512))
    rest_id = Text(data_key="restId", validate=validate.Length(min=1, max=512))
    ical_uid = Text(data_key="iCalUId", validate=validate.Length(min=1, max=512))
    meeting_kind = Text(data_key="meetingKind", validate=validate.OneOf(LINK_KINDS), metadata={
        "description": "With activityId: which meeting the custom property says this is."})

    @validates_schema
    def _one_identifier(self, data, **_kwargs):
        outlook_ids = [k for k in ("item_id", "rest_id", "ical_uid") if k in data]
        if len(outlook_ids) > 1 or not (outlook_ids or "activity_id" in data):
            raise ValidationError("Give one of itemId, restId or iCalUId, or activityId, or one of them "
                                  "with activityId as the fallback.")
        if "meeting_kind" in data and "activity_id" not in data:
            raise ValidationError("meetingKind goes with activityId.", field_name="meetingKind")


class LookupIn(LookupQuery):
    snapshot = fields.Dict()


class InternalNotesOut(PlannedSchema):
    in_meeting = fields.Boolean(data_key="inMeeting", metadata={
        "description": "false: the internal meeting holds older notes than the CRM; show the CRM's."})
    reason = fields.String(allow_none=True, metadata={
        "description": "online-meeting (its body is never rewritten: that would lose the join link), "
                       "notes-only-off (CRMBRIDGE_NOTES_ONLY_UPDATES=off), waiting (coalescing or not yet written)"})


class RoomOut(PlannedSchema):
    email = fields.String()
    response = fields.String(metadata={"description": "Graph's answer: accepted, declined, none, ..."})
    meeting = fields.String(metadata={"description": "internal or external: the meeting that books the room"})


class LookupOut(PlannedSchema):
    activity = fields.Nested(PaneActivityOut)
    etag = fields.String()
    meeting = fields.String(allow_none=True, metadata={"description": "Which linked meeting the id matched."})
    state = fields.String(metadata={"description": "no-externals, not-invited, invitation-open, sent, in-sync, "
                                                  "drifted or cancelled"})
    external_meeting = fields.Nested(LinkOut, data_key="externalMeeting", allow_none=True)
    internal_meeting = fields.Nested(LinkOut, data_key="internalMeeting", allow_none=True)
    drift = fields.Nested(DriftOut, allow_none=True)
    can_prepare_appointment = fields.Boolean(data_key="canPrepareAppointment", metadata={
        "description": "Whether this server can put the customer appointment (no attendees) into the organizer's "
                       "calendar: POST /api/activities/{id}/customer-appointment."})
    internal_notes = fields.Nested(InternalNotesOut, data_key="internalNotes", allow_none=True, metadata={
        "description": "Whether the internal meeting holds the CRM's current notes (not the notes themselves: "
                       "GET /api/activities/{id} has them); null before it is synced."})
    rooms = fields.List(fields.Nested(RoomOut), metadata={"description": "Each booked room's answer."})
    waiting_for_sign_in = fields.Boolean(data_key="internalMeetingWaitsForSignIn", metadata={
        "description": "Delegated mode: the internal meeting's changes wait until the organizer signs in again "
                       "(the server has no usable token of theirs); opening the pane signed in releases them."})


class CustomerAppointmentOut(PlannedSchema):
    """The appointment put into the organizer's calendar with nobody invited yet, as the activity's external link."""

    link = fields.Nested(LinkOut)
    created = fields.Boolean(metadata={"description": "False when the appointment already existed."})


class ErrorOut(PlannedSchema):
    """The one error shape (``errors``: dotted field paths to messages); a claims challenge adds ``claims``; a 409 or
    410 adds ``reason`` and what explains it (such as ``outsiders``, ``activityId``, ``movedTo``)."""

    class Meta:
        unknown = INCLUDE

    code = fields.Integer(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)
    claims = fields.String(metadata={"description": "With 401 insufficient_claims: Entra's claims challenge."})
    reason = fields.String(metadata={"description": "With 409 and 410: a stable code for what conflicts."})


class Health(PlannedSchema):
    status = fields.String()
    database = fields.String()


