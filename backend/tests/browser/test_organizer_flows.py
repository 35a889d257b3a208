"""The organizer's flows as Outlook really presents them: the organizer's own meetings open in compose form.

One test (or a few) per numbered point of the organizer-flows issue, in Danish and English, each screen saved at
320 and 450 px (checked for sideways overflow). The canary: an internal note with a unique marker is never in
anything handed to Outlook, to Graph on the customers' side, or to the pane.
"""

import json
import re
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from crmbridge import db
from crmbridge.domain.classification import OrgDomains
from crmbridge.graph.linking import link_sent_invitations
from crmbridge.graph.sync import SIGN_IN_NEEDED
from crmbridge.models import InternalMeetingSyncRow, MeetingLinkRow, SyncJobRow

from .browser_support import (
    MEETING_START,
    TASKPANE,
    attendee,
    internal_attendees,
    iso,
    literal,
    new_item_id,
    outlook_item,
    scenario,
    sent_external_meeting,
)

pytestmark = pytest.mark.browser


def canary() -> str:
    return f"NOTE-MARKER-{uuid.uuid4()}"


def upcoming(days=3, hours=1) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)


def internal_meeting(api, organizer, **fields):
    """An upcoming activity and its internal meeting as Outlook opens it for its organizer: compose."""
    activity = api.create_activity(start=upcoming(), **fields)
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer),
                        custom_properties={"crmActivityId": str(activity["id"]), "crmMeetingKind": "internal"})
    return activity, item


def new_meeting() -> dict:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return {"mode": "compose", "subject": "", "start": iso(start), "end": iso(start + timedelta(minutes=30)),
            "location": "", "requiredAttendees": [], "optionalAttendees": [], "bodyType": "html"}


def customer_mails(fake):
    """Mail that reached anyone outside the organization (contoso.com here)."""
    return [m for m in fake.mails if not m.to.endswith("@contoso.com")]


def pane_calls_without(pane, marker):
    assert marker not in json.dumps(pane.calls())
    assert marker not in pane.page.content()


# The leak fix, as the organizer sees it -----------------------------------------------------------------------


def test_a_customer_on_the_internal_meeting_is_shown_with_what_to_do(pane, api, organizer, lang, text, live_backend):
    activity, item = internal_meeting(api, organizer)
    with live_backend.app.app_context():  # what the sync records when its check finds a customer on the meeting
        session = db.session()
        link = session.query(MeetingLinkRow).filter_by(activity_id=activity["id"], kind="internal").one()
        link.write_blocked, link.blocked_addresses = "outsiders", json.dumps(["ceo@northwind.example"])
        link.blocked_at = datetime.now(UTC)
        session.commit()
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_role("alert")).to_contain_text(text["blocked"].format(list="ceo@northwind.example"))
    pane.screenshots("leak-blocked")


# 1. Invite the customers from the internal meeting, in compose -------------------------------------------------


