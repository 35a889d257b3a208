/*
 * The development preview: the real taskpane in an iframe, Outlook simulated beside it from the demo data.
 *
 * The pane's taskpane.html is fetched and written into the iframe (srcdoc) with Microsoft's Office.js replaced by
 * fake-office/office-fake.js, the way the browser tests swap it; the production page itself never knows about the
 * fake. The fake asks this page for its scenario (postMessage) and reports every Office.js call back, which is how
 * the simulated Outlook on the left shows the forms the pane opens and the fields it sets.
 *
 * "Send (simulated)" stands in for the organizer pressing Send in Outlook and the backend's sync noticing: it
 * records the external meeting's link as sent, through the same API the pane uses.
 */

import { createClient, request } from "./api.js";
import { el } from "./view.js";

const OFFICE_CDN = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js";
const FAKE_OFFICE = "fake-office/office-fake.js";
const ORGANIZERS = [ // the organizers in crmbridge/demo.py
  { email: "anna.berg@contoso.com", name: "Anna Berg" },
  { email: "lars.holm@contoso.com", name: "Lars Holm" },
  { email: "maria.jensen@contoso.com", name: "Maria Jensen" },
];
const STORE_KEY = "crmbridge.preview";
const DAY = 24 * 3600 * 1000;

/** @returns {any} the element (an input, select or iframe of preview.html) */
const $ = (id) => document.getElementById(id);
/** @param {Event} event */
const valueOf = (event) => /** @type {HTMLSelectElement} */ (event.target).value;

const settings = Object.assign(
  { organizer: ORGANIZERS[0].email, language: "en-US", activityId: null, meeting: "internal", externals: {} },
  JSON.parse(localStorage.getItem(STORE_KEY) || "{}"),
);
const tokens = {};
let activities = [];
let scenario = null;
let item = null; // the open item as the fake reports it
let loads = 0; // each control change reloads the pane; only the latest load may write the iframe

function save() {
  localStorage.setItem(STORE_KEY, JSON.stringify(settings));
}

function problem(message) {
  $("problem").hidden = !message;
  $("problem").textContent = message || "";
}

// ------------------------------------------------------------------- backend

async function tokenFor(email) {
  if (!tokens[email]) tokens[email] = (await request("devToken", { body: { email } })).data.token;
  return tokens[email];
}

function api() {
  return createClient(() => tokenFor(settings.organizer));
}

async function loadActivities() {
  const now = Date.now();
  const { data } = await api().listActivities({
    from: new Date(now - 2 * DAY).toISOString(), to: new Date(now + 90 * DAY).toISOString(), pageSize: "100",
  });
  activities = data.items;
  const select = $("activity");
  select.replaceChildren(...activities.map((a) => el("option", {
    value: a.id, text: `${a.subject} (${when(a.start)})`,
  })));
  if (!activities.some((a) => a.id === settings.activityId)) settings.activityId = activities[0]?.id ?? null;
  select.value = settings.activityId ?? "";
}

function currentActivity() {
  return activities.find((a) => a.id === settings.activityId) || null;
}

// ---------------------------------------------------------------- scenarios

const dateOf = (value) => new Date(value?.$date ?? value);

function when(value) {
  return dateOf(value).toLocaleString(settings.language, { dateStyle: "medium", timeStyle: "short" });
}

function organizerName() {
  return ORGANIZERS.find((o) => o.email === settings.organizer)?.name || settings.organizer;
}

function asAttendee(participant, response = "none") {
  return { emailAddress: participant.email, displayName: participant.displayName || participant.email,
    appointmentResponse: response };
}

function people(activity, classification, type) {
  return activity.participants.filter((p) => p.classification === classification && p.type === type
    && p.email.toLowerCase() !== settings.organizer);
}

/**
 * The meeting the backend's sync created: the organizer and the colleagues, marked with the custom property. The
 * organizer sees it in compose form (Outlook opens an organizer's own meeting so, docs-pr compose-scenario.md).
 */
