/*
 * The pane's state: one plain object, replaced (never mutated) on every change, and the rules that derive what
 * the organizer may do from it. No DOM, no Office.js, no network here.
 */

/** Differences "Update CRM to match Outlook" can take over; attendee changes stay with the organizer. */
const CRM_TAKES = new Set(["start", "end", "location", "allDay"]);

export function initialState() {
  return {
    // starting | office-missing | not-outlook | too-old | no-item | not-appointment
    // | loading | linked | not-linked | not-yours | error
    phase: "starting",
    mode: null, // "read" | "compose"
    isNew: false, // a compose item that was never saved
    meeting: {}, // what Outlook told us so far: subject, start, end, location, isAllDay, requiredAttendees, ...
    reading: [], // names of Outlook reads still running
    snapshot: null, // the meeting as a Graph event, when every field it needs was read
    ids: { itemId: null, activityId: null, meetingKind: null },
    lookup: null, // the backend's answer: activity, etag, meeting, state, externalMeeting, drift
    candidates: null, // {near: boolean, items: [...]} when the meeting is not linked
    outOfSync: null, // {items: [...], error?} the organizer's meetings out of sync (GET /api/drift), when not linked
    error: null, // what stopped the pane from showing the activity
    busy: null, // the action now running
    notice: null, // {tone: "success" | "error" | "info", key, params, error}
    linkRefused: null, // {activityId, outsiders}: the backend would not make this meeting the internal one
    newerNotes: null, // {activityId, text}: the CRM's notes the internal meeting does not hold, asked for on it
    outlookSlow: null, // an OfficeError: Outlook did not hand over the custom properties in time
  };
}

export function createStore(state = initialState()) {
  const listeners = new Set();
  return {
    get: () => state,
    update(patch) {
      state = { ...state, ...(typeof patch === "function" ? patch(state) : patch) };
      listeners.forEach((listener) => listener(state));
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The activity's externals that the open meeting does not have yet. */
export function missingCustomers(state) {
  const present = new Set([...(state.meeting.requiredAttendees || []), ...(state.meeting.optionalAttendees || [])]
    .map((a) => a.emailAddress.toLowerCase()));
  return (state.lookup?.activity?.participants || [])
    .filter((p) => p.classification === "external" && !present.has(p.email.toLowerCase()));
}

/** The externals on the Outlook meeting that the CRM does not have (from the drift). */
export function extraExternals(lookup) {
  const difference = lookup?.drift?.differences?.find((d) => d.field === "externalAttendees");
  if (!difference) return [];
  const crm = new Set(difference.crm.map((e) => e.toLowerCase()));
  return difference.outlook.filter((e) => !crm.has(e.toLowerCase()));
}

/** Why no invitation may go out for this activity now, or null: "cancelled", "over" or "sent". */
export function invitationBlocked(lookup, now = new Date()) {
  const activity = lookup?.activity;
  if (!activity) return null;
  if (activity.status === "cancelled") return "cancelled";
  if (new Date(activity.end) <= now) return "over";
  if (!["not-invited", "invitation-open"].includes(lookup.state)) return lookup.state === "no-externals" ? null : "sent";
  return null;
}

/**
 * The actions offered, in the order they are shown (and reached by Tab). Where Outlook opens the meeting decides
 * the path to the invitation: compose for the organizer's own meeting (prepared appointment, or a new meeting),
 * a new compose meeting is filled in, and read mode (someone else's meeting) opens Outlook's new-meeting form.
 */
export function actionsFor(state) {
  const lookup = state.lookup;
  if (state.phase !== "linked" || !lookup) return [];
  const actions = [];
  const external = lookup.state;
  const blocked = invitationBlocked(lookup);
  const waiting = !blocked && (external === "not-invited" || external === "invitation-open");
  const link = lookup.externalMeeting;
  const openable = external === "invitation-open" && Boolean(link?.graphEventId || link?.ewsItemId);
  if (lookup.meeting !== "external" && waiting) {
    if (state.mode === "compose" && state.isNew) actions.push("fill");
    else if (state.mode === "compose") {
      if (openable) actions.push("openInvitation");
      else if (lookup.canPrepareAppointment) actions.push("prepareAppointment");
      actions.push("startNewMeeting");
    } else {
      actions.push(openable ? "openInvitation" : external === "invitation-open" ? "inviteAgain" : "invite");
    }
  }
  if (lookup.meeting === "external" && waiting && state.mode === "compose" && missingCustomers(state).length) {
    actions.push("addCustomers");
  }
  if (external === "cancelled" && lookup.activity.status !== "cancelled") actions.push("cancelInCrm");
  if (external === "drifted" && lookup.drift) {
    const differences = lookup.drift.differences;
    if (differences.some((d) => d.field === "cancelled" && d.outlook === true)) {
      actions.push("cancelInCrm");
    } else {
      if (differences.some((d) => CRM_TAKES.has(d.field))) actions.push("takeOutlook");
      // Only the meeting's organizer can send an update, and Outlook opens the meeting in compose for them.
      if (state.mode === "compose") actions.push("prepareUpdate");
      if (state.mode === "compose" && extraExternals(lookup).length) actions.push("removeExtra");
    }
  }
  return actions;
}
