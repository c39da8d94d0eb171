// The supervisor's team view: the team's open work, a page at a time in the order chosen,
// filtered by agent, queue, status and type; the count is how many the server finds, not
// how many are loaded. Tasks ticked in the list are given, moved or cancelled together
// (queue/bulk.js); the agents' cards show who has room (queue/agents.js). Kept live from
// the wallboard channel: a task that changes moves into, within or out of the list.
import "../../components/rc-task-list.js";
import { api, everything } from "../api.js";
import { h, pending, problemBox } from "../dom.js";
import { realtime } from "../realtime.js";
import { agentsPanel } from "./queue/agents.js";
import { bulkBar } from "./queue/bulk.js";
import { noticeArea } from "./queue/notice.js";
import { ORDERS, teamFilters } from "./team/filters.js";

const PAGE = 100;
const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

function typing(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName));
}

export async function teamScreen() {
  const list = h("rc-task-list", { id: "task-list", "aria-label": "The team's open tasks", empty: "No open task matches." });
  list.selectable = true;
  list.showAssignee = true;
  const count = h("span", { class: "muted", id: "task-count", "aria-live": "polite" });
  const shown = h("span", { class: "muted", id: "team-shown" });
  const problem = h("div");
  const notice = noticeArea();
  const more = h("button", { type: "button", id: "team-more", hidden: true }, "Show more");
  const bulk = bulkBar({ list, say: notice.say });
  const filters = teamFilters(() => load());
  const agents = agentsPanel({ onAgents: (found) => { bulk.setAgents(found); filters.setAgents(found); } });

  let cursor = null;
  let total = 0;
  let asked = 0; // answers to older questions are dropped
  let countTimer = null;

  function showCounts() {
    count.textContent = plural(total, "task");
    shown.textContent = list.tasks.size < total ? `showing ${list.tasks.size.toLocaleString()}` : "";
    more.hidden = !cursor;
    const left = total - list.tasks.size;
    more.textContent = left > 0 ? `Show ${Math.min(PAGE, left)} more` : "Show more";
  }

  async function fetchPage(after) {
    return api("/tasks", { query: { ...filters.query(), limit: PAGE, cursor: after || undefined } });
  }

  async function load() {
    const mine = ++asked;
    problem.replaceChildren();
    list.compare = ORDERS[filters.sort()];
    try {
      const page = await fetchPage(null);
      if (mine !== asked) return;
      cursor = page.next_cursor;
      total = page.total;
      list.reset(page.items);
      showCounts();
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    }
  }

  more.addEventListener("click", () => pending(more, problem, async () => {
    const mine = asked;
    const page = await fetchPage(cursor);
    if (mine !== asked) return;
    for (const task of page.items) list.put(task);
    cursor = page.next_cursor;
    total = page.total;
    showCounts();
  }));

  // How many match, read again after a burst of changes (the list itself changes at once).
  function recount() {
    clearTimeout(countTimer);
    countTimer = setTimeout(async () => {
      const mine = asked;
      try {
        const page = await api("/tasks", { query: { ...filters.query(), limit: 1 } });
        if (mine === asked) { total = page.total; showCounts(); }
      } catch {
        // The next change or load tries again.
      }
    }, 300);
  }

  function onTask(event) {
    const task = event.data?.task;
    if (!task) {
      if (event.data?.bulk) load();
      return;
    }
    if (filters.selects(task)) {
      // Beyond the last loaded row it waits for "Show more", where it will be in its place.
      const sorted = list.sorted();
      const last = sorted[sorted.length - 1];
      if (!cursor || list.tasks.has(task.id) || !last || list.compare(task, last) < 0) list.put(task, { highlight: true });
    } else {
      list.remove(task.id);
    }
    showCounts();
    recount();
  }

  const stopFeed = realtime.subscribe("wallboard", (event) => {
    if (event.type === "ready" || event.type === "resync") load();
    else if (event.type?.startsWith("task.")) onTask(event);
  });

  // A click on a row (or Enter) ticks it; j / k move, x or Space ticks the selected row.
  list.addEventListener("open", (event) => list.toggle(event.detail.id));
  list.addEventListener("count", showCounts);
  function onKey(event) {
    if (event.metaKey || event.ctrlKey || event.altKey || typing(event.target)) return;
    const action = { j: () => list.move(1), k: () => list.move(-1), x: () => list.toggle() }[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  }
  document.addEventListener("keydown", onKey);

  everything("/queues").then((queues) => filters.setQueues(queues)).catch(() => {});
  agents.start();
  bulk.start();
  await load();

  const node = h("section", { class: "team", "aria-labelledby": "team-title" },
    h("div", { class: "queue-bar" },
      h("h1", { id: "team-title" }, "Team"), count, shown),
    notice.node, problem,
    filters.node, bulk.node,
    h("div", { class: "card task-pane team-pane" }, list,
      h("div", { class: "team-more" }, more)),
    agents.node);
  return {
    node,
    leave: () => {
      document.removeEventListener("keydown", onKey);
      clearTimeout(countTimer);
      notice.stop();
      stopFeed();
      agents.stop();
      bulk.stop();
    },
  };
}