def test_with_graph_the_customer_invitation_is_two_clicks_from_the_internal_meeting_and_sends_nothing(
    pane, api, organizer, lang, text, graph_on, live_backend
):
    marker = canary()
    activity, item = internal_meeting(api, organizer, internalNotes=f"Walk away below 9 %. {marker}")
    page = pane.open(scenario(lang, organizer, item))

    # Click 1, in the pane on the organizer's own internal meeting (compose form).
    expect(page.get_by_text(text["internal_meeting"])).to_be_visible()
    expect(page.get_by_role("button", name=text["invite"])).to_have_count(0)  # read mode only: not offered
    page.get_by_role("button", name=text["prepare_appointment"]).click()
    expect(page.get_by_role("status")).to_have_text(text["appointment_opened"])
    pane.screenshots("point1-prepared")
    [opened] = [c for c in pane.calls() if c["api"].startswith("mailbox.display")]
    assert opened["api"] == "mailbox.displayAppointmentFormAsync"
    prepared = api.lookup(activityId=activity["id"])["externalMeeting"]
    assert opened["args"] == [prepared["graphEventId"].replace("-", "/").replace("_", "+")]  # convertToEwsId
    [event] = [e for e in graph_on.events(organizer) if e["id"] == prepared["graphEventId"]]
    assert event["attendees"] == [] and customer_mails(graph_on) == []  # nobody invited: nobody mailed

    # Outlook opens it in its own window (compose, it is the organizer's); the organizer opens the pane there.
    pane.change_item({
        "mode": "compose", "itemId": opened["args"][0], "subject": event["subject"],
        "start": activity["start"], "end": activity["end"], "location": event["location"]["displayName"],
        "requiredAttendees": [], "optionalAttendees": [], "bodyType": "text", "body": event["body"]["content"],
        "customProperties": {"crmActivityId": str(activity["id"]), "crmMeetingKind": "external-draft"},
    })
    # Click 2: the customers go onto the form; the organizer presses Send in Outlook.
    page.get_by_role("button", name=text["add_customers"]).click()
    expect(page.get_by_role("status")).to_have_text(text["customers_added"])
    pane.screenshots("point1-customers-added")
    form = page.evaluate("window.__officeFake.item()")
    assert [a["emailAddress"] for a in form["requiredAttendees"]] == ["mette@fabrikam.example"]
    assert [a["emailAddress"] for a in form["optionalAttendees"]] == ["jonas@fabrikam.example"]
    assert "item.saveAsync" not in pane.apis()  # on an existing appointment a save would mail them at once
    assert page.evaluate("window.__officeFake.mails") == [] and customer_mails(graph_on) == []
    pane_calls_without(pane, marker)
    drafts = [r for r in graph_on.requests if "external-draft" in json.dumps(r.body)]
    assert drafts and marker not in json.dumps([r.body for r in drafts])

    # Send, as Outlook does it; the backend then sees a customer meeting that is no draft and records it sent.
    graph_on.outlook_update(organizer, prepared["graphEventId"], {"attendees": [
        {"emailAddress": {"address": "mette@fabrikam.example"}, "type": "required"},
        {"emailAddress": {"address": "jonas@fabrikam.example"}, "type": "optional"}]})
    with live_backend.app.app_context():
        link_sent_invitations(db.session(), graph_on.client, organizer, OrgDomains.of(["contoso.com"]),
                              since=datetime.now(UTC))
    assert api.lookup(activityId=activity["id"])["state"] == "sent"
    assert [(m.to, m.by) for m in customer_mails(graph_on)] == [
        ("mette@fabrikam.example", "organizer"), ("jonas@fabrikam.example", "organizer")]
    assert not any(marker in m.body for m in customer_mails(graph_on))


def test_without_graph_a_new_meeting_proposes_the_activity_and_one_click_fills_it(pane, api, organizer, lang, text):
    marker = canary()
    activity, item = internal_meeting(api, organizer, subject="Renewal with Fabrikam",
                                      internalNotes=f"Budget is tight. {marker}")
    page = pane.open(scenario(lang, organizer, item))

    page.get_by_role("button", name=text["start_new"]).click()  # click 1
    expect(page.get_by_role("status")).to_have_text(text["new_meeting"])
    pane.screenshots("point1-start-new")

    pane.change_item(new_meeting())  # the organizer creates a new meeting and opens the pane there
    expect(page.get_by_text(text["handoff"].format(subject="Renewal with Fabrikam"))).to_be_visible()
    pane.screenshots("point1-handoff")
    page.get_by_role("button", name=text["fill_for"].format(subject="Renewal with Fabrikam")).click()  # click 2
    expect(page.get_by_role("status")).to_have_text(text["filled"])
    pane.screenshots("point1-filled")

    form = page.evaluate("window.__officeFake.item()")
    assert form["subject"] == "Renewal with Fabrikam"
    assert [a["emailAddress"] for a in form["requiredAttendees"]] == ["mette@fabrikam.example"]
    assert page.evaluate("window.__officeFake.mails") == []  # a never-saved meeting saves without mail
    assert api.lookup(activityId=activity["id"])["externalMeeting"]["state"] == "pending"
    pane_calls_without(pane, marker)


