/*
 * The access token for our API: always an access token whose audience is our API and whose scope is
 * access_as_user (`api://<host>/<client id>/access_as_user`), never an ID token. The ways to get one, in order
 * (DESIGN 4):
 *
 *   1. nested app authentication: MSAL.js with Outlook as the broker, where Outlook supports NestedAppAuth 1.1;
 *      acquireTokenSilent, then acquireTokenPopup when MSAL says interaction is required;
 *   2. Office's legacy single sign-on, Office.auth.getAccessToken (IdentityAPI 1.3);
 *   3. MSAL.js in an Office dialog (auth-dialog.html), where legacy SSO says to use another way or is missing.
 *
 * What the backend tells in GET /taskpane/config.json decides: with no Entra app configured there (development
 * and test), and development tokens allowed, the token is a development token from POST /dev/token. MSAL.js comes
 * in through `createAuth` (main.js passes the real library), so this module holds no bundled dependency.
 */

import { ApiError, NetworkError, request } from "./api.js";

/** Why there is no token; `code` is what the organizer is told (i18n.describeError). */
export class AuthError extends ApiError {
  constructor(code, message = "", detail = "") {
    super({ status: 401, code, message: message || code });
    this.name = "AuthError";
    this.detail = detail;
  }
}

const RENEW_BEFORE_MS = 5 * 60 * 1000;
const SCOPE = "access_as_user";
const DEFAULT_AUTHORITY = "https://login.microsoftonline.com/organizations";
// getAccessToken's errors that mean "use another way to sign in" (docs-pr: troubleshoot-sso-in-office-add-ins).
const LEGACY_USE_ANOTHER_WAY = new Set([13000, 13001, 13003, 13004, 13005, 13007, 13012, 13013, 50001]);
const CANCELLED = new Set(["user_cancelled", "user_canceled", "access_denied"]);

// ------------------------------------------------------------------ config

/** Before the backend serves the sign-in configuration: what development and test mode mean. */
const WITHOUT_CONFIG = { clientId: null, apiScope: null, authority: DEFAULT_AUTHORITY, devTokens: true };

let configLoad = null;

/**
 * The backend's sign-in configuration, read once per page: {clientId, apiScope, authority, devTokens}. A backend
 * that does not serve it yet (404) is taken as development mode; a production backend has no /dev/token, so that
 * never signs anyone in there.
 */
export function loadAuthConfig() {
  if (!configLoad) {
    configLoad = request("authConfig").then(({ data }) => readConfig(data), (error) => {
      if (error.status === 404) return WITHOUT_CONFIG;
      throw error;
    });
    configLoad.catch(() => { configLoad = null; }); // a failed read is tried again next time
  }
  return configLoad;
}

function readConfig(data) {
  const text = (value) => (typeof value === "string" && value.trim() ? value.trim() : null);
  const config = {
    clientId: text(data?.clientId),
    apiScope: text(data?.apiScope),
    authority: text(data?.authority) || DEFAULT_AUTHORITY,
    devTokens: data?.devTokens === true,
  };
  if (config.clientId && !(config.apiScope && config.apiScope.endsWith(`/${SCOPE}`))) {
    // A token for anything but our API's access_as_user scope would be refused by the backend anyway.
    throw new AuthError("sign-in-unavailable", `The sign-in configuration names no ${SCOPE} scope.`);
  }
  return config;
}

// ------------------------------------------------------------------ tokens

