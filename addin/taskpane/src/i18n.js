/*
 * Every string the organizer sees, in English and Danish, and the formatting of times and lists.
 * The language follows Office.context.displayLanguage: "da*" is Danish, anything else English. The Danish
 * strings are in i18n-da.js, a file of its own that setLanguage loads when it is needed.
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

  "error.title": "CRM Bridge could not go on",
  "error.network": "CRM Bridge cannot be reached. Check your connection and try again.",
  "error.timeout": "CRM Bridge did not answer in time. Try again.",
  "error.unauthorized": "Your sign-in has expired or is not valid. Sign in again to continue.",
  "error.forbidden": "You are not allowed to do this. Contact your administrator if you need access.",
  "error.not-found": "The CRM activity for this meeting was not found, or it belongs to another organizer.",
  "error.moved": "The CRM moved this activity to {who}, who organizes it now. This meeting stays in your calendar: "
    + "cancel it in Outlook if it should not take place twice.",
  "error.deleted-in-crm": "The CRM deleted this activity. This meeting stays in your calendar: cancel it in Outlook "
    + "if it is off.",
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

  "notYours.title": "This meeting belongs to another organizer's CRM activity.",
  "notYours.explain": "Only the activity's organizer can invite the customers or change it. Nothing for you to do here.",
  "blocked.outsiders": "Someone outside your organization is on your internal meeting ({list}). Remove them in Outlook, or the CRM stops updating the meeting: it holds the internal notes.",
  "internal.waitsForSignIn": "The CRM's latest changes to your internal meeting are waiting: CRM Bridge could not reach your Outlook calendar for you. Close this pane and open it again to sign in; if Outlook asks, allow CRM Bridge access.",
  "internal.notes.online-meeting": "This is an online meeting, so the CRM does not rewrite its description (that would lose the join link). The CRM has newer internal notes than the meeting.",
  "internal.notes.notes-only-off": "Your organization does not update meetings for changed notes alone. The CRM has newer internal notes than the meeting.",
  "internal.notes.waiting": "The CRM's newest internal notes reach this meeting within a few minutes.",
  "internal.notes.heading": "Internal notes in the CRM",
  "internal.notes.empty": "(no notes)",
  "action.showNotes": "Show the CRM's notes",
  "rooms.heading": "Rooms",
  "rooms.answer": "{room} ({meeting}): {answer}",
  "rooms.meeting.internal": "booked on the internal meeting",
  "rooms.meeting.external": "booked on the customer meeting",
  "rooms.response.accepted": "accepted",
  "rooms.response.declined": "declined: choose another room in Outlook",
  "rooms.response.tentativelyAccepted": "tentatively accepted",
  "rooms.response.none": "no answer yet",
  "blocked.notOrganizer": "The internal meeting is not yours to change in Outlook, so the CRM stopped updating it. Link the meeting you organize.",
  "invitation.over": "The activity is over, so no invitation goes out.",
  "invitation.openedAt": "You opened the invitation {when}. If you closed it without sending, open it again here.",
  "state.crm-cancelled": "Cancelled in the CRM only",
  "state.explain.crm-cancelled": "The customers still have the meeting. Open it in Outlook and choose Cancel Meeting: they receive a cancellation, and the CRM's internal notes stay out of it.",
  "list.invitation-open": "Invitation open",
  "list.sent": "Invitation sent",
  "list.crm-cancelled": "Cancelled in the CRM",
  "list.cancelled": "Cancelled",
  "link.refused": "This meeting has attendees outside your organization ({list}), so it cannot be the internal meeting, which carries the internal notes. Link it as the customer meeting instead, or remove them in Outlook first.",
  "notLinked.handoff": "You were just looking at {subject}.",
  "notLinked.linkToPrefix": "Link to",
  "action.openInvitation": "Open the customer invitation",
  "action.prepareAppointment": "Prepare the customer invitation",
  "action.startNewMeeting": "Start from a new meeting instead",
  "action.addCustomers": "Add the customers to this meeting",
  "action.cancelInCrm": "Cancel in the CRM too",
  "action.removeExtra": "Also remove those not in the CRM",
  "action.fillFor": "Fill in this meeting for {subject}",
  "action.linkExternal": "Link as the customer meeting",
  "hint.inviteAgain": "Opens a new invitation form for the same activity; the CRM keeps one invitation.",
  "hint.openInvitation": "Opens the customer meeting you prepared, in its own Outlook window.",
  "hint.prepareAppointment": "Puts a meeting with the subject, time, place and agenda in your calendar and opens it. Nobody is invited until you add the customers there and press Send. Internal notes are never copied.",
  "hint.startNewMeeting": "Create a new meeting in Outlook and open CRM Bridge there: it offers this activity first.",
  "hint.addCustomers": "Adds the activity's external participants, keeping anyone you added. Nothing is sent until you press Send.",
  "hint.cancelInCrm": "Cancels the activity in the CRM only. Nobody gets mail from this.",
  "hint.removeExtra": "Takes the external participants the CRM does not have off this meeting. They get a cancellation when you press Send Update.",
  "hint.allDay": "All-day activity: the meeting is filled from midnight to midnight. Tick All day in Outlook before you send.",
  "notice.appointmentOpened": "The customer meeting is open in its own window. Open CRM Bridge there, press Add the customers, check it and press Send.",
  "notice.newMeeting": "Create a new meeting in Outlook and open CRM Bridge there: it offers this activity first.",
  "notice.newMeetingNoHandoff": "Create a new meeting in Outlook and open CRM Bridge there, then pick this activity from the list.",
  "notice.invitationReopened": "The customer meeting is open in Outlook. Check it and press Send.",
  "notice.invitedAllDay": "The invitation is open in Outlook. Tick All day, check it and press Send.",
  "notice.filledAllDay": "The meeting is filled in from midnight to midnight. Tick All day, check it and press Send.",
  "notice.customersAdded": "The customers are on the meeting. Check it and press Send.",
  "notice.customersPresent": "The customers are already on the meeting. Check it and press Send.",
  "notice.cancelledInCrm": "The activity is cancelled in the CRM too.",
  "notice.removed": "They are off the meeting. Press Send Update to tell them.",
  "notice.linkedExternal": "The meeting is now linked as the customer meeting.",
  "field.externalAttendee": "External participant",
  "value.absent": "(not here)",
  "participants.rooms": "Room: {list}",
  "outOfSync.notWatched": "CRM Bridge does not watch your Outlook calendar, so meetings changed in Outlook show up only when you open them.",
  "error.already-sent": "The customer meeting was already sent. Open it in Outlook to change it.",
  "error.outsiders": "This meeting has attendees outside your organization, so it cannot be the internal meeting.",
  "error.cancelled": "The activity is cancelled in the CRM, so no invitation goes out.",
  "error.over": "The activity is over, so no invitation goes out.",
  "error.no-externals": "The activity has no external participants to invite.",
  "error.graph-off": "CRM Bridge cannot put meetings in your Outlook calendar on this server. Start a new meeting in Outlook and open CRM Bridge there to add the customers.",
  "error.incomplete": "Outlook did not give all of this meeting's details. Close and reopen the meeting, then try again.",
  "error.requestId": "Give this code to your administrator: {id}",
};


/** @type {Record<string, Record<string, string>>} */
const TABLES = { en };
let danish = null; // the import of i18n-da.js, once started