# 2. Never offer an invitation that should not go out ------------------------------------------------------------


@pytest.mark.parametrize("case", ["cancelled", "over", "sent"])
def test_no_invitation_is_offered_for_a_cancelled_a_past_or_an_invited_activity(pane, api, organizer, lang, text,
                                                                                 case):
    start = upcoming() if case != "over" else datetime.now(UTC) - timedelta(days=1)
    activity = api.create_activity(start=start, status="cancelled" if case == "cancelled" else "planned")
    if case == "sent":
        api.link(activity["id"], state="sent", ewsItemId=new_item_id())
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer))
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_text(text["internal_meeting"])).to_be_visible()
    for name in ("invite", "prepare_appointment", "start_new"):
        expect(page.get_by_role("button", name=text[name])).to_have_count(0)
    if case == "over":
        expect(page.get_by_text(text["invitation_over"])).to_be_visible()
    pane.screenshots(f"point2-{case}")


def test_every_list_says_which_invitations_are_open_or_sent(pane, api, organizer, lang, text):
    sent = api.create_activity(subject="Already sent")
    api.link(sent["id"], state="sent", ewsItemId=new_item_id())
    opened = api.create_activity(subject="Already opened", start=MEETING_START + timedelta(hours=3))
    api.link(opened["id"], state="pending")
    lunch = {"subject": "Lunch", "start": iso(MEETING_START), "end": iso(MEETING_START + timedelta(hours=1)),
             "location": ""}
    item = outlook_item(lunch, organizer)
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_role("button", name=literal("Already sent"))).to_contain_text(text["list_sent"])
    expect(page.get_by_role("button", name=literal("Already opened"))).to_contain_text(text["list_open"])
    pane.screenshots("point2-list")


# 3. Cancellation both ways --------------------------------------------------------------------------------------


def test_a_crm_cancelled_activity_tells_the_organizer_to_cancel_in_outlook(pane, api, organizer, lang, text):
    activity, item, _ = sent_external_meeting(api, organizer, moved=False)
    api.patch(activity["id"], '"v1"', status="cancelled")
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_text(re.compile(f": {re.escape(text['state_crm_cancelled'])}$"))).to_be_visible()
    expect(page.get_by_text(re.compile(re.escape(text["explain_crm_cancelled"])))).to_be_visible()
    expect(page.get_by_text(re.compile(f": {re.escape(text['state_cancelled'])}$"))).to_have_count(0)
    pane.screenshots("point3-crm-cancelled")


def test_a_customer_meeting_cancelled_in_outlook_can_be_cancelled_in_the_crm_too(pane, api, organizer, lang, text):
    activity, item = internal_meeting(api, organizer)
    api.link(activity["id"], state="cancelled", ewsItemId=new_item_id())  # as the drift watch recorded it
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_text(re.compile(f": {re.escape(text['state_cancelled'])}$"))).to_be_visible()
    page.get_by_role("button", name=text["cancel_in_crm"]).click()
    expect(page.get_by_role("status")).to_have_text(text["cancelled_in_crm"])
    pane.screenshots("point3-cancelled-in-crm")
    assert api.lookup(activityId=activity["id"])["activity"]["status"] == "cancelled"


# 4. Reconcile on fresh data, 5. attendees both ways -------------------------------------------------------------


def test_an_edit_in_the_form_is_read_again_and_the_crm_takes_what_the_form_holds(pane, api, organizer, lang, text):
    _, item, item_id = sent_external_meeting(api, organizer)
    page = pane.open(scenario(lang, organizer, item))
    expect(page.get_by_role("button", name=text["take_outlook"])).to_be_visible()

    page.evaluate("window.__officeFake.organizerEdits({start: '2031-03-04T13:00:00Z', end: '2031-03-04T14:00:00Z',"
                  " location: 'Room Lighthouse'})")
    expect(page.get_by_role("row", name=re.compile(f"^{text['field_location']} ")).get_by_role("cell")).to_have_text(
        ["Room Harbour", "Room Lighthouse"])
    pane.screenshots("point4-edited")
    page.get_by_role("button", name=text["take_outlook"]).click()
    expect(page.get_by_role("status")).to_have_text(text["reconciled"])

    taken = api.lookup(itemId=item_id)["activity"]
    assert (taken["start"], taken["location"]) == ("2031-03-04T13:00:00Z", "Room Lighthouse")


