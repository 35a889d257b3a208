"""The development preview: a newcomer clicks through the flows with the demo data, without Outlook."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


# Each language walks a different demo organizer's activity: the demo database is shared by the session.
WALKS = {
    "en-US": ("lars.holm@contoso.com", "Workshop hos Tailspin Toys", "Kim Tailspin", "Anna Berg", "budget approved"),
    "da-DK": ("anna.berg@contoso.com", "Kvartalsmøde med Fabrikam", "Mette Kunde", "Lars Holm", "rabatten"),
}


def test_the_preview_walks_from_the_internal_meeting_through_sending_to_a_drifted_external_meeting(
    pane, live_backend, lang, text
):
    organizer, subject, customer, colleague, note = WALKS[lang]
    page = pane.page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_backend.url + "/taskpane/preview.html")
    page.get_by_label("Outlook language").select_option(lang)
    page.get_by_label("Organizer").select_option(organizer)
    activity = page.get_by_label("Demo activity")
    activity.select_option(activity.locator("option", has_text=subject).get_attribute("value"))
    taskpane = page.frame_locator("#pane")

    # The organizer's own internal meeting opens in compose: the pane starts the customer invitation from a new
    # meeting (the preview runs without Graph), and the new meeting's pane proposes this activity first.
    expect(taskpane.get_by_role("heading", level=1)).to_have_text(subject)
    expect(taskpane.get_by_text(f": {text['state_not_invited']}")).to_be_visible()
    taskpane.get_by_role("button", name=text["start_new"]).click()
    expect(taskpane.get_by_role("status")).to_have_text(text["new_meeting"])
    page.get_by_label("Open the pane on").select_option("compose")
    taskpane.get_by_role("button", name=text["fill_for"].format(subject=subject)).click()
    expect(taskpane.get_by_role("status")).to_have_text(text["filled"])

    outlook = page.get_by_role("region", name="Outlook (simulated): the open meeting")
    expect(outlook).to_contain_text(customer)
    expect(outlook).not_to_contain_text(colleague)  # not invited to the customers' meeting
    expect(outlook).not_to_contain_text(note)  # the internal note
    pane.screenshot("preview-invite")

    outlook.get_by_role("button", name="Send (simulated)").click()
    expect(page.get_by_label("Open the pane on")).to_have_value("external")
    expect(taskpane.get_by_text(f": {text['state_in_sync']}")).to_be_visible()

    page.get_by_role("button", name="Move it 1 hour later").click()
    expect(taskpane.get_by_text(f": {text['state_drifted']}")).to_be_visible()
    expect(taskpane.get_by_role("table", name=text["differences"])).to_be_visible()
    pane.screenshot("preview-drifted")

    taskpane.get_by_role("button", name=text["prepare_update"]).click()
    expect(taskpane.get_by_role("status")).to_have_text(text["prepared_compose"])
    expect(taskpane.get_by_text(f": {text['state_in_sync']}")).to_be_visible()  # what the form now holds
