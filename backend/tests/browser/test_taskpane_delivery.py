"""The taskpane on the wire: compressed on a first open, nothing of its scripts or styles downloaded again on a
reopen, and the first screen never waiting for MSAL.js."""

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from .browser_support import (
    FAKE_OFFICE,
    PANE_SIZE,
    TASKPANE,
    TEXT,
    internal_attendees,
    new_item_id,
    outlook_item,
    scenario,
)
from .wire import Wire, entra_sign_in

pytestmark = pytest.mark.browser


SCRIPT_OR_STYLE = re.compile(r"/taskpane/static/[^/]+-[A-Z0-9]{8}\.(js|css)$")


def built_pages() -> dict:
    """build.json: what each page loads at start and what it loads lazily."""
    return json.loads((TASKPANE / "dist" / "build.json").read_text())


def static_answers(live_backend) -> dict:
    """The server's count of answers for the taskpane's files, by status, from its own /metrics."""
    with urllib.request.urlopen(live_backend.url + "/metrics") as response:
        text = response.read().decode()
    counts = {"200": 0.0, "304": 0.0}
    for status, count in re.findall(
            r'crmbridge_http_requests_total\{endpoint="taskpane.static_file",method="GET",status="(\d+)"\} (\S+)',
            text):
        counts[status] = float(count)
    return counts


def signed_in_with_entra(live_backend, organizer: str) -> tuple[dict, dict]:
    return entra_sign_in(live_backend.url, live_backend.token(organizer))


def open_pane(context, live_backend, organizer, item, lang="en-US") -> Wire:
    page = context.new_page()
    answers, extras = signed_in_with_entra(live_backend, organizer)
    wire = Wire(page, FAKE_OFFICE, answers)
    page.add_init_script(f"window.__officeScenario = {json.dumps(scenario(lang, organizer, item, **extras))};")
    page.goto(live_backend.url + "/taskpane/taskpane.html")
    expect(page.get_by_text(TEXT[lang]["internal_meeting"])).to_be_visible()
    page.wait_for_load_state("networkidle")
    return wire


def test_a_reopen_downloads_no_script_or_style_and_revalidates_the_page(browser, live_backend, api, organizer):
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer))
    # No Playwright routing in this context: it would turn the HTTP cache off.
    context = browser.new_context(locale="en-US", viewport=PANE_SIZE)
    try:
        cold = open_pane(context, live_backend, organizer, item)
        cold_files = [t for t in cold.of(live_backend.url) if SCRIPT_OR_STYLE.search(t.url)]
        assert {t.url.rsplit("/", 1)[1].split("-")[0] for t in cold_files} >= {"main", "taskpane"}
        assert all(t.status == 200 and t.encoding in ("br", "gzip") and t.bytes > 0 for t in cold_files), cold_files
        # What build.json lists and no more: main.js and the stylesheet, and MSAL.js, one file of its own, loaded
        # beside the first screen, not before it.
        pane = built_pages()["taskpane.html"]
        assert sorted(t.url.split("/taskpane/", 1)[1] for t in cold_files) == sorted(pane["start"] + pane["lazy"])
        cold.page.close()
        before = static_answers(live_backend)

        warm = open_pane(context, live_backend, organizer, item)

        warm_files = [t for t in warm.of(live_backend.url) if SCRIPT_OR_STYLE.search(t.url)]
        assert warm_files and all(t.from_cache and t.bytes == 0 for t in warm_files), warm_files
        after = static_answers(live_backend)
        # The server saw one request for the taskpane's files: the page, asked again and answered "not modified".
        assert after["304"] - before["304"] == 1
        assert after["200"] == before["200"]
    finally:
        context.close()


def test_the_first_screen_renders_while_msal_is_still_loading(browser, live_backend, api, organizer):
    """MSAL.js's chunk is held back: the skeleton and the Outlook item still show, so they do not wait for it."""
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer))
    (lazy,) = built_pages()["taskpane.html"]["lazy"]  # MSAL.js, one file
    msal_chunk = TASKPANE / "dist" / lazy
    assert b"InteractionRequiredAuthError" in msal_chunk.read_bytes()
    context = browser.new_context(locale="en-US", viewport=PANE_SIZE)
    try:
        page = context.new_page()
        answers, extras = signed_in_with_entra(live_backend, organizer)
        Wire(page, FAKE_OFFICE, answers)
        held = []
        page.route(f"**/taskpane/static/{msal_chunk.name}", lambda route: held.append(route))
        page.add_init_script(f"window.__officeScenario = {json.dumps(scenario('en-US', organizer, item, **extras))};")
        page.goto(live_backend.url + "/taskpane/taskpane.html", wait_until="commit")

        # The skeleton, then the meeting as Outlook has it: read while MSAL.js is still on its way.
        expect(page.get_by_text(TEXT["en-US"]["meeting"])).to_be_visible()
        expect(page.get_by_text(item["subject"]).first).to_be_visible()
        for _ in range(200):  # the request for MSAL.js follows the sign-in configuration; wait for it, bounded
            if held:
                break
            page.wait_for_timeout(50)
        assert len(held) == 1  # MSAL.js was asked for, and is still unanswered
        expect(page.get_by_text(item["subject"]).first).to_be_visible()
        assert page.evaluate("window.__officeCalls").count  # Office was asked for the item meanwhile
        held[0].fallback()  # MSAL.js arrives: the sign-in and the lookup follow
        expect(page.get_by_text(TEXT["en-US"]["internal_meeting"])).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en-US", "da-DK"])
def test_only_a_danish_pane_downloads_the_danish_strings(browser, live_backend, api, organizer, lang):
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    item = outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer))
    context = browser.new_context(locale="en-US", viewport=PANE_SIZE)  # Outlook's display language decides
    try:
        wire = open_pane(context, live_backend, organizer, item, lang)
        names = [t.url.rsplit("/", 1)[1] for t in wire.of(live_backend.url)]
        assert any(name.startswith("i18n-da-") for name in names) == (lang == "da-DK"), names
    finally:
        context.close()
