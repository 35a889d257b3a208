/*
 * The pane's state: one plain object, replaced (never mutated) on every change, and the rules that derive what
 * the organizer may do from it. No DOM, no Office.js, no network here.
 */

/** Differences "Update CRM to match Outlook" can take over; attendee changes stay with the organizer. */
const CRM_TAKES = new Set(["start", "end", "location", "allDay"]);

export function initialState() {
  return {
    // starting | office-missing | not-outlook | too-old | no-item | not-appointment
    // | loading | linked | not-linked | error
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
    instructions: null, // [{field, value}] CRM values to copy into the opened meeting
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

/** The actions offered, in the order they are shown (and reached by Tab). */
export function actionsFor(state) {
  const lookup = state.lookup;
  if (state.phase !== "linked" || !lookup) return [];
  const actions = [];
  const external = lookup.state;
  const waiting = external === "not-invited" || external === "invitation-open";
  if (waiting && lookup.meeting !== "external") {
    if (state.mode === "compose" && state.isNew) actions.push("fill");
    if (state.mode === "read") actions.push(external === "invitation-open" ? "inviteAgain" : "invite");
  }
  if (external === "drifted" && lookup.drift) {
    if (lookup.drift.differences.some((d) => CRM_TAKES.has(d.field))) actions.push("takeOutlook");
    actions.push("prepareUpdate");
  }
  return actions;
}

/** A compose item on an existing meeting, where only a read-mode form can start an invitation. */
export function invitationNeedsReadMode(state) {
  const external = state.lookup?.state;
  return state.phase === "linked" && state.mode === "compose" && !state.isNew && state.lookup?.meeting !== "external"
    && (external === "not-invited" || external === "invitation-open");
}
