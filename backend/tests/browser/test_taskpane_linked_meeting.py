"""Flow 1: the organizer opens the pane on a linked meeting and sees the activity, who is external and why, and
the state of the meeting with the external participants."""

import re

import pytest
from playwright.sync_api import expect

from .browser_support import attendee, internal_attendees, literal, new_item_id, outlook_item, regex, scenario

pytestmark = pytest.mark.browser


def test_a_linked_internal_meeting_shows_a_skeleton_then_the_activity_with_explained_chips(
    pane, api, organizer, lang, text
):
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer),
                     custom_properties={"crmActivityId": str(activity["id"])})
    page = pane.open(scenario(lang, organizer, item, holdReads=True))

    # Outlook has not answered yet (in compose every field is read asynchronously): the pane shows a skeleton.
    expect(page.get_by_text(text["loading"])).to_be_visible()
    pane.screenshot("loading")
    pane.release_office()
    expect(page.get_by_role("heading", level=1)).to_have_text(activity["subject"])

    expect(page.get_by_text(text["internal_meeting"])).to_be_visible()
    expect(page.get_by_text(text["loading"])).to_have_count(0)
    meeting = page.get_by_role("region", name=text["meeting"])
    expect(meeting).to_contain_text(regex(text["day_4"]))
    expect(meeting).to_contain_text(regex(text["time_10_to_11"]))  # Copenhagen time, not New York's
    expect(page.get_by_text(regex(f": {re.escape(text['state_not_invited'])}$"))).to_be_visible()
    # The room is booked, not invited: it is named apart and not counted.
    expect(page.get_by_role("heading", name=text["participants"].format(count=3))).to_be_visible()
    expect(page.get_by_text(text["rooms"].format(list="Room Harbour"), exact=True)).to_be_visible()

    chips = {
        "Lars Holm": (text["internal"], text["reason_internal"].format(domain="contoso.com")),
        "Mette Kunde": (text["external"], text["reason_external"].format(domain="fabrikam.example")),
        "Jonas Fabrikam": (text["external"], text["reason_external"].format(domain="fabrikam.example")),
    }
    for name, (kind, reason) in chips.items():
        chip = page.get_by_role("button", name=literal(name))
        expect(chip).to_contain_text(kind)  # a word, so colour is not the only signal
        expect(chip).to_contain_text(reason.split(": ")[1].split(" ")[0])  # the address's domain
        expect(chip).to_have_attribute("title", reason)  # for the mouse
        expect(chip).to_have_accessible_description(reason)  # for the keyboard and screen readers
        chip.focus()
        expect(chip).to_be_focused()

    # Touch has no hover: pressing a chip shows its reason in words.
    mette = page.get_by_role("button", name=literal("Mette Kunde"))
    mette.press("Enter")
    expect(mette).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_text(chips["Mette Kunde"][1], exact=True).filter(visible=True)).to_have_count(1)
    pane.screenshot("linked-internal")
    [lookup] = pane.api_requests("/api/lookup")  # one call: the item's id, the custom property as the fallback
    assert lookup.post_data_json == {"itemId": item_id, "activityId": activity["id"]}  # no kind: not compared


@pytest.mark.parametrize("kind", ["external", "internal"])
def test_a_meeting_whose_id_has_no_link_is_found_by_its_custom_property_in_the_same_one_lookup(
    pane, api, organizer, lang, text, kind
):
    """The backend's link lacks this id (it knows the meeting by its Graph id); the custom property names the
    activity and which of its meetings this is. Only the external meeting is compared with the CRM."""
    activity = api.create_activity()
    item_id = new_item_id()  # an id the backend has never seen
    properties = {"crmActivityId": str(activity["id"]), "crmMeetingKind": kind}
    if kind == "external":
        api.link(activity["id"], state="sent", graphEventId=f"AAMkGraph-{item_id}")
        attendees = [attendee("mette@fabrikam.example", "Mette Kunde", "accepted")]
        item = outlook_item(activity, organizer, item_id=item_id, attendees=attendees, location="Teams",
                         optionalAttendees=[attendee("jonas@fabrikam.example", "Jonas Fabrikam")],
                         custom_properties=properties)
    else:
        item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer),
                         custom_properties=properties)
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_text(text[f"{kind}_meeting"])).to_be_visible()
    state = "drifted" if kind == "external" else "not_invited"
    expect(page.get_by_text(regex(f": {re.escape(text[f'state_{state}'])}$"))).to_be_visible()
    [lookup] = pane.api_requests("/api/lookup")
    body = lookup.post_data_json
    assert {k: body[k] for k in ("itemId", "activityId", "meetingKind")} == {
        "itemId": item_id, "activityId": activity["id"], "meetingKind": kind}
    assert ("snapshot" in body) == (kind == "external")
    if kind == "external":
        assert body["snapshot"]["location"] == {"displayName": "Teams"}


