/*
 * The send-time guard: crmbridge's Smart Alerts handler for Outlook's OnAppointmentSend event (Mailbox 1.12).
 *
 * One classic script, bundled by esbuild as an IIFE (scripts/lib/bundle.sh), because classic Outlook on Windows
 * runs event handlers in a JavaScript-only runtime: one file, no `import`, no DOM, no localStorage or cookies,
 * absolute URLs in fetch (docs-pr: docs/develop/event-based-activation.md "Event-based add-in limitations",
 * docs/testing/runtimes.md "JavaScript-only runtime"). Outlook on the web, new Outlook and Mac load the same file
 * from /taskpane/send-guard.html in a browser runtime. The backend serves it at /guard/send-guard.js with its
 * configuration first (`globalThis.crmbridgeGuardConfig`: the origin, the sign-in values), since the JavaScript-only
 * runtime has no page address to take the origin from.
 *
 * What it does, within SEND_BUDGET_MS (Outlook shows "taking longer than expected" after five seconds, docs-pr:
 * docs/outlook/onmessagesend-onappointmentsend-events.md "Long-running add-in operations"):
 *
 *   - a meeting without the add-in's crmActivityId custom property has nothing to do with the CRM: it is allowed
 *     at once, with no backend call;
 *   - otherwise the fields about to be sent go to POST /api/guard/check, which answers a verdict and field names
 *     only (the notes never reach this code): "block" (the internal meeting with outsiders: the manifest's
 *     SoftBlock, fix before sending), "prompt" (notes text in the customer meeting: PromptUser through
 *     sendModeOverride where Mailbox 1.14 has it) or "allow";
 *   - when the backend cannot answer in time, the send is allowed with a logged note, except for the internal
 *     meeting with an address outside the organizer's own domain, which is stopped with a warning that names it
 *     (PromptUser on Mailbox 1.14, where the organizer may send anyway). Why: README "Send-time guard".
 *
 * event.completed() is called exactly once on every path, including a failure of Office.js itself.
 */

const SEND_BUDGET_MS = 4000;
const NETWORK_MARGIN_MS = 400; // what is left for Outlook after the backend's answer or its timeout
const HANDLER_NAME = "onAppointmentSendHandler";
const PROPERTY_ACTIVITY = "crmActivityId";
const PROPERTY_KIND = "crmMeetingKind";
const MAX_MESSAGE = 500; // errorMessage limit (ref: office.smartalertseventcompletedoptions.yml)
const MAX_NAMED = 5;

const MESSAGES = {
  en: {
    outsiders: "This is the internal meeting of a CRM activity, and its body holds the internal notes. Remove "
      + "the attendees outside your organization before sending: {names}. Invite customers with the separate "
      + "customer meeting (CRM Bridge > CRM meeting).",
    notes: "The {fields} of this customer meeting holds text from the CRM activity's internal notes. Remove it "
      + "before sending.",
    notesSendAnyway: "The {fields} of this customer meeting holds text from the CRM activity's internal notes. "
      + "Remove it, or choose Send Anyway if the customer may read it.",
    unchecked: "CRM Bridge cannot reach the CRM to check this internal meeting, whose body holds the internal "
      + "notes. These attendees are outside your own domain: {names}. Remove them, or try again when CRM Bridge "
      + "can be reached.",
    uncheckedSendAnyway: "CRM Bridge cannot reach the CRM to check this internal meeting, whose body holds the "
      + "internal notes. These attendees are outside your own domain: {names}. Choose Send Anyway only if they "
      + "belong to your organization.",
    more: "and {count} more",
    and: " and ",
    fields: { subject: "subject", location: "location", body: "body" },
  },
  da: {
    outsiders: "Dette er det interne møde for en CRM-aktivitet, og brødteksten indeholder de interne noter. Fjern "
      + "deltagerne uden for din organisation, før du sender: {names}. Invitér kunder med det separate kundemøde "
      + "(CRM Bridge > CRM-møde).",
    notes: "Dette kundemødes {fields} indeholder tekst fra CRM-aktivitetens interne noter. Fjern den, før du "
      + "sender.",
    notesSendAnyway: "Dette kundemødes {fields} indeholder tekst fra CRM-aktivitetens interne noter. Fjern den, "
      + "eller vælg Send alligevel, hvis kunden må læse den.",
    unchecked: "CRM Bridge kan ikke nå CRM'et for at kontrollere dette interne møde, hvis brødtekst indeholder de "
      + "interne noter. Disse deltagere er uden for dit eget domæne: {names}. Fjern dem, eller prøv igen, når CRM "
      + "Bridge kan nås.",
    uncheckedSendAnyway: "CRM Bridge kan ikke nå CRM'et for at kontrollere dette interne møde, hvis brødtekst "
      + "indeholder de interne noter. Disse deltagere er uden for dit eget domæne: {names}. Vælg kun Send "
      + "alligevel, hvis de hører til din organisation.",
    more: "og {count} mere",
    and: " og ",
    fields: { subject: "emne", location: "placering", body: "brødtekst" },
  },
};

