"""The send-time guard, loaded the way each Outlook runtime loads it, against a strict fake of the event runtime
(event_runtime_fake.js) and the real backend.

- Classic Outlook on Windows: the JavaScript-only runtime. The script the backend serves at /guard/send-guard.js is
  evaluated in a Web Worker made from a blob: no window, document, localStorage or cookies, no page address (a
  relative URL cannot even be resolved), and a classic script, so an `import` would not parse.
- Outlook on the web and new Outlook: the browser runtime, /taskpane/send-guard.html with Office.js (the fake).

Each test fires OnAppointmentSend by the handler name the manifest declares and reads what Outlook would do: send,
or show the Smart Alerts dialog with its message and buttons.
"""

import json
import re
import socket
import uuid
from pathlib import Path

import pytest
from lxml import etree

from crmbridge.manifest import render_manifest

from .browser_support import OFFICE_JS, SCREENSHOTS

FAKE_RUNTIME = Path(__file__).with_name("event_runtime_fake.js")
NOTES = "Rabatten kan gå op til 12 %. They also talk to Northwind, our price is 8 % higher than theirs."
PASTED = "They also talk to Northwind, our price is 8 % higher than theirs."
MESSAGE = {
    "en": {
        "outsiders": "Remove the attendees outside your organization before sending: mette@fabrikam.example and "
                     "x@contoso.com.evil.example.",
        "notes": "The body of this customer meeting holds text from the CRM activity's internal notes.",
        "send_anyway": "or choose Send Anyway if the customer may read it.",
        "unchecked": "These attendees are outside your own domain: mette@fabrikam.example.",
    },
    "da": {
        "outsiders": "Fjern deltagerne uden for din organisation, før du sender: mette@fabrikam.example og "
                     "x@contoso.com.evil.example.",
        "notes": "Dette kundemødes brødtekst indeholder tekst fra CRM-aktivitetens interne noter.",
        "send_anyway": "eller vælg Send alligevel, hvis kunden må læse den.",
        "unchecked": "Disse deltagere er uden for dit eget domæne: mette@fabrikam.example.",
    },
}


def manifest_launch_event(send_mode: str = "SoftBlock") -> dict:
    root = etree.fromstring(render_manifest("https://localhost:3000", send_mode=send_mode).encode())
    event = root.find(".//{*}LaunchEvent[@Type='OnAppointmentSend']")
    return {"handlerName": event.get("FunctionName"), "sendMode": event.get("SendMode")}


@pytest.fixture
def activity(api) -> dict:
    return api.create_activity(internalNotes=NOTES)


def scenario(organizer, activity, *, lang="en-US", mailbox="1.14", send_mode="SoftBlock", kind="external",
             attendees=("mette@fabrikam.example",), body="Hi Mette,\n\nsee you on Tuesday.", item_id=None,
             properties=None, auth=None) -> dict:
    custom = {"crmActivityId": str(activity["id"]), "crmMeetingKind": kind} if properties is None else properties
    return {
        **manifest_launch_event(send_mode),
        "mailbox": mailbox,
        "displayLanguage": lang,
        "userProfile": {"emailAddress": organizer},
        "item": {
            "subject": activity["subject"], "location": activity["location"], "body": body,
            "requiredAttendees": [{"emailAddress": organizer}, *({"emailAddress": a} for a in attendees)],
            "optionalAttendees": [], "customProperties": custom, "itemId": item_id,
        },
        "auth": auth or {},
    }


# ---------------------------------------------------------------- the two runtimes

WORKER_HARNESS = """
async ({scenario, fake, scriptUrl, after}) => {
  const script = await (await fetch(scriptUrl)).text();
  const source = `globalThis.__guardScenario = ${JSON.stringify(scenario)};\\n${fake}\\n${script}\\n${after}\\n`
    + "globalThis.__guardRuntime.fire().then((r) => postMessage(r), (e) => postMessage({error: String(e)}));";
  const worker = new Worker(URL.createObjectURL(new Blob([source], {type: "text/javascript"})));
  return await new Promise((resolve) => {
    worker.onmessage = (message) => { worker.terminate(); resolve(message.data); };
    worker.onerror = (error) => { worker.terminate(); resolve({error: error.message}); };
  });
}
"""