STATES = ("not_invited", "invitation_open", "sent", "in_sync", "drifted", "cancelled", "no_externals")


def test_each_state_of_the_external_meeting_is_named_in_plain_words(pane, api, organizer, lang, text):
    """One pane, one meeting after the other (Outlook's ItemChanged), each in another state."""
    items = {}
    for state in STATES:
        if state == "no_externals":
            activity = api.create_activity(subject=f"State {state}",
                                           participants=[{"email": "lars.holm@contoso.com"}])
        else:
            activity = api.create_activity(subject=f"State {state}")
        item_id = new_item_id()
        if state in ("in_sync", "drifted"):
            # Opened on the external meeting itself: its snapshot is compared with the CRM.
            api.link(activity["id"], state="sent", ewsItemId=item_id)
            externals = [attendee("mette@fabrikam.example", "Mette Kunde", "accepted"),
                         attendee("jonas@fabrikam.example", "Jonas Fabrikam")]
            item = outlook_item(activity, organizer, item_id=item_id, attendees=externals[:1],
                             optionalAttendees=externals[1:],
                             location="Teams" if state == "drifted" else activity["location"])
        else:
            link_state = {"invitation_open": "pending", "sent": "sent", "cancelled": "cancelled"}.get(state)
            if link_state:
                api.link(activity["id"], state=link_state, ewsItemId=new_item_id())
            api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
            item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer))
        items[state] = item

    page = pane.open(scenario(lang, organizer, items[STATES[0]]))
    for state in STATES:
        if state != STATES[0]:
            pane.change_item(items[state])
        expect(page.get_by_role("heading", level=1)).to_have_text(f"State {state}")
        expect(page.get_by_text(regex(f": {re.escape(text[f'state_{state}'])}$"))).to_be_visible()
        if state == "not_invited":  # the organizer's own meeting is compose: the new-meeting path (Graph is off)
            expect(page.get_by_role("button", name=text["start_new"])).to_be_visible()
            expect(page.get_by_role("button", name=text["invite"])).to_have_count(0)
        if state == "drifted":
            expect(page.get_by_role("button", name=text["take_outlook"])).to_be_visible()
        pane.screenshot(f"state-{state.replace('_', '-')}")
    assert len(pane.api_requests("/api/lookup")) == len(STATES)  # one lookup per opened meeting


def test_an_outlook_read_that_never_answers_does_not_stop_the_pane(pane_en, api, organizer):
    """Reads have taken seconds (OfficeDev/office-js#4917): each has a timeout, and the pane goes on without it."""
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer))
    pane_en.page.clock.install()
    page = pane_en.open(scenario("en-US", organizer, item, hangs=["item.loadCustomPropertiesAsync"]))

    expect(page.get_by_role("heading", level=1)).to_have_text(activity["subject"])
    expect(page.get_by_text("Looking up the CRM activity…")).to_be_visible()
    page.clock.run_for(5_100)  # past the read's timeout
    expect(page.get_by_text(": External participants not invited yet")).to_be_visible()


def test_a_meeting_without_an_attendee_list_is_shown_but_not_compared(pane_en, api, organizer):
    """Outlook has given no requiredAttendees at all (OfficeDev/office-js#5365): that is not "everyone removed"."""
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, missing=["requiredAttendees"])
    page = pane_en.open(scenario("en-US", organizer, item))

    expect(page.get_by_text("This is the meeting with the external participants.")).to_be_visible()
    expect(page.get_by_text("Outlook did not give all of this meeting's details")).to_be_visible()
    expect(page.get_by_text(": Invitation sent")).to_be_visible()
    assert "snapshot" not in pane_en.api_requests("/api/lookup")[0].post_data_json
