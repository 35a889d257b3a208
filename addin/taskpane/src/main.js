/*
 * Start-up: show the skeleton at once, wait for Office, check the host and the item, then wire the store, the
 * flows and the view together. Opening another item (ItemChanged) starts over.
 *
 * The entry point esbuild bundles into dist/static/main-<hash>.js (scripts/lib/build-taskpane.mjs). MSAL.js (npm)
 * is imported dynamically, from a file of its own (preloaded by the page): where the backend names an Entra app, it
 * runs as soon as the sign-in configuration has come, and its app for nested app authentication is made once Office
 * is ready, beside the reading of the item, which never waits for them; only a sign-in does. Without an Entra app
 * (development tokens) it is never loaded.
 */

import { createClient } from "./api.js";
import { createAuth, loadAuthConfig } from "./auth.js";
import { createFlows } from "./flows.js";
import { setLanguage, setWallClock } from "./i18n.js";
import * as office from "./office.js";
import { createStore, initialState } from "./state.js";
import { createView } from "./view.js";

const MINIMUM_MAILBOX = "1.3";

let msal = null; // the MSAL.js module once loaded
let msalLoad = null;

function loadMsal() {
  if (!msalLoad) {
    msalLoad = import("@azure/msal-browser").then((module) => (msal = module));
    msalLoad.catch(() => { msalLoad = null; }); // a failed download is tried again at the next sign-in
  }
  return msalLoad;
}

/**
 * The view drawn at most once a frame, with the newest state: Outlook answers each read of the item apart, and
 * drawing every intermediate state (a dozen before the activity shows) kept the main thread from the sign-in and
 * the lookup, most of all on a slow CPU. A hidden pane draws when it is shown.
 */
function oncePerFrame(render) {
  let pending = null;
  return (state) => {
    const scheduled = pending !== null;
    pending = state;
    if (scheduled) return;
    requestAnimationFrame(() => {
      const newest = pending;
      pending = null;
      render(newest);
    });
  };
}

async function start() {
  // In parallel with everything below; a failure here is reported by the sign-in that needs MSAL.js.
  loadAuthConfig().then((config) => (config.clientId ? loadMsal() : null)).catch(() => undefined);
  await setLanguage(navigator.language); // Danish: its strings' small file first, so no English flashes by
  const store = createStore(initialState());
  let flows = null;
  const view = createView((action, arg) => {
    if (!flows || typeof flows[action] !== "function") return;
    if (arg === undefined) flows[action]();
    else flows[action](Number(arg));
  });
  store.subscribe(oncePerFrame(view.render));
  view.render(store.get()); // the skeleton at once

  if (!office.isLoaded()) {
    store.update({ phase: "office-missing" });
    return;
  }
  const info = await office.whenReady();
  await setLanguage(office.displayLanguage() || navigator.language);
  setWallClock(office.wallClock);
  if (!office.isOutlook(info)) {
    store.update({ phase: "not-outlook" });
    return;
  }
  if (!office.supports(MINIMUM_MAILBOX)) {
    store.update({ phase: "too-old" });
    return;
  }
  const auth = createAuth({
    msal: {
      createNestablePublicClientApplication: async (config) =>
        (await loadMsal()).createNestablePublicClientApplication(config),
      isInteractionRequired: (error) => msal !== null && error instanceof msal.InteractionRequiredAuthError,
    },
    office,
  });
  auth.prepare(); // MSAL.js's app is made while Office reads the item, so the lookup's sign-in need not make it after
  flows = createFlows({ store, api: createClient(auth.getToken), auth });
  office.onItemChanged(() => flows.open());
  await flows.open();
}

start();
