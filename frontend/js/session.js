// The browser session: the access token lives in memory only; the refresh token lives in an
// HttpOnly cookie that no script can read. A reload asks the server for a fresh access token.

const AUTH = "/api/v1/auth";
const SESSION_HEADERS = { "X-Recoup-Session": "cookie" };

// Why this browser was signed out (a new password, signing out everywhere), for the sign-in
// page to say once.
export const SIGNED_OUT_NOTE = "recoup:signed-out";

let accessToken = null;
let expiresAt = 0;
let refreshing = null;

export class ProblemError extends Error {
  constructor(problem, status) {
    super(problem?.detail || problem?.title || `request failed (${status})`);
    this.problem = problem || {};
    this.status = status;
  }
}

// fetch() says only "Failed to fetch" when the server cannot be reached at all; people are
// told what happened in words.
export class UnreachableError extends Error {
  constructor() {
    super("Recoup could not be reached: check your network connection, then try again.");
    this.status = 0;
  }
}

export async function reach(url, init) {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (error instanceof TypeError) throw new UnreachableError();
    throw error;
  }
}

async function readProblem(response) {
  try {
    return await response.json();
  } catch {
    return { status: response.status, detail: response.statusText };
  }
}

function remember(body) {
  accessToken = body.access_token;
  // Refresh a little before the server would refuse the token.
  expiresAt = Date.now() + Math.max(body.expires_in - 30, 5) * 1000;
}

export async function signIn(email, password) {
  const response = await reach(`${AUTH}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...SESSION_HEADERS },
    body: JSON.stringify({ email, password }),
    credentials: "same-origin",
  });
  if (!response.ok) throw new ProblemError(await readProblem(response), response.status);
  remember(await response.json());
}

async function refreshOnce() {
  const response = await reach(`${AUTH}/refresh`, {
    method: "POST",
    headers: SESSION_HEADERS,
    credentials: "same-origin",
  });
  if (!response.ok) {
    accessToken = null;
    // The session was ended (signed out everywhere, deactivated, a new password): the app
    // frame, once started, goes to the sign-in page.
    if (response.status === 401) dispatchEvent(new CustomEvent("recoup:session-ended"));
    throw new ProblemError(await readProblem(response), response.status);
  }
  remember(await response.json());
}

// Tabs share the cookie, and a refresh token works once: refreshes queue behind one lock,
// so the second tab sends the cookie the first one just received.
export function refresh() {
  if (!refreshing) {
    const run = navigator.locks
      ? navigator.locks.request("recoup-refresh", refreshOnce)
      : refreshOnce();
    refreshing = run.finally(() => { refreshing = null; });
  }
  return refreshing;
}

// Whether this browser holds a session to refresh: the server keeps a cookie beside the
// HttpOnly refresh token that says so (and nothing more), so that a visitor who never
// signed in is not sent to ask, and refused.
export function mayBeSignedIn() {
  return document.cookie.split(";").some((c) => c.trim() === "recoup_signed_in=1");
}

export async function token() {
  if (!accessToken || Date.now() > expiresAt) await refresh();
  return accessToken;
}

export async function signOut() {
  const headers = { ...SESSION_HEADERS };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  accessToken = null;
  await fetch(`${AUTH}/logout`, { method: "POST", headers, credentials: "same-origin" });
}