let language = "en";
let locale = "en-US";
let toWallClock = browserWallClock;

/**
 * Choose the language from Office's display language ("da-DK" -> Danish; anything else -> English). Resolves when
 * its strings are here: at once for English, after the Danish file's download for Danish (until then, and if that
 * download fails, the pane speaks English rather than showing keys).
 */
export async function setLanguage(displayLanguage) {
  const tag = String(displayLanguage || "").trim();
  const wanted = /^da\b/i.test(tag) ? "da" : "en";
  locale = tag && isSupportedLocale(tag) ? tag : (wanted === "da" ? "da-DK" : "en-US");
  if (wanted === "da" && !TABLES.da) {
    danish = danish || import("./i18n-da.js").then((module) => { TABLES.da = module.default; });
    try {
      await danish;
    } catch {
      danish = null; // tried again at the next setLanguage
    }
  }
  language = TABLES[wanted] ? wanted : "en";
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
  "already-sent": ["error.already-sent", null],
  outsiders: ["error.outsiders", null],
  moved: ["error.moved", null],
  "deleted-in-crm": ["error.deleted-in-crm", null],
  cancelled: ["error.cancelled", null],
  over: ["error.over", null],
  "no-externals": ["error.no-externals", null],
  "graph-off": ["error.graph-off", null],
};

const OFFICE_MESSAGES = {
  timeout: ["error.officeTimeout", "retry"],
  unsupported: ["error.unsupported", null],
  "too-many": ["error.tooMany", null],
  failed: ["error.office", "retry"],
  incomplete: ["error.incomplete", null],
};

/**
 * What to tell the organizer about an error, and the way forward: `action` is "retry", "sign-in" or null
 * (the message itself says whom to contact).
 */
export function describeError(error) {
  const table = error?.name === "OfficeError" ? OFFICE_MESSAGES : API_MESSAGES;
  const [key, action] = table[error?.code] ?? ["error.unknown", "retry"];
  const who = error?.details?.movedTo || ""; // 410 moved: the new organizer's address
  return { message: t(key, { detail: error?.detail || error?.code || "", who }), action };
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