// ------------------------------------------------------------------ Office.js, as promises

const office = () => globalThis.Office;
const mailbox = () => office().context.mailbox;

function note(message) {
  // The event runtime's console goes to Outlook's runtime log (docs-pr: docs/testing/runtime-logging.md).
  if (typeof console !== "undefined") console.warn(`crmbridge send guard: ${message}`);
}

function supports(version) {
  try {
    return Boolean(office().context.requirements.isSetSupported("Mailbox", version));
  } catch {
    return false;
  }
}

function callAsync(name, invoke) {
  return new Promise((resolve, reject) => {
    invoke((result) => {
      if (result && result.status === office().AsyncResultStatus.Failed) {
        reject(new Error(`${name}: ${(result.error && result.error.message) || "failed"}`));
      } else {
        resolve(result ? result.value : undefined);
      }
    });
  });
}

function readItem(item) {
  const addresses = (list) => (Array.isArray(list) ? list.map((a) => String((a && a.emailAddress) || "")) : []);
  return Promise.all([
    callAsync("subject", (done) => item.subject.getAsync(done)),
    callAsync("location", (done) => item.location.getAsync(done)),
    callAsync("body", (done) => item.body.getAsync(office().CoercionType.Text, done)),
    callAsync("requiredAttendees", (done) => item.requiredAttendees.getAsync(done)),
    callAsync("optionalAttendees", (done) => item.optionalAttendees.getAsync(done)),
    // A meeting that was never saved has no id yet (getItemIdAsync fails): it is checked all the same.
    callAsync("getItemIdAsync", (done) => item.getItemIdAsync(done)).catch(() => null),
  ]).then(([subject, location, body, required, optional, itemId]) => ({
    subject: String(subject || ""),
    location: String(location || ""),
    body: String(body || ""),
    attendees: [...addresses(required), ...addresses(optional)],
    itemId: itemId || null,
  }));
}

// ------------------------------------------------------------------ the backend

class Unreachable extends Error {}

function config() {
  const value = globalThis.crmbridgeGuardConfig;
  if (!value || typeof value.origin !== "string" || !/^https?:\/\/[^/]+$/.test(value.origin)) {
    throw new Unreachable("no backend origin in crmbridgeGuardConfig");
  }
  return value;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Unreachable(`${what}: timed out`)), ms); }),
  ]).then((value) => { clearTimeout(timer); return value; }, (error) => { clearTimeout(timer); throw error; });
}

async function post(url, body, token, ms) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await withTimeout(
      fetch(url, { method: "POST", headers, body: JSON.stringify(body), signal: controller && controller.signal }),
      ms, url,
    );
  } catch (error) {
    if (controller) controller.abort();
    throw error instanceof Unreachable ? error : new Unreachable(`${url}: ${error && error.message}`);
  }
  if (response.status >= 500 || response.status === 413 || response.status === 429) {
    throw new Unreachable(`${url}: HTTP ${response.status}`);
  }
  const data = await withTimeout(response.json().catch(() => null), ms, url);
  return { status: response.status, data };
}

/** An access token for the API: Office's single sign-on as documented for event-based add-ins, or a development
 * token where the backend has no Entra app (docs-pr: docs/develop/use-sso-in-event-based-activation.md). */
async function accessToken(settings, ms) {
  if (!settings.clientId) {
    if (!settings.devTokens) throw new Unreachable("no sign-in configured");
    const email = mailbox().userProfile.emailAddress;
    const { status, data } = await post(`${settings.origin}/dev/token`, { email }, null, ms);
    if (status !== 200 || !data || !data.token) throw new Unreachable(`no development token (HTTP ${status})`);
    return data.token;
  }
  // OfficeRuntime.auth works in every version with event-based activation; Office.auth only in some builds.
  const auth = (globalThis.OfficeRuntime && globalThis.OfficeRuntime.auth) || office().auth;
  if (!auth || typeof auth.getAccessToken !== "function") throw new Unreachable("no single sign-on here");
  // No prompts: the event runtime shows no UI; an organizer who never signed in is signed in by the taskpane.
  try {
    return await withTimeout(auth.getAccessToken({ allowSignInPrompt: false, allowConsentPrompt: false }), ms,
      "sign-in");
  } catch (error) {
    throw error instanceof Unreachable ? error : new Unreachable(`sign-in failed (${error && (error.code || error.message)})`);
  }
}

// ------------------------------------------------------------------ messages

function language() {
  const tag = String(office().context.displayLanguage || "").toLowerCase();
  return tag === "da" || tag.startsWith("da-") ? "da" : "en";
}

function list(items, words) {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")}${words.and}${items[items.length - 1]}`;
}

