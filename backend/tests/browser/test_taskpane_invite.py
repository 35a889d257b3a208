"""Flow 3, read mode: the activity's organizer is an attendee of the internal meeting (an assistant organized it),
so Outlook shows it in read form, where "Invite external participants" opens Outlook's new-meeting form
(displayNewAppointmentForm, read mode only) with the organizer and the externals only, never the internal notes.
Nothing is sent by the add-in. The organizer's own meeting (compose) is in test_organizer_flows.py."""

import json
import uuid

import pytest
from playwright.sync_api import expect

from .browser_support import internal_attendees, new_item_id, outlook_item, scenario

pytestmark = pytest.mark.browser

ASSISTANT = "assistant@contoso.com"


def linked_internal_meeting(api, organizer, marker):
    activity = api.create_activity(
        subject="Renewal with Fabrikam",
        internalNotes=f"Discount may go to 12 %. {marker}",
        externalAgenda="1. Usage review\n2. Renewal terms",
        participants=[
            {"email": organizer, "displayName": "The Organizer"},
            {"email": "lars.holm@contoso.com", "displayName": "Lars Holm"},
            {"email": "mette@fabrikam.example", "displayName": "Mette Kunde"},
            {"email": "jonas@fabrikam.example", "displayName": "Jonas Fabrikam", "type": "optional"},
            {"email": "harbour-room@contoso.com", "displayName": "Room Harbour", "type": "resource"},
        ],
    )
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer),
                        organized_by=ASSISTANT)
    return activity, item


def test_inviting_externals_opens_a_form_with_exactly_the_external_attendees_and_no_notes(
    pane, api, organizer, lang, text
):
    marker = f"NOTE-MARKER-{uuid.uuid4()}"
    activity, item = linked_internal_meeting(api, organizer, marker)
    page = pane.open(scenario(lang, organizer, item))

    page.get_by_role("button", name=text["invite"]).click()
    expect(page.get_by_role("status")).to_have_text(text["invited"])
    expect(page.get_by_text(f": {text['state_invitation_open']}")).to_be_visible()
    pane.screenshot("invitation-open")

    forms = [c for c in pane.calls() if c["api"].startswith("mailbox.displayNew")]
    assert [c["api"] for c in forms] == ["mailbox.displayNewAppointmentFormAsync"]
    form = forms[0]["args"][0]
    assert form["requiredAttendees"] == [{"emailAddress": "mette@fabrikam.example", "displayName": "Mette Kunde"}]
    assert form["optionalAttendees"] == [{"emailAddress": "jonas@fabrikam.example", "displayName": "Jonas Fabrikam"}]
    # A room declines a second booking of the same time: the internal meeting books it (CRMBRIDGE_ROOM_BOOKING
    # defaults to internal), the customer form names it in the location only.
    assert form["resources"] == []
    assert form["start"] == {"$date": "2031-03-04T09:00:00.000Z"}  # a Date, in UTC
    assert form["end"] == {"$date": "2031-03-04T10:00:00.000Z"}
    assert (form["subject"], form["location"]) == ("Renewal with Fabrikam", "Room Harbour")
    assert form["body"] == "1. Usage review\n2. Renewal terms"
    assert marker not in json.dumps(pane.calls())
    assert marker not in page.content()  # notes are not shown in this version at all

    found = api.lookup(activityId=activity["id"])
    assert found["state"] == "invitation-open"
    assert found["externalMeeting"]["state"] == "pending"


def test_without_mailbox_1_9_the_invitation_uses_the_synchronous_form(pane_en, api, organizer):
    text_en = "Invite external participants"
    _, item = linked_internal_meeting(api, organizer, "no marker")
    page = pane_en.open(scenario("en-US", organizer, item, requirements={"Mailbox": "1.8"}))

    page.get_by_role("button", name=text_en).click()
    expect(page.get_by_role("status")).to_have_text("The invitation is open in Outlook. Check it and press Send.")
    forms = [c for c in pane_en.calls() if c["api"].startswith("mailbox.displayNew")]
    assert [c["api"] for c in forms] == ["mailbox.displayNewAppointmentForm"]
    assert [a["emailAddress"] for a in forms[0]["args"][0]["requiredAttendees"]] == ["mette@fabrikam.example"]


def test_an_invitation_already_open_is_reopened_without_a_second_meeting_in_the_crm(pane_en, api, organizer):
    activity, item = linked_internal_meeting(api, organizer, "no marker")
    api.link(activity["id"], state="pending")  # a form was opened earlier; its id was never known
    page = pane_en.open(scenario("en-US", organizer, item))

    expect(page.get_by_text("You opened the invitation")).to_be_visible()  # when, so the organizer can tell
    page.get_by_role("button", name="Open the invitation again").click()
    expect(page.get_by_role("status")).to_have_text("The invitation is open in Outlook. Check it and press Send.")
    assert pane_en.apis().count("mailbox.displayNewAppointmentFormAsync") == 1
    found = api.lookup(activityId=activity["id"])
    assert found["externalMeeting"]["state"] == "pending"  # the same one link


def test_a_known_open_invitation_is_opened_itself(pane_en, api, organizer):
    activity, item = linked_internal_meeting(api, organizer, "no marker")
    api.link(activity["id"], state="pending", ewsItemId="AAMkKnown/invitation+=")
    page = pane_en.open(scenario("en-US", organizer, item))

    page.get_by_role("button", name="Open the customer invitation").click()
    expect(page.get_by_role("status")).to_have_text("The customer meeting is open in Outlook. Check it and press Send.")
    opened = [c for c in pane_en.calls() if c["api"].startswith("mailbox.display")]
    assert opened == [{"api": "mailbox.displayAppointmentFormAsync", "args": ["AAMkKnown/invitation+="]}]
