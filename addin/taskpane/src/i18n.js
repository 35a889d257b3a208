/*
 * Every string the organizer sees, in English and Danish, and the formatting of times and lists.
 * The language follows Office.context.displayLanguage: "da*" is Danish, anything else English.
 */

const en = {
  "app.loading": "Loading…",
  "app.lookingUp": "Looking up the CRM activity…",
  "app.findingActivities": "Finding your activities…",

  "host.officeMissing": "Outlook's add-in library could not be loaded. Check your connection, then close and reopen the pane.",
  "host.notOutlook": "Open CRM Bridge from a meeting in Outlook.",
  "host.tooOld": "This version of Outlook cannot run CRM Bridge. Update Outlook, or use Outlook on the web.",
  "host.noItem": "Open a meeting to see its CRM activity.",
  "host.notAppointment": "CRM Bridge works on meetings. Open a meeting in your calendar.",

  "meeting.label": "This meeting in Outlook",
  "meeting.noSubject": "(no subject)",
  "meeting.timeUnknown": "Outlook did not give the time of this meeting.",
  "meeting.allDay": "{date}, all day",
  "meeting.isInternal": "This is the internal meeting for the CRM activity.",
  "meeting.isExternal": "This is the meeting with the external participants.",
  "meeting.notComplete": "Outlook did not give all of this meeting's details, so it was not compared with the CRM.",

  "crm.heading": "CRM activity",
  "crm.activity": "{subject}, {when}",
  "crm.cancelled": "Cancelled in the CRM",

  "state.label": "External meeting",
  "state.no-externals": "No external participants",
  "state.not-invited": "External participants not invited yet",
  "state.invitation-open": "Invitation open, not sent yet",
  "state.sent": "Invitation sent",
  "state.in-sync": "In sync with the CRM",
  "state.drifted": "Differs from the CRM",
  "state.cancelled": "Cancelled",
  "state.explain.no-externals": "Everyone in this activity is a colleague, so there is no one to invite from outside.",
  "state.explain.not-invited": "The customers have not been invited yet. Only you can send the invitation.",
  "state.explain.invitation-open": "An invitation with only the external participants was prepared. Check it in Outlook and press Send.",
  "state.explain.sent": "The external participants have the invitation.",
  "state.explain.in-sync": "The meeting with the external participants matches the CRM activity.",
  "state.explain.drifted": "The meeting with the external participants no longer matches the CRM activity.",
  "state.explain.cancelled": "The meeting with the external participants has been cancelled.",

  "participants.heading": "Participants ({count})",
  "participants.none": "The activity has no participants.",
  "kind.internal": "Internal",
  "kind.external": "External",
  "kind.resource": "Room",
  "participant.optional": "optional",
  "reason.org-domain": "Internal: {domain} is your organization's domain.",
  "reason.org-subdomain": "Internal: {domain} is a subdomain of {orgDomain}, and subdomains count as your organization.",
  "reason.org-subdomain-not-counted": "External: {domain} is a subdomain of {orgDomain}, but subdomains are not counted as internal.",
  "reason.not-org-domain": "External: {domain} is not one of your organization's domains.",
  "reason.resource": "Room or resource: it is booked, not invited as a person.",
  "reason.unknown": "No reason given.",

  "action.invite": "Invite external participants",
  "action.inviteAgain": "Open the invitation again",
  "action.fill": "Fill in this meeting for the external participants",
  "action.takeOutlook": "Update CRM to match Outlook",
  "action.prepareUpdate": "Prepare an update for the external participants",
  "action.retry": "Try again",
  "action.signIn": "Sign in again",
  "action.link": "Link",
  "action.working": "Working…",
  "hint.invite": "Opens a new Outlook meeting with only the external participants and the agenda. Internal notes are never copied, and nothing is sent until you press Send.",
  "hint.fill": "Fills in subject, time, place, the external participants and the agenda. Internal notes are never copied, and nothing is sent until you press Send.",
  "hint.inviteFromRead": "To invite the external participants, open this meeting from your calendar without editing it, or create a new meeting and open CRM Bridge there.",
  "hint.takeOutlook": "Changes the CRM only. Your colleagues get an update of the internal meeting; the customers get nothing.",
  "hint.prepareUpdate": "Opens the meeting with the CRM's version for you to check and send with Send Update.",

  "notice.invited": "The invitation is open in Outlook. Check it and press Send.",
  "notice.invitedNotRecorded": "The invitation is open in Outlook, but CRM Bridge could not note it: {error}",
  "notice.filled": "The meeting is filled in. Check it and press Send.",
  "notice.reconciled": "The CRM now matches Outlook.",
  "notice.reconciledPartly": "Time and place in the CRM now match Outlook. Differences in participants remain: change them in the CRM or in Outlook.",
  "notice.linked": "The meeting is now linked to the activity.",
  "notice.conflict": "Someone changed the activity in the CRM after you opened it. The view now shows the latest version; check the differences and try again.",
  "notice.preparedCompose": "The meeting now has the CRM's values. Check it and press Send Update.",
  "notice.preparedRead": "The meeting is open in Outlook. Change these fields to the CRM's values, then press Send Update:",
  "instruction.add": "Add: {list}",
  "instruction.remove": "Remove: {list}",

  "drift.caption": "Differences between the CRM and Outlook",
  "drift.field": "Field",
  "drift.crm": "CRM",
  "drift.outlook": "Outlook",
  "drift.attendeesNote": "Participant changes are not copied into the CRM: change the participants in the CRM, or send the CRM's version to the externals.",
  "field.start": "Start",
  "field.end": "End",
  "field.location": "Location",
  "field.allDay": "All day",
  "field.cancelled": "Cancelled",
  "field.externalAttendees": "External participants",
  "field.deleted": "Deleted",
  "field.unreadable": "Unreadable in Outlook",
  "value.yes": "Yes",
  "value.no": "No",
  "value.empty": "(none)",

  "responses.heading": "Responses from external participants",
  "response.none": "No response",
  "response.notResponded": "No response",
  "response.organizer": "Organizer",
  "response.tentativelyAccepted": "Tentative",
  "response.tentative": "Tentative",
  "response.accepted": "Accepted",
  "response.declined": "Declined",
  "response.notInCrm": "not in the CRM",

  "notLinked.title": "This meeting is not linked to a CRM activity.",
  "notLinked.pickNear": "Link it to one of your activities around this time:",
  "notLinked.pickUpcoming": "Pick one of your upcoming activities:",
  "notLinked.none": "You have no CRM activities around this time.",
  "notLinked.linkTo": "Link to {subject}, {when}",

  "outOfSync.heading": "Your meetings out of sync",
  "outOfSync.none": "Your meetings with external participants all match the CRM.",
  "outOfSync.failed": "The list of meetings out of sync could not be loaded.",
  "outOfSync.differs": "Differs in: {list}",
  "outOfSync.cancelled": "Cancelled in Outlook",
  "outOfSync.deleted": "Deleted in Outlook",

  "error.title": "Something stopped CRM Bridge",
  "error.network": "CRM Bridge cannot be reached. Check your connection and try again.",
  "error.timeout": "CRM Bridge did not answer in time. Try again.",
  "error.unauthorized": "Your sign-in has expired or is not valid. Sign in again to continue.",
  "error.forbidden": "You are not allowed to do this. Contact your administrator if you need access.",
  "error.not-found": "The CRM activity for this meeting was not found, or it belongs to another organizer.",
  "error.already-linked": "This Outlook meeting is already linked to another CRM activity.",
  "error.stale": "Someone changed the activity in the CRM after you opened it. Try again.",
  "error.invalid": "The CRM did not accept the data. Contact your administrator if this keeps happening.",
  "error.server": "Something went wrong in CRM Bridge. Try again; if it keeps happening, contact your administrator.",
  "error.unavailable": "CRM Bridge is busy or briefly unavailable. Try again in a minute.",
  "error.office": "Outlook could not do this ({detail}). Try again.",
  "error.officeTimeout": "Outlook did not answer in time. Try again.",
  "error.unsupported": "This version of Outlook cannot do this. Update Outlook, or use Outlook on the web.",
  "error.tooMany": "There are more than 100 external participants, more than Outlook's form takes. Create a new meeting and use CRM Bridge to fill it in instead.",
  "error.no-user": "Outlook did not say who you are. Close and reopen the pane.",
  "error.sign-in-cancelled": "You cancelled signing in. Sign in to use CRM Bridge.",
  "error.sign-in-failed": "Microsoft could not sign you in ({detail}). Sign in again; if it keeps happening, contact your administrator.",
  "error.sign-in-unavailable": "CRM Bridge is not set up for Microsoft sign-in yet. Contact your administrator.",
  "error.sign-in-unsupported": "This version of Outlook cannot sign you in to CRM Bridge. Update Outlook, or use Outlook on the web.",
  "error.unknown": "Something unexpected happened. Try again; if it keeps happening, contact your administrator.",
  "error.requestId": "Give this code to your administrator: {id}",
};