/** The message with {names} filled in, as many names as fit in Outlook's 500 characters. */
function withNames(template, names, words) {
  for (let shown = Math.min(names.length, MAX_NAMED); shown >= 1; shown -= 1) {
    const rest = names.length - shown;
    const listed = rest ? [...names.slice(0, shown), words.more.replace("{count}", String(rest))] : names;
    const message = template.replace("{names}", list(listed, words));
    if (message.length <= MAX_MESSAGE) return message;
  }
  return template.replace("{names}", words.more.replace("{count}", String(names.length))).slice(0, MAX_MESSAGE);
}

export function messageFor(kind, { names = [], fields = [], sendAnyway = false, lang = "en" } = {}) {
  const words = MESSAGES[lang] || MESSAGES.en;
  if (kind === "outsiders") return withNames(words.outsiders, names, words);
  if (kind === "unchecked") return withNames(sendAnyway ? words.uncheckedSendAnyway : words.unchecked, names, words);
  const named = list(fields.map((field) => words.fields[field] || field), words);
  return (sendAnyway ? words.notesSendAnyway : words.notes).replace("{fields}", named).slice(0, MAX_MESSAGE);
}

// ------------------------------------------------------------------ the rules

const allow = () => ({ allowEvent: true });

function domainOf(address) {
  const at = String(address).lastIndexOf("@");
  return at < 0 ? "" : String(address).slice(at + 1).toLowerCase();
}

/** Stop a send: PromptUser through sendModeOverride where Mailbox 1.14 has it (ref:
 * office.smartalertseventcompletedoptions.yml sendModeOverride), else the manifest's send mode. */
function stop(message, { sendAnyway = false } = {}) {
  const options = { allowEvent: false, errorMessage: message };
  if (sendAnyway) options.sendModeOverride = office().MailboxEnums.SendModeOverride.PromptUser;
  return options;
}

function fromVerdict(data, lang) {
  if (!data || data.verdict === "allow") return allow();
  if (data.verdict === "block") return stop(messageFor("outsiders", { names: data.outsiders || [], lang }));
  if (data.verdict === "prompt") {
    const sendAnyway = supports("1.14");
    return stop(messageFor("notes", { fields: data.fields || [], sendAnyway, lang }), { sendAnyway });
  }
  note(`unknown verdict ${JSON.stringify(data.verdict)}; allowed`);
  return allow();
}

/** When the backend cannot answer: allow, except the internal meeting with addresses outside the organizer's own
 * domain (the only organization domain known here). */
function withoutBackend(reason, kind, meeting, lang) {
  const own = domainOf(mailbox().userProfile.emailAddress);
  const foreign = meeting ? meeting.attendees.filter((a) => domainOf(a) !== own) : [];
  if (kind === "internal" && foreign.length) {
    note(`${reason}; internal meeting with ${foreign.length} address(es) outside ${own}: stopped`);
    const sendAnyway = supports("1.14");
    return stop(messageFor("unchecked", { names: foreign, sendAnyway, lang }), { sendAnyway });
  }
  note(`${reason}; allowed unchecked`);
  return allow();
}

async function decide(deadline) {
  const item = mailbox().item;
  const props = await callAsync("loadCustomPropertiesAsync", (done) => item.loadCustomPropertiesAsync(done));
  const activityId = String(props.get(PROPERTY_ACTIVITY) || "").trim();
  if (!/^[1-9]\d{0,9}$/.test(activityId)) return allow(); // not a CRM meeting: no backend call
  // "external-draft": the customer appointment the backend put in the calendar with nobody invited (sync.py).
  const stated = props.get(PROPERTY_KIND) || null;
  const kind = stated === "external-draft" ? "external" : stated;
  const lang = language();
  const meeting = await readItem(item);
  const left = () => deadline - Date.now() - NETWORK_MARGIN_MS;
  try {
    const settings = config();
    const token = await accessToken(settings, left());
    const request = { activityId: Number(activityId), meetingKind: kind === "internal" || kind === "external" ? kind : null,
      itemId: meeting.itemId, subject: meeting.subject, location: meeting.location, body: meeting.body,
      attendees: meeting.attendees };
    const { status, data } = await post(`${settings.origin}/api/guard/check`, request, token, left());
    if (status === 200) return fromVerdict(data, lang);
    throw new Unreachable(`the check answered HTTP ${status}`);
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    return withoutBackend(error.message, kind, meeting, lang);
  }
}

export function onAppointmentSendHandler(event) {
  const deadline = Date.now() + SEND_BUDGET_MS;
  let finished = false;
  const finish = (options) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    event.completed(options);
  };
  const timer = setTimeout(() => {
    note("no answer within the time Outlook allows; allowed unchecked");
    finish(allow());
  }, SEND_BUDGET_MS - NETWORK_MARGIN_MS / 2);
  decide(deadline).then(finish, (error) => {
    note(`could not check (${error && error.message}); allowed unchecked`);
    finish(allow());
  });
}

if (globalThis.Office && Office.actions && typeof Office.actions.associate === "function") {
  Office.actions.associate(HANDLER_NAME, onAppointmentSendHandler);
}
