"""The sign-in dialog (auth-dialog.html, src/auth-dialog.js): the last way to a token, when Outlook has neither nested
app authentication nor legacy single sign-on. MSAL.js signs in by redirect inside the Office dialog and hands the
access token to the pane with messageParent. Microsoft Entra ID is played by the test (page.route), so the whole
authorization-code exchange with PKCE runs in the real bundle."""

import base64
import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Route, expect

from .browser_support import scenario

pytestmark = pytest.mark.browser

CLIENT_ID = "0f8e4b1c-3d2a-4c5b-9e6f-7a8b9c0d1e2f"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OID = "00000000-0000-0000-0000-00000000fa4e"
CLAIMS = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'
ENTRA = "https://login.microsoftonline.com/"


def b64url(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def id_token(nonce: str, email: str) -> str:
    now = int(time.time())
    claims = {"aud": CLIENT_ID, "iss": f"{ENTRA}{TENANT}/v2.0", "tid": TENANT, "oid": OID, "sub": "subject",
              "nonce": nonce, "iat": now, "nbf": now, "exp": now + 3600, "preferred_username": email, "ver": "2.0"}
    return f"{b64url({'typ': 'JWT', 'alg': 'none'})}.{b64url(claims)}.signature"


class FakeEntra:
    """/authorize answers with a code at once (the organizer signed in); /token trades it for tokens."""

    def __init__(self, email: str, access_token: str):
        self.email = email
        self.access_token = access_token
        self.authorize: list[dict] = []
        self.token: list[dict] = []

    def __call__(self, route: Route) -> None:
        request = route.request
        url = urlsplit(request.url)
        if url.path.endswith("/oauth2/v2.0/authorize"):
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self.authorize.append(query)
            answer = urlencode({"code": "fake-code", "state": query["state"],
                                "client_info": b64url({"uid": OID, "utid": TENANT})})
            separator = "?" if query.get("response_mode") == "query" else "#"
            route.fulfill(status=302, headers={"Location": f"{query['redirect_uri']}{separator}{answer}"})
        elif url.path.endswith("/oauth2/v2.0/token"):
            form = {k: v[0] for k, v in parse_qs(request.post_data or "").items()}
            self.token.append(form)
            nonce = self.authorize[-1]["nonce"]
            body = {"token_type": "Bearer", "scope": form.get("scope", ""), "expires_in": 3600,
                    "ext_expires_in": 3600, "access_token": self.access_token,
                    "id_token": id_token(nonce, self.email),
                    "client_info": b64url({"uid": OID, "utid": TENANT})}
            route.fulfill(json=body, headers={"Access-Control-Allow-Origin": "*"})
        else:
            route.abort("blockedbyclient")


def test_the_dialog_signs_in_by_redirect_and_hands_the_pane_the_access_token_for_the_api(
    pane_en, live_backend, organizer
):
    scope = f"api://{live_backend.url.removeprefix('http://')}/{CLIENT_ID}/access_as_user"
    config = {"clientId": CLIENT_ID, "apiScope": scope,
              "authority": "https://login.microsoftonline.com/organizations", "devTokens": False}
    page = pane_en.page
    page.route(live_backend.url + "/taskpane/config.json", lambda route: route.fulfill(json=config))
    entra = FakeEntra(organizer, access_token="entra-access-token")
    page.route(ENTRA + "**", entra)

    query = urlencode({"claims": CLAIMS, "loginHint": organizer})
    pane_en.open(scenario("en-US", organizer, None), path=f"/taskpane/auth-dialog.html?{query}")

    page.wait_for_function("() => (window.__officeCalls || []).some(c => c.api === 'ui.messageParent')")
    [told] = [c for c in pane_en.calls() if c["api"] == "ui.messageParent"]
    message, options = told["args"]
    assert json.loads(message) == {"status": "success", "accessToken": "entra-access-token"}
    assert options == {"targetOrigin": live_backend.url}

    [authorize] = entra.authorize
    assert authorize["client_id"] == CLIENT_ID
    assert scope in authorize["scope"].split()
    assert authorize["redirect_uri"] == f"{live_backend.url}/taskpane/auth-dialog.html"
    assert authorize["login_hint"] == organizer
    assert json.loads(authorize["claims"])["access_token"] == json.loads(CLAIMS)["access_token"]
    assert authorize["code_challenge_method"] == "S256"
    [token] = entra.token
    assert (token["grant_type"], token["code"]) == ("authorization_code", "fake-code")
    assert token["code_verifier"]
    expect(page.get_by_text("Signing in to CRM Bridge")).to_be_visible()
