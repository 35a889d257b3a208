/*
 * The sign-in dialog (auth-dialog.html), the last way to a token when Outlook has neither nested app
 * authentication nor legacy single sign-on. Office opens it with displayDialogAsync; MSAL.js signs in by redirect
 * within the dialog, this same page receives the answer, and the access token for our API's access_as_user scope
 * goes back to the taskpane with messageParent. Bundled into dist/auth-dialog.js.
 *
 * Query: `claims` (Entra's claims challenge, when the backend asked for more) and `loginHint` (the Outlook user);
 * both are remembered in sessionStorage across the redirect.
 */

import { createStandardPublicClientApplication } from "@azure/msal-browser";

import { loadAuthConfig } from "./auth.js";

const STORE_KEY = "crmbridge.auth-dialog";

function tell(answer) {
  Office.context.ui.messageParent(JSON.stringify(answer), { targetOrigin: window.location.origin });
}

function remembered() {
  const query = new URLSearchParams(window.location.search);
  if (query.has("claims") || query.has("loginHint")) {
    const asked = { claims: query.get("claims") || null, loginHint: query.get("loginHint") || null };
    sessionStorage.setItem(STORE_KEY, JSON.stringify(asked));
    return asked;
  }
  try {
    return JSON.parse(sessionStorage.getItem(STORE_KEY) || "{}");
  } catch {
    return {};
  }
}

async function signIn() {
  await Office.onReady();
  const asked = remembered();
  try {
    const config = await loadAuthConfig();
    if (!config.clientId) {
      throw Object.assign(new Error("No Microsoft sign-in is configured."), { errorCode: "no_config" });
    }
    const redirectUri = `${window.location.origin}${window.location.pathname}`;
    const pca = await createStandardPublicClientApplication({
      auth: { clientId: config.clientId, authority: config.authority, redirectUri },
      cache: { cacheLocation: "sessionStorage" },
    });
    const result = await pca.handleRedirectPromise({ navigateToLoginRequestUrl: false });
    if (result) {
      sessionStorage.removeItem(STORE_KEY);
      tell({ status: "success", accessToken: result.accessToken });
      return;
    }
    await pca.acquireTokenRedirect({
      scopes: [config.apiScope],
      redirectUri,
      ...(asked.claims ? { claims: asked.claims } : {}),
      ...(asked.loginHint ? { loginHint: asked.loginHint } : {}),
    });
  } catch (error) {
    sessionStorage.removeItem(STORE_KEY);
    tell({ status: "error", code: String(error?.errorCode || error?.code || error?.name || "failed") });
  }
}

signIn();
