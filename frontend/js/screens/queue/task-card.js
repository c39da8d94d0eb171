// The open task's card: whose it is and why it came to me, what the contact rules allow
// now, and what I can do with it (complete, start, hand back; supervisors reassign).
import { age, contactBadge } from "../../../components/rc-task-list.js";
import { money } from "../../../components/rc-money.js";
import { api } from "../../api.js";
import { TASK_HELD, TASK_OPEN, TASK_OUTCOMES, words } from "../../codes.js";
import { flash, formatDateTime, formatDebtorTime, h, submit } from "../../dom.js";

// A call's due time (a callback's, say) is when the debtor is rung, so it is said on their
// clock; any other task's is the viewer's.
const due = (task) => (task.contact?.time_zone
  ? formatDebtorTime(task.due_at, task.contact.time_zone) : formatDateTime(task.due_at));
const dpd = (task) => `${task.account.days_past_due} (${task.account.bucket})`;
const contactText = (task) => [contactBadge(task) || "—",
  task.contact && !task.contact.allowed && task.contact.reason ? ` ${task.contact.reason}` : ""];

// The list and the panel change when the task's event arrives, not from the answer here.
const post = (path, body = {}) => api(path, { method: "POST", body });

function completeForm(task, problem) {
  const outcome = h("select", { id: "task-outcome", required: true },
    h("option", { value: "" }, "Choose…"), TASK_OUTCOMES.map(([v, l]) => h("option", { value: v }, l)));
  const notes = h("input", { id: "task-notes", maxlength: 4000 });
  return h("form", { class: "inline-form", "aria-label": "Complete the task",
    onsubmit: submit(problem, () => post(`/tasks/${task.id}/complete`, { outcome: outcome.value, notes: notes.value })) },
    h("div", { class: "field" }, h("label", { for: "task-outcome" }, "Task outcome"), outcome),
    h("div", { class: "field" }, h("label", { for: "task-notes" }, "Task notes"), notes),
    h("button", { type: "submit", class: "primary", id: "complete-task" }, "Complete task"));
}

function reassignForm(task, problem) {
  const who = h("select", { id: "reassign-to" }, h("option", { value: "" }, "Back to the queue"));
  api("/users", { query: { limit: 200 } }).then((page) => {
    for (const u of page.items) {
      if (u.role === "readonly" || !u.active) continue;
      who.append(h("option", { value: u.id, selected: u.id === task.assignee_id }, `${u.name} · ${u.status}`));
    }
  }).catch(() => {});
  return h("form", { class: "inline-form", "aria-label": "Reassign the task",
    onsubmit: submit(problem, () => post(`/tasks/${task.id}/assign`, { assignee_id: who.value ? Number(who.value) : null })) },
    h("div", { class: "field" }, h("label", { for: "reassign-to" }, "Give to"), who),
    h("button", { type: "submit", id: "reassign" }, "Reassign"));
}

export function taskCard({ me, manager }) {
  const node = h("div", { class: "card task-card", id: "task-card" });
  // Kept across redraws of one task, so a refusal stays up when an event redraws the card.
  const problems = { complete: h("div"), progress: h("div"), reassign: h("div") };
  let shown = null;
  // The task's own forms are kept across its redraws while they still apply: what is typed
  // or chosen in them, and the focus, outlive an event about the same task.
  let forms = {};

  function show(task) {
    if (task.id !== shown) {
      for (const problem of Object.values(problems)) problem.replaceChildren();
      forms = {};
    }
    shown = task.id;
    const focused = document.activeElement;
    const held = TASK_HELD.has(task.status);
    const mine = task.assignee_id === me;
    const start = task.status === "assigned" && mine
      ? h("button", { type: "button", onclick: submit(problems.progress, () => post(`/tasks/${task.id}/start`)) }, "Start") : null;
    const handBack = held && mine
      ? h("button", { type: "button", onclick: submit(problems.progress, () => post(`/tasks/${task.id}/release`)) }, "Hand back") : null;
    node.replaceChildren(...[
      h("div", { class: "task-head" },
        h("h2", { id: "task-title" }, task.account.debtor_name || task.account.external_ref),
        h("span", { class: "badge", "data-tone": task.status === "in_progress" ? "info" : undefined }, words(task.status)),
        h("span", { class: "muted" }, [words(task.type), task.title, task.account.external_ref].filter(Boolean).join(" · "))),
      h("dl", { class: "facts compact" },
        h("dt", {}, "Balance"), h("dd", { id: "task-balance" }, money(task.account.balance, task.account.currency)),
        h("dt", {}, "Days past due"), h("dd", { id: "task-dpd" }, dpd(task)),
        h("dt", {}, "Contact"), h("dd", { id: "task-contact" }, contactText(task)),
        h("dt", {}, "Priority"), h("dd", {}, String(task.priority)),
        h("dt", {}, "Waiting"), h("dd", { id: "task-due" }, `${age(task.created_at)} · due ${due(task)}`),
        h("dt", {}, "Why me"), h("dd", {}, task.assignment_reason || "—")),
      held && (mine || manager) ? [problems.complete, forms.complete ??= completeForm(task, problems.complete)] : null,
      problems.progress, h("div", { class: "inline-form" }, start, handBack),
      manager && TASK_OPEN.has(task.status) ? [problems.reassign, forms.reassign ??= reassignForm(task, problems.reassign)] : null,
    ].flat().filter(Boolean));
    if (!held || !(mine || manager)) delete forms.complete;
    if (!manager || !TASK_OPEN.has(task.status)) delete forms.reassign;
    if (focused !== document.activeElement && node.contains(focused)) focused.focus();
  }

  return {
    node,
    show,
    // A payment or a promise changes only the figures; the fields being typed in stay.
    showFigures(task) {
      for (const [id, value] of [["#task-balance", money(task.account.balance, task.account.currency)], ["#task-dpd", dpd(task)]]) {
        const cell = node.querySelector(id);
        cell?.replaceChildren(value);
        if (cell) flash(cell);
      }
    },
    // A contact logged elsewhere changes only this line; the fields being typed in stay.
    showContact(task) {
      node.querySelector("#task-contact")?.replaceChildren(...contactText(task));
    },
  };
}