function internalMeeting(activity) {
  return {
    mode: "compose", itemId: `AAMkDemo/internal-${activity.id}+=`, subject: activity.subject,
    start: activity.start, end: activity.end, location: activity.location, isAllDay: activity.isAllDay,
    organizer: { emailAddress: settings.organizer, displayName: organizerName() },
    requiredAttendees: [{ emailAddress: settings.organizer, displayName: organizerName() },
      ...people(activity, "internal", "required").map((p) => asAttendee(p))],
    optionalAttendees: people(activity, "internal", "optional").map((p) => asAttendee(p)),
    customProperties: { crmActivityId: String(activity.id) },
  };
}

/** A meeting the organizer made by hand in Outlook, with the customers, that the CRM has never heard of. */
function unlinkedMeeting(activity) {
  return {
    mode: "compose", itemId: `AAMkDemo/unlinked-${activity.id}-${Date.now().toString(36)}+=`, subject: activity.subject,
    start: activity.start, end: activity.end, location: activity.location,
    organizer: { emailAddress: settings.organizer, displayName: organizerName() },
    requiredAttendees: people(activity, "external", "required").map((p) => asAttendee(p)),
    optionalAttendees: people(activity, "external", "optional").map((p) => asAttendee(p)),
  };
}

function newMeeting() {
  const start = new Date(Math.ceil(Date.now() / (30 * 60000)) * 30 * 60000);
  return {
    mode: "compose", subject: "", start: start.toISOString(), end: new Date(start.getTime() + 30 * 60000).toISOString(),
    location: "", requiredAttendees: [], optionalAttendees: [], bodyType: "html",
    organizer: { emailAddress: settings.organizer, displayName: organizerName() },
  };
}

function externalMeeting(activity) {
  const sent = settings.externals[activity.id];
  if (!sent) return null;
  return { ...sent, mode: "compose", organizer: { emailAddress: settings.organizer, displayName: organizerName() } };
}

/** A colleague on the internal meeting: an attendee, so Outlook shows it to them in read form. */
function colleague(activity) {
  const found = activity?.participants.find((p) => p.classification === "internal"
    && p.email.toLowerCase() !== settings.organizer);
  return found ? { emailAddress: found.email, displayName: found.displayName || found.email } : null;
}

function meetingFor(kind, activity) {
  if (kind === "compose") return newMeeting();
  if (!activity) return null;
  if (kind === "internal") return internalMeeting(activity);
  if (kind === "internal-attendee") return colleague(activity) ? { ...internalMeeting(activity), mode: "read" } : null;
  if (kind === "unlinked") return unlinkedMeeting(activity);
  return externalMeeting(activity);
}

// --------------------------------------------------------------------- pane

async function loadPane() {
  const load = ++loads;
  problem("");
  const activity = currentActivity();
  const meeting = meetingFor(settings.meeting, activity);
  if (!meeting) {
    problem(activity
      ? "This activity has no external meeting yet. Open the internal meeting, invite the external participants, "
        + "then press Send (simulated) on the new meeting."
      : "No demo activities for this organizer. Run the backend with the demo data (scripts/dev).");
    return;
  }
  const viewer = settings.meeting === "internal-attendee" ? colleague(activity)
    : { emailAddress: settings.organizer, displayName: organizerName() };
  scenario = {
    displayLanguage: settings.language,
    userProfile: { ...viewer, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone },
    item: meeting,
  };
  item = meeting;
  renderItem();
  $("windows").replaceChildren(el("p", { className: "note", text: "None yet." }));
  $("log").replaceChildren();

  const html = await (await fetch("taskpane.html", { cache: "no-store" })).text();
  if (load !== loads) return;
  if (!html.includes(`src="${OFFICE_CDN}"`)) {
    problem(`taskpane.html no longer loads ${OFFICE_CDN}; the preview cannot swap in the fake.`);
    return;
  }
  $("pane").srcdoc = html.replace(`src="${OFFICE_CDN}"`, `src="${FAKE_OFFICE}"`);
}

