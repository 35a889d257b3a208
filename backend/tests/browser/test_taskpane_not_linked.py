"""Flow 2: a meeting the CRM does not know. The pane says so and offers the organizer's activities near its time;
choosing one records the link and shows the activity. Below, the organizer's meetings that are out of sync."""

import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from .browser_support import MEETING_START, attendee, iso, literal, new_item_id, outlook_item, regex, scenario

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
    item = outlook_item(chosen, organizer, item_id=item_id, attendees=externals,
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
    expect(page.get_by_role("status")).to_have_text(text["linked_external"])
    expect(page.get_by_text(text["external_meeting"])).to_be_visible()
    # In compose the pane cannot tell a sent meeting from a saved one: it records no more than it knows.
    expect(page.get_by_text(literal(f": {text['state_invitation_open']}"))).to_be_visible()
    pane.screenshot("linked-by-choice")

    found = api.lookup(itemId=item_id)
    assert found["activity"]["id"] == chosen["id"]
    assert found["meeting"] == "external"
    assert found["externalMeeting"]["state"] == "pending"
    assert found["externalMeeting"]["ewsItemId"] == item_id
    [recorded] = pane.api_requests(f"/api/activities/{chosen['id']}/links")
    assert "kind" in recorded.post_data_json and recorded.post_data_json["attendees"] == [
        "mette@fabrikam.example", "jonas@fabrikam.example"]


def graph_event(event_id: str, organizer: str, start, answers: dict[str, str], extra: list[dict] = ()) -> dict:
    """The external meeting as Microsoft Graph shows it, one hour long, in Room Harbour."""
    def person(email, name, kind):
        return {"type": kind, "emailAddress": {"address": email, "name": name},
                "status": {"response": answers.get(email, "none")}}

    return {
        "id": event_id, "changeKey": "ck1", "isCancelled": False,
        "start": {"dateTime": iso(start)[:-1], "timeZone": "UTC"},
        "end": {"dateTime": iso(start + timedelta(hours=1))[:-1], "timeZone": "UTC"},
        "location": {"displayName": "Room Harbour"},
        "organizer": {"emailAddress": {"address": organizer}},
        "attendees": [person("mette@fabrikam.example", "Mette Kunde", "required"),
                      person("jonas@fabrikam.example", "Jonas Fabrikam", "optional"), *extra],
    }


def test_an_unlinked_meeting_lists_the_organizers_meetings_out_of_sync_with_each_externals_answer(
    pane, api, live_backend, organizer, lang, text
):
    ids = {name: f"AAMk{name}-{uuid.uuid4().hex}" for name in ("moved", "in-sync", "gone")}
    moved = api.create_activity(subject="Workshop that moved in Outlook")
    api.link(moved["id"], state="sent", graphEventId=ids["moved"])
    newcomer = {"type": "required", "emailAddress": {"address": "nina@fabrikam.example", "name": "Nina Newcomer"},
                "status": {"response": "accepted"}}
    live_backend.outlook_shows(moved["id"], graph_event(
        ids["moved"], organizer, MEETING_START + timedelta(hours=1),
        {"mette@fabrikam.example": "declined", "jonas@fabrikam.example": "tentativelyAccepted"}, [newcomer]))
    in_sync = api.create_activity(subject="Review still in sync", start=MEETING_START + timedelta(days=1))
    api.link(in_sync["id"], state="sent", graphEventId=ids["in-sync"])
    live_backend.outlook_shows(in_sync["id"], graph_event(ids["in-sync"], organizer, MEETING_START + timedelta(days=1),
                                                          {}))
    gone = api.create_activity(subject="Lunch deleted in Outlook", start=MEETING_START + timedelta(days=2))
    api.link(gone["id"], state="sent", graphEventId=ids["gone"])
    live_backend.outlook_shows(gone["id"], None)

    # A meeting far from all of them, that the CRM does not know: nothing to link it to.
    far = MEETING_START + timedelta(days=60)
    item = outlook_item(moved, organizer, start=iso(far), end=iso(far + timedelta(hours=1)), subject="Dentist")
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_text(text["no_activities"])).to_be_visible()
    section = page.get_by_role("region", name=text["out_of_sync"])
    entries = section.get_by_role("listitem").filter(has=page.locator(".out-of-sync__subject"))
    expect(entries).to_have_count(2)  # the one in sync is not listed
    first = entries.nth(0)
    expect(first).to_contain_text("Workshop that moved in Outlook")
    expect(first).to_contain_text(regex(f"{text['day_4']}.*{text['time_10_to_11']}"))  # the CRM's time
    expect(first).to_contain_text(text["differs"])  # a newcomer is an attendee change
    expect(first.get_by_role("list", name=text["responses"]).get_by_role("listitem")).to_have_text([
        regex(f"Mette Kunde.*{text['declined']}"),
        regex(f"Jonas Fabrikam.*{text['tentative']}"),
        regex(f"Nina Newcomer.*{text['accepted']}.*{re.escape(text['not_in_crm'])}"),
    ])
    second = entries.nth(1)
    expect(second).to_contain_text("Lunch deleted in Outlook")
    expect(second).to_contain_text(text["deleted_in_outlook"])
    expect(second).not_to_contain_text(text["differs"].split(":")[0])  # said once, not again as a difference
    expect(section).not_to_contain_text("Review still in sync")
    pane.screenshot("out-of-sync")
    assert len(pane.api_requests("/api/drift")) == 1


def test_when_no_meeting_is_out_of_sync_the_section_says_so(pane_en, api, organizer):
    item = outlook_item(api.create_activity(), organizer)  # not linked: its id is new
    page = pane_en.open(scenario("en-US", organizer, item))

    section = page.get_by_role("region", name="Your meetings out of sync")
    # Graph is off here: nobody watches the calendar, so an empty list proves nothing and the pane says so.
    expect(section).to_contain_text("CRM Bridge does not watch your Outlook calendar")
    expect(section).not_to_contain_text("all match")


def test_all_meetings_match_is_said_only_when_the_calendar_is_watched(pane_en, api, organizer):
    pane_en.page.route("**/api/drift", lambda route: route.fulfill(
        json={"items": [], "total": 0, "watching": True}))
    page = pane_en.open(scenario("en-US", organizer, outlook_item(api.create_activity(), organizer)))

    section = page.get_by_role("region", name="Your meetings out of sync")
    expect(section).to_contain_text("Your meetings with external participants all match the CRM.")
