"""What the browser tests share: the texts the organizer reads, the API helper, the pane driver, scenarios."""

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, Route

from crmbridge import db
from crmbridge.auth import dev_tokens
from crmbridge.domain.classification import OrgDomains
from crmbridge.graph import drift_watch
from crmbridge.models import ActivityRow

REPO = Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
TASKPANE = REPO / "addin" / "taskpane"
FAKE_OFFICE = TASKPANE / "fake-office" / "office-fake.js"
OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
CHROMIUM = Path("/usr/bin/chromium")
LANGUAGES = ("en-US", "da-DK")
ORGANIZER_ZONE = "Europe/Copenhagen"
BROWSER_ZONE = "America/New_York"  # not the organizer's: times must come from Outlook's zone, not the browser's
PANE_SIZE = {"width": 380, "height": 900}

# What GET /taskpane/config.json says in development and test mode: no Entra app, development tokens allowed. The
# tests serve it themselves, so they do not depend on the backend's endpoint; sign-in tests serve their own.
DEV_AUTH_CONFIG = {"clientId": None, "apiScope": None, "authority": None, "devTokens": True}

# A Tuesday in March 2031: 09:00 UTC is 10:00 in Copenhagen (CET).
MEETING_START = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)

# What the organizer reads, in each language. Written out here (not read from i18n.js) so a test fails when the
# pane shows something else.
TEXT = {
    "en-US": {
        "loading": "Looking up the CRM activity…",
        "meeting": "This meeting in Outlook",
        "internal_meeting": "This is the internal meeting for the CRM activity.",
        "external_meeting": "This is the meeting with the external participants.",
        "internal": "Internal", "external": "External", "room": "Room",
        "reason_external": "External: {domain} is not one of your organization's domains.",
        "reason_internal": "Internal: {domain} is your organization's domain.",
        "reason_room": "Room or resource: it is booked, not invited as a person.",
        "participants": "Participants ({count})",
        "rooms": "Room: {list}",
        "start_new": "Start from a new meeting instead",
        "prepare_appointment": "Prepare the customer invitation",
        "add_customers": "Add the customers to this meeting",
        "customers_added": "The customers are on the meeting. Check it and press Send.",
        "appointment_opened": "The customer meeting is open in its own window. Open CRM Bridge there, press Add the "
                              "customers, check it and press Send.",
        "new_meeting": "Create a new meeting in Outlook and open CRM Bridge there: it offers this activity first.",
        "fill_for": "Fill in this meeting for {subject}",
        "handoff": "You were just looking at {subject}.",
        "not_yours": "This meeting belongs to another organizer's CRM activity.",
        "outlook_slow": "Outlook did not answer in time. Try again.",
        "link_refused": "This meeting has attendees outside your organization ({list})",
        "link_external": "Link as the customer meeting",
        "linked_external": "The meeting is now linked as the customer meeting.",
        "blocked": "Someone outside your organization is on your internal meeting ({list}).",
        "notesOnline": "This is an online meeting, so the CRM does not rewrite its description",
        "showNotes": "Show the CRM's notes",
        "roomDeclined": "{room} (booked on the internal meeting): declined",
        "waitsForSignIn": "The CRM's latest changes to your internal meeting are waiting",
        "state_crm_cancelled": "Cancelled in the CRM only",
        "explain_crm_cancelled": "choose Cancel Meeting",
        "cancel_in_crm": "Cancel in the CRM too",
        "cancelled_in_crm": "The activity is cancelled in the CRM too.",
        "remove_extra": "Also remove those not in the CRM",
        "all_day_hint": "Tick All day in Outlook before you send.",
        "filled_all_day": "The meeting is filled in from midnight to midnight. Tick All day, check it and press Send.",
        "not_watched": "CRM Bridge does not watch your Outlook calendar",
        "invitation_over": "The activity is over, so no invitation goes out.",
        "list_sent": "Invitation sent", "list_open": "Invitation open",
        "absent": "(not here)", "field_external": "External participant",
        "prepared_compose": "The meeting now has the CRM's values. Check it and press Send Update.",
        "state_not_invited": "External participants not invited yet",
        "state_invitation_open": "Invitation open, not sent yet",
        "state_sent": "Invitation sent",
        "state_in_sync": "In sync with the CRM",
        "state_drifted": "Differs from the CRM",
        "state_cancelled": "Cancelled",
        "state_no_externals": "No external participants",
        "not_linked": "This meeting is not linked to a CRM activity.",
        "pick_near": "Link it to one of your activities around this time:",
        "pick_upcoming": "Pick one of your upcoming activities:",
        "no_activities": "You have no CRM activities around this time.",
        "out_of_sync": "Your meetings out of sync",
        "differs": "Differs in: Start, End, and External participants",
        "deleted_in_outlook": "Deleted in Outlook",
        "link_to": "Link to {subject}",
        "linked": "The meeting is now linked to the activity.",
        "invite": "Invite external participants",
        "invited": "The invitation is open in Outlook. Check it and press Send.",
        "fill": "Fill in this meeting for the external participants",
        "filled": "The meeting is filled in. Check it and press Send.",
        "take_outlook": "Update CRM to match Outlook",
        "reconciled": "The CRM now matches Outlook.",
        "conflict": "Someone changed the activity in the CRM after you opened it.",
        "prepare_update": "Prepare an update for the external participants",
        "prepared_read": "Change these fields to the CRM's values, then press Send Update",
        "differences": "Differences between the CRM and Outlook",
        "field_start": "Start", "field_end": "End", "field_location": "Location",
        "field_externals": "External participants",
        "responses": "Responses from external participants",
        "accepted": "Accepted", "declined": "Declined", "tentative": "Tentative", "not_in_crm": "not in the CRM",
        "add": "Add:",
        "network": "CRM Bridge cannot be reached. Check your connection and try again.",
        "retry": "Try again",
        "unauthorized": "Your sign-in has expired or is not valid. Sign in again to continue.",
        "sign_in": "Sign in again",
        "not_found": "The CRM activity for this meeting was not found, or it belongs to another organizer.",
        "server": "Something went wrong in CRM Bridge. Try again; if it keeps happening, contact your administrator.",
        "not_outlook": "Open CRM Bridge from a meeting in Outlook.",
        "time_10_to_11": r"10:00\sAM\s?–\s?11:00\sAM",
        "time_10": r"10:00\sAM",
        "time_12": r"12:00\sPM",
        "day_4": r"Tue, Mar 4",
    },
    "da-DK": {
        "loading": "Finder CRM-aktiviteten …",
        "meeting": "Mødet i Outlook",
        "internal_meeting": "Dette er det interne møde for CRM-aktiviteten.",
        "external_meeting": "Dette er mødet med de eksterne deltagere.",
        "internal": "Intern", "external": "Ekstern", "room": "Lokale",
        "reason_external": "Ekstern: {domain} er ikke et af jeres organisations domæner.",
        "reason_internal": "Intern: {domain} er jeres organisations domæne.",
        "reason_room": "Lokale eller ressource: det bookes og inviteres ikke som en person.",
        "participants": "Deltagere ({count})",
        "rooms": "Lokale: {list}",
        "start_new": "Start i stedet fra et nyt møde",
        "prepare_appointment": "Forbered kundeinvitationen",
        "add_customers": "Tilføj kunderne til mødet",
        "customers_added": "Kunderne er på mødet. Tjek det, og tryk på Send.",
        "appointment_opened": "Kundemødet er åbnet i sit eget vindue. Åbn CRM Bridge dér, tryk på Tilføj kunderne, "
                              "tjek mødet, og tryk på Send.",
        "new_meeting": "Opret et nyt møde i Outlook, og åbn CRM Bridge dér: den foreslår denne aktivitet først.",
        "fill_for": "Udfyld mødet for {subject}",
        "handoff": "Du kiggede lige på {subject}.",
        "not_yours": "Mødet hører til en anden mødeindkalders CRM-aktivitet.",
        "outlook_slow": "Outlook svarede ikke i tide. Prøv igen.",
        "link_refused": "Mødet har deltagere uden for jeres organisation ({list})",
        "link_external": "Knyt som kundemødet",
        "linked_external": "Mødet er nu knyttet som kundemødet.",
        "blocked": "Der er deltagere uden for jeres organisation på dit interne møde ({list}).",
        "notesOnline": "Dette er et onlinemøde, så CRM omskriver ikke dets beskrivelse",
        "showNotes": "Vis CRM's noter",
        "roomDeclined": "{room} (booket på det interne møde): afvist",
        "waitsForSignIn": "CRM's seneste ændringer af dit interne møde venter",
        "state_crm_cancelled": "Kun aflyst i CRM",
        "explain_crm_cancelled": "vælg Aflys møde",
        "cancel_in_crm": "Aflys også i CRM",
        "cancelled_in_crm": "Aktiviteten er nu også aflyst i CRM.",
        "remove_extra": "Fjern også dem, der ikke er i CRM",
        "all_day_hint": "Sæt hak i Hele dagen i Outlook, før du sender.",
        "filled_all_day": "Mødet er udfyldt fra midnat til midnat. Sæt hak i Hele dagen, tjek det, og tryk på Send.",
        "not_watched": "CRM Bridge holder ikke øje med din Outlook-kalender",
        "invitation_over": "Aktiviteten er overstået, så der sendes ingen invitation.",
        "list_sent": "Invitation sendt", "list_open": "Invitation åben",
        "absent": "(ikke med)", "field_external": "Ekstern deltager",
        "prepared_compose": "Mødet har nu CRM's værdier. Tjek det, og tryk på Send opdatering.",
        "state_not_invited": "Eksterne deltagere er ikke inviteret endnu",
        "state_invitation_open": "Invitationen er åben, men ikke sendt",
        "state_sent": "Invitationen er sendt",
        "state_in_sync": "Passer med CRM",
        "state_drifted": "Afviger fra CRM",
        "state_cancelled": "Aflyst",
        "state_no_externals": "Ingen eksterne deltagere",
        "not_linked": "Mødet er ikke knyttet til en CRM-aktivitet.",
        "pick_near": "Knyt det til en af dine aktiviteter omkring samme tidspunkt:",
        "pick_upcoming": "Vælg en af dine kommende aktiviteter:",
        "no_activities": "Du har ingen CRM-aktiviteter omkring dette tidspunkt.",
        "out_of_sync": "Dine møder, der ikke passer med CRM",
        "differs": "Afviger i: Start, Slut og Eksterne deltagere",
        "deleted_in_outlook": "Slettet i Outlook",
        "link_to": "Knyt til {subject}",
        "linked": "Mødet er nu knyttet til aktiviteten.",
        "invite": "Invitér eksterne deltagere",
        "invited": "Invitationen er åbnet i Outlook. Tjek den, og tryk på Send.",
        "fill": "Udfyld mødet til de eksterne deltagere",
        "filled": "Mødet er udfyldt. Tjek det, og tryk på Send.",
        "take_outlook": "Opdater CRM, så det passer med Outlook",
        "reconciled": "CRM passer nu med Outlook.",
        "conflict": "Nogen har ændret aktiviteten i CRM, efter du åbnede den.",
        "prepare_update": "Forbered en opdatering til de eksterne deltagere",
        "prepared_read": "Ret disse felter til CRM's værdier, og tryk derefter på Send opdatering",
        "differences": "Forskelle mellem CRM og Outlook",
        "field_start": "Start", "field_end": "Slut", "field_location": "Sted",
        "field_externals": "Eksterne deltagere",
        "responses": "Svar fra eksterne deltagere",
        "accepted": "Accepteret", "declined": "Afvist", "tentative": "Foreløbig", "not_in_crm": "ikke i CRM",
        "add": "Tilføj:",
        "network": "CRM Bridge kan ikke nås. Tjek din forbindelse, og prøv igen.",
        "retry": "Prøv igen",
        "unauthorized": "Dit login er udløbet eller ugyldigt. Log ind igen for at fortsætte.",
        "sign_in": "Log ind igen",
        "not_found": "CRM-aktiviteten for dette møde blev ikke fundet, eller den tilhører en anden mødeindkalder.",
        "server": "Der gik noget galt i CRM Bridge. Prøv igen; kontakt din administrator, hvis det bliver ved.",
        "not_outlook": "Åbn CRM Bridge fra et møde i Outlook.",
        "time_10_to_11": r"10\.00–11\.00",
        "time_10": r"10\.00",
        "time_12": r"12\.00",
        "day_4": r"tirs?\. 4\. mar",
    },
}