const da = {
  "app.loading": "Indlæser …",
  "app.lookingUp": "Finder CRM-aktiviteten …",
  "app.findingActivities": "Finder dine aktiviteter …",

  "host.officeMissing": "Outlooks bibliotek til tilføjelsesprogrammer kunne ikke indlæses. Tjek din forbindelse, og luk og åbn ruden igen.",
  "host.notOutlook": "Åbn CRM Bridge fra et møde i Outlook.",
  "host.tooOld": "Denne version af Outlook kan ikke køre CRM Bridge. Opdater Outlook, eller brug Outlook på nettet.",
  "host.noItem": "Åbn et møde for at se dets CRM-aktivitet.",
  "host.notAppointment": "CRM Bridge virker på møder. Åbn et møde i din kalender.",

  "meeting.label": "Mødet i Outlook",
  "meeting.noSubject": "(intet emne)",
  "meeting.timeUnknown": "Outlook oplyste ikke mødets tidspunkt.",
  "meeting.allDay": "{date}, hele dagen",
  "meeting.isInternal": "Dette er det interne møde for CRM-aktiviteten.",
  "meeting.isExternal": "Dette er mødet med de eksterne deltagere.",
  "meeting.notComplete": "Outlook oplyste ikke alle mødets detaljer, så det er ikke sammenlignet med CRM.",

  "crm.heading": "CRM-aktivitet",
  "crm.activity": "{subject}, {when}",
  "crm.cancelled": "Aflyst i CRM",

  "state.label": "Eksternt møde",
  "state.no-externals": "Ingen eksterne deltagere",
  "state.not-invited": "Eksterne deltagere er ikke inviteret endnu",
  "state.invitation-open": "Invitationen er åben, men ikke sendt",
  "state.sent": "Invitationen er sendt",
  "state.in-sync": "Passer med CRM",
  "state.drifted": "Afviger fra CRM",
  "state.cancelled": "Aflyst",
  "state.explain.no-externals": "Alle i aktiviteten er kolleger, så der er ingen udefra at invitere.",
  "state.explain.not-invited": "Kunderne er ikke inviteret endnu. Kun du kan sende invitationen.",
  "state.explain.invitation-open": "Der er forberedt en invitation med kun de eksterne deltagere. Tjek den i Outlook, og tryk på Send.",
  "state.explain.sent": "De eksterne deltagere har fået invitationen.",
  "state.explain.in-sync": "Mødet med de eksterne deltagere passer med CRM-aktiviteten.",
  "state.explain.drifted": "Mødet med de eksterne deltagere passer ikke længere med CRM-aktiviteten.",
  "state.explain.cancelled": "Mødet med de eksterne deltagere er aflyst.",

  "participants.heading": "Deltagere ({count})",
  "participants.none": "Aktiviteten har ingen deltagere.",
  "kind.internal": "Intern",
  "kind.external": "Ekstern",
  "kind.resource": "Lokale",
  "participant.optional": "valgfri",
  "reason.org-domain": "Intern: {domain} er jeres organisations domæne.",
  "reason.org-subdomain": "Intern: {domain} er et underdomæne af {orgDomain}, og underdomæner tæller som jeres organisation.",
  "reason.org-subdomain-not-counted": "Ekstern: {domain} er et underdomæne af {orgDomain}, men underdomæner tæller ikke som interne.",
  "reason.not-org-domain": "Ekstern: {domain} er ikke et af jeres organisations domæner.",
  "reason.resource": "Lokale eller ressource: det bookes og inviteres ikke som en person.",
  "reason.unknown": "Ingen begrundelse.",

  "action.invite": "Inviter eksterne deltagere",
  "action.inviteAgain": "Åbn invitationen igen",
  "action.fill": "Udfyld mødet til de eksterne deltagere",
  "action.takeOutlook": "Opdater CRM, så det passer med Outlook",
  "action.prepareUpdate": "Forbered en opdatering til de eksterne deltagere",
  "action.retry": "Prøv igen",
  "action.signIn": "Log ind igen",
  "action.link": "Knyt",
  "action.working": "Arbejder …",
  "hint.invite": "Åbner et nyt Outlook-møde med kun de eksterne deltagere og dagsordenen. Interne noter kopieres aldrig, og intet sendes, før du trykker på Send.",
  "hint.fill": "Udfylder emne, tidspunkt, sted, de eksterne deltagere og dagsordenen. Interne noter kopieres aldrig, og intet sendes, før du trykker på Send.",
  "hint.inviteFromRead": "Du inviterer de eksterne deltagere ved at åbne mødet fra kalenderen uden at redigere det eller ved at oprette et nyt møde og åbne CRM Bridge dér.",
  "hint.takeOutlook": "Ændrer kun CRM. Dine kolleger får en opdatering af det interne møde; kunderne får intet.",
  "hint.prepareUpdate": "Åbner mødet med CRM's version, så du kan tjekke det og sende det med Send opdatering.",

  "notice.invited": "Invitationen er åbnet i Outlook. Tjek den, og tryk på Send.",
  "notice.invitedNotRecorded": "Invitationen er åbnet i Outlook, men CRM Bridge kunne ikke notere det: {error}",
  "notice.filled": "Mødet er udfyldt. Tjek det, og tryk på Send.",
  "notice.reconciled": "CRM passer nu med Outlook.",
  "notice.reconciledPartly": "Tidspunkt og sted i CRM passer nu med Outlook. Der er stadig forskel på deltagerne: ret dem i CRM eller i Outlook.",
  "notice.linked": "Mødet er nu knyttet til aktiviteten.",
  "notice.conflict": "Nogen har ændret aktiviteten i CRM, efter du åbnede den. Visningen viser nu den nyeste version; tjek forskellene, og prøv igen.",
  "notice.preparedCompose": "Mødet har nu CRM's værdier. Tjek det, og tryk på Send opdatering.",
  "notice.preparedRead": "Mødet er åbnet i Outlook. Ret disse felter til CRM's værdier, og tryk derefter på Send opdatering:",
  "instruction.add": "Tilføj: {list}",
  "instruction.remove": "Fjern: {list}",

  "drift.caption": "Forskelle mellem CRM og Outlook",
  "drift.field": "Felt",
  "drift.crm": "CRM",
  "drift.outlook": "Outlook",
  "drift.attendeesNote": "Ændringer i deltagerne kopieres ikke til CRM: ret deltagerne i CRM, eller send CRM's version til de eksterne.",
  "field.start": "Start",
  "field.end": "Slut",
  "field.location": "Sted",
  "field.allDay": "Hele dagen",
  "field.cancelled": "Aflyst",
  "field.externalAttendees": "Eksterne deltagere",
  "field.deleted": "Slettet",
  "field.unreadable": "Kan ikke læses i Outlook",
  "value.yes": "Ja",
  "value.no": "Nej",
  "value.empty": "(intet)",

  "responses.heading": "Svar fra eksterne deltagere",
  "response.none": "Intet svar",
  "response.notResponded": "Intet svar",
  "response.organizer": "Mødeindkalder",
  "response.tentativelyAccepted": "Foreløbig",
  "response.tentative": "Foreløbig",
  "response.accepted": "Accepteret",
  "response.declined": "Afvist",
  "response.notInCrm": "ikke i CRM",

  "notLinked.title": "Mødet er ikke knyttet til en CRM-aktivitet.",
  "notLinked.pickNear": "Knyt det til en af dine aktiviteter omkring samme tidspunkt:",
  "notLinked.pickUpcoming": "Vælg en af dine kommende aktiviteter:",
  "notLinked.none": "Du har ingen CRM-aktiviteter omkring dette tidspunkt.",
  "notLinked.linkTo": "Knyt til {subject}, {when}",

  "outOfSync.heading": "Dine møder, der ikke passer med CRM",
  "outOfSync.none": "Alle dine møder med eksterne deltagere passer med CRM.",
  "outOfSync.failed": "Listen over møder, der ikke passer med CRM, kunne ikke hentes.",
  "outOfSync.differs": "Afviger i: {list}",
  "outOfSync.cancelled": "Aflyst i Outlook",
  "outOfSync.deleted": "Slettet i Outlook",

  "error.title": "Noget stoppede CRM Bridge",
  "error.network": "CRM Bridge kan ikke nås. Tjek din forbindelse, og prøv igen.",
  "error.timeout": "CRM Bridge svarede ikke i tide. Prøv igen.",
  "error.unauthorized": "Dit login er udløbet eller ugyldigt. Log ind igen for at fortsætte.",
  "error.forbidden": "Du har ikke adgang til dette. Kontakt din administrator, hvis du har brug for adgang.",
  "error.not-found": "CRM-aktiviteten for dette møde blev ikke fundet, eller den tilhører en anden mødeindkalder.",
  "error.already-linked": "Dette Outlook-møde er allerede knyttet til en anden CRM-aktivitet.",
  "error.stale": "Nogen har ændret aktiviteten i CRM, efter du åbnede den. Prøv igen.",
  "error.invalid": "CRM afviste dataene. Kontakt din administrator, hvis det bliver ved.",
  "error.server": "Der gik noget galt i CRM Bridge. Prøv igen; kontakt din administrator, hvis det bliver ved.",
  "error.unavailable": "CRM Bridge har travlt eller er kortvarigt utilgængelig. Prøv igen om et minut.",
  "error.office": "Outlook kunne ikke gøre dette ({detail}). Prøv igen.",
  "error.officeTimeout": "Outlook svarede ikke i tide. Prøv igen.",
  "error.unsupported": "Denne version af Outlook kan ikke gøre dette. Opdater Outlook, eller brug Outlook på nettet.",
  "error.tooMany": "Der er over 100 eksterne deltagere, og det er flere, end Outlooks formular kan rumme. Opret i stedet et nyt møde, og lad CRM Bridge udfylde det.",
  "error.no-user": "Outlook oplyste ikke, hvem du er. Luk og åbn ruden igen.",
  "error.sign-in-cancelled": "Du afbrød login. Log ind for at bruge CRM Bridge.",
  "error.sign-in-failed": "Microsoft kunne ikke logge dig ind ({detail}). Log ind igen; kontakt din administrator, hvis det bliver ved.",
  "error.sign-in-unavailable": "CRM Bridge er endnu ikke sat op til login med Microsoft. Kontakt din administrator.",
  "error.sign-in-unsupported": "Denne version af Outlook kan ikke logge dig ind i CRM Bridge. Opdater Outlook, eller brug Outlook på nettet.",
  "error.unknown": "Der skete noget uventet. Prøv igen; kontakt din administrator, hvis det bliver ved.",
  "error.requestId": "Giv denne kode til din administrator: {id}",
};