def test_preparing_an_update_adds_the_missing_customers_and_removes_only_on_request(pane, api, organizer, lang,
                                                                                    text):
    _, item, _ = sent_external_meeting(api, organizer, new_attendee=True)
    item["optionalAttendees"] = []  # Jonas dropped in Outlook, Nina added there
    page = pane.open(scenario(lang, organizer, item))
    expect(page.get_by_role("row", name=re.compile(f"^{text['field_external']} "))).to_have_count(2)
    pane.screenshots("point5-drifted")

    page.get_by_role("button", name=text["prepare_update"]).click()
    expect(page.get_by_role("status")).to_have_text(text["prepared_compose"])
    expect(page.get_by_role("row", name=re.compile(f"^{text['field_external']} "))).to_have_count(1)  # Nina only
    pane.screenshots("point5-prepared")
    page.get_by_role("button", name=text["remove_extra"]).click()
    expect(page.get_by_role("row", name=re.compile(f"^{text['field_external']} "))).to_have_count(0)
    form = page.evaluate("window.__officeFake.item()")
    assert [a["emailAddress"] for a in form["requiredAttendees"] + form["optionalAttendees"]] == [
        "mette@fabrikam.example", "jonas@fabrikam.example"]
    assert "item.saveAsync" not in pane.apis() and page.evaluate("window.__officeFake.mails") == []


# 6. Linking stays safe ------------------------------------------------------------------------------------------


def test_a_meeting_with_an_outsider_is_not_linked_as_the_internal_one_and_the_pane_offers_the_right_link(
    pane, api, organizer, lang, text
):
    activity = api.create_activity(subject="Board prep")
    item_id = new_item_id()
    # A colleague and a customer who is not one of the activity's participants.
    item = outlook_item(activity, organizer, item_id=item_id, attendees=[
        attendee("lars.holm@contoso.com", "Lars Holm"), attendee("ceo@northwind.example", "Northwind CEO")])
    page = pane.open(scenario(lang, organizer, item))

    page.get_by_role("button", name=literal("Board prep")).click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text(text["link_refused"].format(list="ceo@northwind.example"))
    pane.screenshots("point6-refused")
    refusal.get_by_role("button", name=text["link_external"]).click()
    expect(page.get_by_role("status")).to_have_text(text["linked_external"])
    found = api.lookup(itemId=item_id)
    assert (found["meeting"], found["internalMeeting"]) == ("external", None)


# 7. All-day activities ------------------------------------------------------------------------------------------


def test_an_all_day_activity_is_filled_midnight_to_midnight_and_matches_without_drift(
    pane, api, organizer, lang, text
):
    day = (datetime.now(UTC) + timedelta(days=6)).date()
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo("Europe/Copenhagen"))
    activity = api.create_activity(subject="Fabrikam site day", isAllDay=True, start=midnight, minutes=24 * 60)
    page = pane.open(scenario(lang, organizer, new_meeting()))

    page.get_by_role("button", name=literal("Fabrikam site day")).click()
    expect(page.get_by_text(text["all_day_hint"])).to_be_visible()
    page.get_by_role("button", name=text["fill"]).click()
    expect(page.get_by_role("status")).to_have_text(text["filled_all_day"])
    pane.screenshots("point7-all-day")
    assert "item.isAllDayEvent.setAsync" not in pane.apis()  # a preview API: never called
    form = page.evaluate("window.__officeFake.item()")
    assert (form["start"], form["end"]) == ({"$date": activity["start"].replace("Z", ".000Z")},
                                            {"$date": activity["end"].replace("Z", ".000Z")})
    # The meeting, sent, is midnight to midnight in the organizer's zone: no drift.
    saved = form["itemId"]
    api.link(activity["id"], state="sent", ewsItemId=saved)
    pane.change_item({**form, "start": activity["start"], "end": activity["end"], "mode": "compose"})
    expect(page.get_by_text(re.compile(f": {re.escape(text['state_in_sync'])}$"))).to_be_visible()


