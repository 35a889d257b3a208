/*
 * The only module that touches the DOM. Nodes are built with createElement and textContent; meeting data never
 * goes through innerHTML. Buttons carry data-action; one listener hands the action to `dispatch`.
 */

import { currentLanguage, describeError, formatDay, formatList, formatMoment, formatWhen, t } from "./i18n.js";
import { actionsFor, invitationBlocked } from "./state.js";

const ICONS = { internal: "●", external: "↗", resource: "⌂" };

const ACTIONS = {
  invite: { label: "action.invite", hint: "hint.invite", primary: true },
  inviteAgain: { label: "action.inviteAgain", hint: "hint.inviteAgain", primary: true },
  openInvitation: { label: "action.openInvitation", hint: "hint.openInvitation", primary: true },
  prepareAppointment: { label: "action.prepareAppointment", hint: "hint.prepareAppointment", primary: true },
  startNewMeeting: { label: "action.startNewMeeting", hint: "hint.startNewMeeting", primary: false },
  fill: { label: "action.fill", hint: "hint.fill", primary: true },
  addCustomers: { label: "action.addCustomers", hint: "hint.addCustomers", primary: true },
  takeOutlook: { label: "action.takeOutlook", hint: "hint.takeOutlook", primary: true },
  cancelInCrm: { label: "action.cancelInCrm", hint: "hint.cancelInCrm", primary: true },
  prepareUpdate: { label: "action.prepareUpdate", hint: "hint.prepareUpdate", primary: false },
  removeExtra: { label: "action.removeExtra", hint: "hint.removeExtra", primary: false },
};

// Graph's answers of a room (responseStatus.response); anything else reads as "no answer yet".
const ROOM_ANSWERS = new Set(["accepted", "declined", "tentativelyAccepted"]);

