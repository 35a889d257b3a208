"""Sign-in (auth.js): the access token for our API's access_as_user scope, by nested app authentication with MSAL.js,
else Office's legacy single sign-on, else MSAL.js in an Office dialog; and Entra's claims challenge answered by
signing in again with its claims.

The fake Outlook plays Microsoft's side: its nested app authentication broker (the bridge the bundled MSAL.js
talks to), Office.auth.getAccessToken and the dialog API. The access tokens it hands out are ones the test backend
accepts (development tokens), so each sign-in runs on to the real backend; the ID token it hands out beside them
must never be sent there.
"""

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Route, expect

from .browser_support import OFFICE_JS, internal_attendees, new_item_id, outlook_item, scenario

pytestmark = pytest.mark.browser

CLIENT_ID = "0f8e4b1c-3d2a-4c5b-9e6f-7a8b9c0d1e2f"
AUTHORITY = "https://login.microsoftonline.com/organizations"
CLAIMS = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'
NOT_INVITED = ": External participants not invited yet"


def api_scope(live_backend) -> str:
    host = live_backend.url.removeprefix("http://")
    return f"api://{host}/{CLIENT_ID}/access_as_user"


def serve_entra_config(page, live_backend) -> None:
    """The backend's sign-in configuration once an Entra app is set up (GET /taskpane/config.json)."""
    config = {"clientId": CLIENT_ID, "apiScope": api_scope(live_backend), "authority": AUTHORITY, "devTokens": False}
    page.route(live_backend.url + "/taskpane/config.json", lambda route: route.fulfill(json=config))


def linked_internal_meeting(api, organizer) -> dict:
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
    return outlook_item(activity, organizer, item_id=item_id, attendees=internal_attendees(activity, organizer))


def open_signed_in(pane, live_backend, organizer, item, **sign_in):
    serve_entra_config(pane.page, live_backend)
    return pane.open(scenario(pane.lang, organizer, item, **sign_in))


def bearer_tokens(pane) -> list[str]:
    """The token of every call to the API, in order."""
    return [r.headers.get("authorization", "") for r in pane.requests if "/api/" in r.url]


def calls(pane, prefix: str) -> list[dict]:
    return [c for c in pane.calls() if c["api"].startswith(prefix)]


def assert_only_the_access_token_was_sent(pane, *tokens):
    sent = bearer_tokens(pane)
    assert sent and set(sent) <= {f"Bearer {token}" for token in tokens}, sent
    id_token = pane.page.evaluate("window.__officeFake.idToken")
    assert not id_token or all(id_token not in header for header in sent)
    assert not pane.api_requests("/dev/token")  # no development token where Entra is configured


def test_nested_app_authentication_gets_an_access_token_for_the_api_scope_silently(
    pane_en, api, live_backend, organizer
):
    token = live_backend.token(organizer)
    item = linked_internal_meeting(api, organizer)
    page = open_signed_in(pane_en, live_backend, organizer, item,
                          requirements={"Mailbox": "1.13", "NestedAppAuth": "1.1", "IdentityAPI": "1.3"},
                          nestedAppAuth={"silent": {"accessToken": token}})

    expect(page.get_by_text(NOT_INVITED)).to_be_visible()
    asked = calls(pane_en, "nestedAppAuth.GetToken")
    assert [c["api"] for c in asked] == ["nestedAppAuth.GetToken"]  # silent was enough: no popup
    [params] = asked[0]["args"]
    assert params["clientId"] == CLIENT_ID
    assert api_scope(live_backend) in params["scope"].split()
    assert not calls(pane_en, "auth.getAccessToken")  # legacy SSO is there, and not needed
    assert_only_the_access_token_was_sent(pane_en, token)
    # MSAL.js reached nothing but Outlook's broker: no request left for Microsoft, none broke the pane's CSP.
    assert [r.url for r in pane_en.requests if not r.url.startswith(live_backend.url)] == [OFFICE_JS]
    assert not [m for m in pane_en.console if "Content Security Policy" in m]


def test_when_outlook_needs_the_organizer_nested_app_authentication_signs_in_with_a_popup(
    pane_en, api, live_backend, organizer
):
    token = live_backend.token(organizer)
    item = linked_internal_meeting(api, organizer)
    page = open_signed_in(pane_en, live_backend, organizer, item,
                          requirements={"Mailbox": "1.13", "NestedAppAuth": "1.1"},
                          nestedAppAuth={"silent": {"error": "USER_INTERACTION_REQUIRED"},
                                         "popup": {"accessToken": token}})

    expect(page.get_by_text(NOT_INVITED)).to_be_visible()
    asked = calls(pane_en, "nestedAppAuth.GetToken")
    assert [c["api"] for c in asked] == ["nestedAppAuth.GetToken", "nestedAppAuth.GetTokenPopup"]
    assert all(api_scope(live_backend) in c["args"][0]["scope"].split() for c in asked)
    assert_only_the_access_token_was_sent(pane_en, token)


