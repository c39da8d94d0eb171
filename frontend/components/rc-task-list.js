// <rc-task-list>: tasks in the order they should be worked, one selected, kept current by
// put() and remove() as events arrive. Rows are keyed by task id and replaced one at a time,
// so a list of hundreds stays quick; it announces "open" (Enter, click) with the task.
// With `selectable` set (a supervisor's team view), each row has a box to tick for a bulk
// action (click it, or x / Space on the selected row); "checked" announces the ticked ids.
// The list is then a multi-select listbox: a ticked row is a selected option, and the row
// the keys are on is the active one (the box is drawn, not an input: an option's content
// is presentational, so a control inside it would be hidden from assistive technology).
// `compare` orders the rows (the queue's order unless a screen sorts otherwise).
//
// For assistive technology the element is a named group holding the listbox (the rows,
// which take the focus and point at the selected one) and, beside it, the "nothing here"
// line: a listbox may own only its options.
import { formatDebtorTime, h } from "../js/dom.js";
import "./rc-money.js";

const TYPE_LABEL = { call: "Call", email: "E-mail", review: "Review", follow_up: "Follow-up", custom: "Task" };

// In progress first, then as a queue sorts: most urgent, then oldest.
export function byQueueOrder(a, b) {
  const started = (b.status === "in_progress") - (a.status === "in_progress");
  return started || b.priority - a.priority || a.created_at.localeCompare(b.created_at) || a.id - b.id;
}

