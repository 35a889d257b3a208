"""Flow 2: a meeting the CRM does not know. The pane says so and offers the organizer's activities near its time;
choosing one records the link and shows the activity."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from .browser_support import MEETING_START, attendee, literal, new_item_id, read_item, scenario

pytestmark = pytest.mark.browser


def test_an_unlinked_meeting_offers_the_organizers_activities_near_that_time_and_links_the_chosen_one(
    pane, api, live_backend, organizer, lang, text
):
    chosen = api.create_activity(subject="Workshop with Fabrikam")
    api.create_activity(subject="Prep the next morning", start=MEETING_START + timedelta(hours=20),
                        participants=[{"email": "lars.holm@contoso.com"}])
    api.create_activity(subject="Much later", start=MEETING_START + timedelta(days=10))
    live_backend.api("someone.else@contoso.com").create_activity(subject="Another organizer's meeting")

    # The meeting with the customers, sent from Outlook without the pane: same time, the activity's externals.
    item_id = new_item_id()
    externals = [attendee("mette@fabrikam.example", "Mette Kunde", "accepted")]
    item = read_item(chosen, organizer, item_id=item_id, attendees=externals,
                     optionalAttendees=[attendee("jonas@fabrikam.example", "Jonas Fabrikam")])
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_role("heading", name=text["not_linked"])).to_be_visible()
    expect(page.get_by_text(text["pick_near"])).to_be_visible()
    choice = page.get_by_role("button", name=literal(text["link_to"].format(subject="Workshop with Fabrikam")))
    expect(choice).to_be_visible()
    expect(page.get_by_role("button", name=literal("Prep the next morning"))).to_be_visible()
    expect(page.get_by_role("button", name=literal("Much later"))).to_have_count(0)
    expect(page.get_by_role("button", name=literal("Another organizer's meeting"))).to_have_count(0)
    pane.screenshot("not-linked")

    choice.click()
    expect(page.get_by_role("status")).to_have_text(text["linked"])
    expect(page.get_by_text(text["external_meeting"])).to_be_visible()
    expect(page.get_by_text(literal(f": {text['state_in_sync']}"))).to_be_visible()
    expect(page.get_by_role("heading", name=text["responses"])).to_be_visible()
    pane.screenshot("linked-by-choice")

    found = api.lookup(itemId=item_id)
    assert found["activity"]["id"] == chosen["id"]
    assert found["meeting"] == "external"
    assert found["externalMeeting"]["state"] == "sent"
    assert found["externalMeeting"]["ewsItemId"] == item_id
