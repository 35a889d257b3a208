/*
 * Start-up: show the skeleton at once, wait for Office, check the host and the item, then wire the store, the
 * flows and the view together. Opening another item (ItemChanged) starts over.
 *
 * The entry point esbuild bundles into dist/main.js (scripts/lib/bundle.sh), with MSAL.js from npm.
 */

import { createNestablePublicClientApplication, InteractionRequiredAuthError } from "@azure/msal-browser";

import { createClient } from "./api.js";
import { createAuth } from "./auth.js";
import { createFlows } from "./flows.js";
import { setLanguage, setWallClock } from "./i18n.js";
import * as office from "./office.js";
import { createStore, initialState } from "./state.js";
import { createView } from "./view.js";

const MINIMUM_MAILBOX = "1.3";

async function start() {
  setLanguage(navigator.language);
  const store = createStore(initialState());
  let flows = null;
  const view = createView((action, arg) => {
    if (!flows || typeof flows[action] !== "function") return;
    if (arg === undefined) flows[action]();
    else flows[action](Number(arg));
  });
  store.subscribe(view.render);
  view.render(store.get());

  if (!office.isLoaded()) {
    store.update({ phase: "office-missing" });
    return;
  }
  const info = await office.whenReady();
  setLanguage(office.displayLanguage() || navigator.language);
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
      createNestablePublicClientApplication,
      isInteractionRequired: (error) => error instanceof InteractionRequiredAuthError,
    },
    office,
  });
  flows = createFlows({ store, api: createClient(auth.getToken), auth });
  office.onItemChanged(() => flows.open());
  await flows.open();
}

start();