class Runtimes:
    def __init__(self, browser, backend):
        self.browser = browser
        self.backend = backend
        self.contexts = []

    def _context(self):
        context = self.browser.new_context()
        context.set_default_timeout(30_000)
        self.contexts.append(context)
        return context

    def javascript_only(self, scenario: dict, *, origin: str | None = None, config: dict | None = None) -> dict:
        """Classic Outlook on Windows: the served script alone in a worker, with the fake's globals only."""
        page = self._context().new_page()
        page.goto(self.backend.url + "/")
        changes = {**({"origin": origin} if origin else {}), **(config or {})}
        after = f"Object.assign(globalThis.crmbridgeGuardConfig, {json.dumps(changes)});" if changes else ""
        result = page.evaluate(WORKER_HARNESS, {"scenario": scenario, "fake": FAKE_RUNTIME.read_text(),
                                                "scriptUrl": self.backend.url + "/guard/send-guard.js",
                                                "after": after})
        assert "error" not in result, result
        return result

    def browser_page(self, scenario: dict, *, block: str | None = None) -> dict:
        """Outlook on the web and new Outlook: send-guard.html, Office.js from the (faked) CDN."""
        context = self._context()
        fake = f"globalThis.__guardScenario = {json.dumps(scenario)};\n{FAKE_RUNTIME.read_text()}"

        def route(request_route):
            url = request_route.request.url
            if url == OFFICE_JS:
                request_route.fulfill(body=fake, content_type="application/javascript; charset=utf-8")
            elif block and url.startswith(self.backend.url + block):
                request_route.abort("connectionrefused")
            elif url.startswith(self.backend.url + "/"):
                request_route.fallback()
            else:
                request_route.abort("blockedbyclient")

        context.route("**/*", route)
        page = context.new_page()
        page.goto(self.backend.url + "/taskpane/send-guard.html")
        return page.evaluate("globalThis.__guardRuntime.fire()")

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def runtimes(browser, live_backend):
    made = Runtimes(browser, live_backend)
    yield made
    made.close()


@pytest.fixture(params=["javascript-only", "browser"])
def run(request, runtimes):
    """The handler in each runtime Outlook uses."""
    return runtimes.javascript_only if request.param == "javascript-only" else runtimes.browser_page


def guard_calls(result) -> list[str]:
    return [f["url"].split("/", 3)[-1] for f in result["fetches"] if "/api/guard/check" in f["url"]]


def assert_clean(result):
    assert result["violations"] == []
    assert result["completed"] is not None, "event.completed was never called"


# ---------------------------------------------------------------- a meeting with nothing to do with the CRM


def test_a_meeting_without_the_crm_property_is_sent_untouched_and_without_a_backend_call(run, organizer, activity):
    result = run(scenario(organizer, activity, properties={}, body=NOTES))

    assert_clean(result)
    assert result["outcome"] == {"sent": True, "dialog": None}
    assert result["completed"]["options"] == {"allowEvent": True}
    assert result["fetches"] == []


# ---------------------------------------------------------------- rule 1


@pytest.mark.parametrize("lang", ["en-US", "da-DK"])
def test_the_internal_meeting_with_an_outsider_is_stopped_naming_them(run, organizer, activity, lang):
    result = run(scenario(organizer, activity, lang=lang, kind="internal", body=NOTES,
                          attendees=("lars.holm@contoso.com", "mette@fabrikam.example", "x@contoso.com.evil.example")))

    assert_clean(result)
    dialog = result["outcome"]["dialog"]
    assert result["outcome"]["sent"] is False
    assert (dialog["mode"], dialog["buttons"]) == ("SoftBlock", ["Don't Send"])
    assert MESSAGE[lang[:2]]["outsiders"] in dialog["message"]
    assert "sendModeOverride" not in result["completed"]["options"]
    assert len(guard_calls(result)) == 1


def test_the_internal_meeting_with_colleagues_only_is_sent(run, organizer, activity):
    result = run(scenario(organizer, activity, kind="internal", body=NOTES, attendees=("lars.holm@contoso.com",)))

    assert_clean(result)
    assert result["outcome"]["sent"] is True


