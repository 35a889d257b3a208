/*
 * What the organizer can do, as steps over Office.js (office.js) and the backend (api.js), recorded in the store.
 * The pane never sends anything: it opens or fills a meeting, and the organizer presses Send in Outlook.
 */

import * as office from "./office.js";
import { initialState } from "./state.js";

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

const success = (key) => ({ tone: "success", key });

function withSnapshot(query, snapshot) {
  return snapshot ? { ...query, snapshot } : query;
}

/**
 * The one lookup for the open meeting: the item's id (when Outlook has one) with the custom property's activity id
 * and meeting kind as the fallback, or null when there is neither. The snapshot goes along when the meeting may be
 * the external one: only that one is compared with the CRM. A custom property without a kind (or the internal
 * kind) could name the activity of the internal meeting, which must not be compared.
 */
export function lookupQuery({ ids, snapshot }) {
  const query = {};
  if (ids.itemId) query.itemId = ids.itemId;
  if (ids.activityId) {
    query.activityId = ids.activityId;
    if (ids.meetingKind === "internal" || ids.meetingKind === "external") query.meetingKind = ids.meetingKind;
  }
  if (!query.itemId && !query.activityId) return null;
  const mayBeExternal = query.activityId ? query.meetingKind === "external" : true;
  return mayBeExternal ? withSnapshot(query, snapshot) : query;
}

function activityIdFrom(value) {
  const id = Number(value);
  return Number.isInteger(id) && id > 0 ? id : null;
}

/**
 * Which of the activity's meetings this is, judged by its attendees: any of the activity's externals among them
 * makes it the external meeting, else it is the internal one.
 */
