// The team view's filters and order: whose work (anyone, nobody yet, one agent), which
// queue, status and type, and how to sort. Every change asks the server again; the query it
// builds is the list route's own (GET /api/v1/tasks).
import { TASK_OPEN } from "../../codes.js";
import { h, setOptions } from "../../dom.js";

const TYPES = [["call", "Call"], ["email", "E-mail"], ["review", "Review"], ["follow_up", "Follow-up"], ["custom", "Other"]];
const STATUSES = [["", "Any open"], ["open", "Waiting"], ["assigned", "Assigned"], ["in_progress", "In progress"]];
export const SORTS = [["priority", "Most urgent"], ["age", "Oldest"], ["due", "Due soonest"], ["newest", "Newest"]];

// The same orders as the server's, for placing a task that arrives live.
const byId = (a, b) => a.id - b.id;
const byAge = (a, b) => a.created_at.localeCompare(b.created_at) || byId(a, b);
export const ORDERS = {
  newest: (a, b) => b.id - a.id,
  age: byAge,
  priority: (a, b) => b.priority - a.priority || byAge(a, b),
  due: (a, b) => (a.due_at ? new Date(a.due_at) : Infinity) - (b.due_at ? new Date(b.due_at) : Infinity) || byId(a, b),
};

const choice = (id, label, options) => h("div", { class: "field" },
  h("label", { for: id }, label),
  h("select", { id }, options.map(([value, text]) => h("option", { value }, text))));

export function teamFilters(onChange) {
  const agent = choice("team-agent", "Agent", [["", "Anyone"], ["none", "Not assigned"]]);
  const queue = choice("team-queue", "Queue", [["", "Any queue"]]);
  const status = choice("team-status", "Status", STATUSES);
  const type = choice("team-type", "Type", [["", "Any type"], ...TYPES]);
  const sort = choice("team-sort", "Sort", SORTS);
  const field = (node) => node.querySelector("select");
  const node = h("form", { class: "team-filters card", id: "team-filters", "aria-label": "Filter and sort the team's tasks",
    onsubmit: (event) => event.preventDefault() }, agent, queue, status, type, sort);
  node.addEventListener("change", () => onChange());

  // Keeps the choice, and a drop-down open, when the options are read again.
  function options(select, fixed, items) {
    setOptions(select, [...fixed, ...items].map(([value, text]) => ({ value, text })));
  }

  return {
    node,
    setAgents(agents) {
      options(field(agent), [["", "Anyone"], ["none", "Not assigned"]], agents.map((a) => [String(a.id), a.name]));
    },
    setQueues(queues) {
      options(field(queue), [["", "Any queue"]], queues.map((q) => [String(q.id), q.name]));
    },
    sort: () => field(sort).value,
    // The list route's query for these choices.
    query() {
      const who = field(agent).value;
      return {
        status: field(status).value ? [field(status).value] : [...TASK_OPEN],
        type: field(type).value || undefined,
        assignee_id: who && who !== "none" ? who : undefined,
        unassigned: who === "none" ? "true" : undefined,
        queue_id: field(queue).value || undefined,
        sort: field(sort).value,
      };
    },
    // Whether a task (as an event carries it) is one these choices select.
    selects(task) {
      const q = this.query();
      return q.status.includes(task.status)
        && (!q.type || task.type === q.type)
        && (!q.assignee_id || String(task.assignee_id) === q.assignee_id)
        && (!q.unassigned || task.assignee_id === null)
        && (!q.queue_id || String(task.queue_id) === q.queue_id);
    },
  };
}
