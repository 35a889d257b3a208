/*
 * A strict fake of Outlook's event runtime for an OnAppointmentSend handler: the Office.js surface an appointment
 * in compose mode offers there, at one Mailbox requirement set (1.12 and up), and nothing else. Every entry names
 * where Microsoft documents it: `ref:` is OfficeDev/office-js-docs-reference docs/docs-ref-autogen/outlook/outlook/
 * (or office/, office-runtime/), `docs-pr:` is OfficeDev/office-js-docs-pr docs/. What the docs do not allow, or
 * are silent on, throws: the test then fails with the reason.
 *
 * A classic script with no DOM use, so that it runs where the handler runs: in a Worker (the JavaScript-only
 * runtime of classic Outlook on Windows: no window, document or localStorage) or in a page (the browser runtime).
 *
 * Reads its scenario from globalThis.__guardScenario:
 *   { mailbox: "1.12" | "1.13" | "1.14" | "1.15", sendMode: "PromptUser" | "SoftBlock" | "Block",
 *     handlerName, displayLanguage, userProfile: {emailAddress}, item: {subject, location, body,
 *     requiredAttendees, optionalAttendees, customProperties, itemId (null: never saved)},
 *     auth: {token} | {errorCode} }
 * and exposes globalThis.__guardRuntime.fire(): a promise of what Outlook does with the send.
 */