export function meetingKindFor(activity, meeting) {
  const externals = new Set((activity.participants || [])
    .filter((p) => p.classification === "external")
    .map((p) => p.email.toLowerCase()));
  const attendees = [...(meeting.requiredAttendees || []), ...(meeting.optionalAttendees || [])];
  return attendees.some((a) => externals.has(a.emailAddress.toLowerCase())) ? "external" : "internal";
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
    const meeting = await readInto(reads, live);
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
    });
    await find(live);
  }

  /** Show each field as it arrives; resolve with all values once every read has settled (each has a timeout). */
  async function readInto(reads, live) {
    const values = {};
    await Promise.all(Object.entries(reads).map(([name, promise]) => promise.then((result) => {
      values[name] = result.value;
      if (live()) {
        update((s) => ({
          meeting: { ...s.meeting, [name]: result.value },
          reading: s.reading.filter((n) => n !== name),
        }));
      }
    })));
    return values;
  }

  /**
   * One lookup: the backend tries the link recorded for the item's id first (its record is the truth, DESIGN 3),
   * then the activity id of the custom property, a hint. A meeting with neither is not linked.
   */
  async function find(live) {
    const query = lookupQuery(get());
    if (!query) {
      await findUnlinked(live);
      return;
    }
    try {
      let found = null;
      try {
        found = await api.lookup(query);
      } catch (error) {
        // Not found by the item's id alone: not linked. With an activity id, that activity is not the caller's.
        if (!(error.status === 404 && !query.activityId)) throw error;
      }
      if (!live()) return;
      if (found) {
        update({ phase: "linked", lookup: found.data, error: null });
        return;
      }
      await findUnlinked(live);
    } catch (error) {
      if (live()) update({ phase: "error", error });
    }
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

  /** Not linked: the organizer's activities around the meeting's time (a new meeting: the coming month). */
  async function findCandidates(live) {
    const { meeting, isNew } = get();
    const near = !isNew && meeting.start instanceof Date;
    const from = near ? new Date(meeting.start.getTime() - DAY) : new Date(Date.now() - HOUR);
    const to = near ? new Date((meeting.end ?? meeting.start).getTime() + DAY) : new Date(Date.now() + 30 * DAY);
    const { data } = await api.listActivities({ from: from.toISOString(), to: to.toISOString(), pageSize: "50" });
    if (live()) update({ candidates: { near, items: data.items || [] } });
  }

  /** The organizer's external meetings that differ from the CRM (GET /api/drift); a failure stays in its section. */
  async function findOutOfSync(live) {
    try {
      const { data } = await api.outOfSync();
      if (live()) update({ outOfSync: { items: data?.items || [] } });
    } catch (error) {
      if (live()) update({ outOfSync: { items: [], error } });
    }
  }

  /** Run one action at a time; its failure becomes a notice, the pane stays as it was. */
  async function act(name, steps) {
    if (get().busy) return;
    const gen = generation;
    update({ busy: name, notice: null, instructions: null });
    try {
      await steps(() => gen === generation);
    } catch (error) {
      if (gen === generation) update({ notice: { tone: "error", error } });
    } finally {
      if (gen === generation) update({ busy: null });
    }
  }

  /**
   * Link the open meeting to the chosen activity. A saved meeting is recorded with its id: "sent" when read
   * (it is in the calendar as sent), "pending" when being edited. A new meeting is linked when it is filled in.
   */
  function link(activityId) {
    return act("link", async (live) => {
      const s = get();
      const activity = s.candidates?.items.find((a) => a.id === activityId);
      if (!activity) return;
      if (!s.ids.itemId) {
        const found = await api.lookup({ activityId });
        if (live()) update({ phase: "linked", lookup: found.data, candidates: null, ids: { ...s.ids, activityId } });
        return;
      }
      const kind = meetingKindFor(activity, s.meeting);
      const state = s.mode === "read" ? "sent" : "pending";
      await api.recordLink(activityId, { kind, state, ewsItemId: s.ids.itemId });
      const found = await api.lookup(withSnapshot({ itemId: s.ids.itemId }, kind === "external" ? s.snapshot : null));
      if (live()) {
        update({ phase: "linked", lookup: found.data, candidates: null, notice: success("notice.linked") });
      }
    });
  }

  /** Read mode: open a new meeting with the organizer and the externals only, then note the open invitation. */
  function invite() {
    return act("invite", async (live) => {
      const id = get().lookup.activity.id;
      const { data: draft } = await api.externalDraft(id);
      await office.openNewAppointment(draft);
      let link;
      try {
        ({ data: link } = await api.recordLink(id, { kind: "external", state: "pending" }));
      } catch (error) {
        if (live()) update({ notice: { tone: "error", key: "notice.invitedNotRecorded", error } });
        return;
      }
      if (live()) {
        update((s) => ({
          lookup: { ...s.lookup, externalMeeting: link, state: "invitation-open" },
          notice: success("notice.invited"),
        }));
      }
    });
  }

  /** Compose mode on a new meeting: write the draft into it, mark it, save it (no invitation goes out), link it. */
  function fill() {
    return act("fill", async (live) => {
      const item = office.currentItem();
      const id = get().lookup.activity.id;
      const { data: draft } = await api.externalDraft(id);
      await office.fillCurrentItem(item, draft);
      await office.saveCustomProperties(item, {
        [office.CUSTOM_PROPERTIES.activityId]: id,
        [office.CUSTOM_PROPERTIES.meetingKind]: "external",
      });
      const itemId = get().isNew ? await office.saveNewItem(item) : null;
      const body = { kind: "external", state: "pending", ...(itemId ? { ewsItemId: itemId } : {}) };
      const { data: link } = await api.recordLink(id, body);
      if (!live()) return;
      update((s) => ({
        isNew: s.isNew && !itemId,
        ids: { itemId: itemId || s.ids.itemId, activityId: id, meetingKind: "external" },
        lookup: { ...s.lookup, meeting: "external", externalMeeting: link, state: "invitation-open" },
        notice: success("notice.filled"),
      }));
      await readInto(office.readMeeting(item), live);
    });
  }

  /** "Update CRM to match Outlook": the CRM takes Outlook's time and place; on 412 show the newer CRM version. */
  function takeOutlook() {
    return act("takeOutlook", async (live) => {
      const { lookup, snapshot } = get();
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
          ...s.lookup, activity: result.data, etag: result.etag || s.lookup.etag, drift,
          state: drift.inSync ? "in-sync" : "drifted",
        },
        notice: success(drift.inSync ? "notice.reconciled" : "notice.reconciledPartly"),
      }));
    });
  }

  /**
   * "Prepare an update for the external participants". In read mode the pane cannot change an existing meeting,
   * and displayNewAppointmentForm would make a second meeting; so it opens the external meeting itself
   * (displayAppointmentForm) and lists the CRM values to apply before Send Update. In compose mode it writes the
   * CRM values into the open meeting and leaves Send Update to the organizer: it never saves an existing meeting,
   * because that would mail every attendee at once.
   */
  function prepareUpdate() {
    return act("prepareUpdate", async (live) => {
      const s = get();
      if (s.mode === "compose") {
        const item = office.currentItem();
        const { data: draft } = await api.externalDraft(s.lookup.activity.id);
        await office.fillCurrentItem(item, draft, { withBody: false });
        if (live()) update({ notice: success("notice.preparedCompose") });
        await readInto(office.readMeeting(item), live);
        return;
      }
      await office.openExistingAppointment(s.ids.itemId);
      if (live()) {
        update({
          notice: { tone: "info", key: "notice.preparedRead" },
          instructions: s.lookup.drift.differences.filter((d) => d.field !== "cancelled"),
        });
      }
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

  return { open, retry: open, signIn, link, invite, inviteAgain: invite, fill, takeOutlook, prepareUpdate };
}
