/*
 * A small fake of the Office.js surface crmbridge's taskpane uses, for the browser tests and the development
 * preview. It is loaded INSTEAD of https://appsforoffice.microsoft.com/lib/1/hosted/office.js: the tests serve it
 * for that URL (Playwright's page.route), the preview page writes it into the taskpane's iframe. The production
 * taskpane.html never refers to this file.
 *
 * Configured by a JSON scenario, from `window.__officeScenario` (set before this script runs) or, inside a frame,
 * from the parent page by postMessage({type: "office-fake:scenario", scenario}) after this script says
 * {type: "office-fake:hello"}. Scenario fields (all optional):
 *   displayLanguage  "en-US" | "da-DK" | ...
 *   host             "Outlook" (anything else tests the host check)
 *   userProfile      {emailAddress, displayName, timeZone}  timeZone: an IANA name used by convertToLocalClientTime
 *   requirements     {"Mailbox": "1.13"}  the highest version supported per requirement set
 *   item             null (nothing selected) or {
 *                      mode: "read" | "compose", itemType: "appointment", itemId (EWS; compose: set once saved),
 *                      subject, start, end (ISO strings), location,
 *                      requiredAttendees / optionalAttendees: [{emailAddress, displayName, appointmentResponse}],
 *                      organizer: {emailAddress, displayName}, bodyType: "html" | "text", body,
 *                      customProperties: {name: value}, missing: ["requiredAttendees", ...]  (left undefined)
 *                    }
 *   holdReads        true: asynchronous reads wait until __officeFake.release() (to observe loading states)
 *   requirements may also name the sign-in sets: {"NestedAppAuth": "1.1", "IdentityAPI": "1.3", "DialogApi": "1.2"}
 *   nestedAppAuth    {silent: OUTCOME, popup: OUTCOME}: Outlook's broker for MSAL.js (window.nestedAppAuthBridge),
 *                    answering GetToken (silent) and GetTokenPopup; OUTCOME is {accessToken, expiresIn} or
 *                    {error: "USER_INTERACTION_REQUIRED" | "USER_CANCEL" | ..., code}. Its ID token is
 *                    __officeFake.idToken, which must never reach the backend.
 *   legacyAuth       OUTCOME for Office.auth.getAccessToken: {accessToken} or {error: 13012}
 *   dialog           what the page opened by Office.context.ui.displayDialogAsync does: {message: {...}} (sent
 *                    to the pane as JSON by messageParent) or {event: 12006} (closed by the organizer)
 *   hangs            ["item.loadCustomPropertiesAsync", ...]  calls whose callback never comes (a stuck Outlook)
 *   failures         {"item.saveAsync": "message", ...}  calls that fail with that message
 *
 * Every call is recorded in `window.__officeCalls` as {api, args}, with Dates written as {"$date": iso}; inside a
 * frame each call is also posted to the parent as {type: "office-fake:call", call, item}.
 *
 * As strict as Outlook, each rule with its source (ref: OfficeDev/office-js-docs-reference, docs-pr:
 * OfficeDev/office-js-docs-pr); where the docs are silent the fake refuses:
 * - The organizer's own meeting opens in compose; read form is for attendees (docs-pr compose-scenario.md:
 *   "Viewing or editing an existing appointment, or meeting item in which the user is the organizer"). A scenario
 *   with a read-mode item organized by the signed-in user is refused at once.
 * - isAllDayEvent is a Mailbox preview API (ref office.isalldayevent.yml): not offered in either mode.
 * - item.itemId exists in read mode only (ref office.appointmentread.yml); getItemIdAsync is compose, Mailbox 1.8,
 *   and fails until the item was saved (ref office.appointmentcompose.yml).
 * - displayNewAppointmentForm and displayNewAppointmentFormAsync: applicable mode Read (ref office.mailbox.yml);
 *   called in compose they fail. displayAppointmentForm(Async) works in both (Async: Mailbox 1.9).
 * - convertToEwsId and convertToRestId: Mailbox 1.3 (ref office.mailbox.yml).
 * - Recipients setAsync and addAsync take at most 100 per call (ref office.recipients.yml).
 * - saveAsync on an appointment that already exists sends the added attendees an invitation and the removed ones
 *   a cancellation at once (ref office.appointmentcompose.yml, saveAsync remarks); a never-saved appointment saves
 *   without mail (DESIGN 2). Those mails are recorded in `__officeFake.mails` so a test can assert the pane
 *   never caused one.
 * - item.addHandlerAsync, compose, Mailbox 1.7: AppointmentTimeChanged and RecipientsChanged (1.7),
 *   EnhancedLocationsChanged (1.8) (ref office.appointmentcompose.yml, addHandlerAsync);
 *   `__officeFake.organizerEdits(changes)` plays the organizer editing the form and raises them.
 */
