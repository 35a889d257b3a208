"""Flow 5: the external meeting was moved in Outlook. The pane compares it with the CRM in one lookup, shows both
versions side by side and each external's response, and reconciles in one click either way."""

import re

import pytest
from playwright.sync_api import expect

from .browser_support import regex, scenario, sent_external_meeting

pytestmark = pytest.mark.browser


def row(page, field: str):
    return page.get_by_role("row", name=re.compile(f"^{re.escape(field)} "))


def test_a_drifted_external_meeting_shows_crm_and_outlook_side_by_side_and_each_response(
    pane, api, organizer, lang, text
):
    _, item, _ = sent_external_meeting(api, organizer, new_attendee=True)
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_text(f": {text['state_drifted']}")).to_be_visible()
    expect(page.get_by_text(text["external_meeting"])).to_be_visible()
    table = page.get_by_role("table", name=text["differences"])
    expect(table).to_be_visible()
    start = row(page, text["field_start"])
    expect(start.get_by_role("cell").nth(0)).to_have_text(regex(f"{text['day_4']}.*{text['time_10']}"))
    expect(start.get_by_role("cell").nth(1)).to_have_text(regex(f"{text['day_4']}.*{text['time_12']}"))
    expect(row(page, text["field_location"]).get_by_role("cell")).to_have_text(["Room Harbour", "Teams"])
    # Each attendee who differs has a row of their own, saying on which side they are.
    expect(row(page, text["field_external"]).get_by_role("cell")).to_have_text([text["absent"], "Nina Newcomer"])

    responses = page.get_by_role("region", name=text["responses"])
    expect(responses.get_by_role("listitem")).to_have_text([
        regex(f"Mette Kunde.*{text['accepted']}"),
        regex(f"Nina Newcomer.*{text['tentative']}.*{re.escape(text['not_in_crm'])}"),
        regex(f"Jonas Fabrikam.*{text['declined']}"),
    ])
    expect(page.get_by_role("button", name=text["take_outlook"])).to_be_visible()
    expect(page.get_by_role("button", name=text["prepare_update"])).to_be_visible()
    expect(page.get_by_role("button", name=text["remove_extra"])).to_be_visible()
    pane.screenshot("drifted")

    lookups = pane.api_requests("/api/lookup")
    assert len(lookups) == 1  # one call per opening, with the snapshot of the open meeting
    snapshot = lookups[0].post_data_json["snapshot"]
    assert snapshot["start"] == {"dateTime": "2031-03-04T11:00:00.000Z", "timeZone": "UTC"}
    assert snapshot["location"] == {"displayName": "Teams"}
    assert {a["emailAddress"]["address"]: (a["type"], a["status"]["response"]) for a in snapshot["attendees"]} == {
        "mette@fabrikam.example": ("required", "accepted"),
        "newcomer@fabrikam.example": ("required", "tentativelyAccepted"),
        "jonas@fabrikam.example": ("optional", "declined"),
    }


def test_updating_the_crm_to_match_outlook_brings_the_meeting_in_sync(pane, api, organizer, lang, text):
    activity, item, item_id = sent_external_meeting(api, organizer)
    page = pane.open(scenario(lang, organizer, item))

    page.get_by_role("button", name=text["take_outlook"]).click()
    expect(page.get_by_role("status")).to_have_text(text["reconciled"])
    expect(page.get_by_text(f": {text['state_in_sync']}")).to_be_visible()
    expect(page.get_by_role("table")).to_have_count(0)
    pane.screenshot("reconciled")

    reconcile = pane.api_requests(f"/api/activities/{activity['id']}/reconcile")
    assert len(reconcile) == 1 and reconcile[0].headers["if-match"] == '"v1"'
    updated = api.lookup(itemId=item_id)["activity"]
    assert (updated["start"], updated["location"], updated["version"]) == ("2031-03-04T11:00:00Z", "Teams", 2)


