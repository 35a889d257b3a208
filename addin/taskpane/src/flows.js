/*
 * What the organizer can do, as steps over Office.js (office.js) and the backend (api.js), recorded in the store.
 * The pane never sends anything: it opens or fills a meeting, and the organizer presses Send in Outlook.
 *
 * Outlook opens a meeting in compose form for its organizer and in read form for its attendees
 * (docs-pr: compose-scenario.md), so the organizer's own internal meeting is a compose item. From there the pane
 * reaches the customer invitation without displayNewAppointmentForm (read mode only, office.mailbox.yml):
 * - with Graph: the backend puts an appointment with nobody invited into the calendar, the pane opens it
 *   (displayAppointmentFormAsync), and the pane there adds the customers on the organizer's click;
 * - always: the organizer starts a new meeting; the pane there proposes the activity first (a handoff), one click
 *   fills it.
 */

import * as office from "./office.js";
import { initialState } from "./state.js";

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const HANDOFF_KEY = "crmbridge.handoff";
const HANDOFF_MS = 30 * 60 * 1000; // a handoff older than half an hour is forgotten

const success = (key, params) => ({ tone: "success", key, params });

function withSnapshot(query, snapshot) {
  return snapshot ? { ...query, snapshot } : query;
}

/**
 * The one lookup for the open meeting: the item's id (when Outlook has one) with the custom property's activity id
 * and meeting kind as the fallback, or null when there is neither. The snapshot goes along when the meeting may be
 * the external one: only that one is compared with the CRM. The appointment the backend prepared for the
 * customers ("external-draft") is the external meeting.
 */
export function lookupQuery({ ids, snapshot }) {
  const query = {};
  if (ids.itemId) query.itemId = ids.itemId;
  if (ids.activityId) {
    query.activityId = ids.activityId;
    const kind = ids.meetingKind === "external-draft" ? "external" : ids.meetingKind;
    if (kind === "internal" || kind === "external") query.meetingKind = kind;
  }
  if (!query.itemId && !query.activityId) return null;
  const mayBeExternal = query.activityId ? query.meetingKind === "external" : true;
  return mayBeExternal ? withSnapshot(query, snapshot) : query;
}

function activityIdFrom(value) {
  const id = Number(value);
  return Number.isInteger(id) && id > 0 ? id : null;
}

function attendeesOf(meeting) {
  return [...(meeting.requiredAttendees || []), ...(meeting.optionalAttendees || [])];
}

/**
 * Which of the activity's meetings this is, judged by its attendees: any of the activity's externals on it makes
 * it the external meeting, else it is proposed as the internal one. The backend checks every attendee against the
 * organization's domains and refuses an internal meeting with anyone outside it (it carries the notes); the pane
 * then explains and offers to link it as the customer meeting.
 */
export function meetingKindFor(activity, meeting) {
  const externals = new Set((activity.participants || [])
    .filter((p) => p.classification === "external")
    .map((p) => p.email.toLowerCase()));
  return attendeesOf(meeting).some((a) => externals.has(a.emailAddress.toLowerCase())) ? "external" : "internal";
}

/** The activity a pane on another meeting asked this one to propose first, if it is recent. */
export function readHandoff(now = Date.now()) {
  try {
    const value = JSON.parse(globalThis.localStorage?.getItem(HANDOFF_KEY) || "null");
    return value && Number.isInteger(value.activityId) && now - value.at < HANDOFF_MS ? value.activityId : null;
  } catch {
    return null;
  }
}

function writeHandoff(activityId) {
  try {
    globalThis.localStorage?.setItem(HANDOFF_KEY, JSON.stringify({ activityId, at: Date.now() }));
    return true;
  } catch {
    return false; // storage refused (private mode): the organizer picks the activity from the list
  }
}