window.addEventListener("message", (event) => {
  if (event.source !== $("pane").contentWindow || event.origin !== window.origin) return;
  const message = event.data || {};
  if (message.type === "office-fake:hello") {
    /** @type {Window} */ (event.source).postMessage({ type: "office-fake:scenario", scenario }, window.origin);
  } else if (message.type === "office-fake:call") {
    $("log").append(el("li", { text: message.call.api }));
    if (message.item) {
      item = message.item;
      renderItem();
    }
    showWindow(message.call);
  }
});

// ---------------------------------------------------------- simulated Outlook

function addresses(list) {
  return (list || []).map((a) => (typeof a === "string" ? a
    : `${a.displayName || a.emailAddress}${a.appointmentResponse && a.appointmentResponse !== "none"
      ? ` (${a.appointmentResponse})` : ""}`)).join(", ") || "none";
}

function fields(rows) {
  return el("dl", {}, rows.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: value })]));
}

function renderItem() {
  if (!item) {
    $("item").replaceChildren(el("p", { className: "note", text: "No meeting open." }));
    $("item-actions").replaceChildren();
    return;
  }
  $("item").replaceChildren(fields([
    ["Mode", item.mode === "compose" ? "compose (the organizer is editing)" : "read"],
    ["Subject", item.subject || "(empty)"],
    ["Start", when(item.start)],
    ["End", when(item.end)],
    ["Location", item.location || "(empty)"],
    ["Required", addresses(item.requiredAttendees)],
    ["Optional", addresses(item.optionalAttendees)],
    ["Item id", item.itemId || "(not saved)"],
    ["Custom properties", JSON.stringify(item.customProperties || {})],
  ]));
  const actions = [];
  if (item.mode === "compose" && item.customProperties?.crmActivityId && item.requiredAttendees?.length) {
    actions.push(el("button", { type: "button", className: "button button--primary", text: "Send (simulated)",
      onClick: () => send(item) }));
  }
  if (settings.meeting === "external") {
    actions.push(
      el("button", {
        type: "button", className: "button", text: "Move it 1 hour later", onClick: () => change(moveLater),
      }),
      el("button", { type: "button", className: "button", text: "Move it online", onClick: () => change(online) }),
      el("button", { type: "button", className: "button", text: "Drop an external", onClick: () => change(dropOne) }),
      el("button", { type: "button", className: "button", text: "Externals respond", onClick: () => change(respond) }),
    );
  }
  $("item-actions").replaceChildren(...actions);
}

function showWindow(call) {
  const windows = $("windows");
  if (call.api.startsWith("mailbox.displayNewAppointmentForm")) {
    const form = call.args[0] || {};
    windows.replaceChildren(el("div", { className: "window" },
      el("p", { className: "window__title", text: "New meeting, prefilled by the pane (nothing sent yet)" }),
      fields([
        ["Subject", form.subject || ""],
        ["Start", when(form.start)],
        ["End", when(form.end)],
        ["Location", form.location || ""],
        ["Required", addresses(form.requiredAttendees)],
        ["Optional", addresses(form.optionalAttendees)],
        ["Rooms", (form.resources || []).join(", ") || "none"],
        ["Body", form.body || ""],
      ]),
      el("div", { className: "row" }, el("button", {
        type: "button", className: "button button--primary", text: "Send (simulated)",
        onClick: () => send({ ...form, itemId: null }),
      }))));
  } else if (call.api.startsWith("mailbox.displayAppointmentForm")) {
    windows.replaceChildren(el("div", { className: "window" },
      el("p", { className: "window__title", text: `The external meeting, opened for editing (${call.args[0]})` }),
      el("p", {
        className: "note", text: "The organizer applies the CRM values the pane lists, then presses Send Update.",
      }),
      el("div", { className: "row" }, el("button", {
        type: "button", className: "button button--primary", text: "Apply the CRM's values and Send Update (simulated)",
        onClick: applyCrmValues,
      }))));
  }
}

