"""When the CRM deleted the activity or moved it to another organizer, the old organizer's pane on their meeting
says so, and to whom, instead of a generic error (the lookup answers 410 with the reason)."""

import pytest
from playwright.sync_api import expect

from crmbridge.auth import dev_tokens

from .browser_support import Api, internal_attendees, new_item_id, outlook_item, scenario

pytestmark = pytest.mark.browser

MOVED = {"en-US": "The CRM moved this activity to {who}", "da-DK": "CRM har flyttet aktiviteten til {who}"}
DELETED = {"en-US": "The CRM deleted this activity.", "da-DK": "CRM har slettet aktiviteten."}


def integration(live_backend) -> Api:
    token = dev_tokens.issue(live_backend.app.config["SECRET_KEY"], "crm-sync@contoso.com",
                             ("Activities.ReadWrite.All",))
    return Api(live_backend.app.test_client(), token)


def internal_meeting(api, organizer):
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    attendees = internal_attendees(activity, organizer)
    return activity, outlook_item(activity, organizer, item_id=item_id, attendees=attendees)


def test_the_old_organizer_is_told_the_crm_moved_the_activity_and_to_whom(pane, api, live_backend, organizer, lang):
    activity, item = internal_meeting(api, organizer)
    integration(live_backend).call("POST", f"/api/activities/{activity['id']}/reassign",
                                   json={"organizerEmail": "bo@contoso.com"}, headers={"If-Match": '"v1"'})
    page = pane.open(scenario(lang, organizer, item))

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(MOVED[lang].format(who="bo@contoso.com"))
    expect(alert.get_by_role("button")).to_have_count(0)  # nothing to retry
    pane.screenshot("moved-by-crm")


def test_the_organizer_is_told_the_crm_deleted_the_activity(pane, api, live_backend, organizer, lang):
    activity, item = internal_meeting(api, organizer)
    integration(live_backend).call("DELETE", f"/api/activities/{activity['id']}")
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_role("alert")).to_contain_text(DELETED[lang])
    pane.screenshot("deleted-by-crm")