def test_a_crm_change_made_meanwhile_is_explained_and_the_view_refreshed(pane, api, organizer, lang, text):
    activity, item, item_id = sent_external_meeting(api, organizer)
    page = pane.open(scenario(lang, organizer, item))
    expect(row(page, text["field_location"]).get_by_role("cell")).to_have_text(["Room Harbour", "Teams"])

    api.patch(activity["id"], '"v1"', location="Room Lighthouse")  # a colleague edits the CRM meanwhile
    page.get_by_role("button", name=text["take_outlook"]).click()
    expect(page.get_by_role("status")).to_contain_text(text["conflict"])
    expect(row(page, text["field_location"]).get_by_role("cell")).to_have_text(["Room Lighthouse", "Teams"])
    pane.screenshot("conflict")
    assert api.lookup(itemId=item_id)["activity"]["location"] == "Room Lighthouse"

    page.get_by_role("button", name=text["take_outlook"]).click()  # now with the fresh ETag
    expect(page.get_by_role("status")).to_have_text(text["reconciled"])
    assert api.lookup(itemId=item_id)["activity"]["location"] == "Teams"


def test_in_read_mode_only_the_crm_side_is_offered(pane, api, organizer, lang, text):
    """An assistant organizes the customer meeting, so the activity's organizer is an attendee and sees it in read
    mode: the CRM can follow Outlook, but only the meeting's organizer can send an update."""
    _, item, _ = sent_external_meeting(api, organizer, organized_by="assistant@contoso.com")
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_role("button", name=text["take_outlook"])).to_be_visible()
    expect(page.get_by_role("button", name=text["prepare_update"])).to_have_count(0)
    assert not [c for c in pane.calls() if c["api"].startswith("mailbox.display")]


def test_preparing_an_update_adds_the_crm_externals_keeps_the_organizers_and_never_saves(pane_en, api, organizer):
    _, item, item_id = sent_external_meeting(api, organizer, new_attendee=True)
    item["optionalAttendees"] = []  # Jonas was dropped in Outlook; Nina was added there
    page = pane_en.open(scenario("en-US", organizer, item))

    page.get_by_role("button", name="Prepare an update for the external participants").click()
    expect(page.get_by_role("status")).to_have_text(
        "The meeting now has the CRM's values. Check it and press Send Update.")
    state = page.evaluate("window.__officeFake.item()")
    assert (state["start"], state["location"]) == ({"$date": "2031-03-04T09:00:00.000Z"}, "Room Harbour")
    assert [a["emailAddress"] for a in state["optionalAttendees"]] == ["jonas@fabrikam.example"]
    assert [a["emailAddress"] for a in state["requiredAttendees"]] == [
        "mette@fabrikam.example", "newcomer@fabrikam.example"]  # Nina stays until the organizer asks
    # Read again from the form: only Nina still differs, and the CRM is not offered Outlook's old time.
    expect(row(page, "External participant").get_by_role("cell")).to_have_text(["(not here)", "Nina Newcomer"])
    expect(page.get_by_role("button", name="Update CRM to match Outlook")).to_have_count(0)
    pane_en.screenshot("prepare-update")

    page.get_by_role("button", name="Also remove those not in the CRM").click()
    expect(page.get_by_role("status")).to_have_text("They are off the meeting. Press Send Update to tell them.")
    assert [a["emailAddress"] for a in page.evaluate("window.__officeFake.item()")["requiredAttendees"]] == [
        "mette@fabrikam.example"]
    apis = pane_en.apis()
    assert "item.saveAsync" not in apis  # saving an existing meeting would mail every attendee
    assert "item.body.setAsync" not in apis  # the organizer's text stays
    assert page.evaluate("window.__officeFake.mails") == []
    assert pane_en.api_requests("/api/lookup")[0].post_data_json["itemId"] == item_id


def test_a_time_changed_in_the_form_is_what_the_crm_takes(pane_en, api, organizer):
    """AppointmentTimeChanged: the pane reads the form again, so "Update CRM to match Outlook" sends the time the
    organizer just set, not the one the pane opened with."""
    activity, item, item_id = sent_external_meeting(api, organizer)
    page = pane_en.open(scenario("en-US", organizer, item))
    expect(row(page, "Start").get_by_role("cell").nth(1)).to_contain_text("12:00")

    page.evaluate("window.__officeFake.organizerEdits({start: '2031-03-04T13:00:00Z', end: '2031-03-04T14:00:00Z'})")
    expect(row(page, "Start").get_by_role("cell").nth(1)).to_contain_text("2:00")
    page.get_by_role("button", name="Update CRM to match Outlook").click()
    expect(page.get_by_role("status")).to_have_text("The CRM now matches Outlook.")

    assert api.lookup(itemId=item_id)["activity"]["start"] == "2031-03-04T13:00:00Z"
