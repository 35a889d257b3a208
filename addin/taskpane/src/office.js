/*
 * The Office.js calls the taskpane makes, as promises with a timeout each. Every field may be missing: Outlook has
 * returned undefined attendees (OfficeDev/office-js#5365) and taken seconds over one property (#4917), so fields
 * are read in parallel and each read settles on its own, with its value or its error.
 */

export const TIMEOUT_MS = 5000;
const MAX_RECIPIENTS_PER_CALL = 100;

export class OfficeError extends Error {
  /**
   * `code`: "timeout", "failed", "unsupported", "too-many" or "cancelled" (the organizer closed a sign-in);
   * `detail`: Outlook's own words, if any; `officeCode`: Office's numeric error code, if it gave one.
   */
  constructor(code, operation, detail = "", officeCode = null) {
    super(`${operation}: ${code}${detail ? ` (${detail})` : ""}`);
    this.name = "OfficeError";
    this.code = code;
    this.operation = operation;
    this.detail = detail;
    this.officeCode = officeCode;
  }
}

const office = () => globalThis.Office;
const mailbox = () => office()?.context?.mailbox;

export function isLoaded() {
  return typeof office()?.onReady === "function";
}

/** Office.onReady, bounded: a host that never answers is reported as no host at all. */
export function whenReady(ms = 10000) {
  return withTimeout(Promise.resolve(office().onReady()), "onReady", ms).catch(() => ({ host: null }));
}

export function isOutlook(info) {
  return Boolean(info?.host) && info.host === (office()?.HostType?.Outlook ?? "Outlook");
}

export function displayLanguage() {
  return office()?.context?.displayLanguage || "";
}

export function userEmail() {
  return mailbox()?.userProfile?.emailAddress || "";
}

export function supports(version, set = "Mailbox") {
  try {
    return Boolean(office()?.context?.requirements?.isSetSupported(set, version));
  } catch {
    return false;
  }
}

/**
 * The open appointment as Office.js types it: read form for attendees, compose form for the organizer. The code
 * branches on the mode through isCompose, so a compose-only call on a read item (or the reverse) fails the
 * type-check against @types/office-js.
 * @typedef {Office.AppointmentRead | Office.AppointmentCompose} Appointment
 */

/** @returns {Appointment | null} */
export function currentItem() {
  return mailbox()?.item ?? null;
}

export function isAppointment(item) {
  return item?.itemType === (office()?.MailboxEnums?.ItemType?.Appointment ?? "appointment");
}

/** "compose" when the fields are objects with getAsync (the organizer editing), else "read". */
/**
 * @param {Appointment} item
 * @returns {item is Office.AppointmentCompose}
 */
export function isCompose(item) {
  const compose = /** @type {Office.AppointmentCompose} */ (item);
  return typeof compose?.subject?.getAsync === "function" || typeof compose?.start?.getAsync === "function";
}

/**
 * The open item when Outlook shows it in compose form, for the actions that only exist there.
 * @returns {Office.AppointmentCompose}
 */
export function composeItem() {
  const item = currentItem();
  if (!item || !isCompose(item)) throw new OfficeError("unsupported", "compose form");
  return item;
}

/** @param {Appointment} item */
export function modeOf(item) {
  return isCompose(item) ? "compose" : "read";
}

export function onItemChanged(handler) {
  const eventType = office()?.EventType?.ItemChanged;
  if (!eventType || typeof mailbox()?.addHandlerAsync !== "function") return;
  try {
    mailbox().addHandlerAsync(eventType, handler);
  } catch {
    // Outlook without ItemChanged (Mailbox < 1.5): the pane simply keeps showing the item it opened on.
  }
}