# ---------------------------------------------------------------- the backend


@dataclass
class LiveBackend:
    app: object
    url: str

    def api(self, email: str) -> "Api":
        return Api(self.app.test_client(), self.token(email))

    def token(self, email: str) -> str:
        """A token this backend accepts for `email` (a development token)."""
        return dev_tokens.issue(self.app.config["SECRET_KEY"], email)

    def outlook_shows(self, activity_id: int, event: dict) -> None:
        """Record the external meeting as Microsoft Graph showed it to the drift watch (what `crmbridge scan` does)."""
        with self.app.app_context():
            session = db.session()
            row = session.get(ActivityRow, activity_id)
            link = next(link for link in row.links if link.kind == "external")
            org = OrgDomains.of(self.app.config["ORG_DOMAINS"])
            drift_watch.check_meeting(session, row, link, event, org, datetime.now(UTC))
            session.commit()


class Api:
    """Test setup and checks through the real API, signed as one organizer."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, url: str, expect: int | tuple[int, ...] = 200, headers=None, **kwargs):
        response = self.client.open(url, method=method, headers={**self.headers, **(headers or {})}, **kwargs)
        allowed = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in allowed, f"{method} {url}: {response.status_code} {response.get_data(True)}"
        return response

    def create_activity(self, **fields) -> dict:
        return self.call("POST", "/api/activities", 201, json=activity_json(**fields)).json

    def link(self, activity_id: int, **body) -> dict:
        if body.get("kind") == "internal":
            body.setdefault("attendees", [])  # as the taskpane reports them: no one outside the organization
        return self.call("POST", f"/api/activities/{activity_id}/links", (200, 201), json=body).json

    def lookup(self, **query) -> dict:
        return self.call("GET", "/api/lookup", query_string=query).json

    def patch(self, activity_id: int, etag: str, **changes) -> dict:
        return self.call("PATCH", f"/api/activities/{activity_id}", headers={"If-Match": etag}, json=changes).json


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def activity_json(start: datetime = MEETING_START, minutes: int = 60, **overrides) -> dict:
    body = {
        "subject": "Quarterly review with Fabrikam",
        "start": iso(start),
        "end": iso(start + timedelta(minutes=minutes)),
        "timeZone": ORGANIZER_ZONE,
        "location": "Room Harbour",
        "internalNotes": "",
        "externalAgenda": "1. Status\n2. Next quarter",
        "participants": [
            {"email": "lars.holm@contoso.com", "displayName": "Lars Holm"},
            {"email": "mette@fabrikam.example", "displayName": "Mette Kunde"},
            {"email": "jonas@fabrikam.example", "displayName": "Jonas Fabrikam", "type": "optional"},
            {"email": "harbour-room@contoso.com", "displayName": "Room Harbour", "type": "resource"},
        ],
    }
    body.update(overrides)
    return body


class Pane:
    """The taskpane in one browser page, with the fake Office.js configured by a scenario."""

    def __init__(self, page: Page, backend: LiveBackend, lang: str):
        self.page = page
        self.backend = backend
        self.lang = lang
        self.requests: list = []
        self.console: list[str] = []
        page.on("request", lambda request: self.requests.append(request))
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))

    def open(self, scenario: dict, path: str = "/taskpane/taskpane.html") -> Page:
        self.page.add_init_script(f"window.__officeScenario = {json.dumps(scenario)};")
        self.page.goto(self.backend.url + path)
        return self.page

    def calls(self) -> list[dict]:
        return self.page.evaluate("window.__officeCalls")

    def apis(self) -> list[str]:
        return [call["api"] for call in self.calls()]

    def release_office(self) -> None:
        self.page.evaluate("window.__officeFake.release()")

    def change_item(self, item: dict) -> None:
        self.page.evaluate("item => window.__officeFake.changeItem(item)", item)

    def api_requests(self, path: str) -> list:
        return [r for r in self.requests if r.url.split("?")[0] == self.backend.url + path]

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.lang[:2]}.png"), full_page=True)

    def screenshots(self, name: str, widths: tuple[int, ...] = (320, 450)) -> None:
        """The pane at Outlook's narrow and usual widths, each checked for horizontal overflow (nothing may need
        sideways scrolling), saved as <name>-<lang>-<width>.png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for width in widths:
            self.page.set_viewport_size({"width": width, "height": PANE_SIZE["height"]})
            overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} at {width}px is {overflow}px too wide"
            assert axe_violations(self.page) == [], f"{name} at {width}px: serious or critical axe violations"
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.lang[:2]}-{width}.png"), full_page=True)
        self.page.set_viewport_size(PANE_SIZE)


