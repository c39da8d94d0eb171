// REST calls with the session's access token; failures become ProblemError with the
// server's RFC 9457 document (its `detail` is what users read); a server out of reach is
// an UnreachableError that says so in words.
import { h } from "./dom.js";
import { ProblemError, reach, refresh, token } from "./session.js";

export async function api(path, { method = "GET", body, query, headers: extra } = {}) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, item);
  }
  const send = async () => {
    const headers = { ...extra, Authorization: `Bearer ${await token()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return reach(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
  let response = await send();
  if (response.status === 401) {
    await refresh();
    response = await send();
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ProblemError(data, response.status);
  return data;
}

// Every item of a list, page after page ({items, next_cursor}): for the short lists a
// screen shows whole (groups, queues, keys, templates...). `limit` is the page size.
export async function everything(path, { query, limit = 200 } = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(path, { query: { ...query, limit, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// A file from the API (it needs the session's token), handed to the browser as a download
// named as the server says (Content-Disposition), else `filename`. The file is held in
// memory until saved: fine for a screen's export, not for millions of rows (use the API).
export async function download(path, filename) {
  const get = async () => reach(path, { headers: { Authorization: `Bearer ${await token()}` } });
  let response = await get();
  if (response.status === 401) {
    await refresh();
    response = await get();
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new ProblemError(problem, response.status);
  }
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: named ? named[1] : filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