(function () {
  "use strict";

  const scenario = globalThis.__guardScenario;
  if (!scenario) throw new Error("event runtime fake: no __guardScenario");
  const MAILBOX = scenario.mailbox || "1.12";
  const violations = [];
  const fetches = [];
  const logged = [];

  function atLeast(version) {
    const [a, b] = MAILBOX.split(".").map(Number);
    const [c, d] = version.split(".").map(Number);
    return a > c || (a === c && b >= d);
  }

  function refuse(message) {
    violations.push(message);
    throw new Error(`event runtime fake: ${message}`);
  }

  // ---------------------------------------------------------------- Office.js basics

  const AsyncResultStatus = { Succeeded: "succeeded", Failed: "failed" }; // ref(office): office.asyncresultstatus.yml
  const CoercionType = { Html: "html", Text: "text" }; // ref(office): office.coerciontype.yml

  function later(callback, result) {
    // Office.js callbacks are asynchronous, never called before the call returns.
    setTimeout(() => callback(result), 0);
  }

  function succeeded(value, asyncContext) {
    return { status: AsyncResultStatus.Succeeded, value, asyncContext };
  }

  function failedWith(name, message, asyncContext) {
    return { status: AsyncResultStatus.Failed, error: { name, message, code: 9999 }, asyncContext };
  }

  /** (options?, callback) as every *Async method takes them. */
  function optionsAndCallback(name, args) {
    const [first, second] = args;
    const callback = typeof first === "function" ? first : second;
    const options = typeof first === "function" ? undefined : first;
    if (typeof callback !== "function") refuse(`${name} needs a callback`);
    if (options !== undefined && (options === null || typeof options !== "object")) refuse(`${name}: bad options`);
    return { options: options || {}, callback };
  }

  const item = scenario.item || {};
  const attendees = (list) => (list || []).map((a) => ({
    emailAddress: a.emailAddress, displayName: a.displayName || a.emailAddress,
    recipientType: "other", appointmentResponse: "none",
  }));

  function readable(name, value) {
    // ref: office.subject.yml, office.location.yml, office.recipients.yml — getAsync(options?, callback), 1.1
    return {
      getAsync(...args) {
        const { options, callback } = optionsAndCallback(`${name}.getAsync`, args);
        later(callback, succeeded(value(), options.asyncContext));
      },
    };
  }

  const customProperties = Object.assign({}, item.customProperties || {});
  // ref: office.customproperties.yml (get, set, remove, getAll (1.9), saveAsync); the guard only reads.
  const CustomProperties = {
    get(name) { return Object.prototype.hasOwnProperty.call(customProperties, name) ? customProperties[name] : undefined; },
    set() { refuse("customProperties.set: the send handler reads, it does not write (DESIGN 7, office-js#6328)"); },
    saveAsync() { refuse("customProperties.saveAsync: the send handler does not write"); },
  };

  // ref: office.appointmentcompose.yml — the members an OnAppointmentSend handler may read. Writes (setAsync,
  // prependAsync, saveAsync, addFileAttachmentAsync...) are left out: the guard never changes what is sent.
  const appointment = {
    itemType: "appointment", // ref: office.appointmentcompose.yml itemType, 1.0
    subject: readable("subject", () => item.subject || ""),
    location: readable("location", () => item.location || ""),
    requiredAttendees: readable("requiredAttendees", () => attendees(item.requiredAttendees)),
    optionalAttendees: readable("optionalAttendees", () => attendees(item.optionalAttendees)),
    body: {
      // ref: office.body.yml getAsync(coercionType, options?, callback), Mailbox 1.3; html or text
      getAsync(coercionType, ...args) {
        if (coercionType !== CoercionType.Text && coercionType !== CoercionType.Html) {
          refuse(`body.getAsync: coercionType must be Office.CoercionType.Text or Html, not ${coercionType}`);
        }
        const { options, callback } = optionsAndCallback("body.getAsync", args);
        later(callback, succeeded(item.body || "", options.asyncContext));
      },
    },
    // ref: office.appointmentcompose.yml loadCustomPropertiesAsync(callback, userContext?), 1.1
    loadCustomPropertiesAsync(callback, userContext) {
      if (typeof callback !== "function") refuse("loadCustomPropertiesAsync needs a callback first");
      later(callback, Object.assign(succeeded(CustomProperties), { asyncContext: userContext }));
    },
    // ref: office.appointmentcompose.yml getItemIdAsync(options?, callback), 1.8: "ItemNotSaved: The ID can't be
    // retrieved until the item is saved."
    getItemIdAsync(...args) {
      const { options, callback } = optionsAndCallback("getItemIdAsync", args);
      later(callback, item.itemId ? succeeded(item.itemId, options.asyncContext)
        : failedWith("ItemNotSaved", "The item hasn't been saved yet.", options.asyncContext));
    },
  };

  // ---------------------------------------------------------------- event.completed

  // ref: office.smartalertseventcompletedoptions.yml — each option and the requirement set that brought it.
  const COMPLETED_OPTIONS = {
    allowEvent: "1.12",
    errorMessage: "1.12", // 500 characters or less
    cancelLabel: "1.14", // 20 characters or less
    commandId: "1.14",
    contextData: "1.14",
    sendModeOverride: "1.14", // Office.MailboxEnums.SendModeOverride
    errorMessageMarkdown: "1.15", // 500 characters or less
  };
  const SendModeOverride = { PromptUser: "promptUser" }; // ref: office.mailboxenums.sendmodeoverride.yml, 1.14

  let completedWith = null;
  let settle = null;
  const done = new Promise((resolve) => { settle = resolve; });

  function checkCompleted(options) {
    if (options === undefined) return; // completed() with no options: allowed (ref: office.mailboxevent.yml)
    if (options === null || typeof options !== "object") refuse("event.completed: options must be an object");
    for (const [name, value] of Object.entries(options)) {
      const since = COMPLETED_OPTIONS[name];
      if (!since) refuse(`event.completed: ${name} is no SmartAlertsEventCompletedOptions member`);
      if (!atLeast(since)) refuse(`event.completed: ${name} needs Mailbox ${since}; this Outlook has ${MAILBOX}`);
      if (name === "allowEvent" && typeof value !== "boolean") refuse("event.completed: allowEvent must be a boolean");
      if ((name === "errorMessage" || name === "errorMessageMarkdown") && (typeof value !== "string" || value.length > 500)) {
        refuse(`event.completed: ${name} must be a string of 500 characters or less (docs-pr: outlook/onmessagesend-onappointmentsend-events.md Limitations)`);
      }
      if (name === "cancelLabel" && (typeof value !== "string" || value.length > 20)) refuse("cancelLabel: 20 characters or less");
      if (name === "sendModeOverride" && !Object.values(SendModeOverride).includes(value)) {
        refuse(`event.completed: sendModeOverride ${value} is not an Office.MailboxEnums.SendModeOverride value`);
      }
    }
    // The dialog options only mean something when the send is stopped; the docs describe them for allowEvent false.
    const dialogOptions = Object.keys(options).filter((n) => n !== "allowEvent");
    if (options.allowEvent !== false && dialogOptions.length) {
      refuse(`event.completed: ${dialogOptions.join(", ")} given with allowEvent ${options.allowEvent}`);
    }
  }

  /** What Outlook shows (docs-pr: outlook/onmessagesend-onappointmentsend-events.md "Available send mode options"). */
  function outcome(options) {
    if (!options || options.allowEvent !== false) return { sent: true, dialog: null };
    const manifestMode = scenario.sendMode || "SoftBlock"; // SoftBlock is the default when SendMode is left out
    const mode = options.sendModeOverride === SendModeOverride.PromptUser ? "PromptUser" : manifestMode;
    const message = options.errorMessage
      || `${scenario.addinName || "CRM Bridge"} is preventing this email from being sent.`;
    const buttons = mode === "PromptUser" ? ["Send Anyway", "Don't Send"] : ["Don't Send"];
    return { sent: false, dialog: { title: scenario.addinName || "CRM Bridge", message, mode, buttons } };
  }

  const event = {
    type: "appointmentSend", // ref: office.mailboxevent.yml; the add-in only manifest's OnAppointmentSend
    completed(options) {
      if (completedWith) refuse("event.completed was called a second time");
      checkCompleted(options);
      completedWith = { options: options === undefined ? null : JSON.parse(JSON.stringify(options)) };
      settle();
    },
  };

  // ---------------------------------------------------------------- the globals

  const handlers = {};
  const requirements = {
    // ref(office): office.requirementsetsupport.yml isSetSupported(name, minVersion?)
    isSetSupported(name, version) {
      if (name !== "Mailbox") return false;
      return version === undefined || atLeast(String(version));
    },
  };

  globalThis.Office = {
    AsyncResultStatus,
    CoercionType,
    MailboxEnums: Object.assign(
      { ItemType: { Message: "message", Appointment: "appointment" } },
      atLeast("1.14") ? { SendModeOverride } : {},
    ),
    actions: {
      // ref(office): office.actions.yml associate(actionId, actionFunction)
      associate(name, handler) {
        if (typeof name !== "string" || typeof handler !== "function") refuse("Office.actions.associate(name, function)");
        handlers[name] = handler;
      },
    },
    // Office.onReady is not run before an event handler in classic Outlook (docs-pr: develop/event-based-activation.md)
    onReady() { refuse("Office.onReady: not run for event handlers in classic Outlook on Windows; do not rely on it"); },
    context: {
      displayLanguage: scenario.displayLanguage || "en-US", // ref(office): office.context.yml
      requirements,
      // Office.context.auth and Office.context.ui are blocked in event-based add-ins
      // (docs-pr: develop/event-based-activation.md "Unsupported APIs"): left out.
      mailbox: {
        item: appointment,
        userProfile: { emailAddress: (scenario.userProfile || {}).emailAddress || "" }, // ref: office.userprofile.yml
        // displayAppointmentForm, displayNewAppointmentForm... are blocked there too: left out.
      },
    },
  };

  // ref(office-runtime): officeruntime.auth.yml getAccessToken(options?); supported in every version with
  // event-based activation (docs-pr: develop/use-sso-in-event-based-activation.md)
  globalThis.OfficeRuntime = {
    auth: {
      getAccessToken(options) {
        if (options && (options.allowSignInPrompt || options.allowConsentPrompt)) {
          refuse("getAccessToken: an event handler has no UI to prompt with");
        }
        const auth = scenario.auth || {};
        if (auth.token) return Promise.resolve(auth.token);
        return Promise.reject(Object.assign(new Error("SSO failed"), { code: auth.errorCode || 13001 }));
      },
    },
  };

  // Every request the handler makes, for the tests to count (nothing in Office.js does this).
  const realFetch = globalThis.fetch;
  globalThis.fetch = function (url, init) {
    const headers = (init && init.headers) || {};
    fetches.push({ url: String(url), method: (init && init.method) || "GET", authorization: headers.Authorization || null });
    if (!/^https?:\/\//.test(String(url))) refuse(`fetch(${url}): the JavaScript-only runtime takes absolute URLs only (docs-pr: develop/event-based-activation.md)`);
    return realFetch.call(globalThis, url, init);
  };
  const realWarn = console.warn;
  console.warn = function (...args) {
    logged.push(args.map(String).join(" "));
    return realWarn.apply(console, args);
  };

  globalThis.__guardRuntime = {
    /** Outlook raises OnAppointmentSend: runs the handler the manifest names; resolves with what Outlook does. */
    fire(waitMs = 20000) {
      const handler = handlers[scenario.handlerName || "onAppointmentSendHandler"];
      if (!handler) {
        // Without Office.actions.associate a SoftBlock add-in blocks every send (docs-pr:
        // outlook/smart-alerts-onmessagesend-walkthrough.md).
        return Promise.resolve({ violations: ["handler not associated"], completed: null, fetches, logged });
      }
      try {
        handler(event);
      } catch (error) {
        violations.push(`the handler threw: ${error && error.message}`);
      }
      const timeout = new Promise((resolve) => setTimeout(resolve, waitMs));
      return Promise.race([done, timeout]).then(() => ({
        completed: completedWith,
        outcome: completedWith ? outcome(completedWith.options) : null,
        violations,
        fetches,
        logged,
      }));
    },
  };
})();