export function age(iso, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60000));
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h`;
  return `${Math.floor(minutes / 1440)} d`;
}

// When the debtor may be called again is judged on their clock, so it is said in their zone.
export function contactBadge(task) {
  if (!task.contact) return null;
  if (task.contact.allowed) return h("span", { class: "badge", "data-tone": "ok" }, "Call now");
  const { opens_at: opens, time_zone: zone } = task.contact;
  const when = opens ? `until ${formatDebtorTime(opens, zone, { short: true })}` : "blocked";
  return h("span", { class: "badge", "data-tone": "bad", title: task.contact.reason || "" }, `No call ${when}`);
}

class RcTaskList extends HTMLElement {
  constructor() {
    super();
    this.tasks = new Map();
    this.rows = new Map();
    this.selected = null;
    this.showAssignee = false;
    this.selectable = false;
    this.checked = new Set();
    this.compare = byQueueOrder;
  }

  static get observedAttributes() {
    return ["aria-label"];
  }

  attributeChangedCallback() {
    this.list?.setAttribute("aria-label", this.getAttribute("aria-label") || "Tasks");
  }

  focus(options) {
    if (this.list) this.list.focus(options);
    else super.focus(options);
  }

  connectedCallback() {
    this.setAttribute("role", "group");
    if (!this.list) {
      this.list = h("ol", { class: "task-rows", role: "listbox", tabindex: "0",
        "aria-label": this.getAttribute("aria-label") || "Tasks" });
      this.empty = h("p", { class: "muted empty" }, this.getAttribute("empty") || "Nothing here.");
      this.append(this.list, this.empty);
      this.addEventListener("click", (event) => {
        const row = event.target.closest("li[data-id]");
        if (!row) return;
        if (event.target.matches(".task-check")) {
          this.check(Number(row.dataset.id), !this.checked.has(Number(row.dataset.id)));
          this.select(Number(row.dataset.id));
          this.focus(); // the keys (j, k, x) go on working from the list
          return;
        }
        this.open(Number(row.dataset.id));
      });
      this.addEventListener("keydown", (event) => {
        if (event.key === "ArrowDown") { this.move(1); event.preventDefault(); }
        if (event.key === "ArrowUp") { this.move(-1); event.preventDefault(); }
        if (event.key === " " && event.target === this.list && this.selectable) {
          this.toggle();
          event.preventDefault();
        }
      });
    }
  }

  // Replace everything (a fresh load).
  reset(tasks) {
    this.tasks = new Map(tasks.map((t) => [t.id, t]));
    const before = this.checked.size;
    for (const id of this.checked) if (!this.tasks.has(id)) this.checked.delete(id);
    this.rows.clear();
    this.list.replaceChildren(...this.sorted().map((t) => this.row(t)));
    if (this.selected !== null && !this.tasks.has(this.selected)) this.selected = null;
    this.markSelected();
    this.changed();
    if (this.checked.size !== before) this.checkedChanged();
  }

  sorted() {
    return [...this.tasks.values()].sort(this.compare);
  }

  // Add or update one task; returns true when it is new to the list.
  put(task, { highlight = false } = {}) {
    const isNew = !this.tasks.has(task.id);
    this.tasks.set(task.id, task);
    this.rows.get(task.id)?.remove();
    const node = this.row(task);
    const order = this.sorted();
    const at = order.findIndex((t) => t.id === task.id);
    const after = at + 1 < order.length ? this.rows.get(order[at + 1].id) : null;
    this.list.insertBefore(node, after && after !== node ? after : null);
    if (highlight) node.classList.add("changed");
    this.markSelected();
    this.changed();
    return isNew;
  }

  remove(id) {
    if (!this.tasks.delete(id)) return false;
    this.rows.get(id)?.remove();
    this.rows.delete(id);
    if (this.selected === id) this.selected = null;
    this.changed();
    if (this.checked.delete(id)) this.checkedChanged();
    return true;
  }

  // Ticking boxes for a bulk action.
  check(id, on) {
    if (!this.tasks.has(id)) return;
    if (on) this.checked.add(id);
    else this.checked.delete(id);
    this.markChecked(id);
    this.checkedChanged();
  }

  markChecked(id) {
    const row = this.rows.get(id);
    if (!row) return;
    row.classList.toggle("checked", this.checked.has(id));
    if (this.selectable) row.setAttribute("aria-selected", String(this.checked.has(id)));
  }

  toggle(id = this.selected) {
    if (!this.selectable || id === null) return;
    this.check(id, !this.checked.has(id));
  }

  checkAll(on) {
    for (const id of this.tasks.keys()) {
      if (on) this.checked.add(id);
      else this.checked.delete(id);
      this.markChecked(id);
    }
    this.checkedChanged();
  }

  checkedChanged() {
    this.dispatchEvent(new CustomEvent("checked", { detail: [...this.checked] }));
  }

  row(task) {
    const checked = this.selectable && this.checked.has(task.id);
    const box = this.selectable ? h("span", { class: "task-check", "aria-hidden": "true" }) : null;
    const node = h("li", {
      role: "option", "aria-selected": "false", id: `task-${task.id}`,
      class: checked ? "checked" : undefined,
      dataset: { id: task.id, status: task.status },
    },
      box,
      h("div", { class: "task-who" },
        h("strong", {}, task.account.debtor_name || "—"),
        h("rc-money", { amount: task.account.balance, currency: task.account.currency })),
      h("div", { class: "task-meta" },
        h("span", { class: "badge", "data-tone": task.status === "in_progress" ? "info" : undefined },
          TYPE_LABEL[task.type] || task.type),
        h("span", {}, task.account.external_ref),
        h("span", {}, `${task.account.days_past_due} d past due`),
        h("span", { title: `Created ${task.created_at}` }, `age ${age(task.created_at)}`),
        this.showAssignee ? h("span", {}, task.assignee_name || "unassigned") : null,
        contactBadge(task)));
    this.rows.set(task.id, node);
    return node;
  }

  markSelected() {
    if (this.selectable) this.list.setAttribute("aria-multiselectable", "true");
    else this.list.removeAttribute("aria-multiselectable");
    for (const [id, node] of this.rows) {
      node.classList.toggle("current", id === this.selected);
      node.setAttribute("aria-selected", String(this.selectable ? this.checked.has(id) : id === this.selected));
    }
    if (this.selected !== null) this.list.setAttribute("aria-activedescendant", `task-${this.selected}`);
    else this.list.removeAttribute("aria-activedescendant");
  }

  select(id) {
    this.selected = this.tasks.has(id) ? id : null;
    this.markSelected();
    this.rows.get(this.selected)?.scrollIntoView({ block: "nearest" });
  }

  move(step) {
    const order = this.sorted();
    if (!order.length) return;
    const at = order.findIndex((t) => t.id === this.selected);
    const next = at < 0 ? 0 : Math.min(order.length - 1, Math.max(0, at + step));
    this.select(order[next].id);
  }

  open(id = this.selected) {
    if (id === null || !this.tasks.has(id)) return;
    this.select(id);
    this.dispatchEvent(new CustomEvent("open", { detail: this.tasks.get(id) }));
  }

  changed() {
    this.empty.hidden = this.tasks.size > 0;
    this.dispatchEvent(new CustomEvent("count", { detail: this.tasks.size }));
  }
}

customElements.define("rc-task-list", RcTaskList);
