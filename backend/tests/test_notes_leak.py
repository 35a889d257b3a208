"""The internal notes never reach a customer, tried against the fake Graph's record of the mail Exchange sends.

Graph mails every attendee when the organizer's meeting is PATCHed or cancelled (DESIGN 8), so the danger is not
the draft but the internal meeting: a customer meeting linked as the internal one, or a customer added to the
internal meeting in Outlook. After each scenario:
- no address outside the organization has received any mail caused by the backend (``by == "api"``), only what
  the organizer sent in Outlook;
- the notes are in no request aimed at an event that had an outsider on it when the request arrived.
"""

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from conftest import activity_json, worker_round

from crmbridge import db
from crmbridge.domain.classification import OrgDomains
from crmbridge.domain.outsiders import outsiders
from crmbridge.models import MeetingLinkRow

MAILBOX = "anna@contoso.com"
ORG = OrgDomains.of(["contoso.com"])
CUSTOMER = "ceo@fabrikam.example"  # on the organizer's meetings, but not one of the activity's participants
START = (datetime.now(UTC) + timedelta(days=5)).replace(hour=9, minute=0, second=0, microsecond=0)
END = START + timedelta(hours=1)




def graph_time(moment):
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def attendee(address, kind="required"):
    return {"emailAddress": {"address": address}, "type": kind}


def create(anna, **fields):
    response = anna.post("/api/activities", json=activity_json(start=START.isoformat(), end=END.isoformat(),
                                                               **fields))
    assert response.status_code == 201, response.json
    worker_round(anna.client.application)
    return response.json["id"], response.headers["ETag"]


def edit_notes(anna, aid, etag, times, runner):
    notes = []
    for n in range(times):
        text = f"NOTE-{aid}-{n}: walk away below {9 - n % 3} %"
        response = anna.patch(f"/api/activities/{aid}", json={"internalNotes": text}, headers={"If-Match": etag})
        assert response.status_code == 200, response.json
        etag = response.headers["ETag"]
        notes.append(text)
        worker_round(anna.client.application)
        runner.invoke(args=["sync", "--retry-now"])  # and what waits for a retry is tried at once
    return notes, etag


def internal_link(app, aid):
    with app.app_context():
        row = db.session().query(MeetingLinkRow).filter_by(activity_id=aid, kind="internal").one()
        return SimpleNamespace(graph_event_id=row.graph_event_id, write_blocked=row.write_blocked,
                               blocked_outsiders=row.blocked_outsiders)


def assert_no_customer_got_mail_from_the_backend(fake):
    sent_by_backend = [(m.to, m.kind) for m in fake.mails if m.by == "api" and outsiders([m.to], ORG)]
    assert sent_by_backend == []


def assert_notes_reached_no_event_with_an_outsider(fake, notes):
    for request in fake.requests:
        if request.method == "GET" or not request.attendees or not outsiders(request.attendees, ORG):
            continue
        sent = json.dumps(request.body, ensure_ascii=False)
        assert not any(note in sent for note in notes), f"{request.method} {request.path} carried the notes"
    for mail in fake.mails:
        if outsiders([mail.to], ORG):
            assert not any(note in mail.body for note in notes)


# A customer meeting linked as the internal meeting -------------------------------------------------------------


def customer_meeting(fake):
    """A meeting the organizer made and sent in Outlook, with a colleague and a customer on it."""
    return fake.add_event(MAILBOX, {"subject": "Lunch with Fabrikam", "start": graph_time(START),
                                    "end": graph_time(END),
                                    "attendees": [attendee("lars@contoso.com"), attendee(CUSTOMER)]})


def test_the_taskpane_cannot_link_a_customer_meeting_as_the_internal_one(app, anna, fake):
    aid, _ = create(anna)
    meeting = customer_meeting(fake)

    refused = anna.post(f"/api/activities/{aid}/links", json={
        "kind": "internal", "state": "sent", "graphEventId": meeting["id"],
        "attendees": ["lars@contoso.com", CUSTOMER]})

    assert refused.status_code == 409
    assert refused.json["reason"] == "outsiders-on-internal-meeting"
    assert refused.json["outsiders"] == [CUSTOMER]
    assert "outside your organization" in refused.json["message"]


def test_graph_has_the_last_word_when_the_taskpane_reports_no_outsider(app, anna, fake):
    aid, _ = create(anna)
    meeting = customer_meeting(fake)

    refused = anna.post(f"/api/activities/{aid}/links", json={
        "kind": "internal", "state": "sent", "graphEventId": meeting["id"], "attendees": []})

    assert refused.status_code == 409
    assert refused.json["outsiders"] == [CUSTOMER]


def test_without_a_kind_a_meeting_with_an_outsider_is_recorded_as_the_customer_meeting(app, anna, fake):
    aid, _ = create(anna)
    meeting = customer_meeting(fake)

    linked = anna.post(f"/api/activities/{aid}/links", json={
        "state": "sent", "graphEventId": meeting["id"], "attendees": ["lars@contoso.com", CUSTOMER]})

    assert linked.status_code in (200, 201)
    assert linked.json["kind"] == "external"


