/*
 * The backend API: one route table, one fetch wrapper, one error type.
 * Every failure becomes an ApiError whose `code` the UI maps to a message (i18n.describeError); a request that
 * never got an answer is a NetworkError (code "network" or "timeout"), so it can be told apart from an HTTP error.
 */

export const ROUTES = {
  authConfig: { method: "GET", path: () => "/taskpane/config.json" },
  devToken: { method: "POST", path: () => "/dev/token" },
  lookup: { method: "POST", path: () => "/api/lookup" },
  listActivities: { method: "GET", path: () => "/api/activities" },
  getActivity: { method: "GET", path: ({ id }) => `/api/activities/${id}` },
  externalDraft: { method: "GET", path: ({ id }) => `/api/activities/${id}/external-draft` },
  drift: { method: "POST", path: ({ id }) => `/api/activities/${id}/drift` },
  reconcile: { method: "POST", path: ({ id }) => `/api/activities/${id}/reconcile` },
  recordLink: { method: "POST", path: ({ id }) => `/api/activities/${id}/links` },
  prepareAppointment: { method: "POST", path: ({ id }) => `/api/activities/${id}/customer-appointment` },
  // RFC 7240 return=minimal: 204 and the ETag; the pane has no use for the activity back (it holds the notes).
  updateActivity: { method: "PATCH", path: ({ id }) => `/api/activities/${id}`, prefer: "return=minimal" },
  outOfSync: { method: "GET", path: () => "/api/drift" },
};

const TIMEOUT_MS = 15000;

// HTTP statuses as the codes the UI knows; any other 5xx is "server".
const CODES = {
  400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not-found", 409: "already-linked",
  412: "stale", 413: "invalid", 415: "invalid", 422: "invalid", 428: "invalid", 429: "unavailable",
  502: "unavailable", 503: "unavailable", 504: "unavailable",
};

// The backend's 409 reasons the pane words on its own.
const CODES_BY_REASON = {
  "already-sent": "already-sent", "outsiders-on-internal-meeting": "outsiders", cancelled: "cancelled", over: "over",
  "no-externals": "no-externals", moved: "moved", "deleted-in-crm": "deleted-in-crm", "graph-off": "graph-off",
};

export class ApiError extends Error {
  /**
   * `status` is the HTTP status (0 when there was no answer); `fields` maps field paths to messages; `claims` is
   * Microsoft Entra ID's claims challenge that came with a 401 (more sign-in is needed: MFA, consent), else null;
   * `requestId` is the server's id of the failed request (shown to the organizer for their administrator), else null.
   */
  constructor({ status = 0, code = "unknown", message = "", fields = {}, claims = null, reason = null,
    details = {}, requestId = null } = {}) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.claims = claims;
    this.reason = reason; // the backend's own code for a 409 (e.g. "outsiders-on-internal-meeting"), or null
    this.details = details; // what comes with it (e.g. {outsiders: [...]})
    this.requestId = requestId;
  }
}

export class NetworkError extends ApiError {
  constructor(code = "network", message = "") {
    super({ status: 0, code, message });
    this.name = "NetworkError";
  }
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The claims of `WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64>"`, else null. */
export function claimsFromChallenge(header) {
  if (!header || !/error="insufficient_claims"/.test(header)) return null;
  const match = /claims="([A-Za-z0-9+/=]+)"/.exec(header);
  if (!match) return null;
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

function errorFrom(status, body, headers) {
  const code = CODES[status] ?? (status >= 500 ? "server" : "invalid");
  const message = typeof body?.message === "string" ? body.message : `HTTP ${status}`;
  const fields = body && typeof body.errors === "object" && body.errors !== null ? body.errors : {};
  const claims = status !== 401 ? null
    : (typeof body?.claims === "string" && body.claims) || claimsFromChallenge(headers.get("WWW-Authenticate"));
  const reason = typeof body?.reason === "string" ? body.reason : null;
  const details = reason ? {
    outsiders: Array.isArray(body.outsiders) ? body.outsiders : [],
    movedTo: typeof body.movedTo === "string" ? body.movedTo : null, // 410 moved: the CRM's new organizer
  } : {};
  const offered = (typeof body?.requestId === "string" && body.requestId) || headers.get("X-Request-Id") || "";
  const requestId = /^[A-Za-z0-9._:-]{1,64}$/.test(offered) ? offered : null;
  return new ApiError({ status, code: CODES_BY_REASON[reason] || code, message, fields, claims, reason, details,
    requestId });
}

/**
 * @typedef {object} RequestOptions
 * @property {object} [params] fills the path
 * @property {Record<string, string>} [query] the query string
 * @property {any} [body] sent as JSON
 * @property {string} [etag] sent as If-Match
 * @property {string} [token] sent as the Bearer token
 */

/**
 * Call one route. Returns {data, etag}.
 * @param {string} name
 * @param {RequestOptions} [options]
 */
export async function request(name, { params = {}, query, body, etag, token } = {}) {
  const route = ROUTES[name];
  if (!route) throw new ApiError({ code: "unknown", message: `No route named ${name}` });
  let url = route.path(params);
  if (query) url += `?${new URLSearchParams(query)}`;
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  if (etag) headers["If-Match"] = etag;
  if (route.prefer) headers.Prefer = route.prefer;

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  try {
    let response;
    try {
      response = await fetch(url, {
        method: route.method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        cache: "no-store",
      });
    } catch (error) {
      throw new NetworkError(controller.signal.aborted ? "timeout" : "network", String(error?.message ?? error));
    }
    let data;
    try {
      data = await readJson(response);
    } catch (error) {
      throw new NetworkError(controller.signal.aborted ? "timeout" : "network", String(error?.message ?? error));
    }
    if (!response.ok) throw errorFrom(response.status, data, response.headers);
    return { data, etag: response.headers.get("ETag") };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The calls the taskpane makes, each signed with a token from `getToken()`. A 401 with a claims challenge (Entra
 * wants more from the organizer: another factor, consent) gets a token signed in interactively with those claims
 * and the call is made once more; any other 401 goes to the organizer, who signs in again.
 */
export function createClient(getToken) {
  /** @param {string} name @param {RequestOptions} [options] */
  const signed = async (name, options = {}) => {
    try {
      return await request(name, { ...options, token: await getToken() });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || !error.claims) throw error;
      return request(name, { ...options, token: await getToken({ claims: error.claims }) });
    }
  };
  return {
    lookup: (body) => signed("lookup", { body }),
    listActivities: (query) => signed("listActivities", { query }),
    getActivity: (id) => signed("getActivity", { params: { id } }),
    externalDraft: (id) => signed("externalDraft", { params: { id } }),
    drift: (id, snapshot) => signed("drift", { params: { id }, body: snapshot }),
    reconcile: (id, body, etag) => signed("reconcile", { params: { id }, body, etag }),
    recordLink: (id, body) => signed("recordLink", { params: { id }, body }),
    prepareAppointment: (id) => signed("prepareAppointment", { params: { id } }),
    updateActivity: (id, body, etag) => signed("updateActivity", { params: { id }, body, etag }),
    outOfSync: () => signed("outOfSync"),
  };
}