def test_without_nested_app_authentication_office_single_sign_on_gives_the_token(
    pane_en, api, live_backend, organizer
):
    token = live_backend.token(organizer)
    item = linked_internal_meeting(api, organizer)
    page = open_signed_in(pane_en, live_backend, organizer, item,
                          requirements={"Mailbox": "1.13", "IdentityAPI": "1.3", "DialogApi": "1.2"},
                          legacyAuth={"accessToken": token})

    expect(page.get_by_text(NOT_INVITED)).to_be_visible()
    # Office asks for the token of the add-in's own API (WebApplicationInfo): not for Microsoft Graph.
    assert [c["args"] for c in calls(pane_en, "auth.getAccessToken")] == [
        [{"allowSignInPrompt": True, "allowConsentPrompt": True}]]
    assert not calls(pane_en, "nestedAppAuth.") and not calls(pane_en, "ui.displayDialogAsync")
    assert_only_the_access_token_was_sent(pane_en, token)


@pytest.mark.parametrize("office_error", [13003, 13012])
def test_when_office_single_sign_on_says_to_use_another_way_the_sign_in_dialog_gets_the_token(
    pane_en, api, live_backend, organizer, office_error
):
    token = live_backend.token(organizer)
    item = linked_internal_meeting(api, organizer)
    page = open_signed_in(pane_en, live_backend, organizer, item,
                          requirements={"Mailbox": "1.13", "IdentityAPI": "1.3", "DialogApi": "1.2"},
                          legacyAuth={"error": office_error},
                          dialog={"message": {"status": "success", "accessToken": token}})

    expect(page.get_by_text(NOT_INVITED)).to_be_visible()
    [opened] = calls(pane_en, "ui.displayDialogAsync")
    url, _options = opened["args"]
    assert url == f"{live_backend.url}/taskpane/auth-dialog.html?loginHint={organizer.replace('@', '%40')}"
    assert calls(pane_en, "dialog.close")
    assert_only_the_access_token_was_sent(pane_en, token)


WAYS = {
    "nested app authentication": {
        "requirements": {"Mailbox": "1.13", "NestedAppAuth": "1.1"},
        "sign_in": lambda first, second: {"nestedAppAuth": {"silent": {"accessToken": first},
                                                            "popup": {"accessToken": second}}},
        # MSAL.js adds its own id_token claims to the challenge; the access token's are Entra's, unchanged.
        "interactive": lambda pane: [access_token_claims(c["args"][0]["claims"])
                                     for c in calls(pane, "nestedAppAuth.GetTokenPopup")],
    },
    "Office single sign-on": {
        "requirements": {"Mailbox": "1.13", "IdentityAPI": "1.3"},
        "sign_in": lambda first, second: {"legacyAuth": {"accessToken": first}},
        "interactive": lambda pane: [c["args"][0].get("authChallenge") for c in calls(pane, "auth.getAccessToken")
                                     if c["args"][0].get("authChallenge")],
    },
    "the sign-in dialog": {
        "requirements": {"Mailbox": "1.13", "DialogApi": "1.2"},
        "sign_in": lambda first, second: {"dialog": {"message": {"status": "success", "accessToken": first}}},
        "interactive": lambda pane: [parse_qs_claims(c["args"][0]) for c in calls(pane, "ui.displayDialogAsync")
                                     if "claims=" in c["args"][0]],
    },
}


def access_token_claims(claims: str) -> str:
    return json.dumps({"access_token": json.loads(claims)["access_token"]}, separators=(",", ":"))


def parse_qs_claims(url: str) -> str:
    return parse_qs(urlsplit(url).query)["claims"][0]


