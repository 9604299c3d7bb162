/**
 * The links API as the page calls it: the key from sessionStorage as a Bearer header (never in a
 * URL), JSON in and out, and the API's own error (code and message) thrown as ApiError.
 */
const KEY = "shorten.apiKey";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  forget() {
    sessionStorage.removeItem(KEY);
  },
};

/** fetch with the key; the raw Response (for images). */
export async function send(method, path, body, key = session.key) {
  const headers = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok && res.status !== 304) {
    const json = await res.json().catch(() => null);
    throw new ApiError(res.status, json?.error?.code ?? "http", json?.error?.message ?? `the server answered ${res.status}`);
  }
  return res;
}

export async function api(method, path, body, key) {
  const res = await send(method, path, body, key);
  return res.status === 204 ? null : res.json();
}