async function send(meeting) {
  const activity = currentActivity();
  const itemId = meeting.itemId || `AAMkDemo/external-${activity.id}-${Date.now().toString(36)}+=`;
  const attendees = (list) => (list || []).map((a) => ({ ...a, appointmentResponse: "none" }));
  try {
    await api().recordLink(activity.id, { kind: "external", state: "sent", ewsItemId: itemId });
  } catch (error) {
    problem(`The backend did not record the sent meeting: ${error.message}`);
    return;
  }
  settings.externals[activity.id] = {
    itemId,
    subject: meeting.subject,
    start: dateOf(meeting.start).toISOString(),
    end: dateOf(meeting.end).toISOString(),
    location: meeting.location || "", requiredAttendees: attendees(meeting.requiredAttendees),
    optionalAttendees: attendees(meeting.optionalAttendees),
  };
  settings.meeting = "external";
  $("meeting").value = "external";
  save();
  await loadPane();
}

function moveLater(m) {
  m.start = new Date(dateOf(m.start).getTime() + 3600000).toISOString();
  m.end = new Date(dateOf(m.end).getTime() + 3600000).toISOString();
}

function online(m) {
  m.location = m.location === "Microsoft Teams Meeting" ? "" : "Microsoft Teams Meeting";
}

function dropOne(m) {
  if (m.optionalAttendees.length) m.optionalAttendees.pop();
  else m.requiredAttendees.pop();
}

function respond(m) {
  const answers = ["accepted", "declined", "tentative"];
  [...m.requiredAttendees, ...m.optionalAttendees].forEach((a, i) => { a.appointmentResponse = answers[i % 3]; });
}

async function change(edit) {
  const activity = currentActivity();
  const meeting = settings.externals[activity?.id];
  if (!meeting) return;
  edit(meeting);
  save();
  await loadPane();
}

/** What Send Update does in Outlook: the external meeting takes the CRM's time, place and externals. */
async function applyCrmValues() {
  const activity = currentActivity();
  const meeting = settings.externals[activity?.id];
  if (!meeting) return;
  const { data: draft } = await api().externalDraft(activity.id);
  const keep = (list) => list.map((a) => ({
    emailAddress: a.emailAddress, displayName: a.displayName,
    appointmentResponse: [...meeting.requiredAttendees, ...meeting.optionalAttendees]
      .find((old) => old.emailAddress.toLowerCase() === a.emailAddress.toLowerCase())?.appointmentResponse || "none",
  }));
  Object.assign(meeting, {
    start: draft.start, end: draft.end, location: draft.location,
    requiredAttendees: keep(draft.requiredAttendees), optionalAttendees: keep(draft.optionalAttendees),
  });
  save();
  await loadPane();
}

// ------------------------------------------------------------------- start

async function start() {
  $("organizer").replaceChildren(...ORGANIZERS.map((o) => el("option", {
    value: o.email, text: `${o.name} (${o.email})`,
  })));
  $("organizer").value = settings.organizer;
  $("language").value = settings.language;
  $("meeting").value = settings.meeting;

  $("organizer").addEventListener("change", async (event) => {
    settings.organizer = valueOf(event);
    save();
    await loadActivities();
    await loadPane();
  });
  $("language").addEventListener("change", (event) => { settings.language = valueOf(event); save(); loadPane(); });
  $("activity").addEventListener("change", (event) => {
    settings.activityId = Number(valueOf(event));
    save();
    loadPane();
  });
  $("meeting").addEventListener("change", (event) => { settings.meeting = valueOf(event); save(); loadPane(); });
  $("reload").addEventListener("click", () => loadPane());
  $("forget").addEventListener("click", () => { settings.externals = {}; save(); loadPane(); });

  try {
    await loadActivities();
    save();
    await loadPane();
  } catch (error) {
    problem(`The backend did not answer as expected (${error.message}). Is it running in development mode?`);
  }
}

start();
