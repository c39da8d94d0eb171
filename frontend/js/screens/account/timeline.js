// Everything that happened on the account, newest first, from one API list: calls and
// notes, messages, payment links sent and opened, payments, promises, tasks, status
// changes. Any event on the account's channel reads the newest page again (coalesced), so
// new entries arrive at the top and changed ones (a promise kept, a message sent) in place;
// "Show more" pages back through older ones.
import { api } from "../../api.js";
import { flash, formatDateTime, formatDebtorTime, h } from "../../dom.js";

const PAGE = 20;
const TONE = {
  succeeded: "ok", kept: "ok", sent: "ok", completed: "ok",
  pending: "warn", queued: "warn", open: "warn",
  failed: "bad", broken: "bad", reversed: "bad", refunded: "bad",
};
const LABEL = {
  payment_link_sent: "link", payment_link_opened: "link", task_created: "task",
  task_closed: "task", status_change: "status",
};


function label(entry) {
  if (entry.kind === "interaction" || entry.kind === "message") return entry.details.channel;
  return LABEL[entry.kind] ?? entry.kind;
}

// What a collector reads under the line: the words that came with the entry.
function detail(entry) {
  const d = entry.details;
  switch (entry.kind) {
    case "interaction": return d.notes;
    case "message": return d.channel === "email" && d.subject ? d.subject : d.body;
    case "task_closed": return d.notes;
    case "task_created":
      return d.not_before ? `Held until ${formatDebtorTime(d.not_before, d.time_zone)}` : d.assignee ? `With ${d.assignee}` : "";
    case "payment": return d.failure_reason || (d.reference ? `Reference ${d.reference}` : "");
    case "promise": return d.resolved_at ? `${d.status} on ${formatDateTime(d.resolved_at)}` : "";
    case "payment_link_sent": return `expires ${formatDateTime(d.expires_at)}`;
    default: return "";
  }
}

function entryItem(entry) {
  const words = detail(entry);
  const status = entry.details.status;
  return h("li", { class: "entry", dataset: { key: `${entry.kind}:${entry.id}`, kind: entry.kind } },
    h("div", { class: "entry-head" },
      h("span", { class: "badge", "data-tone": TONE[status] }, label(entry)),
      h("strong", {}, entry.summary)),
    h("div", { class: "entry-meta" }, `${entry.who} · `,
      h("time", { datetime: entry.at }, formatDateTime(entry.at))),
    words ? h("p", { class: "entry-detail" }, words) : null);
}

export function timelinePanel(id) {
  const list = h("ol", { class: "timeline", id: "timeline", "aria-live": "off" });
  const empty = h("p", { class: "muted", id: "timeline-empty", hidden: true }, "Nothing has happened on this account yet.");
  const more = h("button", { type: "button", id: "timeline-more", hidden: true }, "Show more");
  const problem = h("div");
  const shown = new Map(); // key -> [node, the entry as shown]
  let cursor = null;
  let timer = null;

  function put(entry, where, live) {
    const key = `${entry.kind}:${entry.id}`;
    const known = shown.get(key);
    const text = JSON.stringify(entry);
    if (known && known[1] === text) return known[0];
    const node = entryItem(entry);
    if (known) known[0].replaceWith(node);
    else if (where) where.before(node);
    else list.append(node);
    shown.set(key, [node, text]);
    if (live) flash(node);
    return node;
  }

  async function newest(live) {
    try {
      const page = await api(`/accounts/${id}/timeline`, { query: { limit: PAGE } });
      problem.replaceChildren();
      // The first page goes on top, in order, before what was shown already.
      const anchor = list.firstChild;
      for (const entry of page.items) {
        const fresh = !shown.has(`${entry.kind}:${entry.id}`);
        put(entry, fresh ? anchor : null, live);
      }
      if (cursor === null && shown.size === page.items.length) cursor = page.next_cursor;
      render();
    } catch (error) {
      problem.replaceChildren(h("p", { class: "problem", role: "alert" }, error.message));
    }
  }

  function render() {
    empty.hidden = shown.size > 0;
    more.hidden = !cursor;
  }

  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await api(`/accounts/${id}/timeline`, { query: { limit: PAGE, cursor } });
      for (const entry of page.items) put(entry, null, false);
      cursor = page.next_cursor;
      render();
    } catch (error) {
      problem.replaceChildren(h("p", { class: "problem", role: "alert" }, error.message));
    } finally {
      more.disabled = false;
    }
  });

  return {
    nodes: [h("h2", {}, "Timeline"), problem, empty, list, more],
    load: () => newest(false),
    // Something happened on the account: read the newest page once the burst is over.
    later() {
      clearTimeout(timer);
      timer = setTimeout(() => newest(true), 150);
    },
  };
}