/** The organizer's wall-clock time of an instant (a Date whose UTC fields are local), as Outlook sees it. */
export function wallClock(date) {
  const convert = mailbox()?.convertToLocalClientTime;
  if (typeof convert === "function") {
    try {
      const t = convert.call(mailbox(), date);
      if (t && Number.isFinite(t.year)) {
        return new Date(Date.UTC(t.year, t.month, t.date, t.hours, t.minutes, t.seconds || 0));
      }
    } catch {
      // fall through to the browser's zone
    }
  }
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000);
}

// -------------------------------------------------------------- plumbing

function withTimeout(promise, operation, ms = TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new OfficeError("timeout", operation)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function failed(result) {
  return result?.status === (office()?.AsyncResultStatus?.Failed ?? "failed");
}

/** Run an Office.js callback API as a promise: `invoke(done)` must hand `done` to the API as its callback. */
function callAsync(operation, invoke, ms = TIMEOUT_MS) {
  const call = new Promise((resolve, reject) => {
    try {
      invoke((result) => {
        if (failed(result)) {
          reject(new OfficeError("failed", operation, result.error?.message || result.error?.name || ""));
        } else {
          resolve(result?.value);
        }
      });
    } catch (error) {
      reject(new OfficeError("failed", operation, String(error?.message ?? error)));
    }
  });
  return withTimeout(call, operation, ms);
}

/** A property read: a plain value in read mode, an object with getAsync in compose mode, or nothing at all. */
function readValue(operation, read) {
  let value;
  try {
    value = read();
  } catch {
    return Promise.resolve(undefined);
  }
  if (value == null) return Promise.resolve(undefined);
  if (typeof value.getAsync === "function") return callAsync(operation, (done) => value.getAsync(done));
  return Promise.resolve(value);
}

function asDate(value) {
  const date = value instanceof Date ? value : (typeof value === "string" ? new Date(value) : null);
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

function asDetails(value) {
  if (!value || typeof value !== "object" || !value.emailAddress) return undefined;
  return {
    emailAddress: String(value.emailAddress),
    displayName: value.displayName ? String(value.displayName) : "",
    appointmentResponse: value.appointmentResponse ? String(value.appointmentResponse) : undefined,
  };
}

function asDetailsList(value) {
  return Array.isArray(value) ? value.map(asDetails).filter(Boolean) : undefined;
}

function settle(operation, read) {
  return Promise.resolve()
    .then(read)
    .then(
      (value) => ({ value }),
      (error) => ({
        error: error instanceof OfficeError ? error : new OfficeError("failed", operation, String(error)),
      }),
    );
}

function loadCustomProperties(item) {
  if (typeof item?.loadCustomPropertiesAsync !== "function") {
    return Promise.reject(new OfficeError("unsupported", "loadCustomPropertiesAsync"));
  }
  return callAsync("loadCustomPropertiesAsync", (done) => item.loadCustomPropertiesAsync(done));
}

/**
 * The id of a compose item: null while it has never been saved (getItemIdAsync fails until then), undefined when
 * this Outlook cannot tell (Mailbox < 1.8).
 */
/** @param {Office.AppointmentCompose} item */
function composeItemId(item) {
  if (!supports("1.8") || typeof item.getItemIdAsync !== "function") return Promise.resolve(undefined);
  return callAsync("getItemIdAsync", (done) => item.getItemIdAsync(done)).then(
    (id) => id || null,
    (error) => (error.code === "timeout" ? Promise.reject(error) : null),
  );
}

// ----------------------------------------------------------------- reads

export const CUSTOM_PROPERTIES = { activityId: "crmActivityId", meetingKind: "crmMeetingKind" };

/**
 * Start every read of the open meeting at once. Returns {name: Promise<{value} | {error}>}; no promise rejects.
 */
/** @param {Appointment} item */
export function readMeeting(item) {
  const compose = isCompose(item);
  const reads = {
    subject: () => readValue("subject", () => item.subject),
    start: () => readValue("start", () => item.start).then(asDate),
    end: () => readValue("end", () => item.end).then(asDate),
    location: () => readValue("location", () => item.location).then((v) => (v === undefined ? v : String(v))),
    requiredAttendees: () => readValue("requiredAttendees", () => item.requiredAttendees).then(asDetailsList),
    optionalAttendees: () => readValue("optionalAttendees", () => item.optionalAttendees).then(asDetailsList),
    organizer: () => (compose && !supports("1.7") ? undefined
      : readValue("organizer", () => item.organizer).then(asDetails)),
    itemId: () => (isCompose(item) ? composeItemId(item) : item.itemId || undefined),
    customProperties: () => loadCustomProperties(item).then((props) => ({
      activityId: props?.get(CUSTOM_PROPERTIES.activityId) || null,
      meetingKind: props?.get(CUSTOM_PROPERTIES.meetingKind) || null,
    })),
  };
  return Object.fromEntries(Object.entries(reads).map(([name, read]) => [name, settle(name, read)]));
}

// Office.js appointmentResponse values, as Microsoft Graph names them.
const RESPONSES = {
  none: "none", organizer: "organizer", tentative: "tentativelyAccepted", accepted: "accepted", declined: "declined",
};

/**
 * The open meeting as a Microsoft Graph event, for the backend to compare with the CRM. Null unless every field
 * the comparison needs was read: a missing attendee list would look like "all externals removed".
 */
export function buildSnapshot(meeting, organizerFallback = "") {
  const { start, end, location, requiredAttendees } = meeting;
  if (!(start instanceof Date) || !(end instanceof Date)) return null;
  if (typeof location !== "string" || !Array.isArray(requiredAttendees)) return null;
  const allDay = isWholeDays(start, end);
  const attendee = (type) => (details) => ({
    emailAddress: { address: details.emailAddress, name: details.displayName || "" },
    type,
    status: { response: RESPONSES[details.appointmentResponse] || "none" },
  });
  // An all-day meeting is the organizer's midnight to midnight: sent as Graph shows all-day events, floating dates.
  const time = (date) => (allDay
    ? { dateTime: `${wallClock(date).toISOString().slice(0, 10)}T00:00:00`, timeZone: "UTC" }
    : { dateTime: date.toISOString(), timeZone: "UTC" });
  const snapshot = {
    start: time(start),
    end: time(end),
    isAllDay: allDay,
    location: { displayName: location },
    isCancelled: false, // Office.js cannot tell; the backend learns cancellations from Graph
    attendees: [
      ...requiredAttendees.map(attendee("required")),
      ...(meeting.optionalAttendees || []).map(attendee("optional")),
    ],
    organizer: { emailAddress: { address: meeting.organizer?.emailAddress || organizerFallback } },
  };
  return snapshot;
}

/**
 * Whether a meeting runs from the organizer's midnight to a later midnight. Office.js has no released all-day
 * field (isAllDayEvent is a Mailbox preview API, office.isalldayevent.yml), so this is how the pane tells.
 */
export function isWholeDays(start, end) {
  if (!(start instanceof Date) || !(end instanceof Date) || end <= start) return false;
  const midnight = (date) => wallClock(date).toISOString().slice(11, 19) === "00:00:00";
  return midnight(start) && midnight(end);
}

// ---------------------------------------------------------------- writes

function recipients(list) {
  return (list || []).map((a) => ({ emailAddress: a.emailAddress, displayName: a.displayName || a.emailAddress }));
}

/**
 * Read mode: open a new meeting form prefilled from the external draft. Nothing is sent: with attendees the form
 * shows a Send button, and only the organizer presses it. The body is plain text (#1028, #1300).
 */
export async function openNewAppointment(draft) {
  const required = recipients(draft.requiredAttendees);
  const optional = recipients(draft.optionalAttendees);
  const resources = (draft.resources || []).map((r) => r.emailAddress);
  if (required.length > MAX_RECIPIENTS_PER_CALL || optional.length > MAX_RECIPIENTS_PER_CALL) {
    throw new OfficeError("too-many", "displayNewAppointmentForm");
  }
  const parameters = {
    requiredAttendees: required,
    optionalAttendees: optional,
    resources,
    start: new Date(draft.start),
    end: new Date(draft.end),
    location: draft.location || "",
    subject: draft.subject || "",
    body: draft.body || "",
  };
  const mb = mailbox();
  if (supports("1.9") && typeof mb?.displayNewAppointmentFormAsync === "function") {
    await callAsync("displayNewAppointmentFormAsync", (done) => mb.displayNewAppointmentFormAsync(parameters, done));
    return;
  }
  if (typeof mb?.displayNewAppointmentForm !== "function") {
    throw new OfficeError("unsupported", "displayNewAppointmentForm");
  }
  try {
    mb.displayNewAppointmentForm(parameters);
  } catch (error) {
    throw new OfficeError("failed", "displayNewAppointmentForm", String(error?.message ?? error));
  }
}

/** The EWS id of a REST (Graph) id, as Office.js displayAppointmentForm wants it (Mailbox 1.3). */
export function ewsIdOf(restId) {
  const mb = mailbox();
  if (!supports("1.3") || typeof mb?.convertToEwsId !== "function") {
    throw new OfficeError("unsupported", "convertToEwsId");
  }
  return mb.convertToEwsId(restId, office()?.MailboxEnums?.RestVersion?.v2_0 ?? "v2.0");
}

/** Open an existing meeting (by EWS id) in its own Outlook window: compose for its organizer. */
export async function openExistingAppointment(itemId) {
  const mb = mailbox();
  if (supports("1.9") && typeof mb?.displayAppointmentFormAsync === "function") {
    await callAsync("displayAppointmentFormAsync", (done) => mb.displayAppointmentFormAsync(itemId, done));
    return;
  }
  if (typeof mb?.displayAppointmentForm !== "function") {
    throw new OfficeError("unsupported", "displayAppointmentForm");
  }
  try {
    mb.displayAppointmentForm(itemId);
  } catch (error) {
    throw new OfficeError("failed", "displayAppointmentForm", String(error?.message ?? error));
  }
}

function setField(name, field, value, options) {
  if (typeof field?.setAsync !== "function") return Promise.reject(new OfficeError("unsupported", `${name}.setAsync`));
  return callAsync(`${name}.setAsync`, (done) => (options ? field.setAsync(value, options, done)
    : field.setAsync(value, done)));
}

/** Replace a recipient list: setAsync with the first 100, addAsync for each further 100 (Outlook's per-call limit). */
async function setRecipients(name, field, list) {
  const all = recipients(list);
  await setField(name, field, all.slice(0, MAX_RECIPIENTS_PER_CALL));
  for (let i = MAX_RECIPIENTS_PER_CALL; i < all.length; i += MAX_RECIPIENTS_PER_CALL) {
    const chunk = all.slice(i, i + MAX_RECIPIENTS_PER_CALL);
    await callAsync(`${name}.addAsync`, (done) => field.addAsync(chunk, done));
  }
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Plain text as HTML: every character escaped, line breaks kept. */
export function textToHtml(text) {
  return String(text || "")
    .replace(/[&<>"']/g, (c) => ESCAPES[c])
    .split(/\r\n|\r|\n/)
    .join("<br>");
}

/** @param {Office.AppointmentCompose} item */
async function setBody(item, text) {
  const body = item.body;
  if (!supports("1.3") || typeof body?.getTypeAsync !== "function") {
    throw new OfficeError("unsupported", "body.getTypeAsync");
  }
  const type = await callAsync("body.getTypeAsync", (done) => body.getTypeAsync(done));
  const html = type === (office()?.CoercionType?.Html ?? "html");
  const coercionType = html ? (office()?.CoercionType?.Html ?? "html") : (office()?.CoercionType?.Text ?? "text");
  await setField("body", body, html ? textToHtml(text) : String(text || ""), { coercionType });
}

/**
 * Compose mode: write the draft into the open meeting, one field after another (start before end: Outlook keeps
 * the duration when the start moves). `withBody: false` leaves the organizer's text alone (for an update).
 */
/**
 * @param {Office.AppointmentCompose} item
 * @param {any} draft
 * @param {{withBody?: boolean}} [options]
 */
export async function fillCurrentItem(item, draft, { withBody = true } = {}) {
  await setField("subject", item.subject, draft.subject || "");
  await setField("start", item.start, new Date(draft.start));
  await setField("end", item.end, new Date(draft.end));
  await setField("location", item.location, draft.location || "");
  await addMissingAttendees(item, draft);
  if (withBody) await setBody(item, draft.body);
}

/** @param {Office.AppointmentCompose} item */
async function currentAddresses(item) {
  const read = (name) => readValue(name, () => item[name]).then((list) => asDetailsList(list) || []);
  const [required, optional] = await Promise.all([read("requiredAttendees"), read("optionalAttendees")]);
  return new Set([...required, ...optional].map((a) => a.emailAddress.toLowerCase()));
}

/**
 * Compose mode: add the draft's attendees that the meeting does not have yet, keeping everyone the organizer
 * added in Outlook (addAsync, at most 100 per call). Never saves: on an existing appointment a save would mail
 * the added attendees at once (ref: office.appointmentcompose.yml, saveAsync); the organizer presses Send.
 * Returns how many were added.
 */
/** @param {Office.AppointmentCompose} item */
export async function addMissingAttendees(item, draft) {
  const present = await currentAddresses(item);
  let added = 0;
  for (const [name, list] of [["requiredAttendees", draft.requiredAttendees], ["optionalAttendees",
    draft.optionalAttendees]]) {
    const missing = recipients(list).filter((a) => !present.has(a.emailAddress.toLowerCase()));
    for (let i = 0; i < missing.length; i += MAX_RECIPIENTS_PER_CALL) {
      const chunk = missing.slice(i, i + MAX_RECIPIENTS_PER_CALL);
      const field = item[name];
      if (typeof field?.addAsync !== "function") throw new OfficeError("unsupported", `${name}.addAsync`);
      await callAsync(`${name}.addAsync`, (done) => field.addAsync(chunk, done));
    }
    added += missing.length;
  }
  return added;
}

/** Compose mode: take these addresses off the meeting (only when the organizer asked). Never saves. */
/** @param {Office.AppointmentCompose} item */
export async function removeAttendees(item, addresses) {
  const gone = new Set(addresses.map((a) => a.toLowerCase()));
  for (const name of ["requiredAttendees", "optionalAttendees"]) {
    const list = asDetailsList(await readValue(name, () => item[name])) || [];
    const kept = list.filter((a) => !gone.has(a.emailAddress.toLowerCase()));
    if (kept.length !== list.length) await setRecipients(name, item[name], kept);
  }
}

/**
 * Compose mode: call `handler` when the organizer changes the time, the attendees or the location in the form
 * (item.addHandlerAsync: AppointmentTimeChanged and RecipientsChanged from Mailbox 1.7, EnhancedLocationsChanged
 * from 1.8). Outlook raises nothing for a drag in the calendar (DESIGN 4), so the pane also re-reads on open.
 */
/** @param {Office.AppointmentCompose} item */
export function onItemEdited(item, handler) {
  const types = /** @type {Partial<typeof Office.EventType>} */ (office()?.EventType ?? {});
  const wanted = [["1.7", types.AppointmentTimeChanged], ["1.7", types.RecipientsChanged],
    ["1.8", types.EnhancedLocationsChanged]];
  if (typeof item?.addHandlerAsync !== "function") return;
  for (const [version, type] of wanted) {
    if (!type || !supports(version)) continue;
    try {
      item.addHandlerAsync(type, handler);
    } catch {
      // this Outlook cannot tell the pane: the organizer's next open re-reads the meeting
    }
  }
}

/** Set custom properties on the item and save them (they travel with the item, never to recipients). */
export async function saveCustomProperties(item, values) {
  const props = await loadCustomProperties(item);
  for (const [name, value] of Object.entries(values)) props.set(name, String(value));
  await callAsync("customProperties.saveAsync", (done) => props.saveAsync(done));
}

/**
 * Save a never-saved compose item (it has no draft state, so no invitation goes out) and return its id:
 * getItemIdAsync after the save where Mailbox 1.8 has it, else what saveAsync returned.
 */
/** @param {Office.AppointmentCompose} item */
export async function saveNewItem(item) {
  if (!supports("1.3") || typeof item.saveAsync !== "function") throw new OfficeError("unsupported", "saveAsync");
  const saved = await callAsync("saveAsync", (done) => item.saveAsync(done));
  const id = await composeItemId(item).catch(() => undefined);
  return id || saved || null;
}

// --------------------------------------------------------------- sign-in

/** Nested app authentication: Outlook itself hands MSAL.js the tokens (docs-pr: enable-nested-app-authentication). */
export function supportsNestedAppAuth() {
  return supports("1.1", "NestedAppAuth");
}

export function supportsLegacySso() {
  return supports("1.3", "IdentityAPI") && typeof office()?.auth?.getAccessToken === "function";
}

const SIGN_IN_CANCELLED = 13002; // getAccessToken: the organizer cancelled signing in or consent

/**
 * Legacy Office single sign-on: Office's access token for the add-in's own API (the manifest's WebApplicationInfo
 * names it; Office asks for its access_as_user scope). `authChallenge` passes Entra's claims challenge on.
 * No timeout: Office may be waiting for the organizer to sign in.
 */
export async function legacyAccessToken({ authChallenge = null } = {}) {
  const options = { allowSignInPrompt: true, allowConsentPrompt: true };
  if (authChallenge) options.authChallenge = authChallenge;
  try {
    return await office().auth.getAccessToken(options);
  } catch (error) {
    const code = Number(error?.code) || null;
    throw new OfficeError(code === SIGN_IN_CANCELLED ? "cancelled" : "failed", "auth.getAccessToken",
      String(error?.message || error?.name || code || ""), code);
  }
}

export function supportsDialog() {
  return supports("1.1", "DialogApi") && typeof office()?.context?.ui?.displayDialogAsync === "function";
}

const DIALOG_CLOSED = 12006; // the organizer closed the dialog

/**
 * Open `url` (a page of this add-in) in an Office dialog and resolve with the first message it sends with
 * messageParent; the dialog is closed then. A message from another origin (DialogOrigin 1.2 tells) is ignored.
 */
export function dialogMessage(url, { height = 60, width = 30 } = {}) {
  const enums = /** @type {Partial<typeof Office.EventType>} */ (office()?.EventType ?? {});
  return new Promise((resolve, reject) => {
    const opened = (result) => {
      if (failed(result)) {
        const code = Number(result.error?.code) || null;
        reject(new OfficeError("failed", "displayDialogAsync", String(result.error?.message || code || ""), code));
        return;
      }
      const dialog = result.value;
      dialog.addEventHandler(enums.DialogMessageReceived ?? "dialogMessageReceived", (arg) => {
        if (arg?.origin && arg.origin !== window.location.origin) return;
        dialog.close();
        resolve(String(arg?.message ?? ""));
      });
      dialog.addEventHandler(enums.DialogEventReceived ?? "dialogEventReceived", (arg) => {
        const code = Number(arg?.error) || null;
        reject(new OfficeError(code === DIALOG_CLOSED ? "cancelled" : "failed", "dialog", String(code ?? ""), code));
      });
    };
    try {
      office().context.ui.displayDialogAsync(url, { height, width }, opened);
    } catch (error) {
      reject(new OfficeError("failed", "displayDialogAsync", String(error?.message ?? error)));
    }
  });
}