const TABLES = { en, da };

let language = "en";
let locale = "en-US";
let toWallClock = browserWallClock;

/** Choose the language from Office's display language ("da-DK" -> Danish; anything else -> English). */
export function setLanguage(displayLanguage) {
  const tag = String(displayLanguage || "").trim();
  language = /^da\b/i.test(tag) ? "da" : "en";
  locale = tag && isSupportedLocale(tag) ? tag : (language === "da" ? "da-DK" : "en-US");
}

export function currentLanguage() {
  return language;
}

/** The translation of `key`, with {name} placeholders filled from `params`. */
export function t(key, params = {}) {
  const template = TABLES[language][key] ?? en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (params[name] === undefined ? "" : String(params[name])));
}

// ------------------------------------------------------------------ errors

const API_MESSAGES = {
  network: ["error.network", "retry"],
  timeout: ["error.timeout", "retry"],
  unauthorized: ["error.unauthorized", "sign-in"],
  forbidden: ["error.forbidden", null],
  "not-found": ["error.not-found", null],
  "already-linked": ["error.already-linked", null],
  stale: ["error.stale", "retry"],
  invalid: ["error.invalid", null],
  server: ["error.server", "retry"],
  unavailable: ["error.unavailable", "retry"],
  "no-user": ["error.no-user", null],
  "sign-in-cancelled": ["error.sign-in-cancelled", "sign-in"],
  "sign-in-failed": ["error.sign-in-failed", "sign-in"],
  "sign-in-unavailable": ["error.sign-in-unavailable", null],
  "sign-in-unsupported": ["error.sign-in-unsupported", null],
};

