"""Flow 6: every failure reaches the organizer as a translated message with a way forward; the main actions are
reachable by keyboard."""

import json
import re

import pytest
from playwright.sync_api import Route, expect

from .browser_support import OFFICE_JS, internal_attendees, new_item_id, outlook_item, scenario, sent_external_meeting

pytestmark = pytest.mark.browser


def linked_internal_meeting(api, organizer):
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    return activity, outlook_item(activity, organizer, item_id=item_id,
                               attendees=internal_attendees(activity, organizer))


def test_when_the_backend_is_down_the_pane_says_so_and_retry_works_once_it_answers(
    pane, api, organizer, lang, text
):
    _, item = linked_internal_meeting(api, organizer)
    backend = re.compile(r"/(api|dev)/")  # the pane's own files are loaded; every call to the backend fails
    pane.page.route(backend, lambda route: route.abort("connectionrefused"))
    page = pane.open(scenario(lang, organizer, item))

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(text["network"])
    pane.screenshot("error-network")

    pane.page.unroute(backend)  # the backend answers again
    alert.get_by_role("button", name=text["retry"]).click()
    expect(page.get_by_text(f": {text['state_not_invited']}")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)


def test_an_expired_sign_in_asks_to_sign_in_again_and_the_button_gets_a_new_token(
    pane, api, organizer, lang, text
):
    _, item = linked_internal_meeting(api, organizer)
    tokens = []

    def token(route: Route) -> None:
        tokens.append(route.request.url)
        if len(tokens) == 1:  # the first token is one the backend does not accept
            route.fulfill(status=200, content_type="application/json", body=json.dumps({"token": "dev.expired"}))
        else:
            route.fallback()

    pane.page.route("**/dev/token", token)
    page = pane.open(scenario(lang, organizer, item))

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(text["unauthorized"])
    pane.screenshot("error-sign-in")
    alert.get_by_role("button", name=text["sign_in"]).click()
    expect(page.get_by_text(f": {text['state_not_invited']}")).to_be_visible()
    assert len(tokens) == 2


def test_a_colleague_on_another_organizers_meeting_gets_a_calm_explanation_not_an_error(
    pane, live_backend, organizer, lang, text
):
    """A colleague opens the pane on a meeting whose activity is someone else's: in read mode (they are an
    attendee) and with the custom property naming that activity. Nothing is wrong; nothing to retry."""
    theirs = live_backend.api("someone.else@contoso.com").create_activity(subject="Not yours")
    item = outlook_item(theirs, organizer, organized_by="someone.else@contoso.com",
                        custom_properties={"crmActivityId": str(theirs["id"])})
    page = pane.open(scenario(lang, organizer, item))

    expect(page.get_by_role("heading", name=text["not_yours"])).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("button")).to_have_count(0)
    expect(page.get_by_text("Not yours", exact=True)).to_have_count(1)  # Outlook's subject, not the CRM's data
    pane.screenshot("not-yours")


def test_a_server_error_asks_to_try_again_or_contact_the_administrator(pane, api, organizer, lang, text):
    _, item = linked_internal_meeting(api, organizer)
    body = {"code": 500, "message": "Something went wrong on our side.", "errors": {}}
    pane.page.route("**/api/lookup", lambda route: route.fulfill(status=500, json=body))
    page = pane.open(scenario(lang, organizer, item))

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(text["server"])
    expect(alert.get_by_role("button", name=text["retry"])).to_be_visible()
    pane.screenshot("error-server")


def test_when_office_js_cannot_load_the_pane_says_what_to_do(pane_en, organizer):
    pane_en.page.route(OFFICE_JS, lambda route: route.abort("internetdisconnected"))
    page = pane_en.open(scenario("en-US", organizer, None))
    expect(page.get_by_text("Outlook's add-in library could not be loaded.")).to_be_visible()


def test_outside_outlook_the_pane_says_where_to_open_it(pane_en, organizer):
    page = pane_en.open(scenario("en-US", organizer, None, host="Word"))
    expect(page.get_by_text("Open CRM Bridge from a meeting in Outlook.")).to_be_visible()


def test_the_main_actions_are_reachable_by_tab_in_a_sensible_order(pane, api, organizer, lang, text):
    _, item, _ = sent_external_meeting(api, organizer)
    page = pane.open(scenario(lang, organizer, item))
    expect(page.get_by_role("button", name=text["take_outlook"])).to_be_visible()

    order = [
        page.get_by_role("button", name=text["take_outlook"]),
        page.get_by_role("button", name=text["prepare_update"]),
        page.get_by_role("button", name="Lars Holm"),  # then the participants, in the CRM's order
        page.get_by_role("button", name="Mette Kunde"),
    ]
    for target in order:
        page.keyboard.press("Tab")
        expect(target).to_be_focused()
    expect(order[0]).to_have_accessible_description(
        "Changes the CRM only. Your colleagues get an update of the internal meeting; the customers get nothing."
        if lang == "en-US" else
        "Ændrer kun CRM. Dine kolleger får en opdatering af det interne møde; kunderne får intet.")
    pane.screenshot("keyboard-focus")