/** When a JWT expires (ms since the epoch), or null when it is not a JWT (a development token). */
export function expiryOf(token) {
  const payload = String(token).split(".")[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const exp = JSON.parse(json).exp;
    return Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

const fresh = (held) => held && (held.expiresAt === null || held.expiresAt - RENEW_BEFORE_MS > Date.now());

async function fetchDevToken(email) {
  if (!email) throw new ApiError({ code: "no-user", message: "Outlook gave no user address." });
  try {
    const { data } = await request("devToken", { body: { email } });
    if (!data?.token) throw new ApiError({ status: 401, code: "unauthorized", message: "No token in the answer." });
    return data.token;
  } catch (error) {
    if (error instanceof NetworkError) throw error;
    // Whatever went wrong, the way forward is signing in again (a missing /dev/token is a 404, not "not found").
    throw new ApiError({ status: 401, code: "unauthorized", message: error.message });
  }
}

/**
 * `msal`: {createNestablePublicClientApplication, isInteractionRequired(error)}; `office`: the office.js module
 * (its sign-in functions and userEmail); `loadConfig` and `fetchDevToken` default to the backend's.
 * Returns {getToken({forceRefresh, claims}), prepare()}: `claims` (Entra's claims challenge) signs in interactively;
 * prepare() readies nested app authentication before the first token is needed.
 */
export function createAuth({ msal, office, loadConfig = loadAuthConfig, devToken = fetchDevToken }) {
  let held = null; // {token, expiresAt}
  let shared = null; // the running non-interactive acquisition, shared by concurrent callers
  let queue = Promise.resolve(); // one acquisition at a time: a sign-in prompt never opens twice
  let pca = null;
  let legacyDeclined = false; // legacy SSO said "use another way": the dialog serves from then on

  function getToken({ forceRefresh = false, claims = null } = {}) {
    if (!claims && !forceRefresh && fresh(held)) return Promise.resolve(held.token);
    if (!claims && shared) return shared;
    const run = queue.then(() => acquire({ forceRefresh, claims })).then((result) => {
      held = result;
      return result.token;
    });
    queue = run.catch(() => undefined);
    if (!claims) {
      shared = run;
      queue.then(() => { if (shared === run) shared = null; });
    }
    return run;
  }

  async function acquire({ forceRefresh, claims }) {
    const config = await loadConfig();
    if (!config.clientId) {
      if (config.devTokens) return { token: await devToken(office.userEmail()), expiresAt: null };
      throw new AuthError("sign-in-unavailable", "The server has no Microsoft sign-in configured.");
    }
    if (office.supportsNestedAppAuth()) return viaNestedAppAuth(config, { forceRefresh, claims });
    let declined = null;
    if (office.supportsLegacySso() && !legacyDeclined) {
      try {
        return withExpiry(await office.legacyAccessToken({ authChallenge: claims }));
      } catch (error) {
        if (!LEGACY_USE_ANOTHER_WAY.has(error.officeCode)) throw fromOffice(error);
        legacyDeclined = true;
        declined = error;
      }
    }
    if (office.supportsDialog()) return viaDialog(config, { claims });
    if (declined) throw fromOffice(declined);
    // Outlook offers no way to sign in (the development preview's simulated Outlook, for one).
    if (config.devTokens) return { token: await devToken(office.userEmail()), expiresAt: null };
    throw new AuthError("sign-in-unsupported", "This Outlook offers no way to sign in.");
  }

  /** MSAL.js's app for nested app authentication, made once (MSAL.js asks Outlook's broker for its context). */
  function nestedApp(config) {
    if (!pca) {
      pca = msal.createNestablePublicClientApplication({
        auth: { clientId: config.clientId, authority: config.authority },
      });
      pca.catch(() => { pca = null; }); // made again at the next sign-in
    }
    return pca;
  }

  /**
   * Make ready, beside the reading of the item, what the first sign-in by nested app authentication needs: MSAL.js's
   * app. No token is asked for and nothing is shown; without an Entra app (development tokens) or nested app
   * authentication it does nothing, so MSAL.js is not loaded for it. A failure is left to the sign-in that needs it.
   */
  async function prepare() {
    try {
      const config = await loadConfig();
      if (config.clientId && office.supportsNestedAppAuth()) await nestedApp(config);
    } catch {
      // reported by getToken, which tries again
    }
  }

  async function viaNestedAppAuth(config, { forceRefresh, claims }) {
    let result;
    try {
      const app = await nestedApp(config);
      const account = app.getActiveAccount() || undefined;
      const tokenRequest = { scopes: [config.apiScope], ...(account ? { account } : {}) };
      if (claims) {
        result = await app.acquireTokenPopup({ ...tokenRequest, claims });
      } else {
        try {
          result = await app.acquireTokenSilent({ ...tokenRequest, forceRefresh });
        } catch (error) {
          if (!msal.isInteractionRequired(error)) throw error;
          result = await app.acquireTokenPopup(tokenRequest);
        }
      }
    } catch (error) {
      throw fromMsal(error);
    }
    if (!result?.accessToken) throw new AuthError("sign-in-failed", "MSAL gave no access token.");
    return { token: result.accessToken, expiresAt: result.expiresOn ? new Date(result.expiresOn).getTime() : null };
  }

  async function viaDialog(config, { claims }) {
    const url = new URL("/taskpane/auth-dialog.html", window.location.origin);
    if (claims) url.searchParams.set("claims", claims);
    const hint = office.userEmail();
    if (hint) url.searchParams.set("loginHint", hint);
    let message;
    try {
      message = await office.dialogMessage(url.href);
    } catch (error) {
      throw fromOffice(error);
    }
    let answer = null;
    try {
      answer = JSON.parse(message);
    } catch {
      // answered below
    }
    if (answer?.status === "success" && typeof answer.accessToken === "string" && answer.accessToken) {
      return withExpiry(answer.accessToken);
    }
    const code = typeof answer?.code === "string" ? answer.code : "";
    throw new AuthError(CANCELLED.has(code) ? "sign-in-cancelled" : "sign-in-failed", "The sign-in dialog failed.",
      code);
  }

  return { getToken, prepare };
}

function withExpiry(token) {
  if (typeof token !== "string" || !token) throw new AuthError("sign-in-failed", "Office gave no access token.");
  return { token, expiresAt: expiryOf(token) };
}

function fromOffice(error) {
  if (error?.code === "cancelled") return new AuthError("sign-in-cancelled", error.message);
  const detail = String(error?.officeCode ?? error?.detail ?? "");
  return new AuthError("sign-in-failed", error?.message || String(error), detail);
}

function fromMsal(error) {
  if (error instanceof ApiError) return error;
  const code = String(error?.errorCode || error?.name || "");
  if (CANCELLED.has(code)) return new AuthError("sign-in-cancelled", code);
  if (code === "no_network_connectivity") return new NetworkError("network", code);
  return new AuthError("sign-in-failed", `${code}: ${error?.message || ""}`, code);
}