# 8. Calm and true states ----------------------------------------------------------------------------------------


def test_a_slow_outlook_is_said_to_be_slow_not_taken_for_an_unlinked_meeting(pane, api, organizer, lang, text):
    activity = api.create_activity()
    item = outlook_item(activity, organizer)  # its id is unknown to the backend: only the custom property tells
    pane.page.clock.install()
    page = pane.open(scenario(lang, organizer, item, hangs=["item.loadCustomPropertiesAsync"]))
    page.clock.run_for(5_100)  # past the read's timeout

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(text["outlook_slow"])
    expect(alert.get_by_role("button", name=text["retry"])).to_be_visible()
    expect(page.get_by_role("heading", name=text["not_linked"])).to_have_count(0)
    pane.screenshots("point8-outlook-slow")


# 9. Layout and language -----------------------------------------------------------------------------------------


def test_long_names_and_teams_links_wrap_at_320_px_in_light_and_dark(pane, api, organizer, lang, text):
    long_name = "Maximiliane Konstantinopoulou-Rasmussen-Vandenberghe"
    teams = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + "N2Y4MzQ1ZjMtYTk" * 12 + "%40thread.v2/0"
    activity = api.create_activity(start=upcoming(), location=teams, participants=[
        {"email": "lars.holm@contoso.com", "displayName": long_name},
        {"email": "a.very.long.address.for.a.customer@subsidiary.fabrikam-international.example",
         "displayName": long_name},
        {"email": "harbour-room@contoso.com", "displayName": "Room Harbour", "type": "resource"},
    ])
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer))
    page = pane.open(scenario(lang, organizer, item))
    expect(page.get_by_text(text["internal_meeting"])).to_be_visible()

    pane.screenshots("point9-long")
    expect(page.get_by_text("fabrikam-international.example").first).to_be_visible()  # the chip shows the domain
    page.emulate_media(color_scheme="dark")
    pane.screenshots("point9-dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(31, 31, 31)"


def test_danish_says_invitér_and_never_shows_outlooks_english_error_text():
    danish = (TASKPANE / "src" / "i18n-da.js").read_text(encoding="utf-8")
    assert "Invitér eksterne deltagere" in danish and "Inviter " not in danish
    assert "Noget stoppede" not in danish
    assert "{detail}" not in danish  # Outlook's and Microsoft's own words are English


# 10. Data minimisation -------------------------------------------------------------------------------------------


def test_the_pane_never_receives_the_internal_notes(pane, api, organizer, lang, text):
    marker = canary()
    activity, item = internal_meeting(api, organizer, internalNotes=f"Margin is 41 %. {marker}")
    bodies = []
    pane.page.on("response", lambda response: bodies.append(response.text())
                 if "/api/" in response.url else None)
    page = pane.open(scenario(lang, organizer, item))
    expect(page.get_by_text(text["internal_meeting"])).to_be_visible()
    pane.change_item(new_meeting())  # the list of activities, too
    expect(page.get_by_role("heading", name=text["not_linked"])).to_be_visible()
    expect(page.get_by_role("button", name=literal(activity["subject"])).first).to_be_visible()

    assert bodies and not any(marker in body for body in bodies)
    pane_calls_without(pane, marker)



# What the internal meeting holds, as the organizer sees it on it ------------------------------------------------


def hold_back_notes(live_backend, activity_id, organizer, *, reason, rooms=None):
    """What the sync records when it leaves an online meeting's body alone (issue: Graph as Exchange behaves): the
    meeting was written once, with older notes, and the room answered."""
    with live_backend.app.app_context():
        session = db.session()
        session.add(InternalMeetingSyncRow(
            activity_id=activity_id, mailbox=organizer, transaction_id=f"crmbridge-{activity_id}-{uuid.uuid4().hex}",
            field_hashes=json.dumps({"body": "an older body"}), synced_at=datetime.now(UTC), notes_held=reason,
            room_responses=json.dumps(rooms or {})))
        session.commit()


def test_on_an_online_internal_meeting_the_newer_notes_are_read_in_the_pane_not_written_into_the_meeting(
    pane, api, organizer, lang, text, live_backend
):
    marker = canary()
    activity, item = internal_meeting(api, organizer, internalNotes=f"Budget is tight {marker}")
    hold_back_notes(live_backend, activity["id"], organizer, reason="online-meeting",
                    rooms={"boardroom@contoso.com": "declined"})
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_text(text["notesOnline"])).to_be_visible()
    expect(page.get_by_text(text["roomDeclined"].format(room="boardroom@contoso.com"))).to_be_visible()
    assert marker not in page.content()  # not until the organizer asks
    page.get_by_role("button", name=text["showNotes"]).click()
    expect(page.locator(".newer-notes")).to_contain_text(marker)
    pane.screenshots("internal-notes-held")