const OFFICE_MESSAGES = {
  timeout: ["error.officeTimeout", "retry"],
  unsupported: ["error.unsupported", null],
  "too-many": ["error.tooMany", null],
  failed: ["error.office", "retry"],
};

/**
 * What to tell the organizer about an error, and the way forward: `action` is "retry", "sign-in" or null
 * (the message itself says whom to contact).
 */
export function describeError(error) {
  const table = error?.name === "OfficeError" ? OFFICE_MESSAGES : API_MESSAGES;
  const [key, action] = table[error?.code] ?? ["error.unknown", "retry"];
  return { message: t(key, { detail: error?.detail || error?.code || "" }), action };
}

// ------------------------------------------------------------------- times

function isSupportedLocale(tag) {
  try {
    return Intl.DateTimeFormat.supportedLocalesOf([tag]).length > 0;
  } catch {
    return false;
  }
}

function browserWallClock(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000);
}

/**
 * How instants become the organizer's wall-clock time: a function from a Date to a Date whose UTC fields are
 * the local time (Office's convertToLocalClientTime, set by main.js; the browser's zone until then).
 */
export function setWallClock(convert) {
  toWallClock = convert || browserWallClock;
}

/** A Date whose UTC fields are the wall-clock time in an IANA zone (for all-day activities, kept in their zone). */
export function wallClockIn(date, timeZone) {
  try {
    const parts = {};
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric",
    });
    for (const part of format.formatToParts(date)) parts[part.type] = Number(part.value);
    return new Date(Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute));
  } catch {
    return toWallClock(date);
  }
}

