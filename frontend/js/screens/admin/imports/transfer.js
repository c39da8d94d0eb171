// What the import screens send and fetch besides JSON: the multipart upload and the
// rejected rows as a file to save. Both carry the session's token like every API call.
import { ProblemError, reach, refresh, token } from "../../../session.js";

async function authorized(path, init = {}) {
  const send = async () => reach(`/api/v1${path}`,
    { ...init, headers: { ...init.headers, Authorization: `Bearer ${await token()}` } });
  let response = await send();
  if (response.status === 401) {
    await refresh();
    response = await send();
  }
  if (!response.ok) throw new ProblemError(await response.json().catch(() => null), response.status);
  return response;
}

// Uploads `file` with its mapping (a saved one's id, or the mapping itself) and what it
// holds (`kind`: accounts or payments).
export async function upload(file, { mappingId, mapping, kind }) {
  const form = new FormData();
  form.append("file", file, file.name);
  if (kind) form.append("kind", kind);
  if (mappingId) form.append("mapping_id", String(mappingId));
  else form.append("mapping", JSON.stringify(mapping));
  return (await authorized("/imports", { method: "POST", body: form })).json();
}

// Saves the rejected rows of import `id` as a CSV file (the browser's own download).
export async function downloadRejected(id) {
  const blob = await (await authorized(`/imports/${id}/rejected.csv`)).blob();
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), { href: url, download: `import-${id}-rejected.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// The first rows of `file` as an import of `kind` would read them with `mapping` (the
// server's own reader and checks). Only the file's start is sent, cut after its last whole line.
const HEAD_BYTES = 64 * 1024;

export async function preview(file, mapping, kind) {
  let head = await file.slice(0, HEAD_BYTES).arrayBuffer();
  if (file.size > HEAD_BYTES) head = head.slice(0, new Uint8Array(head).lastIndexOf(10) + 1);
  const form = new FormData();
  form.append("file", new Blob([head], { type: "text/csv" }), file.name);
  form.append("mapping", JSON.stringify(mapping));
  if (kind) form.append("kind", kind);
  return (await authorized("/imports/preview", { method: "POST", body: form })).json();
}