/**
 * Build an element: `props` sets className, text, hidden, dataset, onClick and attributes; children are nodes or
 * text. Meeting data only ever becomes text nodes. The development preview builds its page with it too.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "hidden") node.hidden = true;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "onClick") node.addEventListener("click", value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function skeletonLines(count, label) {
  return el("div", { className: "skeleton" },
    Array.from({ length: count }, (_, i) => el("span", {
      className: `skeleton__line skeleton__line--${i % 3}`, "aria-hidden": "true",
    })),
    label ? el("p", { className: "skeleton__label", text: label }) : null);
}

function domainOf(email) {
  const at = String(email || "").lastIndexOf("@");
  return at >= 0 ? email.slice(at + 1) : "";
}

function reasonFor(participant) {
  const key = `reason.${participant.reason}`;
  const text = t(key, { domain: domainOf(participant.email), orgDomain: participant.matchedDomain || "" });
  return text === key ? t("reason.unknown") : text;
}

/** The pane in `#app`; `dispatch(action, arg)` is called for each button the organizer presses. */
export function createView(dispatch) {
  const root = document.getElementById("app");
  const header = el("section", { className: "meeting", "aria-labelledby": "meeting-label" });
  const upper = el("div", { className: "upper" });
  const notice = el("div", {
    className: "notice", role: "status", "aria-live": "polite", tabindex: "-1", hidden: true,
  });
  const lower = el("div", { className: "lower" });
  root.replaceChildren(header, upper, notice, lower);
  const expandedChips = new Set();
  let noticeText = "";

  root.addEventListener("click", (event) => {
    const target = /** @type {Element} */ (event.target);
    const chip = /** @type {HTMLButtonElement | null} */ (target.closest("button[data-chip]"));
    if (chip) {
      toggleChip(chip);
      return;
    }
    const button = /** @type {HTMLButtonElement | null} */ (target.closest("button[data-action]"));
    if (!button || button.getAttribute("aria-disabled") === "true") return;
    dispatch(button.dataset.action, button.dataset.arg);
  });

  function toggleChip(chip) {
    const key = chip.dataset.chip;
    const reason = document.getElementById(chip.getAttribute("aria-describedby"));
    const open = !expandedChips.has(key);
    if (open) expandedChips.add(key);
    else expandedChips.delete(key);
    chip.setAttribute("aria-expanded", String(open));
    if (reason) reason.hidden = !open;
  }

  // ------------------------------------------------------------------ header

  function renderHeader(state) {
    const m = state.meeting;
    const reading = new Set(state.reading);
    if (state.phase === "starting") return [skeletonLines(3, t("app.loading"))];
    if (!["loading", "linked", "not-linked", "not-yours", "error"].includes(state.phase)) return [];
    const subject = reading.has("subject") ? skeletonLines(1)
      : el("h1", { className: "meeting__subject", tabindex: "-1", dataset: { focusKey: "title" } },
        m.subject ? m.subject : t("meeting.noSubject"));
    let when;
    if (reading.has("start") || reading.has("end")) when = skeletonLines(1);
    else if (m.start instanceof Date) {
      when = el("p", { className: "meeting__when", text: formatWhen(m.start, m.end, { allDay: Boolean(m.isAllDay) }) });
    } else when = el("p", { className: "meeting__when meeting__when--unknown", text: t("meeting.timeUnknown") });
    const where = !reading.has("location") && m.location
      ? el("p", { className: "meeting__where", text: m.location }) : null;
    const kind = state.lookup?.meeting === "internal" ? t("meeting.isInternal")
      : state.lookup?.meeting === "external" ? t("meeting.isExternal") : null;
    return [
      el("p", { id: "meeting-label", className: "meeting__label", text: t("meeting.label") }),
      subject, when, where,
      kind ? el("p", { className: "meeting__kind", text: kind }) : null,
    ];
  }

  // ------------------------------------------------------------------ upper

  function renderUpper(state) {
    switch (state.phase) {
      case "starting": return [];
      case "office-missing": return [message("host.officeMissing")];
      case "not-outlook": return [message("host.notOutlook")];
      case "too-old": return [message("host.tooOld")];
      case "no-item": return [message("host.noItem")];
      case "not-appointment": return [message("host.notAppointment")];
      case "loading": return [el("section", { className: "crm crm--loading", "aria-busy": "true" },
        skeletonLines(4, t("app.lookingUp")))];
      case "error": return [renderError(state.error)];
      case "not-linked": return [renderCandidates(state)];
      case "not-yours": return [el("section", { className: "calm", "aria-labelledby": "not-yours-title" },
        el("h2", { id: "not-yours-title", text: t("notYours.title") }),
        el("p", { text: t("notYours.explain") }))];
      case "linked": return renderLinked(state);
      default: return [];
    }
  }

  function message(key) {
    return el("p", { className: "message", text: t(key) });
  }

  function renderError(error) {
    const { message: text, action } = describeError(error);
    return el("div", { className: "error", role: "alert" },
      el("h2", { className: "error__title", text: t("error.title") }),
      el("p", { text }),
      requestIdLine(error),
      action ? actionButton(action === "sign-in" ? "signIn" : "retry",
        t(action === "sign-in" ? "action.signIn" : "action.retry"), { primary: true }) : null);
  }

  /** The server's id of the failed request, so one log line answers the organizer's support call. */
  function requestIdLine(error) {
    return error?.requestId ? el("p", { className: "error__code", text: t("error.requestId", { id: error.requestId }) })
      : null;
  }

  /**
   * @param {string} action
   * @param {string} label
   * @param {{primary?: boolean, arg?: string | number, busy?: boolean, describedBy?: string}} [options]
   */
  function actionButton(action, label, { primary = false, arg, busy = false, describedBy } = {}) {
    return el("button", {
      type: "button",
      className: primary ? "button button--primary" : "button",
      dataset: {
        action, focusKey: `action:${action}:${arg ?? ""}`, ...(arg !== undefined ? { arg: String(arg) } : {}),
      },
      "aria-disabled": busy ? "true" : null,
      "aria-describedby": describedBy,
    }, label);
  }

  function renderCandidates(state) {
    const section = el("section", { className: "not-linked", "aria-labelledby": "not-linked-title" },
      el("h2", { id: "not-linked-title", text: t("notLinked.title") }));
    const candidates = state.candidates;
    if (!candidates) {
      section.append(skeletonLines(3, t("app.findingActivities")));
      return section;
    }
    if (!candidates.items.length) {
      section.append(el("p", { className: "muted", text: t("notLinked.none") }));
      return section;
    }
    if (state.linkRefused) section.append(renderLinkRefused(state));
    const handed = candidates.handoff ? candidates.items.find((a) => a.id === candidates.handoff) : null;
    if (handed) {
      section.append(el("div", { className: "handoff" },
        el("p", { text: t("notLinked.handoff", { subject: handed.subject }) }),
        actionButton("fillFor", t("action.fillFor", { subject: handed.subject }),
          { primary: true, arg: handed.id, busy: Boolean(state.busy) })));
    }
    section.append(el("p", { text: t(candidates.near ? "notLinked.pickNear" : "notLinked.pickUpcoming") }));
    section.append(el("ul", { className: "candidates" }, candidates.items.map((activity) => {
      const when = formatWhen(activity.start, activity.end, { allDay: activity.isAllDay, timeZone: activity.timeZone });
      const invitation = ["invitation-open", "sent", "crm-cancelled", "cancelled"].includes(activity.externalState)
        ? activity.externalState : null;
      // The accessible name is the visible text with "Link to" in front, so speech users can say what they see.
      return el("li", {},
        el("button", {
          type: "button",
          className: "candidate",
          dataset: { action: "link", arg: String(activity.id), focusKey: `link:${activity.id}` },
          "aria-disabled": state.busy ? "true" : null,
        },
        el("span", { className: "visually-hidden", text: `${t("notLinked.linkToPrefix")} ` }),
        el("span", { className: "candidate__subject", text: activity.subject }),
        " ",
        el("span", { className: "candidate__when", text: when }),
        invitation ? " " : null,
        invitation ? el("span", { className: `candidate__state candidate__state--${invitation}`,
          text: t(`list.${invitation}`) }) : null));
    })));
    return section;
  }

  function renderLinkRefused(state) {
    const { activityId, outsiders } = state.linkRefused;
    return el("div", { className: "warning", role: "alert" },
      el("p", { text: t("link.refused", { list: formatList(outsiders) }) }),
      actionButton("linkExternal", t("action.linkExternal"), { primary: true, arg: activityId,
        busy: Boolean(state.busy) }));
  }

  function renderLinked(state) {
    const { lookup } = state;
    const activity = lookup.activity;
    const external = lookup.state;
    const when = formatWhen(activity.start, activity.end, { allDay: activity.isAllDay, timeZone: activity.timeZone });
    const blocked = lookup.internalMeeting?.writeBlocked;
    const section = el("section", { className: "crm", "aria-labelledby": "crm-heading" },
      el("h2", { id: "crm-heading", text: t("crm.heading") }),
      el("p", { className: "crm__activity", text: t("crm.activity", { subject: activity.subject, when }) }),
      activity.status === "cancelled" ? el("p", { className: "crm__cancelled", text: t("crm.cancelled") }) : null,
      blocked ? el("div", { className: "warning", role: "alert" },
        el("p", { text: t(blocked.reason === "not-organizer" ? "blocked.notOrganizer" : "blocked.outsiders",
          { list: formatList(blocked.outsiders || []) }) })) : null,
      lookup.internalMeetingWaitsForSignIn ? el("div", { className: "warning", role: "status" },
        el("p", { text: t("internal.waitsForSignIn") })) : null,
      el("div", { className: `state state--${external}` },
        el("p", { className: "state__badge" },
          el("span", { className: "visually-hidden", text: `${t("state.label")}: ` }),
          t(`state.${external}`)),
        el("p", { className: "state__explain", text: t(`state.explain.${external}`) })));

    const why = invitationBlocked(lookup);
    if (lookup.meeting !== "external" && (why === "over")) {
      section.append(el("p", { className: "muted", text: t("invitation.over") }));
    }
    if (lookup.meeting === "external" && !state.snapshot) {
      section.append(el("p", { className: "muted", text: t("meeting.notComplete") }));
    }
    if (external === "drifted" && lookup.drift) section.append(renderDrift(lookup, state));
    if (lookup.rooms?.length) section.append(renderRooms(lookup.rooms));
    if (lookup.meeting === "internal") section.append(...renderInternalNotes(lookup, state));

    const actions = actionsFor(state);
    if (actions.length) {
      section.append(el("div", { className: "actions" }, actions.map((name) => {
        const spec = ACTIONS[name];
        const hintId = `hint-${name}`;
        return el("div", { className: "action" },
          actionButton(name, state.busy === name ? t("action.working") : t(spec.label),
            { primary: spec.primary, busy: Boolean(state.busy), describedBy: hintId }),
          el("p", { id: hintId, className: "action__hint", text: t(spec.hint) }));
      })));
    }
    if (actions.includes("openInvitation") || actions.includes("inviteAgain")) {
      section.append(el("p", { className: "muted", text: t("invitation.openedAt",
        { when: formatMoment(lookup.externalMeeting?.updatedAt) }) }));
    }
    if (activity.isAllDay && actions.some((a) => ["fill", "fillFor", "invite", "prepareAppointment"].includes(a))) {
      section.append(el("p", { className: "muted", text: t("hint.allDay") }));
    }
    return [section];
  }

  /** Each booked room's answer, and which meeting holds the booking (a room is booked on one meeting only). */
  function renderRooms(rooms) {
    return el("ul", { className: "rooms", "aria-label": t("rooms.heading") }, rooms.map((room) => el("li", {
      className: `room room--${ROOM_ANSWERS.has(room.response) ? room.response : "none"}`,
      text: t("rooms.answer", { room: room.email, meeting: t(`rooms.meeting.${room.meeting}`),
        answer: t(`rooms.response.${ROOM_ANSWERS.has(room.response) ? room.response : "none"}`) }) })));
  }

  /**
   * On the internal meeting: whether it holds the CRM's current notes, and if not why; the organizer can read
   * the newer notes here (the meeting is only colleagues'; this is never shown on the customer meeting).
   */
  function renderInternalNotes(lookup, state) {
    const notes = lookup.internalNotes;
    if (!notes || notes.inMeeting) return [];
    const reason = ["online-meeting", "notes-only-off"].includes(notes.reason) ? notes.reason : "waiting";
    const shown = state.newerNotes?.activityId === lookup.activity.id ? state.newerNotes : null;
    return [el("div", { className: "notes-held" },
      el("p", { className: "muted", text: t(`internal.notes.${reason}`) }),
      shown ? el("section", { className: "newer-notes", "aria-labelledby": "newer-notes-heading" },
        el("h3", { id: "newer-notes-heading", text: t("internal.notes.heading") }),
        el("p", { className: "newer-notes__text", text: shown.text || t("internal.notes.empty") }))
        : actionButton("showNotes", state.busy === "showNotes" ? t("action.working") : t("action.showNotes"),
          { busy: Boolean(state.busy) }))];
  }

  function participantName(lookup, state, email) {
    const key = email.toLowerCase();
    const fromCrm = lookup.activity.participants.find((p) => p.email.toLowerCase() === key);
    if (fromCrm?.displayName) return fromCrm.displayName;
    const attendees = [...(state.meeting.requiredAttendees || []), ...(state.meeting.optionalAttendees || [])];
    const fromOutlook = attendees.find((a) => a.emailAddress.toLowerCase() === key);
    return fromOutlook?.displayName || email;
  }

  function formatValue(field, value, lookup, state) {
    if (field === "start" || field === "end") {
      return /^\d{4}-\d{2}-\d{2}$/.test(String(value)) ? formatDay(value) : formatMoment(value);
    }
    if (typeof value === "boolean") return t(value ? "value.yes" : "value.no");
    if (Array.isArray(value)) return formatList(value.map((email) => participantName(lookup, state, email)));
    return value ? String(value) : t("value.empty");
  }

  /** One row per field; for the externals one row per person who differs, saying on which side they are. */
  function renderDrift(lookup, state) {
    const rows = lookup.drift.differences.flatMap((d) => {
      if (d.field !== "externalAttendees") {
        return [el("tr", {},
          el("th", { scope: "row", text: t(`field.${d.field}`) }),
          el("td", { text: formatValue(d.field, d.crm, lookup, state) }),
          el("td", { text: formatValue(d.field, d.outlook, lookup, state) }))];
      }
      const inCrm = new Set(d.crm.map((e) => e.toLowerCase()));
      const inOutlook = new Set(d.outlook.map((e) => e.toLowerCase()));
      const people = [...d.crm.filter((e) => !inOutlook.has(e.toLowerCase())),
        ...d.outlook.filter((e) => !inCrm.has(e.toLowerCase()))];
      return people.map((email) => {
        const crmSide = inCrm.has(email.toLowerCase());
        const name = participantName(lookup, state, email);
        return el("tr", { className: "drift__person" },
          el("th", { scope: "row", text: t("field.externalAttendee") }),
          el("td", { text: crmSide ? name : t("value.absent") }),
          el("td", { text: crmSide ? t("value.absent") : name }));
      });
    });
    const attendeesDiffer = lookup.drift.differences.some((d) => d.field === "externalAttendees");
    return el("div", { className: "drift" },
      el("table", { className: "drift__table" },
        el("caption", { text: t("drift.caption") }),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col", text: t("drift.field") }),
          el("th", { scope: "col", text: t("drift.crm") }),
          el("th", { scope: "col", text: t("drift.outlook") }))),
        el("tbody", {}, rows)),
      attendeesDiffer ? el("p", { className: "muted", text: t("drift.attendeesNote") }) : null);
  }

  // ------------------------------------------------------------------ lower

  function renderLower(state) {
    if (state.phase === "not-linked") return [renderOutOfSync(state.outOfSync)];
    if (state.phase !== "linked" || !state.lookup) return [];
    const parts = [];
    const responses = state.lookup.drift?.responses || [];
    if (responses.length) parts.push(renderResponses(responses));
    parts.push(renderParticipants(state.lookup.activity.participants || []));
    return parts;
  }

  function renderResponses(responses) {
    return el("section", { className: "responses", "aria-labelledby": "responses-heading" },
      el("h2", { id: "responses-heading", text: t("responses.heading") }),
      el("ul", {}, responses.map((r) => el("li", { className: "response" },
        el("span", { className: "response__who", text: r.displayName || r.email }),
        " ",
        el("span", {
          className: `response__answer response__answer--${r.response}`, text: t(`response.${r.response}`),
        }),
        r.inCrm ? null : el("span", { className: "response__note", text: ` (${t("response.notInCrm")})` })))));
  }

  /** The organizer's meetings with externals that differ from the CRM, as Microsoft Graph last showed them. */
  function renderOutOfSync(outOfSync) {
    const section = el("section", { className: "out-of-sync", "aria-labelledby": "out-of-sync-heading" },
      el("h2", { id: "out-of-sync-heading", text: t("outOfSync.heading") }));
    if (!outOfSync) {
      section.append(skeletonLines(2));
    } else if (outOfSync.error) {
      section.append(el("p", { className: "muted", text: t("outOfSync.failed") }));
    } else if (!outOfSync.items.length) {
      section.append(el("p", { className: "muted", text: t(outOfSync.watching ? "outOfSync.none" : "outOfSync.notWatched") }));
    } else {
      section.append(el("ul", { className: "out-of-sync__list" }, outOfSync.items.map(renderOutOfSyncItem)));
    }
    return section;
  }

  function renderOutOfSyncItem(item) {
    const gone = ["cancelled", "deleted"].includes(item.meetingState) ? item.meetingState : null;
    // A cancelled or deleted meeting says so on its own line, not once more among the differences.
    const fields = item.differences.filter((d) => d.field !== gone).map((d) => t(`field.${d.field}`));
    const state = gone ? t(`outOfSync.${gone}`) : null;
    const responses = (item.responses || []).map((r) => el("li", { className: "response" },
      el("span", { className: "response__who", text: r.displayName || r.email }),
      " ",
      el("span", {
        className: `response__answer response__answer--${r.response}`, text: t(`response.${r.response}`),
      }),
      r.inCrm ? null : el("span", { className: "response__note", text: ` (${t("response.notInCrm")})` })));
    return el("li", { className: "out-of-sync__item" },
      el("p", { className: "out-of-sync__subject", text: item.subject }),
      el("p", { className: "out-of-sync__when", text: formatWhen(item.start, item.end) }),
      state ? el("p", { className: "out-of-sync__state", text: state }) : null,
      fields.length ? el("p", { text: t("outOfSync.differs", { list: formatList(fields) }) }) : null,
      responses.length ? el("ul", { className: "out-of-sync__responses", "aria-label": t("responses.heading") },
        responses) : null);
  }

  function renderParticipants(all) {
    // A room is booked, not invited: it is shown apart and not counted as a participant.
    const participants = all.filter((p) => p.classification !== "resource");
    const rooms = all.filter((p) => p.classification === "resource");
    const section = el("section", { className: "participants", "aria-labelledby": "participants-heading" },
      el("h2", { id: "participants-heading", text: t("participants.heading", { count: participants.length }) }));
    if (rooms.length) {
      section.append(el("p", { className: "rooms", text: t("participants.rooms", {
        list: formatList(rooms.map((r) => r.displayName || r.email)) }) }));
    }
    if (!participants.length) {
      section.append(el("p", { className: "muted", text: t("participants.none") }));
      return section;
    }
    section.append(el("ul", { className: "chips" }, participants.map((p, index) => {
      const kind = ["internal", "external", "resource"].includes(p.classification) ? p.classification : "external";
      const reasonId = `reason-${index}`;
      const reason = reasonFor(p);
      const open = expandedChips.has(p.email);
      return el("li", { className: "chips__item" },
        el("button", {
          type: "button",
          className: `chip chip--${kind}`,
          title: reason,
          "aria-describedby": reasonId,
          "aria-expanded": String(open),
          dataset: { chip: p.email, focusKey: `chip:${p.email}` },
        },
        el("span", { className: "chip__icon", "aria-hidden": "true", text: ICONS[kind] }),
        " ",
        el("span", { className: "chip__name", text: p.displayName || p.email }),
        " ",
        el("span", { className: "chip__domain", text: domainOf(p.email) }),
        p.type === "optional"
          ? el("span", { className: "chip__optional", text: ` (${t("participant.optional")})` }) : null,
        " ",
        el("span", { className: "chip__kind", text: t(`kind.${kind}`) })),
        el("p", { id: reasonId, className: "chip__reason", hidden: !open, text: reason }));
    })));
    return section;
  }

  // ------------------------------------------------------------------ notice

  function renderNotice(state) {
    const n = state.notice;
    let text = "";
    let action = null;
    if (n) {
      if (n.error) {
        const described = describeError(n.error);
        text = n.key ? t(n.key, { error: described.message }) : described.message;
        action = described.action === "sign-in" ? "signIn" : null;
      } else {
        text = t(n.key, n.params);
      }
    }
    notice.className = `notice${n ? ` notice--${n.tone}` : ""}`;
    notice.hidden = !n;
    if (text !== noticeText || !n) {
      notice.replaceChildren(el("p", { text }), n?.error ? requestIdLine(n.error) : "");
      if (action) notice.append(actionButton(action, t("action.signIn"), { primary: true }));
      noticeText = text;
    }
  }

  // ------------------------------------------------------------------ render

  function render(state) {
    const focusKey = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.focusKey;
    document.documentElement.lang = currentLanguage();
    header.replaceChildren(...renderHeader(state).filter(Boolean));
    upper.replaceChildren(...renderUpper(state).filter(Boolean));
    lower.replaceChildren(...renderLower(state).filter(Boolean));
    renderNotice(state);
    root.setAttribute("aria-busy", String(state.phase === "starting" || state.phase === "loading"));
    if (!focusKey) return;
    const again = /** @type {HTMLElement | null} */ (root.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`));
    if (again) again.focus();
    else (notice.hidden ? /** @type {HTMLElement | null} */ (root.querySelector("h1")) : notice)?.focus();
  }

  return { render };
}