def route_outside_world(backend: LiveBackend):
    def handle(route: Route) -> None:
        url = route.request.url
        if url == OFFICE_JS:
            route.fulfill(path=str(FAKE_OFFICE), content_type="application/javascript; charset=utf-8")
        elif url == backend.url + "/taskpane/config.json":
            route.fulfill(json=DEV_AUTH_CONFIG)
        elif url.startswith(backend.url + "/"):
            route.fallback()
        else:
            route.abort("blockedbyclient")  # the tests never reach the internet

    return handle


# ---------------------------------------------------------------- scenarios


def attendee(email: str, name: str = "", response: str = "none") -> dict:
    return {"emailAddress": email, "displayName": name or email, "appointmentResponse": response}


def scenario(lang: str, organizer: str, item: dict | None, **extra) -> dict:
    return {
        "displayLanguage": lang,
        "userProfile": {"emailAddress": organizer, "displayName": "The Organizer", "timeZone": ORGANIZER_ZONE},
        "item": item,
        **extra,
    }


def outlook_item(activity: dict, organizer: str, *, item_id: str | None = None, attendees: list[dict] | None = None,
                 custom_properties: dict | None = None, organized_by: str | None = None, **fields) -> dict:
    """A saved meeting as Outlook opens it for the signed-in `organizer`, by default with the activity's subject,
    time and place: in compose when it is their own meeting (Outlook opens an organizer's meeting in compose,
    docs-pr compose-scenario.md), in read mode when `organized_by` someone else (they are an attendee)."""
    host = organized_by or organizer
    item = {
        "mode": "read" if organized_by else "compose",
        "itemId": item_id or new_item_id(),
        "subject": activity["subject"],
        "start": activity["start"],
        "end": activity["end"],
        "location": activity["location"],
        "organizer": {"emailAddress": host, "displayName": "The Organizer" if host == organizer else host},
        "requiredAttendees": attendees if attendees is not None else [attendee(host)],
        "optionalAttendees": [],
        "customProperties": custom_properties or {},
    }
    item.update(fields)
    return item


