// One import as it runs and after: a live progress bar of the rows read, written and
// rejected (from the import's channel, re-read over REST when the channel is ready or lost
// its history), then the counts and the rejected rows to download.
//
// The channel carries a batch only when it changed something, and the end of an import is
// not an event: while the import is waiting or running the screen also re-reads it every
// second, so the end shows even for a file whose batches change nothing.
import { api } from "../../../api.js";
import { formatDateTime, h, pending, announce } from "../../../dom.js";
import { realtime } from "../../../realtime.js";
import { kindWord } from "./fields.js";
import { downloadRejected } from "./transfer.js";
import { count, statusBadge, written } from "./words.js";

const POLL_MS = 1000;
const OPEN = new Set(["pending", "running"]);

function bar(item) {
  const read = item.rows_read;
  const share = (n) => (read ? `${Math.round((100 * n) / read)}%` : "0%");
  const progress = h("progress", { id: "import-progress", max: 1, "aria-label": "Import progress" });
  if (!OPEN.has(item.status)) progress.value = 1;
  // Widths through the CSSOM: the screens' policy allows no inline style attributes.
  const part = (name, n) => {
    const node = h("span", { class: name });
    node.style.width = share(n);
    return node;
  };
  return h("div", { class: "import-bar" }, progress,
    h("div", { class: "import-split", "aria-hidden": "true" },
      part("split-written", written(item)), part("split-rejected", item.rows_rejected)),
    h("p", { class: "split-legend muted small" },
      h("span", { class: "key-written" }, `written ${share(written(item))}`), " · ",
      h("span", { class: "key-rejected" }, `rejected ${share(item.rows_rejected)}`), " of the rows read"));
}

// A file of payments only adds (a payment already recorded is left as it is, unchanged);
// one of accounts adds and updates.
function facts(item) {
  const fact = (label, value, name) => [h("dt", {}, label), h("dd", { dataset: { count: name } }, value)];
  const payments = item.kind === "payments";
  return h("dl", { class: "facts import-counts" },
    fact("Holds", kindWord(item.kind), "kind"),
    fact("Rows read", count(item.rows_read), "read"),
    fact("Written", payments
      ? `${count(written(item))} ${written(item) === 1 ? "payment" : "payments"} recorded`
      : `${count(written(item))} (${count(item.rows_created)} new, ${count(item.rows_updated)} updated)`, "written"),
    fact(payments ? "Already recorded" : "Unchanged", count(item.rows_unchanged), "unchanged"),
    fact("Rejected", count(item.rows_rejected), "rejected"));
}

export async function importResult(id) {
  let item = await api(`/imports/${id}`);
  const view = h("div", { class: "import-result" });
  const problem = h("div", { class: "form-problem" });
  let timer = null;

  function render() {
    const download = h("button", { type: "button" }, "Download rejected rows (CSV)");
    download.addEventListener("click", () => pending(download, problem, () => downloadRejected(id)));
    view.replaceChildren(
      h("p", {}, h("a", { href: "/admin/imports" }, "← All imports")),
      h("div", { class: "card" },
        h("h2", { class: "import-title" }, item.file_name, " ", statusBadge(item.status)),
        h("p", { class: "muted small" }, `Uploaded ${formatDateTime(item.created_at)}`,
          item.finished_at ? ` · ended ${formatDateTime(item.finished_at)}` : ""),
        bar(item), h("div", { class: "import-facts", "aria-live": "polite" }, facts(item)),
        item.error ? h("div", { class: "problem", role: "alert" }, item.error) : null,
        item.rows_rejected && !OPEN.has(item.status)
          ? h("div", { class: "save-row" }, download) : null,
        problem));
  }

  function update(next) {
    const ended = OPEN.has(item.status) && !OPEN.has(next.status);
    item = next;
    render();
    if (ended) announce(`Import ${next.status}: ${count(written(next))} rows written, ${count(next.rows_rejected)} rejected`);
    if (!OPEN.has(item.status)) clearInterval(timer);
  }

  const reread = async () => update(await api(`/imports/${id}`));
  const stop = realtime.subscribe(`import:${id}`, (event) => {
    if (event.type === "ready" || event.type === "resync") reread();
    else if (event.type === "import.progress" && OPEN.has(item.status)) update({ ...item, ...event.data, id: item.id });
  });
  render();
  if (OPEN.has(item.status)) timer = setInterval(() => reread().catch(() => {}), POLL_MS);
  return { node: view, leave: () => { stop(); clearInterval(timer); } };
}
