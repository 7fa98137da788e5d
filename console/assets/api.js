// The console's only way to the server: the same JSON APIs any client
// uses, authenticated by the session cookie, writes carrying the CSRF token.

export const session = { kind: "", id: "", name: "", csrf: "" };

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || (typeof body === "string" && body) || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || "";
    this.body = body;
  }
}

// api sends a request and answers the decoded JSON, or throws ApiError.
export async function api(method, path, body, { raw = false } = {}) {
  const headers = { Accept: raw ? "*/*" : "application/json" };
  if (method !== "GET" && method !== "HEAD") {
    headers["X-CSRF-Token"] = session.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(path, {
    method, headers, credentials: "same-origin", cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (raw && resp.ok) return resp.blob();
  const ct = resp.headers.get("Content-Type") || "";
  const data = ct.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) {
    if (resp.status === 401 && session.kind && !path.startsWith("/console/")) {
      // The session ended (expired, key rotated): back to sign-in.
      session.kind = "";
      location.hash = "#/signin";
    }
    throw new ApiError(resp.status, data);
  }
  return data;
}

// qs builds a query string from the set values of params.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    u.set(k, String(v));
  }
  const q = u.toString();
  return q ? "?" + q : "";
}