(function () {
  "use strict";

  const calls = [];
  window.__officeCalls = calls;

  const Enums = {
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    CoercionType: { Text: "text", Html: "html" },
    EventType: {
      ItemChanged: "olkItemSelectedChanged",
      AppointmentTimeChanged: "olkAppointmentTimeChanged",
      RecipientsChanged: "olkRecipientsChanged",
      EnhancedLocationsChanged: "olkEnhancedLocationsChanged",
      DialogMessageReceived: "dialogMessageReceived",
      DialogEventReceived: "dialogEventReceived",
    },
    HostType: { Outlook: "Outlook", Word: "Word", Excel: "Excel" },
    PlatformType: { PC: "PC", OfficeOnline: "OfficeOnline", Mac: "Mac" },
    MailboxEnums: {
      ItemType: { Appointment: "appointment", Message: "message" },
      RestVersion: { v1_0: "v1.0", v2_0: "v2.0", Beta: "beta" },
      ResponseType: {
        None: "none", Organizer: "organizer", Tentative: "tentative", Accepted: "accepted", Declined: "declined",
      },
    },
  };

  let scenario = {};
  let readyResolve;
  const ready = new Promise((resolve) => { readyResolve = resolve; });
  const held = [];
  let holding = false;
  const handlers = {};
  let itemHandlers = {};
  const mails = [];
  const inFrame = window.parent !== window;

  // ---------------------------------------------------------------- recording

  function plain(value) {
    if (value instanceof Date) return { $date: value.toISOString() };
    if (Array.isArray(value)) return value.map(plain);
    if (typeof value === "function") return "[function]";
    if (value && typeof value === "object") {
      const copy = {};
      for (const [key, inner] of Object.entries(value)) copy[key] = plain(inner);
      return copy;
    }
    return value;
  }

  function record(api, args) {
    const call = { api, args: args.map(plain) };
    calls.push(call);
    tellParent({ type: "office-fake:call", call, item: itemState() });
  }

  function tellParent(message) {
    if (inFrame) window.parent.postMessage(message, window.origin);
  }

  // ------------------------------------------------------------ async results

  function splitArgs(options, callback) {
    return typeof options === "function" ? [{}, options] : [options || {}, callback];
  }

  /** Run `compute` later (or when released) and hand Office's AsyncResult to the callback. */
  function respond(api, callback, options, compute) {
    const run = () => {
      let result;
      const failure = (scenario.failures || {})[api];
      try {
        if (failure) throw Object.assign(new Error(failure), { name: "GenericError" });
        result = { status: "succeeded", value: compute(), asyncContext: options && options.asyncContext };
      } catch (error) {
        result = {
          status: "failed", value: undefined, asyncContext: options && options.asyncContext,
          error: { name: error.name || "GenericError", message: error.message, code: error.code || 9002 },
        };
      }
      if (typeof callback === "function") callback(result);
    };
    if ((scenario.hangs || []).includes(api)) return;
    if (holding) held.push(run);
    else setTimeout(run, 0);
  }

  function officeError(name, message) {
    return Object.assign(new Error(message), { name });
  }

  // -------------------------------------------------------------- requirements

  function versionAtLeast(have, want) {
    const a = String(have).split(".").map(Number);
    const b = String(want || "1.1").split(".").map(Number);
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
    }
    return true;
  }

  function isSetSupported(name, version) {
    const have = (scenario.requirements || { Mailbox: "1.13" })[name];
    return have !== undefined && versionAtLeast(have, version);
  }

  // ---------------------------------------------------------------- the item

  let state = null; // the open item's current values, shared by both modes

  function details(entry) {
    return {
      emailAddress: entry.emailAddress,
      displayName: entry.displayName || entry.emailAddress,
      recipientType: entry.recipientType || "externalUser",
      appointmentResponse: entry.appointmentResponse || "none",
    };
  }

  function fromRecipients(list) {
    return (list || []).map((entry) =>
      typeof entry === "string" ? details({ emailAddress: entry }) : details(entry));
  }

  function loadState(item) {
    return {
      mode: item.mode || "read",
      itemType: item.itemType || "appointment",
      itemId: item.itemId || null,
      subject: item.subject || "",
      start: item.start ? new Date(item.start) : new Date(),
      end: item.end ? new Date(item.end) : new Date(Date.now() + 30 * 60000),
      location: item.location || "",
      required: fromRecipients(item.requiredAttendees),
      optional: fromRecipients(item.optionalAttendees),
      organizer: item.organizer ? details(item.organizer) : null,
      bodyType: item.bodyType || "html",
      body: item.body || "",
      customProperties: Object.assign({}, item.customProperties || {}),
      missing: item.missing || [],
      // Who has the invitation already: the attendees of a saved meeting, nobody for a new one.
      saved: item.itemId ? addressesOf(fromRecipients(item.requiredAttendees)
        .concat(fromRecipients(item.optionalAttendees))) : null,
    };
  }

  function addressesOf(list) {
    return list.map((d) => d.emailAddress.toLowerCase());
  }

  function itemState() {
    if (!state) return null;
    return plain({
      mode: state.mode, itemId: state.itemId, subject: state.subject, start: state.start, end: state.end,
      location: state.location, requiredAttendees: state.required,
      optionalAttendees: state.optional, bodyType: state.bodyType, body: state.body,
      customProperties: state.customProperties,
    });
  }

  function customProperties(prefix) {
    const values = Object.assign({}, state.customProperties);
    const props = {
      get(name) { return values[name]; },
      set(name, value) {
        record(`${prefix}.set`, [name, value]);
        values[name] = String(value);
      },
      remove(name) {
        record(`${prefix}.remove`, [name]);
        delete values[name];
      },
      saveAsync(options, callback) {
        const [opts, cb] = splitArgs(options, callback);
        record(`${prefix}.saveAsync`, []);
        respond("customProperties.saveAsync", cb, opts, () => {
          state.customProperties = Object.assign({}, values);
        });
      },
    };
    // getAll: Mailbox 1.9 (ref office.customproperties.yml).
    if (isSetSupported("Mailbox", "1.9")) props.getAll = () => Object.assign({}, values);
    return props;
  }

  function loadCustomPropertiesAsync(callback, userContext) {
    record("item.loadCustomPropertiesAsync", []);
    respond("item.loadCustomPropertiesAsync", callback, { asyncContext: userContext },
      () => customProperties("customProperties"));
  }

  function readBody(coercionType, options, callback) {
    const [opts, cb] = splitArgs(options, callback);
    record("item.body.getAsync", [coercionType]);
    respond("item.body.getAsync", cb, opts, () => state.body);
  }

  function readItem() {
    const item = {
      itemType: state.itemType,
      itemId: state.itemId,
      subject: state.subject,
      start: new Date(state.start),
      end: new Date(state.end),
      location: state.location,
      requiredAttendees: state.required.map((d) => Object.assign({}, d)),
      optionalAttendees: state.optional.map((d) => Object.assign({}, d)),
      organizer: state.organizer ? Object.assign({}, state.organizer) : undefined,
      body: { getAsync: readBody },
      loadCustomPropertiesAsync,
    };
    return item;
  }

  function field(name, get, set, check) {
    return {
      getAsync(options, callback) {
        const [opts, cb] = splitArgs(options, callback);
        record(`item.${name}.getAsync`, []);
        respond(`item.${name}.getAsync`, cb, opts, get);
      },
      setAsync(value, options, callback) {
        const [opts, cb] = splitArgs(options, callback);
        record(`item.${name}.setAsync`, [value].concat(Object.keys(opts).length ? [opts] : []));
        respond(`item.${name}.setAsync`, cb, opts, () => {
          if (check) check(value);
          set(value);
        });
      },
    };
  }

  function recipients(name, key) {
    const limit = (list) => {
      if (!Array.isArray(list)) throw officeError("InvalidFormatError", "Recipients must be an array.");
      if (list.length > 100) throw officeError("NumberOfRecipientsExceeded", "At most 100 recipients per call.");
    };
    const f = field(name, () => state[key].map((d) => Object.assign({}, d)), (list) => {
      state[key] = fromRecipients(list);
    }, limit);
    f.addAsync = function (list, options, callback) {
      const [opts, cb] = splitArgs(options, callback);
      record(`item.${name}.addAsync`, [list]);
      respond(`item.${name}.addAsync`, cb, opts, () => {
        limit(list);
        state[key] = state[key].concat(fromRecipients(list));
      });
    };
    return f;
  }

  function mustBeDate(value) {
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
      throw officeError("InvalidFormatError", "Time.setAsync takes a Date.");
    }
  }

  function composeItem() {
    const item = {
      itemType: state.itemType,
      subject: field("subject", () => state.subject, (v) => { state.subject = String(v); }),
      location: field("location", () => state.location, (v) => { state.location = String(v); }),
      start: field("start", () => new Date(state.start), (v) => { state.start = new Date(v); }, mustBeDate),
      end: field("end", () => new Date(state.end), (v) => { state.end = new Date(v); }, mustBeDate),
      requiredAttendees: recipients("requiredAttendees", "required"),
      optionalAttendees: recipients("optionalAttendees", "optional"),
      // The organizer in compose is Mailbox 1.7 (ref office.appointmentcompose.yml).
      organizer: isSetSupported("Mailbox", "1.7") ? {
        getAsync(options, callback) {
          const [opts, cb] = splitArgs(options, callback);
          record("item.organizer.getAsync", []);
          respond("item.organizer.getAsync", cb, opts, () => state.organizer);
        },
      } : undefined,
      body: {
        getAsync: readBody,
        getTypeAsync(options, callback) {
          const [opts, cb] = splitArgs(options, callback);
          record("item.body.getTypeAsync", []);
          respond("item.body.getTypeAsync", cb, opts, () => state.bodyType);
        },
        setAsync(data, options, callback) {
          const [opts, cb] = splitArgs(options, callback);
          record("item.body.setAsync", [data, opts]);
          respond("item.body.setAsync", cb, opts, () => {
            if (opts.coercionType && opts.coercionType !== state.bodyType && state.bodyType === "text") {
              throw officeError("InvalidFormatError", "The body is plain text; it cannot take HTML.");
            }
            state.body = String(data);
          });
        },
      },
      saveAsync(options, callback) {
        const [opts, cb] = splitArgs(options, callback);
        record("item.saveAsync", []);
        respond("item.saveAsync", cb, opts, () => {
          if (!state.itemId) state.itemId = `AAMkFakeSaved/${Math.random().toString(36).slice(2, 10)}+=`;
          const now = addressesOf(state.required.concat(state.optional));
          if (state.saved) {
            // An existing appointment: Outlook sends at once (office.appointmentcompose.yml, saveAsync).
            now.filter((a) => !state.saved.includes(a)).forEach((to) => mails.push({ to, kind: "invitation" }));
            state.saved.filter((a) => !now.includes(a)).forEach((to) => mails.push({ to, kind: "cancellation" }));
          }
          state.saved = now;
          return state.itemId;
        });
      },
      loadCustomPropertiesAsync,
    };
    if (isSetSupported("Mailbox", "1.8")) {
      item.getItemIdAsync = function (options, callback) {
        const [opts, cb] = splitArgs(options, callback);
        record("item.getItemIdAsync", []);
        respond("item.getItemIdAsync", cb, opts, () => {
          if (!state.itemId) throw officeError("ItemNotSaved", "The item has not been saved yet.");
          return state.itemId;
        });
      };
    }
    if (isSetSupported("Mailbox", "1.7")) {
      item.addHandlerAsync = function (eventType, handler, options, callback) {
        const [opts, cb] = splitArgs(options, callback);
        record("item.addHandlerAsync", [eventType]);
        const known = [Enums.EventType.AppointmentTimeChanged, Enums.EventType.RecipientsChanged];
        if (isSetSupported("Mailbox", "1.8")) known.push(Enums.EventType.EnhancedLocationsChanged);
        respond("item.addHandlerAsync", cb, opts, () => {
          if (!known.includes(eventType)) throw officeError("InvalidEventType", `No ${eventType} on this item.`);
          itemHandlers[eventType] = handler;
        });
      };
    }
    return item;
  }

  function buildItem(item, profile) {
    itemHandlers = {};
    if (!item) {
      state = null;
      return null;
    }
    const mode = item.mode || "read";
    const organizer = item.organizer && item.organizer.emailAddress;
    if (mode === "read" && organizer && profile && organizer.toLowerCase() === profile.emailAddress.toLowerCase()) {
      throw new Error("office-fake: Outlook opens the organizer's own meeting in compose, not read "
        + "(docs-pr compose-scenario.md); give this scenario mode \"compose\"");
    }
    if (mode === "compose" && "itemId" in item && item.itemId && item.isNew) {
      throw new Error("office-fake: a new compose item has no id");
    }
    state = loadState(item);
    const built = state.mode === "compose" ? composeItem() : readItem();
    for (const name of state.missing) delete built[name];
    return built;
  }

  // ------------------------------------------------------------- the mailbox

  function zoneParts(date, timeZone) {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    });
    const parts = {};
    for (const part of format.formatToParts(date)) parts[part.type] = Number(part.value);
    return parts;
  }

  function readOnly(api) {
    return officeError("InvalidApiCall", `${api} is available in read mode only (office.mailbox.yml).`);
  }

  function buildMailbox() {
    const profile = Object.assign(
      { emailAddress: "anna.berg@contoso.com", displayName: "Anna Berg", timeZone: undefined },
      scenario.userProfile || {},
    );
    const mailbox = {
      userProfile: { emailAddress: profile.emailAddress, displayName: profile.displayName, timeZone: profile.timeZone },
      diagnostics: { hostName: "Outlook", hostVersion: "16.0.fake" },
      item: buildItem(scenario.item === undefined ? {} : scenario.item, profile),
      convertToRestId(itemId, version) {
        record("mailbox.convertToRestId", [itemId, version]);
        return String(itemId).replace(/\//g, "-").replace(/\+/g, "_");
      },
      convertToEwsId(itemId, version) {
        record("mailbox.convertToEwsId", [itemId, version]);
        return String(itemId).replace(/-/g, "/").replace(/_/g, "+");
      },
      convertToLocalClientTime(date) {
        const zone = profile.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone;
        const p = zoneParts(date, zone);
        const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
        return {
          year: p.year, month: p.month - 1, date: p.day, hours: p.hour, minutes: p.minute, seconds: p.second,
          milliseconds: 0, timezoneOffset: Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000),
        };
      },
      displayNewAppointmentForm(parameters) {
        record("mailbox.displayNewAppointmentForm", [parameters]);
        if (state && state.mode === "compose") throw readOnly("displayNewAppointmentForm");
      },
      displayAppointmentForm(itemId) {
        record("mailbox.displayAppointmentForm", [itemId]);
      },
      addHandlerAsync(eventType, handler, options, callback) {
        const [opts, cb] = splitArgs(options, callback);
        record("mailbox.addHandlerAsync", [eventType]);
        handlers[eventType] = handler;
        respond("mailbox.addHandlerAsync", cb, opts, () => undefined);
      },
    };
    if (!isSetSupported("Mailbox", "1.3")) {
      delete mailbox.convertToRestId;
      delete mailbox.convertToEwsId;
    }
    // mailbox.addHandlerAsync (ItemChanged): Mailbox 1.5 (ref office.mailbox.yml).
    if (!isSetSupported("Mailbox", "1.5")) delete mailbox.addHandlerAsync;
    if (isSetSupported("Mailbox", "1.9")) {
      mailbox.displayNewAppointmentFormAsync = function (parameters, options, callback) {
        const [opts, cb] = splitArgs(options, callback);
        record("mailbox.displayNewAppointmentFormAsync", [parameters]);
        respond("mailbox.displayNewAppointmentFormAsync", cb, opts, () => {
          if (state && state.mode === "compose") throw readOnly("displayNewAppointmentFormAsync");
        });
      };
      mailbox.displayAppointmentFormAsync = function (itemId, options, callback) {
        const [opts, cb] = splitArgs(options, callback);
        record("mailbox.displayAppointmentFormAsync", [itemId]);
        respond("mailbox.displayAppointmentFormAsync", cb, opts, () => undefined);
      };
    }
    return mailbox;
  }

  // ----------------------------------------------------------------- sign-in

  function base64url(value) {
    return btoa(unescape(encodeURIComponent(JSON.stringify(value))))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  /** An unsigned ID token, as Entra's would read: for the add-in (aud), about the Outlook user. */
  function idTokenFor(clientId, profile) {
    const now = Math.floor(Date.now() / 1000);
    const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    return [
      base64url({ typ: "JWT", alg: "none" }),
      base64url({
        aud: clientId, iss: `https://login.microsoftonline.com/${tid}/v2.0`, tid,
        oid: "00000000-0000-0000-0000-00000000fa4e", sub: "fake-subject", iat: now, nbf: now, exp: now + 3600,
        preferred_username: profile.emailAddress, name: profile.displayName, ver: "2.0",
      }),
      "fake-signature",
    ].join(".");
  }

  /** Outlook's side of nested app authentication: the bridge MSAL.js talks to (GetInitContext, GetToken...). */
  function installNestedAppAuth(outcomes, profile) {
    const listeners = [];
    const fake = window.__officeFake;
    fake.signInOutcomes = outcomes; // a test may change what the broker answers next
    window.nestedAppAuthBridge = {
      addEventListener(name, callback) { if (name === "message") listeners.push(callback); },
      removeEventListener(name, callback) {
        const at = listeners.indexOf(callback);
        if (at >= 0) listeners.splice(at, 1);
      },
      postMessage(text) {
        const request = JSON.parse(text);
        const params = request.tokenParams || {};
        record(`nestedAppAuth.${request.method}`, request.tokenParams ? [{
          clientId: params.clientId, authority: params.authority, scope: params.scope, claims: params.claims,
        }] : []);
        let answer;
        if (request.method === "GetInitContext") {
          answer = { success: true, initContext: { sdkName: "office-fake", sdkVersion: "1.0.0", capabilities: {} } };
        } else {
          const outcome = (request.method === "GetTokenPopup" ? outcomes.popup : outcomes.silent) || {};
          if (outcome.accessToken) {
            fake.idToken = idTokenFor(params.clientId, profile);
            const claims = JSON.parse(atob(fake.idToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
            answer = {
              success: true,
              token: {
                access_token: outcome.accessToken, expires_in: outcome.expiresIn || 3600, id_token: fake.idToken,
                properties: null, scope: params.scope,
              },
              account: {
                homeAccountId: `${claims.oid}.${claims.tid}`, environment: "login.microsoftonline.com",
                tenantId: claims.tid, username: profile.emailAddress, localAccountId: claims.oid,
                name: profile.displayName,
              },
            };
          } else {
            answer = {
              success: false,
              error: { status: outcome.error || "PERSISTENT_ERROR", code: outcome.code || "", description: "fake" },
            };
          }
        }
        const response = JSON.stringify({
          messageType: "NestedAppAuthResponse", requestId: request.requestId, ...answer,
        });
        setTimeout(() => listeners.slice().forEach((listener) => listener(response)), 0);
      },
    };
  }

  /** Office.auth.getAccessToken: legacy single sign-on, answered from the scenario. */
  function getAccessToken(options) {
    record("auth.getAccessToken", [options || {}]);
    const outcome = scenario.legacyAuth || { error: 13000 };
    return new Promise((resolve, reject) => setTimeout(() => {
      if (outcome.accessToken) resolve(outcome.accessToken);
      else reject({ code: outcome.error, name: "Error", message: `fake getAccessToken error ${outcome.error}` });
    }, 0));
  }

  /** Office.context.ui: the dialog API. The dialog's page is not loaded: the scenario says what it answers. */
  function buildUi() {
    return {
      displayDialogAsync(url, options, callback) {
        const [opts, cb] = splitArgs(options, callback);
        record("ui.displayDialogAsync", [url, opts]);
        const dialogHandlers = {};
        const dialog = {
          addEventHandler(eventType, handler) { dialogHandlers[eventType] = handler; },
          close() { record("dialog.close", []); },
        };
        const plan = scenario.dialog || { event: 12006 };
        if (plan.error) {
          setTimeout(() => cb({ status: "failed", error: { code: plan.error, message: "fake dialog error" } }), 0);
          return;
        }
        setTimeout(() => {
          cb({ status: "succeeded", value: dialog });
          setTimeout(() => {
            if (plan.message) {
              const handler = dialogHandlers[Enums.EventType.DialogMessageReceived];
              if (handler) handler({ message: JSON.stringify(plan.message), origin: window.location.origin });
            } else {
              const handler = dialogHandlers[Enums.EventType.DialogEventReceived];
              if (handler) handler({ error: plan.event });
            }
          }, 0);
        }, 0);
      },
      messageParent(message, options) {
        record("ui.messageParent", [message].concat(options ? [options] : []));
      },
    };
  }

  // ------------------------------------------------------------------ Office

  const Office = Object.assign({}, Enums, {
    context: {},
    onReady(callback) {
      return ready.then(() => {
        const info = { host: scenario.host === undefined ? "Outlook" : scenario.host, platform: "OfficeOnline" };
        if (typeof callback === "function") callback(info);
        return info;
      });
    },
  });
  Office.auth = { getAccessToken };
  window.Office = Office;

  function start(given) {
    scenario = given || {};
    holding = Boolean(scenario.holdReads);
    Office.context = {
      displayLanguage: scenario.displayLanguage || "en-US",
      requirements: { isSetSupported },
      mailbox: buildMailbox(),
      ui: buildUi(),
    };
    if (scenario.nestedAppAuth) installNestedAppAuth(scenario.nestedAppAuth, Office.context.mailbox.userProfile);
    readyResolve();
  }

  /** Controls for tests and the preview; not part of Office.js. */
  window.__officeFake = {
    calls,
    idToken: null,
    signInOutcomes: null,
    item: itemState,
    release() {
      holding = false;
      held.splice(0).forEach((run) => setTimeout(run, 0));
    },
    mails,
    /** The organizer edits the open compose form: {start, end, location, requiredAttendees, ...}. */
    organizerEdits(changes) {
      const raise = (type) => {
        if (itemHandlers[type]) setTimeout(() => itemHandlers[type]({ type }), 0);
      };
      if (changes.start) state.start = new Date(changes.start);
      if (changes.end) state.end = new Date(changes.end);
      if ("location" in changes) state.location = String(changes.location);
      if (changes.requiredAttendees) state.required = fromRecipients(changes.requiredAttendees);
      if (changes.optionalAttendees) state.optional = fromRecipients(changes.optionalAttendees);
      if (changes.start || changes.end) raise(Enums.EventType.AppointmentTimeChanged);
      if (changes.requiredAttendees || changes.optionalAttendees) raise(Enums.EventType.RecipientsChanged);
      if ("location" in changes) raise(Enums.EventType.EnhancedLocationsChanged);
    },
    changeItem(item) {
      Office.context.mailbox.item = buildItem(item, Office.context.mailbox.userProfile);
      const handler = handlers[Enums.EventType.ItemChanged];
      if (handler) setTimeout(() => handler({ type: Enums.EventType.ItemChanged }), 0);
    },
  };

  if (window.__officeScenario) {
    start(window.__officeScenario);
  } else if (inFrame) {
    window.addEventListener("message", (event) => {
      if (event.source !== window.parent || event.origin !== window.origin) return;
      if (event.data && event.data.type === "office-fake:scenario") start(event.data.scenario);
    });
    tellParent({ type: "office-fake:hello" });
  } else {
    start({});
  }
})();
