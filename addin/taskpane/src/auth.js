/*
 * The access token for our API. For now a development token from POST /dev/token for the Outlook user's address
 * (the backend offers it only in development and test mode); the sign-in work replaces this module with nested
 * app authentication and keeps the one function: getToken({forceRefresh}).
 */

import { ApiError, NetworkError, request } from "./api.js";

let cached = null;
let pending = null;

export async function getToken({ forceRefresh = false } = {}) {
  if (cached && !forceRefresh) return cached;
  if (!pending) {
    pending = fetchToken().finally(() => { pending = null; });
  }
  cached = await pending;
  return cached;
}

async function fetchToken() {
  const email = globalThis.Office?.context?.mailbox?.userProfile?.emailAddress;
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
