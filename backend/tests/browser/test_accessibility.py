"""The pane has no serious or critical accessibility violation (axe-core, pinned in package-lock.json) in the states
an organizer meets most, in English and Danish. Each is the organizer's own meeting, so Outlook shows it in compose."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from .browser_support import (
    MEETING_START,
    attendee,
    axe_violations,
    internal_attendees,
    iso,
    literal,
    new_item_id,
    outlook_item,
    scenario,
    sent_external_meeting,
)

pytestmark = pytest.mark.browser


def linked_internal_meeting_in_compose(pane, api, organizer, lang, text):
    """The organizer's own internal meeting, as Outlook opens it for them: compose mode."""
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer),
                     custom_properties={"crmActivityId": str(activity["id"])}, mode="compose")
    page = pane.open(scenario(lang, organizer, item))
    expect(page.get_by_text(text["internal_meeting"])).to_be_visible()
    expect(page.get_by_text(text["loading"])).to_have_count(0)
    return page


def not_linked_with_candidates(pane, api, organizer, lang, text):
    api.create_activity(subject="Workshop with Fabrikam")
    api.create_activity(subject="Prep the next morning", start=MEETING_START + timedelta(hours=20))
    meeting = {"subject": "Workshop", "start": iso(MEETING_START), "end": iso(MEETING_START + timedelta(hours=1)),
               "location": "Room Harbour"}
    item = outlook_item(meeting, organizer, attendees=[attendee("mette@fabrikam.example", "Mette Kunde")],
                     mode="compose")
    page = pane.open(scenario(lang, organizer, item))
    expect(page.get_by_role("heading", name=text["not_linked"])).to_be_visible()
    expect(page.get_by_role("button", name=literal(text["link_to"].format(subject="Workshop with Fabrikam"))))\
        .to_be_visible()
    return page


def server_error(pane, api, organizer, lang, text):
    activity = api.create_activity()
    item = outlook_item(activity, organizer, attendees=internal_attendees(activity, organizer), mode="compose")
    body = {"code": 500, "message": "Something went wrong on our side.", "errors": {}}
    pane.page.route("**/api/lookup", lambda route: route.fulfill(status=500, json=body))
    page = pane.open(scenario(lang, organizer, item))
    expect(page.get_by_role("alert")).to_contain_text(text["server"])
    return page


def drifted_external_meeting(pane, api, organizer, lang, text):
    _, item, _ = sent_external_meeting(api, organizer, new_attendee=True)
    page = pane.open(scenario(lang, organizer, item))
    expect(page.get_by_text(f": {text['state_drifted']}")).to_be_visible()
    expect(page.get_by_role("table", name=text["differences"])).to_be_visible()
    return page


STATES = {
    "linked-internal-compose": linked_internal_meeting_in_compose,
    "not-linked-candidates": not_linked_with_candidates,
    "error-server": server_error,
    "drifted-external": drifted_external_meeting,
}

def report(violations: list[dict]) -> str:
    return "axe-core finds:\n" + "\n".join(f"{v['impact']} {v['id']}: {', '.join(v['nodes'])}" for v in violations)


@pytest.mark.parametrize("state", list(STATES))
def test_the_pane_has_no_serious_or_critical_accessibility_violation(pane, api, organizer, lang, text, state):
    page = STATES[state](pane, api, organizer, lang, text)
    violations = axe_violations(page)
    assert not violations, report(violations)
