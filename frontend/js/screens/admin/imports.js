// Imports of debtors and accounts, and of payments: a new import (what the file holds, the
// file, its mapping, preview, start), the history of the tenant's imports with what each
// held, each opening its result, and the SFTP sources.
import { api, everything } from "../../api.js";
import { formatDateTime, h, pending } from "../../dom.js";
import { kindWord } from "./imports/fields.js";
import { newImport } from "./imports/new.js";
import { importResult } from "./imports/result.js";
import { sftpSources } from "./imports/sftp.js";
import { count, statusBadge, written } from "./imports/words.js";

const PAGE = 50;

function historyRow(item, people) {
  return h("tr", { dataset: { id: item.id } },
    h("th", { scope: "row" }, h("a", { href: `/admin/imports/${item.id}` }, item.file_name)),
    h("td", { "data-label": "Holds" }, kindWord(item.kind)),
    h("td", { "data-label": "When" }, formatDateTime(item.created_at)),
    h("td", { "data-label": "Who" }, people.get(item.created_by) || (item.created_by ? `user ${item.created_by}` : "system")),
    h("td", { "data-label": "Status" }, statusBadge(item.status)),
    h("td", { "data-label": "Written", class: "num" }, count(written(item))),
    h("td", { "data-label": "Rejected", class: "num" }, count(item.rows_rejected)));
}

async function history() {
  const [first, users] = await Promise.all([api("/imports", { query: { limit: PAGE } }), everything("/users")]);
  const people = new Map(users.map((u) => [u.id, u.name]));
  const body = h("tbody", {}, first.items.map((i) => historyRow(i, people)));
  const problem = h("div", { class: "form-problem" });
  const more = h("button", { type: "button", hidden: !first.next_cursor }, "Show more");
  let cursor = first.next_cursor;
  more.addEventListener("click", () => pending(more, problem, async () => {
    const next = await api("/imports", { query: { limit: PAGE, cursor } });
    body.append(...next.items.map((i) => historyRow(i, people)));
    cursor = next.next_cursor;
    more.hidden = !cursor;
  }));
  return h("div", { class: "card", id: "import-history" }, h("h2", {}, "Import history"),
    first.items.length ? h("div", { class: "table-scroll" }, h("table", { class: "data stack imports" },
      h("thead", {}, h("tr", {}, ["File", "Holds", "When", "Who", "Status", "Written", "Rejected"].map((t, i) =>
        h("th", { scope: "col", class: i > 4 ? "num" : undefined }, t)))), body))
      : h("p", { class: "muted" }, "No imports yet."),
    h("div", { class: "save-row" }, more), problem);
}

export async function importsSection() {
  const [presets, custom, list] = await Promise.all(
    [everything("/import-mappings"), everything("/custom-fields"), history()]);
  return h("div", { class: "imports" }, newImport(presets, custom), list, await sftpSources(presets));
}

export const importSection = (id) => importResult(id);