def test_with_block_in_the_manifest_the_internal_meeting_cannot_be_sent_anyway(runtimes, organizer, activity):
    result = runtimes.javascript_only(scenario(organizer, activity, kind="internal", send_mode="Block"))

    assert_clean(result)
    assert (result["outcome"]["dialog"]["mode"], result["outcome"]["dialog"]["buttons"]) == ("Block", ["Don't Send"])


# ---------------------------------------------------------------- rule 2


@pytest.mark.parametrize("lang", ["en-US", "da-DK"])
def test_notes_pasted_into_the_customer_meeting_ask_and_name_the_field(run, organizer, activity, lang):
    result = run(scenario(organizer, activity, lang=lang, body=f"Hi Mette,\n\n{PASTED}\n", item_id="AAMkPasted="))

    assert_clean(result)
    dialog = result["outcome"]["dialog"]
    assert (dialog["mode"], dialog["buttons"]) == ("PromptUser", ["Send Anyway", "Don't Send"])
    assert MESSAGE[lang[:2]]["notes"] in dialog["message"]
    assert MESSAGE[lang[:2]]["send_anyway"] in dialog["message"]
    assert "Northwind" not in json.dumps(result["completed"])  # the answer names the field, not the text


@pytest.mark.parametrize("send_mode", ["SoftBlock", "Block"])
def test_on_mailbox_1_12_there_is_no_send_anyway_and_the_message_does_not_offer_it(runtimes, organizer, activity,
                                                                                     send_mode):
    result = runtimes.javascript_only(scenario(organizer, activity, mailbox="1.12", send_mode=send_mode,
                                               body=PASTED))

    assert_clean(result)
    dialog = result["outcome"]["dialog"]
    assert (dialog["mode"], dialog["buttons"]) == (send_mode, ["Don't Send"])
    assert MESSAGE["en"]["notes"] in dialog["message"]
    assert "Send Anyway" not in dialog["message"]


def test_with_block_in_the_manifest_notes_in_the_customer_meeting_still_only_ask(runtimes, organizer, activity):
    result = runtimes.javascript_only(scenario(organizer, activity, send_mode="Block", body=PASTED))

    assert_clean(result)
    assert result["outcome"]["dialog"]["buttons"] == ["Send Anyway", "Don't Send"]


# ---------------------------------------------------------------- rule 3


def test_the_customer_meeting_sent_is_recorded_so_the_pane_stops_offering_to_invite(run, api, organizer, activity):
    item_id = f"AAMk{uuid.uuid4().hex}="
    assert api.lookup(activityId=activity["id"])["state"] == "not-invited"

    result = run(scenario(organizer, activity, item_id=item_id, body="Hi Mette,\n\n1. Status\n2. Next quarter"))

    assert_clean(result)
    assert result["outcome"]["sent"] is True
    found = api.lookup(itemId=item_id)
    assert (found["meeting"], found["state"], found["externalMeeting"]["state"]) == ("external", "sent", "sent")


# ---------------------------------------------------------------- backend down, slow, or sign-in failing


