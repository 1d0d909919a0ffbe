// The sales API (/api on this stack's own origin), called like any other client would: the user's ID
// token as a Bearer, an Idempotency-Key on every action, errors as the API words them.
import { idToken, signOut } from "./auth.js";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || body?.error || `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
  }
}

/** A fresh Idempotency-Key (a retried click sends the same one, so it acts once). */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `path` begins with /api/ ... ; `query` is an object of filters (empty values left out). */
export function apiUrl(path, query) {
  const url = new URL(`.${path}`, location.href);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  return url;
}

async function send(url, init, token) {
  const headers = { Accept: "application/json", ...init.headers, Authorization: `Bearer ${token}` };
  return fetch(url, { ...init, headers });
}

export async function api(path, { method = "GET", body, query, key } = {}) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  if (method !== "GET") init.headers["Idempotency-Key"] = key || newKey();
  const url = apiUrl(path, query);
  let token = await idToken();
  if (!token) {
    signOut();
    throw new ApiError(401, { message: "Your session has ended: sign in again." });
  }
  let answer;
  try {
    answer = await send(url, init, token);
    if (answer.status === 401) {
      token = await idToken({ force: true });
      if (token) answer = await send(url, init, token);
    }
  } catch {
    throw new ApiError(0, { message: "Leadstream could not be reached: check your connection; it retries." });
  }
  if (answer.status === 401) {
    signOut();
    throw new ApiError(401, { message: "Your session has ended: sign in again." });
  }
  const text = await answer.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!answer.ok) throw new ApiError(answer.status, data);
  return data;
}
