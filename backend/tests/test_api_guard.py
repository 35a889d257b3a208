"""POST /api/guard/check: the send handler's question; a verdict and field names, never the notes; an allowed
customer meeting is recorded as sent. Also the guard's files for Outlook's event runtimes."""

import logging
import os

import pytest
from conftest import activity_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOTES = "Internal only: discount up to 12 %. They also talk to Northwind, our price is 8 % higher."
ITEM_ID = "AAMkAGI2TG93AAA="


@pytest.fixture
def activity_id(anna):
    response = anna.post("/api/activities", json=activity_json(internalNotes=NOTES))
    assert response.status_code == 201, response.json
    return response.json["id"]


def check(api, activity_id, **fields):
    body = {"activityId": str(activity_id), "subject": "Quarterly review", "location": "Room Harbour",
            "body": "1. Status\n2. Next quarter", "attendees": ["anna@contoso.com", "mette@fabrikam.example"]}
    body.update(fields)
    return api.post("/api/guard/check", json=body)


def lookup(api, activity_id):
    return api.get(f"/api/lookup?activityId={activity_id}").json


# Rule 1


def test_the_internal_meeting_with_an_outsider_is_blocked_and_the_answer_names_them(anna, activity_id):
    response = check(anna, activity_id, meetingKind="internal", body=NOTES,
                     attendees=["lars@contoso.com", "Mette@Fabrikam.example", "x@contoso.com.evil.example"])

    assert response.status_code == 200
    assert response.json == {"verdict": "block", "reason": "outsiders-on-internal-meeting", "meeting": "internal",
                              "outsiders": ["Mette@Fabrikam.example", "x@contoso.com.evil.example"], "fields": [],
                              "recorded": False}


def test_the_internal_meeting_with_colleagues_only_is_allowed(anna, activity_id):
    response = check(anna, activity_id, meetingKind="internal", body=NOTES, attendees=["lars@contoso.com"])

    assert response.json["verdict"] == "allow"
    assert response.json["meeting"] == "internal"


def test_the_link_recorded_for_the_item_decides_over_the_custom_property(anna, activity_id):
    linked = anna.post(f"/api/activities/{activity_id}/links", json={
        "kind": "internal", "state": "sent", "ewsItemId": ITEM_ID, "attendees": ["lars@contoso.com"]})
    assert linked.status_code == 201, linked.json

    response = check(anna, activity_id, meetingKind="external", itemId=ITEM_ID, body=NOTES)

    assert (response.json["verdict"], response.json["meeting"]) == ("block", "internal")
    assert response.json["outsiders"] == ["mette@fabrikam.example"]


# Rule 2


def test_notes_pasted_into_the_customer_meeting_prompt_and_name_the_field_only(anna, activity_id):
    body = "Hi Mette,\n\nsee agenda below.\nThey also talk to Northwind, our price is 8 % higher.\n"

    response = check(anna, activity_id, meetingKind="external", body=body, itemId=ITEM_ID)

    assert response.json == {"verdict": "prompt", "reason": "notes-in-customer-meeting", "meeting": "external",
                             "outsiders": [], "fields": ["body"], "recorded": False}
    assert lookup(anna, activity_id)["externalMeeting"] is None


def test_the_participants_names_in_the_notes_are_no_leak(anna):
    notes = "Mette Kunde Fabrikam Sales Director\nShe decides."
    created = anna.post("/api/activities", json=activity_json(internalNotes=notes, participants=[
        {"email": "mette@fabrikam.example", "displayName": "Mette Kunde Fabrikam Sales Director"}]))

    response = check(anna, created.json["id"], meetingKind="external", body="Dear Mette Kunde Fabrikam Sales Director")

    assert response.json["verdict"] == "allow"


def test_without_a_kind_a_meeting_with_outsiders_is_checked_as_the_customer_meeting(anna, activity_id):
    response = check(anna, activity_id, subject="Internal only: discount up to 12 %")

    assert (response.json["verdict"], response.json["meeting"], response.json["fields"]) == (
        "prompt", "external", ["subject"])


# Rule 3


def test_an_allowed_customer_meeting_is_recorded_as_sent(anna, activity_id):
    assert lookup(anna, activity_id)["state"] == "not-invited"

    response = check(anna, activity_id, meetingKind="external", itemId=ITEM_ID)

    assert (response.json["verdict"], response.json["recorded"]) == ("allow", True)
    found = lookup(anna, activity_id)
    assert found["state"] == "sent"
    assert (found["externalMeeting"]["state"], found["externalMeeting"]["ewsItemId"]) == ("sent", ITEM_ID)


def test_a_customer_meeting_without_an_id_is_allowed_but_not_recorded(anna, activity_id):
    response = check(anna, activity_id, meetingKind="external")

    assert (response.json["verdict"], response.json["recorded"]) == ("allow", False)
    assert lookup(anna, activity_id)["externalMeeting"] is None


def test_a_meeting_linked_to_another_activity_is_allowed_and_keeps_its_link(anna, activity_id):
    other = anna.post("/api/activities", json=activity_json()).json["id"]
    assert anna.post(f"/api/activities/{other}/links",
                     json={"kind": "external", "state": "sent", "ewsItemId": ITEM_ID}).status_code == 201

    response = check(anna, activity_id, meetingKind="external", itemId=ITEM_ID)

    assert (response.json["verdict"], response.json["recorded"]) == ("allow", False)
    assert lookup(anna, other)["externalMeeting"]["ewsItemId"] == ITEM_ID


# Who may ask, and what is refused


