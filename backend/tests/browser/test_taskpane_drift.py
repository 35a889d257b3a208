"""Flow 5: the external meeting was moved in Outlook. The pane compares it with the CRM in one lookup, shows both
versions side by side and each external's response, and reconciles in one click either way."""

import re

import pytest
from playwright.sync_api import expect

from .browser_support import literal, regex, scenario, sent_external_meeting

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
    externals = row(page, text["field_externals"]).get_by_role("cell")
    expect(externals.nth(0)).not_to_contain_text("Nina Newcomer")
    expect(externals.nth(1)).to_contain_text("Nina Newcomer")

    responses = page.get_by_role("region", name=text["responses"])
    expect(responses.get_by_role("listitem")).to_have_text([
        regex(f"Mette Kunde.*{text['accepted']}"),
        regex(f"Nina Newcomer.*{text['tentative']}.*{re.escape(text['not_in_crm'])}"),
        regex(f"Jonas Fabrikam.*{text['declined']}"),
    ])
    expect(page.get_by_role("button", name=text["take_outlook"])).to_be_visible()
    expect(page.get_by_role("button", name=text["prepare_update"])).to_be_visible()
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


def test_preparing_an_update_opens_the_external_meeting_with_the_crm_values_to_apply(
    pane, api, organizer, lang, text
):
    _, item, item_id = sent_external_meeting(api, organizer)
    item["optionalAttendees"] = []  # Jonas was dropped in Outlook
    page = pane.open(scenario(lang, organizer, item))

    page.get_by_role("button", name=text["prepare_update"]).click()
    expect(page.get_by_role("status")).to_contain_text(text["prepared_read"])
    instructions = page.get_by_role("region", name=literal(text["prepared_read"]))
    expect(instructions).to_contain_text(regex(f"{text['field_start']}.*{text['time_10']}"))
    expect(instructions).to_contain_text("Room Harbour")
    expect(instructions).to_contain_text(f"{text['add']} Jonas Fabrikam")
    pane.screenshot("prepare-update")

    opened = [c for c in pane.calls() if c["api"].startswith("mailbox.display")]
    assert opened == [{"api": "mailbox.displayAppointmentFormAsync", "args": [item_id]}]
    assert not [c for c in pane.calls() if c["api"].endswith("setAsync") or c["api"].endswith("saveAsync")]


def test_preparing_an_update_in_compose_mode_writes_the_crm_values_and_leaves_sending_to_the_organizer(
    pane_en, api, organizer
):
    _, item, item_id = sent_external_meeting(api, organizer, mode="compose")
    page = pane_en.open(scenario("en-US", organizer, item))

    page.get_by_role("button", name="Prepare an update for the external participants").click()
    expect(page.get_by_role("status")).to_have_text(
        "The meeting now has the CRM's values. Check it and press Send Update.")
    state = page.evaluate("window.__officeFake.item()")
    assert (state["start"], state["location"]) == ({"$date": "2031-03-04T09:00:00.000Z"}, "Room Harbour")
    assert [a["emailAddress"] for a in state["optionalAttendees"]] == ["jonas@fabrikam.example"]
    apis = pane_en.apis()
    assert "item.saveAsync" not in apis  # saving an existing meeting would mail every attendee
    assert "item.body.setAsync" not in apis  # the organizer's text stays
    assert pane_en.api_requests("/api/lookup")[0].post_data_json["itemId"] == item_id
