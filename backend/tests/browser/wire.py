"""The taskpane's traffic as Chromium sees it, with the browser's HTTP cache left on.

Playwright's routing turns the HTTP cache off, so the delivery test and benchmarks/taskpane.py serve the fake
Office.js through the DevTools protocol's Fetch domain instead: it pauses only requests for Microsoft's Office.js,
and everything else goes to the server or the cache as in Outlook. Each request is recorded with its bytes on the
wire (headers and body, as Chromium counts them), its status and whether the cache answered it.
"""

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page

OFFICE_JS_PATTERN = "https://appsforoffice.microsoft.com/*"
ENTRA_CLIENT_ID = "0f8e4b1c-3d2a-4c5b-9e6f-7a8b9c0d1e2f"


def entra_sign_in(origin: str, token: str) -> tuple[dict, dict]:
    """As in production: the backend names an Entra app (its sign-in configuration, answered here) and Outlook
    brokers the token by nested app authentication (the fake's broker answers with ``token``, which the backend
    accepts). Returns the Wire answers and the scenario's extras."""
    host = origin.split("://", 1)[1]
    config = {"clientId": ENTRA_CLIENT_ID, "apiScope": f"api://{host}/{ENTRA_CLIENT_ID}/access_as_user",
              "authority": "https://login.microsoftonline.com/organizations", "devTokens": False}
    answers = {origin + "/taskpane/config.json": ("application/json", json.dumps(config).encode())}
    extras = {"requirements": {"Mailbox": "1.13", "NestedAppAuth": "1.1"},
              "nestedAppAuth": {"silent": {"accessToken": token}}}
    return answers, extras


@dataclass
class Transfer:
    url: str
    status: int = 0
    encoding: str = ""
    from_cache: bool = False
    bytes: int = 0  # encodedDataLength: what crossed the network for it, headers included; 0 from the cache
    finished: bool = False


@dataclass
class Wire:
    """``answers``: exact URLs answered by the test instead of the server, {url: (content type, body)}, e.g. the
    sign-in configuration of a backend with an Entra app."""

    page: Page
    fake_office: Path
    answers: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cdp = self.page.context.new_cdp_session(self.page)
        office = ("text/javascript; charset=utf-8", self.fake_office.read_bytes())
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.responseReceived", self._received)
        self.cdp.on("Network.requestServedFromCache", self._cached)
        self.cdp.on("Network.loadingFinished", self._finished)

        def answer(event: dict) -> None:
            content_type, body = self.answers.get(event["request"]["url"], office)
            self.cdp.send("Fetch.fulfillRequest", {
                "requestId": event["requestId"], "responseCode": 200, "body": base64.b64encode(body).decode(),
                "responseHeaders": [{"name": "Content-Type", "value": content_type},
                                    {"name": "Cache-Control", "value": "no-store"}],
            })

        self.cdp.on("Fetch.requestPaused", answer)
        self.cdp.send("Network.enable")
        patterns = [OFFICE_JS_PATTERN, *self.answers]
        self.cdp.send("Fetch.enable", {"patterns": [{"urlPattern": pattern} for pattern in patterns]})

    def throttle_cpu(self, rate: float) -> None:
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})

    def _sent(self, event: dict) -> None:
        self.transfers[event["requestId"]] = Transfer(url=event["request"]["url"])

    def _received(self, event: dict) -> None:
        transfer = self.transfers.setdefault(event["requestId"], Transfer(url=event["response"]["url"]))
        response = event["response"]
        transfer.status = response["status"]
        headers = {name.lower(): value for name, value in response.get("headers", {}).items()}
        transfer.encoding = headers.get("content-encoding", "")
        transfer.from_cache = transfer.from_cache or response.get("fromDiskCache") or response.get(
            "fromMemoryCache", False)

    def _cached(self, event: dict) -> None:
        if event["requestId"] in self.transfers:
            self.transfers[event["requestId"]].from_cache = True

    def _finished(self, event: dict) -> None:
        transfer = self.transfers.get(event["requestId"])
        if transfer is not None:
            transfer.bytes = int(event.get("encodedDataLength", 0))
            transfer.finished = True

    def of(self, origin: str, prefix: str = "/taskpane/") -> list[Transfer]:
        """The transfers of the server's files under ``prefix`` (the taskpane's own files by default)."""
        return [t for t in self.transfers.values() if t.url.split("?")[0].startswith(origin + prefix)]

    def close(self) -> None:
        self.cdp.detach()