def test_a_mislinked_customer_meeting_never_gets_the_notes_nor_a_cancellation(app, anna, fake, runner):
    aid, etag = create(anna)
    meeting = customer_meeting(fake)
    # A link recorded before the check existed (or by any other path): the customer meeting as the internal one.
    with app.app_context():
        session = db.session()
        link = session.query(MeetingLinkRow).filter_by(activity_id=aid, kind="internal").one()
        link.graph_event_id, link.ical_uid = meeting["id"], meeting["iCalUId"]
        session.commit()

    notes, etag = edit_notes(anna, aid, etag, 10, runner)
    cancelled = anna.patch(f"/api/activities/{aid}", json={"status": "cancelled"}, headers={"If-Match": etag})
    assert cancelled.status_code == 200
    result = runner.invoke(args=["sync", "--retry-now"])

    assert_no_customer_got_mail_from_the_backend(fake)
    assert_notes_reached_no_event_with_an_outsider(fake, notes + ["Internal only: discount up to 12 %"])
    assert fake.writes_to(meeting["id"]) == []
    assert [m.kind for m in fake.mails_to(CUSTOMER)] == ["invitation"]  # the organizer's own, from Outlook
    link = internal_link(app, aid)
    assert (link.write_blocked, link.blocked_outsiders) == ("outsiders", [CUSTOMER])
    assert "refused" in result.output and str(aid) in result.output
    shown = anna.get(f"/api/lookup?activityId={aid}").json["internalMeeting"]["writeBlocked"]
    assert shown["reason"] == "outsiders" and shown["outsiders"] == [CUSTOMER] and shown["since"]


# A customer added to the internal meeting in Outlook ------------------------------------------------------------


def test_a_customer_added_to_the_internal_meeting_stops_every_write_until_they_are_removed(app, anna, fake, runner):
    aid, etag = create(anna)
    internal_id = internal_link(app, aid).graph_event_id
    assert internal_id, "the internal meeting was created"
    colleagues = [attendee("lars@contoso.com")]
    fake.outlook_update(MAILBOX, internal_id, {"attendees": [*colleagues, attendee(CUSTOMER)]})

    notes, etag = edit_notes(anna, aid, etag, 10, runner)

    assert_no_customer_got_mail_from_the_backend(fake)
    assert_notes_reached_no_event_with_an_outsider(fake, notes)
    assert [r.method for r in fake.writes_to(internal_id)] == []
    assert [m.by for m in fake.mails_to(CUSTOMER)] == ["organizer"]
    assert internal_link(app, aid).blocked_outsiders == [CUSTOMER]

    # The organizer removes the customer: the CRM's newest notes reach the colleagues, and nothing reaches the
    # customer (their cancellation came from the organizer's own Send Update).
    fake.outlook_update(MAILBOX, internal_id, {"attendees": colleagues})
    runner.invoke(args=["sync", "--retry-now"])

    assert fake.events(MAILBOX)[0]["body"]["content"] == notes[-1]
    assert_no_customer_got_mail_from_the_backend(fake)
    assert [m.kind for m in fake.mails_to(CUSTOMER)] == ["invitation", "cancellation"]
    assert all(m.by == "organizer" for m in fake.mails_to(CUSTOMER))
    assert internal_link(app, aid).write_blocked is None
    assert anna.get(f"/api/lookup?activityId={aid}").json["internalMeeting"]["writeBlocked"] is None


def test_an_attendees_copy_linked_as_the_internal_meeting_is_never_written(app, anna, fake, runner):
    aid, etag = create(anna)
    copy = fake.add_event(MAILBOX, {"subject": "Their meeting", "start": graph_time(START), "end": graph_time(END),
                                    "attendees": [attendee("lars@contoso.com")]}, is_organizer=False)
    with app.app_context():
        session = db.session()
        link = session.query(MeetingLinkRow).filter_by(activity_id=aid, kind="internal").one()
        link.graph_event_id = copy["id"]
        session.commit()

    edit_notes(anna, aid, etag, 2, runner)

    assert fake.writes_to(copy["id"]) == []
    assert internal_link(app, aid).write_blocked == "not-organizer"


# The ordinary case ---------------------------------------------------------------------------------------------


def test_ten_notes_edits_reach_the_colleagues_and_no_customer(app, anna, fake, runner):
    aid, etag = create(anna)

    notes, _ = edit_notes(anna, aid, etag, 10, runner)

    assert_no_customer_got_mail_from_the_backend(fake)
    assert_notes_reached_no_event_with_an_outsider(fake, notes)
    assert fake.mails_to("mette@fabrikam.example") == fake.mails_to("jonas@fabrikam.example") == []
    assert fake.mails_to("lars@contoso.com")[-1].body == notes[-1]
    assert internal_link(app, aid).write_blocked is None


# A sent customer meeting stays sent ----------------------------------------------------------------------------


def test_a_pending_external_link_never_replaces_a_sent_one(anna):
    aid, _ = create(anna)
    sent = anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "sent",
                                                          "graphEventId": "AAMkSent"})
    assert sent.status_code == 201

    again = anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "pending"})
    other = anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "pending",
                                                           "ewsItemId": "AAMk/other"})
    same = anna.post(f"/api/activities/{aid}/links", json={"kind": "external", "state": "pending",
                                                          "graphEventId": "AAMkSent"})

    assert (again.status_code, again.json["reason"]) == (409, "already-sent")
    assert (other.status_code, other.json["reason"]) == (409, "already-sent")
    assert (same.status_code, same.json["state"]) == (200, "sent")
    external = anna.get(f"/api/lookup?activityId={aid}").json["externalMeeting"]
    assert (external["state"], external["graphEventId"], external["ewsItemId"]) == ("sent", "AAMkSent", None)