def test_the_customer_meeting_never_offers_the_notes_even_when_the_internal_meeting_holds_older_ones(
    pane, api, organizer, lang, text, live_backend
):
    marker = canary()
    activity, _internal = internal_meeting(api, organizer, internalNotes=f"Budget is tight {marker}")
    hold_back_notes(live_backend, activity["id"], organizer, reason="online-meeting")
    item_id = new_item_id()
    api.link(activity["id"], kind="external", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id,
                        attendees=[attendee("mette@fabrikam.example", "Mette Kunde", "accepted")])
    page = pane.open(scenario(lang, organizer, item))

    expect(page.locator(".state__badge")).to_be_visible()
    expect(page.get_by_role("button", name=text["showNotes"])).to_have_count(0)
    pane_calls_without(pane, marker)


def test_changes_waiting_for_the_organizers_sign_in_are_said_in_the_pane(pane, api, organizer, lang, text,
                                                                        live_backend):
    activity, item = internal_meeting(api, organizer)
    with live_backend.app.app_context():  # what the worker records when it has no usable token of theirs
        session = db.session()
        session.add(SyncJobRow(activity_id=activity["id"], reason="changed", attempts=1,
                               next_attempt_at=datetime.now(UTC) + timedelta(hours=1),
                               last_error=f"{SIGN_IN_NEEDED}: the refresh token expired"))
        session.commit()
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_role("status").filter(has_text=text["waitsForSignIn"])).to_be_visible()
    pane.screenshots("waits-for-sign-in")


def test_the_actions_on_the_customer_meeting_never_bring_the_notes_into_the_pane(pane, api, organizer, lang, text):
    """Taking Outlook's version and cancelling in the CRM change the activity from the customer meeting: their
    answers hold no internal notes (reconcile answers without them, the cancel asks for return=minimal)."""
    marker = canary()
    activity, item, item_id = sent_external_meeting(api, organizer)
    api.patch(activity["id"], '"v1"', internalNotes=f"Walk away below 9 %. {marker}")
    bodies = []
    pane.page.on("response", lambda response: bodies.append(response.text())
                 if "/api/" in response.url and response.status != 204 else None)
    page = pane.open(scenario(lang, organizer, item))

    page.get_by_role("button", name=text["take_outlook"]).click()
    expect(page.get_by_role("status")).to_have_text(text["reconciled"])
    api.link(activity["id"], state="cancelled", ewsItemId=item_id)  # then cancelled in Outlook, as the scan saw it
    pane.change_item(dict(item, isCancelled=True))
    page.get_by_role("button", name=text["cancel_in_crm"]).click()
    expect(page.get_by_role("status")).to_have_text(text["cancelled_in_crm"])

    assert api.lookup(activityId=activity["id"])["activity"]["status"] == "cancelled"
    assert len(bodies) >= 3 and not any(marker in body for body in bodies)
    pane_calls_without(pane, marker)
