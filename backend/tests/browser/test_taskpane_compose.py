"""Flow 4: the organizer creates a new meeting and lets the pane fill it for the external participants: fields set
through Office.js, the custom property saved, the never-sent meeting saved, the link recorded. Nothing is sent."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from .browser_support import iso, literal, scenario

pytestmark = pytest.mark.browser

# Reads are harmless; these are the only writes the fill may make. There is no send in the list (and none in the
# fake): the organizer sends from Outlook.
READS = {
    "item.subject.getAsync", "item.start.getAsync", "item.end.getAsync", "item.location.getAsync",
    "item.requiredAttendees.getAsync", "item.optionalAttendees.getAsync",
    "item.organizer.getAsync", "item.getItemIdAsync", "item.loadCustomPropertiesAsync", "item.body.getTypeAsync",
    "mailbox.addHandlerAsync", "item.addHandlerAsync",
}
WRITES = {
    "item.subject.setAsync", "item.start.setAsync", "item.end.setAsync",
    "item.location.setAsync", "item.requiredAttendees.addAsync", "item.optionalAttendees.addAsync",
    "item.body.setAsync", "customProperties.set", "customProperties.saveAsync", "item.saveAsync",
}


def upcoming_activity(api, marker: str, agenda: str) -> dict:
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    return api.create_activity(
        subject="Kick-off with Fabrikam", start=start, internalNotes=f"Budget is tight. {marker}",
        externalAgenda=agenda,
    )


def new_meeting(body_type: str = "html") -> dict:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return {"mode": "compose", "subject": "", "start": iso(start), "end": iso(start + timedelta(minutes=30)),
            "location": "", "requiredAttendees": [], "optionalAttendees": [], "bodyType": body_type}


def calls_to(pane, api_name: str) -> list[dict]:
    return [c for c in pane.calls() if c["api"] == api_name]


def test_a_new_meeting_is_filled_saved_and_linked_without_being_sent(pane, api, organizer, lang, text):
    marker = f"NOTE-MARKER-{uuid.uuid4()}"
    activity = upcoming_activity(api, marker, agenda="Q1 & Q2 <review>\nNext steps")
    page = pane.open(scenario(lang, organizer, new_meeting("html")))

    expect(page.get_by_role("heading", name=text["not_linked"])).to_be_visible()
    expect(page.get_by_text(text["pick_upcoming"])).to_be_visible()
    page.get_by_role("button", name=literal(text["link_to"].format(subject="Kick-off with Fabrikam"))).click()
    fill = page.get_by_role("button", name=text["fill"])
    expect(fill).to_be_visible()
    pane.screenshot("compose-chosen")
    assert not calls_to(pane, "item.saveAsync")  # choosing changes nothing in Outlook

    fill.click()
    expect(page.get_by_role("status")).to_have_text(text["filled"])
    expect(page.get_by_role("heading", level=1)).to_have_text("Kick-off with Fabrikam")  # read back from Outlook
    expect(page.get_by_text(f": {text['state_invitation_open']}")).to_be_visible()
    pane.screenshot("compose-filled")

    assert calls_to(pane, "item.subject.setAsync")[0]["args"] == ["Kick-off with Fabrikam"]
    assert calls_to(pane, "item.start.setAsync")[0]["args"] == [{"$date": activity["start"].replace("Z", ".000Z")}]
    assert calls_to(pane, "item.end.setAsync")[0]["args"] == [{"$date": activity["end"].replace("Z", ".000Z")}]
    assert calls_to(pane, "item.location.setAsync")[0]["args"] == ["Room Harbour"]
    assert calls_to(pane, "item.requiredAttendees.addAsync")[0]["args"] == [
        [{"emailAddress": "mette@fabrikam.example", "displayName": "Mette Kunde"}]]
    assert calls_to(pane, "item.optionalAttendees.addAsync")[0]["args"] == [
        [{"emailAddress": "jonas@fabrikam.example", "displayName": "Jonas Fabrikam"}]]
    assert calls_to(pane, "item.body.setAsync")[0]["args"] == [
        "Q1 &amp; Q2 &lt;review&gt;<br>Next steps", {"coercionType": "html"}]
    assert [c["args"] for c in calls_to(pane, "customProperties.set")] == [
        ["crmActivityId", str(activity["id"])], ["crmMeetingKind", "external"]]
    apis = pane.apis()
    assert apis.index("customProperties.saveAsync") < apis.index("item.saveAsync")
    assert max(i for i, name in enumerate(apis) if name.endswith(".setAsync")) < apis.index("item.saveAsync")
    assert set(apis) <= READS | WRITES, set(apis) - READS - WRITES
    assert marker not in json.dumps(pane.calls())
    assert marker not in page.content()
    assert page.evaluate("window.__officeFake.mails") == []  # a never-saved meeting saves without mail

    saved_id = page.evaluate("window.__officeFake.item().itemId")
    assert saved_id
    found = api.lookup(itemId=saved_id)
    assert found["activity"]["id"] == activity["id"]
    assert found["externalMeeting"]["state"] == "pending"
    assert found["externalMeeting"]["ewsItemId"] == saved_id
    assert page.evaluate("window.__officeFake.item().customProperties") == {
        "crmActivityId": str(activity["id"]), "crmMeetingKind": "external"}


def test_a_plain_text_body_gets_the_agenda_as_plain_text(pane_en, api, organizer):
    upcoming_activity(api, "no marker", agenda="Q1 & Q2 <review>")
    page = pane_en.open(scenario("en-US", organizer, new_meeting("text")))

    page.get_by_role("button", name=literal("Link to Kick-off with Fabrikam")).click()
    page.get_by_role("button", name="Fill in this meeting for the external participants").click()
    expect(page.get_by_role("status")).to_have_text("The meeting is filled in. Check it and press Send.")
    assert calls_to(pane_en, "item.body.setAsync")[0]["args"] == ["Q1 & Q2 <review>", {"coercionType": "text"}]
