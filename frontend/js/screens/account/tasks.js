// The work on this account: who has it, how it ended and the notes left on it, why it went
// to whom. Kept current by
// the tasks' events on the account's channel.
import { api } from "../../api.js";
import { TASK_TONE, words } from "../../codes.js";
import { formatDateTime, h } from "../../dom.js";

function taskItem(t) {
  const when = t.completed_at || t.cancelled_at || t.created_at;
  return h("li", { dataset: { id: t.id } },
    h("strong", {}, `${words(t.type)} task`), " · ",
    h("span", { class: "badge", "data-tone": TASK_TONE[t.status] }, words(t.status)),
    t.outcome ? ` — ${words(t.outcome)}` : "",
    t.assignee_name ? ` · ${t.assignee_name}` : "",
    h("br"), h("time", { datetime: when }, formatDateTime(when)),
    t.assignment_reason ? h("p", { class: "muted" }, t.assignment_reason) : null,
    // What the collector wrote when completing (or why it was cancelled), line by line.
    t.notes ? h("p", { class: "task-notes", "aria-label": "Task notes" }, t.notes) : null);
}

export function tasksPanel(id) {
  const tasks = new Map();
  const list = h("ol", { class: "timeline", id: "account-tasks" });
  function render() {
    const items = [...tasks.values()].sort((a, b) => b.id - a.id).slice(0, 20);
    list.replaceChildren(...(items.length ? items.map(taskItem) : [h("li", { class: "muted" }, "No tasks.")]));
  }
  return {
    nodes: [h("h2", {}, "Tasks"), list],
    put(task) {
      tasks.set(task.id, task);
      render();
    },
    async load() {
      const page = await api("/tasks", { query: { account_id: id, limit: 20 } }).catch(() => ({ items: [] }));
      for (const t of page.items) tasks.set(t.id, t);
      render();
    },
  };
}