def internal_attendees(activity: dict, organizer: str) -> list[dict]:
    return [attendee(organizer)] + [
        attendee(p["email"], p["displayName"]) for p in activity["participants"] if p["classification"] == "internal"
    ]


def new_item_id() -> str:
    """An EWS id as Outlook gives them (with / and +, which the REST form replaces)."""
    return f"AAMkAGI2/{uuid.uuid4().hex}+AAA="


def regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def literal(text: str) -> re.Pattern:
    return re.compile(re.escape(text))


def sent_external_meeting(api, organizer, *, moved=True, new_attendee=False, organized_by=None):
    """An activity whose external meeting was sent, and that meeting as Outlook now has it."""
    activity = api.create_activity()
    item_id = new_item_id()
    api.link(activity["id"], state="sent", ewsItemId=item_id)
    required = [attendee("mette@fabrikam.example", "Mette Kunde", "accepted")]
    if new_attendee:
        required.append(attendee("newcomer@fabrikam.example", "Nina Newcomer", "tentative"))
    item = outlook_item(activity, organizer, item_id=item_id, attendees=required, organized_by=organized_by,
                        optionalAttendees=[attendee("jonas@fabrikam.example", "Jonas Fabrikam", "declined")])
    if moved:  # two hours later, and online
        item.update(start=iso(MEETING_START + timedelta(hours=2)), end=iso(MEETING_START + timedelta(hours=3)),
                    location="Teams")
    return activity, item, item_id


# ---------------------------------------------------------------- accessibility

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"  # pinned in package-lock.json, installed by `npm ci`
# The taskpane's Content-Security-Policy allows scripts from its own origin only (no inline script): axe is served
# at this path of the page's origin, by the test, so the check runs with the policy in force.
AXE_PATH = "/__tests__/axe.min.js"


def axe_violations(page: Page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations on the page as it is now, at the given impacts: [{id, impact, nodes: [target, ...]}]."""
    if not AXE.exists():
        raise AssertionError(f"{AXE.relative_to(REPO)} is missing: run scripts/lib/bundle.sh (npm ci) first.")
    if not page.evaluate("typeof window.axe === 'object'"):
        url = re.match(r"^https?://[^/]+", page.url).group(0) + AXE_PATH
        page.route(url, lambda route: route.fulfill(path=str(AXE), content_type="application/javascript"))
        page.add_script_tag(url=url)
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [" ".join(map(str, node["target"])) for node in v["nodes"]]}
        for v in results["violations"] if v["impact"] in impacts
    ]
