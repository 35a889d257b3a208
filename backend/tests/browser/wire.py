"""The taskpane's traffic as Chromium sees it, with the browser's HTTP cache left on.

Playwright's routing turns the HTTP cache off, so the delivery test and benchmarks/taskpane.py serve the fake
Office.js through the DevTools protocol's Fetch domain instead: it pauses only requests for Microsoft's Office.js,
and everything else goes to the server or the cache as in Outlook. Each request is recorded with its bytes on the
wire (headers and body, as Chromium counts them), its status and whether the cache answered it.
"""

import base64
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page

OFFICE_JS_PATTERN = "https://appsforoffice.microsoft.com/*"


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
    page: Page
    fake_office: Path
    transfers: dict[str, Transfer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cdp = self.page.context.new_cdp_session(self.page)
        office = base64.b64encode(self.fake_office.read_bytes()).decode()
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.responseReceived", self._received)
        self.cdp.on("Network.requestServedFromCache", self._cached)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Fetch.requestPaused", lambda event: self.cdp.send("Fetch.fulfillRequest", {
            "requestId": event["requestId"], "responseCode": 200, "body": office,
            "responseHeaders": [{"name": "Content-Type", "value": "text/javascript; charset=utf-8"}],
        }))
        self.cdp.send("Network.enable")
        self.cdp.send("Fetch.enable", {"patterns": [{"urlPattern": OFFICE_JS_PATTERN}]})

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