@pytest.mark.parametrize("way", WAYS)
def test_a_claims_challenge_signs_in_again_with_its_claims_and_the_call_is_made_once_more(
    pane_en, api, live_backend, organizer, way
):
    first = live_backend.token(organizer)
    time.sleep(1.05)  # development tokens carry the second they were made: the second token differs
    second = live_backend.token(organizer)
    assert first != second
    item = linked_internal_meeting(api, organizer)
    challenged = []

    def lookup(route: Route) -> None:
        if not challenged:  # Entra wants another factor before the backend may reach Graph for this organizer
            challenged.append(route.request.headers["authorization"])
            encoded = base64.b64encode(CLAIMS.encode()).decode()
            route.fulfill(status=401, json={"code": 401, "message": "Sign in again.", "errors": {}, "claims": CLAIMS},
                          headers={"WWW-Authenticate": f'Bearer realm="crmbridge", error="insufficient_claims", '
                                                       f'claims="{encoded}"'})
        else:
            route.fallback()

    pane_en.page.route(live_backend.url + "/api/lookup", lookup)
    spec = WAYS[way]
    sign_in = spec["sign_in"](first, second)
    if way != "nested app authentication":  # Office answers with its one token, the claims asked for or not
        second = first
    page = open_signed_in(pane_en, live_backend, organizer, item, requirements=spec["requirements"], **sign_in)

    expect(page.get_by_text(NOT_INVITED)).to_be_visible()
    assert spec["interactive"](pane_en) == [CLAIMS]  # one interactive sign-in, with Entra's claims
    lookups = pane_en.api_requests("/api/lookup")
    assert [r.headers["authorization"] for r in lookups] == [f"Bearer {first}", f"Bearer {second}"]
    assert challenged == [f"Bearer {first}"]


def test_a_challenge_that_persists_after_the_one_retry_asks_the_organizer_to_sign_in(
    pane_en, api, live_backend, organizer
):
    token = live_backend.token(organizer)
    item = linked_internal_meeting(api, organizer)
    body = {"code": 401, "message": "Sign in again.", "errors": {}, "claims": CLAIMS}
    pane_en.page.route(live_backend.url + "/api/lookup", lambda route: route.fulfill(status=401, json=body))
    page = open_signed_in(pane_en, live_backend, organizer, item,
                          requirements={"Mailbox": "1.13", "NestedAppAuth": "1.1"},
                          nestedAppAuth={"silent": {"accessToken": token}, "popup": {"accessToken": token}})

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Your sign-in has expired or is not valid.")
    expect(alert.get_by_role("button", name="Sign in again")).to_be_visible()
    assert len(pane_en.api_requests("/api/lookup")) == 2  # the call, and one retry: no loop
    assert len(calls(pane_en, "nestedAppAuth.GetTokenPopup")) == 1


def test_a_cancelled_sign_in_says_so_and_offers_to_sign_in_again(pane, api, live_backend, organizer, lang):
    token = live_backend.token(organizer)
    item = linked_internal_meeting(api, organizer)
    page = open_signed_in(pane, live_backend, organizer, item,
                          requirements={"Mailbox": "1.13", "NestedAppAuth": "1.1"},
                          nestedAppAuth={"silent": {"error": "USER_INTERACTION_REQUIRED"},
                                         "popup": {"error": "USER_CANCEL"}})

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("You cancelled signing in." if lang == "en-US" else "Du afbrød login.")
    pane.screenshot("sign-in-cancelled")
    assert not pane.api_requests("/api/lookup")  # nothing goes to the backend without a token

    # The organizer signs in after all: the button asks Outlook again.
    pane.page.evaluate("token => { window.__officeFake.signInOutcomes.popup = { accessToken: token }; }", token)
    alert.get_by_role("button", name="Sign in again" if lang == "en-US" else "Log ind igen").click()
    expect(page.get_by_text(": External participants not invited yet" if lang == "en-US"
                            else ": Eksterne deltagere er ikke inviteret endnu")).to_be_visible()


def test_without_any_way_to_sign_in_the_pane_says_to_update_outlook(pane_en, api, live_backend, organizer):
    item = linked_internal_meeting(api, organizer)
    page = open_signed_in(pane_en, live_backend, organizer, item)

    expect(page.get_by_role("alert")).to_contain_text("This version of Outlook cannot sign you in to CRM Bridge.")
    assert not pane_en.api_requests("/dev/token")  # the configuration allows no development tokens


def test_a_backend_without_the_sign_in_configuration_is_development_mode(pane_en, api, live_backend, organizer):
    item = linked_internal_meeting(api, organizer)
    missing = {"code": 404, "message": "Not found", "errors": {}}
    pane_en.page.route(live_backend.url + "/taskpane/config.json",
                       lambda route: route.fulfill(status=404, json=missing))
    page = pane_en.open(scenario("en-US", organizer, item))

    expect(page.get_by_text(NOT_INVITED)).to_be_visible()
    assert len(pane_en.api_requests("/dev/token")) == 1
    assert json.loads(pane_en.api_requests("/dev/token")[0].post_data) == {"email": organizer}