export function createFlows({ store, api, auth }) {
  let generation = 0; // one per opening: answers for an item the pane has left are dropped
  const get = () => store.get();
  const update = (patch) => store.update(patch);

  /** Read the open meeting and find its CRM activity: one lookup, by the item's id and the custom property. */
  async function open() {
    const gen = ++generation;
    const live = () => gen === generation;
    const item = office.currentItem();
    if (!item) return update({ ...initialState(), phase: "no-item" });
    if (!office.isAppointment(item)) return update({ ...initialState(), phase: "not-appointment" });

    const mode = office.modeOf(item);
    const reads = office.readMeeting(item);
    update({ ...initialState(), phase: "loading", mode, reading: Object.keys(reads) });
    const { values: meeting, errors } = await readInto(reads, live);
    if (!live()) return;

    const props = meeting.customProperties || {};
    update({
      ids: {
        itemId: meeting.itemId || null,
        activityId: activityIdFrom(props.activityId),
        meetingKind: props.meetingKind,
      },
      snapshot: office.buildSnapshot(meeting, office.userEmail()),
      isNew: mode === "compose" && meeting.itemId === null,
      outlookSlow: errors.customProperties?.code === "timeout" ? errors.customProperties : null,
    });
    if (office.isCompose(item)) office.onItemEdited(item, () => refresh(gen));
    await find(live);
  }

  /**
   * Show each field as it arrives; resolve with all values and the reads that failed once every read has settled
   * (each has a timeout).
   */
  async function readInto(reads, live) {
    const values = {};
    const errors = {};
    await Promise.all(Object.entries(reads).map(([name, promise]) => promise.then((result) => {
      values[name] = result.value;
      if (result.error) errors[name] = result.error;
      if (live()) {
        update((s) => ({
          meeting: { ...s.meeting, [name]: result.value },
          reading: s.reading.filter((n) => n !== name),
        }));
      }
    })));
    return { values, errors };
  }

  /**
   * The organizer changed the meeting (a compose event), or the pane filled it: read it again and look up again,
   * so drift and "Update CRM to match Outlook" use what the form holds now, never an older snapshot.
   */
  async function reread(live) {
    await rereadItem(live);
    if (live() && get().phase === "linked") await find(live);
  }

  /** Only the form: the CRM version the organizer was shown stays (its ETag catches a change meanwhile). */
  async function rereadItem(live) {
    const item = office.currentItem();
    if (!item) return;
    const { values } = await readInto(office.readMeeting(item), live);
    if (live()) update((s) => ({ snapshot: office.buildSnapshot({ ...s.meeting, ...values }, office.userEmail()) }));
  }

  function refresh(gen) {
    if (gen !== generation || get().busy) return;
    reread(() => gen === generation).catch(() => {});
  }

  /**
   * One lookup: the backend tries the link recorded for the item's id first (its record is the truth, DESIGN 3),
   * then the activity id of the custom property, a hint. A meeting with neither is not linked.
   */
  async function find(live) {
    const query = lookupQuery(get());
    try {
      let found = null;
      if (query) {
        try {
          found = await api.lookup(query);
        } catch (error) {
          if (error.status !== 404) throw error;
          if (query.activityId) {
            // The custom property names an activity of someone else's: calm, not an error.
            if (live()) update({ phase: "not-yours", lookup: null, error: null });
            return;
          }
        }
      }
      if (!live()) return;
      if (found) {
        update({ phase: "linked", lookup: found.data, error: null });
        return;
      }
      const s = get();
      if (s.outlookSlow) {
        // Outlook did not hand over the custom properties: not knowing is not "not linked".
        update({ phase: "error", error: s.outlookSlow });
        return;
      }
      if (s.mode === "read" && !isOwnMeeting(s)) {
        update({ phase: "not-yours", lookup: null, error: null });
        return;
      }
      await findUnlinked(live);
    } catch (error) {
      if (live()) update({ phase: "error", error });
    }
  }

  function isOwnMeeting(s) {
    const organizer = s.meeting.organizer?.emailAddress;
    return !organizer || organizer.toLowerCase() === office.userEmail().toLowerCase();
  }

  /** Not linked: candidates to link it to, and beside them the organizer's meetings that are out of sync. */
  async function findUnlinked(live) {
    update({ phase: "not-linked", candidates: null, outOfSync: null });
    await Promise.all([
      findCandidates(live).catch((error) => {
        if (live()) update({ phase: "error", error });
      }),
      findOutOfSync(live),
    ]);
  }

  /**
   * Not linked: the organizer's activities around the meeting's time (a new meeting: the coming month), with the
   * one a pane on another meeting handed over first.
   */
  async function findCandidates(live) {
    const { meeting, isNew } = get();
    const near = !isNew && meeting.start instanceof Date;
    const from = near ? new Date(meeting.start.getTime() - DAY) : new Date(Date.now() - HOUR);
    const to = near ? new Date((meeting.end ?? meeting.start).getTime() + DAY) : new Date(Date.now() + 30 * DAY);
    const { data } = await api.listActivities({ from: from.toISOString(), to: to.toISOString(), pageSize: "50" });
    let items = data.items || [];
    const handoff = isNew ? readHandoff() : null;
    if (handoff) {
      const handed = items.find((a) => a.id === handoff) || (await api.lookup({ activityId: handoff })
        .then(({ data: found }) => found.activity, () => null));
      if (handed) items = [handed, ...items.filter((a) => a.id !== handoff)];
    }
    if (live()) update({ candidates: { near, items, handoff: items[0]?.id === handoff ? handoff : null } });
  }

  /** The organizer's external meetings that differ from the CRM (GET /api/drift); a failure stays in its section. */
  async function findOutOfSync(live) {
    try {
      const { data } = await api.outOfSync();
      if (live()) update({ outOfSync: { items: data?.items || [], watching: Boolean(data?.watching) } });
    } catch (error) {
      if (live()) update({ outOfSync: { items: [], error } });
    }
  }

  /** Run one action at a time; its failure becomes a notice, the pane stays as it was. */
  async function act(name, steps) {
    if (get().busy) return;
    const gen = generation;
    update({ busy: name, notice: null });
    try {
      await steps(() => gen === generation);
    } catch (error) {
      if (gen === generation) update({ notice: { tone: "error", error } });
    } finally {
      if (gen === generation) update({ busy: null });
    }
  }

  /**
   * Link the open meeting to the chosen activity. A saved meeting is recorded with its id and its attendees (the
   * backend refuses to make a meeting with anyone outside the organization the internal one): "sent" when read,
   * "pending" when being edited. A new meeting is linked when it is filled in. `kind` is the organizer's choice
   * after a refusal ("external").
   */
  function link(activityId, kind = null) {
    return act("link", async (live) => {
      const s = get();
      const activity = s.candidates?.items.find((a) => a.id === activityId);
      if (!activity) return;
      if (!s.ids.itemId) {
        const found = await api.lookup({ activityId });
        if (live()) update({ phase: "linked", lookup: found.data, candidates: null, ids: { ...s.ids, activityId } });
        return;
      }
      const body = {
        kind: kind || meetingKindFor(activity, s.meeting),
        state: s.mode === "read" ? "sent" : "pending",
        ewsItemId: s.ids.itemId,
        attendees: attendeesOf(s.meeting).map((a) => a.emailAddress),
      };
      let recorded;
      try {
        ({ data: recorded } = await api.recordLink(activityId, body));
      } catch (error) {
        if (error.reason !== "outsiders-on-internal-meeting") throw error;
        if (live()) update({ linkRefused: { activityId, outsiders: error.details?.outsiders || [] } });
        return;
      }
      const found = await api.lookup(withSnapshot({ itemId: s.ids.itemId },
        recorded.kind === "external" ? s.snapshot : null));
      if (live()) {
        update({
          phase: "linked", lookup: found.data, candidates: null, linkRefused: null,
          notice: success(recorded.kind === "external" ? "notice.linkedExternal" : "notice.linked"),
        });
      }
    });
  }

  function linkExternal(activityId) {
    return link(activityId, "external");
  }

  /**
   * On the internal meeting, when it holds older notes than the CRM (an online meeting's body is never rewritten,
   * or notes-only updates are off): the CRM's notes, shown in the pane. Only ever asked for on the internal
   * meeting, which only colleagues are on; the external-facing flows never read the notes.
   */
  function showNotes() {
    return act("showNotes", async (live) => {
      const { lookup } = get();
      if (lookup?.meeting !== "internal") return;
      const { data } = await api.getActivity(lookup.activity.id);
      if (live()) update({ newerNotes: { activityId: data.id, text: data.internalNotes || "" } });
    });
  }

  /** The lookup with the external link and state it now has (an action changed them). */
  function withExternal(link, state) {
    update((s) => ({ lookup: { ...s.lookup, externalMeeting: link, state } }));
  }

  /**
   * Compose, on the organizer's internal meeting, with Graph: the backend puts the customer appointment (nobody
   * invited, so no mail) into the calendar and the pane opens it. There the organizer opens the pane and adds the
   * customers with one click, then presses Send.
   */
  function prepareAppointment() {
    return act("prepareAppointment", async (live) => {
      const id = get().lookup.activity.id;
      const { data } = await api.prepareAppointment(id);
      if (live()) withExternal(data.link, "invitation-open");
      await office.openExistingAppointment(office.ewsIdOf(data.link.graphEventId));
      if (live()) update({ notice: success("notice.appointmentOpened") });
    });
  }

  /** Compose, without Graph or by choice: the organizer starts a new meeting; its pane proposes this activity. */
  function startNewMeeting() {
    return act("startNewMeeting", async (live) => {
      const id = get().lookup.activity.id;
      const kept = writeHandoff(id);
      if (live()) update({ notice: { tone: "info", key: kept ? "notice.newMeeting" : "notice.newMeetingNoHandoff" } });
    });
  }

  /**
   * Read mode (the activity's organizer on a meeting someone else organizes): open a new meeting form with the
   * organizer and the externals only, then note the open invitation. "Open again" opens the meeting itself when
   * its id is known, and otherwise a new form for the same link (no second meeting in the CRM).
   */
  function invite() {
    return act("invite", async (live) => {
      const { lookup } = get();
      const id = lookup.activity.id;
      const known = lookup.externalMeeting?.graphEventId || lookup.externalMeeting?.ewsItemId;
      if (lookup.externalMeeting?.state === "pending" && known) {
        const ews = lookup.externalMeeting.ewsItemId || office.ewsIdOf(lookup.externalMeeting.graphEventId);
        await office.openExistingAppointment(ews);
        if (live()) update({ notice: success("notice.invitationReopened") });
        return;
      }
      const { data: draft } = await api.externalDraft(id);
      await office.openNewAppointment(draft);
      let recorded;
      try {
        ({ data: recorded } = await api.recordLink(id, { kind: "external", state: "pending" }));
      } catch (error) {
        if (live()) update({ notice: { tone: "error", key: "notice.invitedNotRecorded", error } });
        return;
      }
      if (live()) {
        withExternal(recorded, "invitation-open");
        update({ notice: success(draft.isAllDay ? "notice.invitedAllDay" : "notice.invited") });
      }
    });
  }

  /** Compose mode on a new meeting: write the draft into it, mark it, save it (no invitation goes out), link it. */
  function fill(activityId = null) {
    return act("fill", async (live) => {
      const item = office.composeItem();
      if (activityId) {
        const found = await api.lookup({ activityId });
        if (!live()) return;
        update({ phase: "linked", lookup: found.data, candidates: null });
      }
      const id = get().lookup.activity.id;
      const { data: draft } = await api.externalDraft(id);
      await office.fillCurrentItem(item, draft);
      await office.saveCustomProperties(item, {
        [office.CUSTOM_PROPERTIES.activityId]: id,
        [office.CUSTOM_PROPERTIES.meetingKind]: "external",
      });
      const itemId = get().isNew ? await office.saveNewItem(item) : null;
      const body = { kind: "external", state: "pending", ...(itemId ? { ewsItemId: itemId } : {}) };
      const { data: recorded } = await api.recordLink(id, body);
      if (!live()) return;
      update((s) => ({
        isNew: s.isNew && !itemId,
        ids: { itemId: itemId || s.ids.itemId, activityId: id, meetingKind: "external" },
        lookup: { ...s.lookup, meeting: "external", externalMeeting: recorded, state: "invitation-open" },
        notice: success(draft.isAllDay ? "notice.filledAllDay" : "notice.filled"),
      }));
      await reread(live);
    });
  }

  /**
   * Compose, on the customer meeting (the prepared appointment, or one the organizer made): add the CRM's
   * externals it lacks, keeping everyone the organizer added. Never saves: on an existing appointment a save mails
   * the added attendees at once; the organizer presses Send.
   */
  function addCustomers() {
    return act("addCustomers", async (live) => {
      const { data: draft } = await api.externalDraft(get().lookup.activity.id);
      const added = await office.addMissingAttendees(office.composeItem(), draft);
      if (live()) update({ notice: success(added ? "notice.customersAdded" : "notice.customersPresent") });
      await reread(live);
    });
  }

  /** "Update CRM to match Outlook": from what the form holds now; on 412 show the newer CRM version. */
  function takeOutlook() {
    return act("takeOutlook", async (live) => {
      if (get().mode === "compose") await rereadItem(live);
      if (!live()) return;
      const { lookup, snapshot } = get();
      if (!snapshot) throw Object.assign(new Error("incomplete"), { name: "OfficeError", code: "incomplete" });
      const id = lookup.activity.id;
      let result;
      try {
        result = await api.reconcile(id, { take: "outlook", snapshot }, lookup.etag);
      } catch (error) {
        if (error.code !== "stale") throw error;
        await find(live);
        if (live()) update({ notice: { tone: "error", key: "notice.conflict" } });
        return;
      }
      const { data: drift } = await api.drift(id, snapshot);
      if (!live()) return;
      update((s) => ({
        lookup: {
          ...s.lookup, activity: { ...s.lookup.activity, ...result.data }, etag: result.etag || s.lookup.etag,
          drift, state: drift.inSync ? "in-sync" : "drifted",
        },
        notice: success(drift.inSync ? "notice.reconciled" : "notice.reconciledPartly"),
      }));
    });
  }

  /**
   * The customer meeting was cancelled in Outlook: cancel the activity in the CRM too. Only its status changes
   * (the internal meeting follows and the colleagues get its cancellation); no customer is mailed.
   */
  function cancelInCrm() {
    return act("cancelInCrm", async (live) => {
      const { lookup } = get();
      let result;
      try {
        result = await api.updateActivity(lookup.activity.id, { status: "cancelled" }, lookup.etag);
      } catch (error) {
        if (error.code !== "stale") throw error;
        await find(live);
        if (live()) update({ notice: { tone: "error", key: "notice.conflict" } });
        return;
      }
      if (!live()) return;
      update((s) => ({
        lookup: { ...s.lookup, activity: { ...s.lookup.activity, status: "cancelled" },
          etag: result.etag || s.lookup.etag, state: "cancelled" },
        notice: success("notice.cancelledInCrm"),
      }));
    });
  }

  /**
   * "Prepare an update for the external participants", compose only (the organizer's own meeting): write the
   * CRM's time and place into the open meeting and add the externals it lacks, removing nobody (removeExtra does
   * that on request). The organizer presses Send Update; the pane never saves an existing meeting, which would
   * mail every attendee at once. Then the form is read again, so the drift shown is what the form now holds.
   */
  function prepareUpdate() {
    return act("prepareUpdate", async (live) => {
      const { data: draft } = await api.externalDraft(get().lookup.activity.id);
      await office.fillCurrentItem(office.composeItem(), draft, { withBody: false });
      if (live()) update({ notice: success("notice.preparedCompose") });
      await reread(live);
    });
  }

  /** Compose: take off the meeting the externals the CRM does not have (the organizer asked for it). */
  function removeExtra() {
    return act("removeExtra", async (live) => {
      const difference = get().lookup.drift?.differences.find((d) => d.field === "externalAttendees");
      if (!difference) return;
      const crm = new Set(difference.crm.map((e) => e.toLowerCase()));
      const extra = difference.outlook.filter((e) => !crm.has(e.toLowerCase()));
      await office.removeAttendees(office.composeItem(), extra);
      if (live()) update({ notice: success("notice.removed") });
      await reread(live);
    });
  }

  /** A new token (the button a 401 shows), then everything again. */
  async function signIn() {
    try {
      await auth.getToken({ forceRefresh: true });
    } catch (error) {
      update({ phase: "error", error, notice: null });
      return;
    }
    await open();
  }

  return {
    open, retry: open, signIn, link, linkExternal, invite, inviteAgain: invite, fill, fillFor: fill,
    prepareAppointment, showNotes, openInvitation: invite, startNewMeeting, addCustomers, takeOutlook, cancelInCrm,
    prepareUpdate, removeExtra,
  };
}
