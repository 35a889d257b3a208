"""The pane's error states name the server's request id, so the organizer can give it to their administrator and
one log line answers the support call."""

import json
import re

import pytest
from playwright.sync_api import Route, expect

from .browser_support import internal_attendees, new_item_id, outlook_item, scenario

pytestmark = pytest.mark.browser

GIVE_THIS_CODE = {"en-US": "Give this code to your administrator: ", "da-DK": "Giv denne kode til din administrator: "}


def test_a_refused_call_shows_the_request_id_of_the_failed_response(pane, api, organizer, lang, text):
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer))
    failed = []

    def expired_token(route: Route) -> None:  # a token the real backend refuses: its 401 names the request
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"token": "dev.expired"}))

    pane.page.route("**/dev/token", expired_token)
    pane.page.on("response", lambda response: failed.append(response) if "/api/lookup" in response.url else None)
    page = pane.open(scenario(lang, organizer, item))

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(text["unauthorized"])
    assert failed and failed[-1].status == 401
    request_id = failed[-1].headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    expect(alert).to_contain_text(GIVE_THIS_CODE[lang] + request_id)
    pane.screenshot("error-request-id")


def test_an_error_without_an_answer_shows_no_code(pane, api, organizer, lang, text):
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer))
    pane.page.route(re.compile(r"/(api|dev)/"), lambda route: route.abort("connectionrefused"))
    page = pane.open(scenario(lang, organizer, item))

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(text["network"])
    expect(alert).not_to_contain_text(GIVE_THIS_CODE[lang].strip())