@pytest.fixture
def closed_port():
    """An address where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_server():
    """Accepts connections (the kernel's backlog) and never answers: a backend that hangs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.mark.parametrize("backend", ["closed_port", "silent_server"])
def test_without_an_answer_the_customer_meeting_is_sent_with_a_logged_note(runtimes, request, organizer, activity,
                                                                          backend):
    origin = request.getfixturevalue(backend)

    result = runtimes.javascript_only(scenario(organizer, activity, body=PASTED), origin=origin)

    assert_clean(result)
    assert result["outcome"]["sent"] is True
    assert any("allowed unchecked" in line for line in result["logged"])


@pytest.mark.parametrize("backend", ["closed_port", "silent_server"])
@pytest.mark.parametrize("lang", ["en-US", "da-DK"])
def test_without_an_answer_the_internal_meeting_with_a_foreign_address_is_stopped(runtimes, request, organizer,
                                                                                  activity, backend, lang):
    origin = request.getfixturevalue(backend)

    result = runtimes.javascript_only(
        scenario(organizer, activity, lang=lang, kind="internal",
                 attendees=("lars.holm@contoso.com", "mette@fabrikam.example")), origin=origin)

    assert_clean(result)
    dialog = result["outcome"]["dialog"]
    assert (dialog["mode"], dialog["buttons"]) == ("PromptUser", ["Send Anyway", "Don't Send"])
    assert MESSAGE[lang[:2]]["unchecked"] in dialog["message"]


def test_without_an_answer_the_internal_meeting_with_colleagues_only_is_sent(runtimes, closed_port, organizer,
                                                                            activity):
    result = runtimes.javascript_only(
        scenario(organizer, activity, kind="internal", attendees=("lars.holm@contoso.com",)), origin=closed_port)

    assert_clean(result)
    assert result["outcome"]["sent"] is True


def test_in_the_browser_runtime_a_refused_check_lets_the_customer_meeting_go(runtimes, organizer, activity):
    result = runtimes.browser_page(scenario(organizer, activity, body=PASTED), block="/api/guard/check")

    assert_clean(result)
    assert result["outcome"]["sent"] is True
    assert any("allowed unchecked" in line for line in result["logged"])


def test_with_an_entra_app_the_handler_signs_in_with_office_sso_and_a_refused_token_is_no_answer(
        runtimes, organizer, activity):
    result = runtimes.javascript_only(
        scenario(organizer, activity, body=PASTED, auth={"token": "sso-token-from-office"}),
        config={"clientId": "1b2c3d4e-0000-4000-8000-123456789abc", "devTokens": False})

    assert_clean(result)
    checks = [f for f in result["fetches"] if f["url"].endswith("/api/guard/check")]
    assert [f["authorization"] for f in checks] == ["Bearer sso-token-from-office"]
    assert not [f for f in result["fetches"] if f["url"].endswith("/dev/token")]
    assert result["outcome"]["sent"] is True  # this backend refuses the token: the check did not answer


def test_when_office_sso_fails_the_check_is_skipped_as_unanswered(runtimes, organizer, activity):
    result = runtimes.javascript_only(
        scenario(organizer, activity, kind="internal", attendees=("mette@fabrikam.example",),
                 auth={"errorCode": 13001}),
        config={"clientId": "1b2c3d4e-0000-4000-8000-123456789abc", "devTokens": False})

    assert_clean(result)
    assert result["fetches"] == []
    assert MESSAGE["en"]["unchecked"] in result["outcome"]["dialog"]["message"]


# ---------------------------------------------------------------- the script itself


def test_the_served_script_is_one_classic_script_with_absolute_urls_only(live_backend):
    script = live_backend.app.test_client().get("/guard/send-guard.js").get_data(as_text=True)

    assert not re.search(r"(^|[;}\s])(import|export)[\s{*(]", script)
    assert "localStorage" not in script and "document." not in script and "window." not in script


# ---------------------------------------------------------------- what the organizer sees


DIALOG_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body{{font:14px 'Segoe UI',system-ui,sans-serif;background:#e5e5e5;margin:0;padding:24px}}
.dialog{{width:440px;background:#fff;border:1px solid #8a8886;box-shadow:0 6px 24px rgba(0,0,0,.25)}}
.title{{padding:10px 16px;border-bottom:1px solid #edebe9;font-weight:600}}
.message{{padding:16px;line-height:1.45;white-space:pre-wrap}}
.buttons{{display:flex;gap:8px;justify-content:flex-end;padding:0 16px 16px}}
button{{font:inherit;padding:5px 16px;border:1px solid #8a8886;background:#fff}}
button:first-child{{background:#0f6cbd;color:#fff;border-color:#0f6cbd}}
.note{{margin-top:12px;color:#605e5c;font-size:12px;width:440px}}
</style></head><body><div class="dialog" role="alertdialog" aria-labelledby="t">
<div class="title" id="t"></div><div class="message"></div><div class="buttons"></div></div>
<p class="note">Rendered by the test from the fake Outlook's Smart Alerts dialog ({mode}); Outlook draws its own.</p>
</body></html>"""


@pytest.mark.parametrize(("name", "lang", "kind", "body", "attendees"), [
    ("outsiders", "en-US", "internal", NOTES, ("mette@fabrikam.example", "x@contoso.com.evil.example")),
    ("outsiders", "da-DK", "internal", NOTES, ("mette@fabrikam.example", "x@contoso.com.evil.example")),
    ("notes", "en-US", "external", PASTED, ("mette@fabrikam.example",)),
    ("notes", "da-DK", "external", PASTED, ("mette@fabrikam.example",)),
])
def test_screenshots_of_the_smart_alerts_messages(runtimes, browser, organizer, activity, name, lang, kind, body,
                                                  attendees):
    result = runtimes.javascript_only(scenario(organizer, activity, lang=lang, kind=kind, body=body,
                                               attendees=attendees))
    assert_clean(result)
    dialog = result["outcome"]["dialog"]

    page = runtimes._context().new_page()
    page.set_content(DIALOG_PAGE.format(mode=dialog["mode"]))
    page.evaluate("""(d) => {
        document.querySelector('.title').textContent = d.title;
        document.querySelector('.message').textContent = d.message;
        for (const label of d.buttons) {
            const b = document.createElement('button'); b.textContent = label;
            document.querySelector('.buttons').append(b);
        }
    }""", dialog)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("body").screenshot(path=str(SCREENSHOTS / f"send-guard-{name}-{lang[:2]}.png"))
    assert page.get_by_role("alertdialog").inner_text().count(dialog["message"].split(":")[0]) == 1


def test_the_customer_appointment_the_backend_prepared_is_guarded_as_the_customer_meeting(runtimes, api, organizer,
                                                                                        activity):
    # sync.customer_appointment marks it crmMeetingKind "external-draft"; the organizer adds the customers, sends.
    properties = {"crmActivityId": str(activity["id"]), "crmMeetingKind": "external-draft"}

    pasted = runtimes.javascript_only(scenario(organizer, activity, properties=properties, body=PASTED))
    clean = runtimes.javascript_only(scenario(organizer, activity, properties=properties, item_id="AAMkDraft=",
                                              body="1. Status\n2. Next quarter"))

    assert_clean(pasted)
    assert MESSAGE["en"]["notes"] in pasted["outcome"]["dialog"]["message"]
    assert_clean(clean)
    assert clean["outcome"]["sent"] is True
    assert api.lookup(activityId=activity["id"])["state"] == "sent"


# The event runtime fake against Microsoft's reference data (addin/taskpane/fake-office/office-api-table.json, made by
# scripts/office-api-table.py): every Office.js member it offers the handler exists in compose mode by Mailbox 1.12.
# The SmartAlertsEventCompletedOptions members are not in that table; the fake cites their YAML file instead.
FAKE_MEMBERS = [
    ("appointmentCompose", "loadCustomPropertiesAsync", "loadCustomPropertiesAsync(callback"),
    ("appointmentCompose", "getItemIdAsync", "getItemIdAsync(...args)"),
    ("subject", "getAsync", 'readable("subject"'),
    ("location", "getAsync", 'readable("location"'),
    ("recipients", "getAsync", 'readable("requiredAttendees"'),
    ("body", "getAsync", "getAsync(coercionType, ...args)"),
    ("mailbox", "userProfile", "userProfile:"),
    ("userProfile", "emailAddress", "emailAddress:"),
]


@pytest.mark.parametrize(("obj", "member", "in_fake"), FAKE_MEMBERS, ids=[f"{o}.{m}" for o, m, _ in FAKE_MEMBERS])
def test_each_office_member_the_event_runtime_fake_offers_is_in_compose_mode_by_mailbox_1_12(obj, member, in_fake):
    table = json.loads((Path(__file__).resolve().parents[3] / "addin" / "taskpane" / "fake-office" /
                        "office-api-table.json").read_text(encoding="utf-8"))
    rows = [row for row in table["members"] if (row["object"], row["member"]) == (obj, member)]

    assert in_fake in FAKE_RUNTIME.read_text(encoding="utf-8")
    assert rows, f"{obj}.{member} is not in Microsoft's reference table"
    version = tuple(int(part) for part in rows[0]["requirementSet"].removeprefix("Mailbox ").split("."))
    assert "Compose" in rows[0]["modes"] and version <= (1, 12) and not rows[0]["preview"]