function formatDate(wall) {
  return new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" })
    .format(wall);
}

/** "9:00 AM" in English, "09.00" in Danish: each language's own habit. */
function formatClock(wall) {
  const hour = language === "da" ? "2-digit" : "numeric";
  return new Intl.DateTimeFormat(locale, { hour, minute: "2-digit", timeZone: "UTC" }).format(wall);
}

function sameDay(a, b) {
  return a.toISOString().slice(0, 10) === b.toISOString().slice(0, 10);
}

function asDate(value) {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value === "string" && value) {
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? null : parsed;
  }
  return null;
}

/** One moment, in the organizer's time: "Tue, Mar 3, 10:00 AM" / "tir. 3. mar. 10.00". */
export function formatMoment(value) {
  const date = asDate(value);
  if (!date) return "";
  const wall = toWallClock(date);
  return `${formatDate(wall)}, ${formatClock(wall)}`;
}

/** A calendar date given as "2026-03-03" (how all-day times are compared). */
export function formatDay(isoDate) {
  const date = asDate(`${isoDate}T00:00:00Z`);
  return date ? formatDate(date) : String(isoDate);
}

/**
 * A meeting's time span in the organizer's time. All-day meetings show dates only (their end is exclusive);
 * `timeZone` (IANA) keeps an all-day CRM activity on its own dates.
 */
export function formatWhen(startValue, endValue, { allDay = false, timeZone = null } = {}) {
  const start = asDate(startValue);
  const end = asDate(endValue);
  if (!start) return "";
  const wall = (date) => (allDay && timeZone ? wallClockIn(date, timeZone) : toWallClock(date));
  const from = wall(start);
  if (allDay) {
    const last = end ? new Date(wall(end).getTime() - 86400000) : from;
    const span = last > from && !sameDay(from, last)
      ? `${formatDate(from)} – ${formatDate(last)}`
      : formatDate(from);
    return t("meeting.allDay", { date: span });
  }
  if (!end) return `${formatDate(from)}, ${formatClock(from)}`;
  const to = wall(end);
  if (sameDay(from, to)) {
    return `${formatDate(from)}, ${formatClock(from)}–${formatClock(to)}`;
  }
  return `${formatDate(from)}, ${formatClock(from)} – ${formatDate(to)}, ${formatClock(to)}`;
}

export function formatList(items) {
  const list = items.filter(Boolean);
  if (!list.length) return t("value.empty");
  try {
    return new Intl.ListFormat(locale, { style: "long", type: "conjunction" }).format(list);
  } catch {
    return list.join(", ");
  }
}