def test_another_organizers_activity_looks_missing(bo, activity_id):
    response = check(bo, activity_id, meetingKind="internal")

    assert response.status_code == 404
    assert "discount" not in response.get_data(as_text=True).lower()


def test_the_check_needs_a_token(client, activity_id):
    assert client.post("/api/guard/check", json={"activityId": activity_id}).status_code == 401


@pytest.mark.parametrize(("change", "field"), [
    ({"activityId": "abc"}, "activityId"),
    ({"activityId": 0}, "activityId"),
    ({"meetingKind": "other"}, "meetingKind"),
    ({"attendees": "x@y.example"}, "attendees"),
    ({"notes": "x"}, "notes"),
])
def test_a_malformed_question_is_refused_per_field(anna, activity_id, change, field):
    response = check(anna, activity_id, **change)

    assert response.status_code == 422
    assert field in response.json["errors"]


def test_nothing_of_the_meeting_or_the_notes_is_logged(anna, activity_id, caplog):
    caplog.set_level(logging.DEBUG)

    check(anna, activity_id, meetingKind="external", body="Pasted: our price is 8 % higher. They also talk to",
          subject="Secret subject words")

    logged = "\n".join(record.getMessage() for record in caplog.records).lower()
    assert "send guard" in logged
    for text in ("northwind", "price", "secret subject", "discount", "mette@"):
        assert text not in logged


# The leak property of test_draft.py, for the guard's answer: nothing of the notes reaches the handler that it did
# not send itself or that reaches customers anyway.
RUN = 8
EXAMPLES = int(os.environ.get("CRMBRIDGE_PROPERTY_EXAMPLES", "300"))
# No NUL (PostgreSQL text cannot hold it) and no lone surrogate (not valid UTF-8; the API refuses both with 400):
# creating the activity is not what this property is about.
CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
text = st.text(CHARACTERS, max_size=120)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
@given(notes=st.one_of(text, st.text(CHARACTERS, min_size=8, max_size=400)),
       data=st.data(), kind=st.sampled_from(
    ["internal", "external", None]), field=st.sampled_from(["subject", "location", "body"]),
    attendee=st.sampled_from(["lars@contoso.com", "mette@fabrikam.example", "not an address"]))
def test_no_run_of_eight_characters_from_the_notes_reaches_the_guard_answer(anna, notes, data, kind, field,
                                                                            attendee):
    # What the organizer sends: any text, or a piece of the notes pasted between other text (the prompt's path).
    start = data.draw(st.integers(0, len(notes)))
    pasted = data.draw(text) + notes[start:data.draw(st.integers(start, len(notes)))] + data.draw(text)
    sent = data.draw(st.sampled_from([data.draw(text), pasted]))
    created = anna.post("/api/activities", json=activity_json(internalNotes=notes))
    assert created.status_code == 201, created.json
    activity = created.json
    question = {"activityId": activity["id"], "meetingKind": kind, "subject": "", "location": "", "body": "",
                "attendees": [attendee], field: sent}

    response = anna.post("/api/guard/check", json=question)

    assert response.status_code == 200
    answer = response.get_data(as_text=True)
    allowed = "\x00".join([sent, attendee, activity["subject"], activity["location"], activity["externalAgenda"],
                           *(f"{p['email']}\x00{p['displayName']}" for p in activity["participants"]),
                           '{"verdict": "allow", "reason": null, "meeting": "internal", "outsiders": [], '
                           '"fields": ["subject", "location", "body"], "recorded": false}'])
    for i in range(len(notes) - RUN + 1):
        run = notes[i:i + RUN]
        if run not in allowed:
            assert run not in answer


def test_the_property_would_catch_an_answer_that_echoes_the_notes(anna, activity_id, monkeypatch):
    from crmbridge.api import guard as view

    monkeypatch.setattr(view.GuardCheckOut, "dump", lambda self, obj, **kw: {"verdict": NOTES})
    leaky = check(anna, activity_id).get_data(as_text=True)
    assert "Northwind" in leaky


# The files for Outlook's event runtimes


def test_the_script_is_served_with_its_origin_and_sign_in_values_first(client):
    response = client.get("/guard/send-guard.js")

    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    first_line = response.get_data(as_text=True).split("\n", 1)[0]
    assert first_line == ('globalThis.crmbridgeGuardConfig = {"origin":"http://localhost","clientId":null,'
                          '"apiScope":null,"authority":"https://login.microsoftonline.com/organizations",'
                          '"devTokens":true};')


def test_the_configured_public_url_is_the_origin(app, client):
    app.config["PUBLIC_BASE_URL"] = "https://crm.example.com"

    assert '"origin":"https://crm.example.com"' in client.get("/guard/send-guard.js").get_data(as_text=True)
    assert client.get("/.well-known/microsoft-officeaddins-allowed.json").json == {
        "allowed": ["https://crm.example.com/guard/send-guard.js"]}


def test_the_browser_runtime_page_loads_office_js_then_the_same_script(client):
    with client.get("/taskpane/send-guard.html") as response:  # a file response streams: close it
        page = response.get_data(as_text=True)

    assert page.index("https://appsforoffice.microsoft.com/lib/1/hosted/office.js") < page.index(
        '<script src="/guard/send-guard.js"></script>')


def test_a_customer_meeting_with_colleagues_only_is_not_recorded_as_sent(anna, activity_id):
    response = check(anna, activity_id, meetingKind="external", itemId=ITEM_ID, attendees=["lars@contoso.com"])

    assert (response.json["verdict"], response.json["recorded"]) == ("allow", False)
    assert lookup(anna, activity_id)["externalMeeting"] is None
