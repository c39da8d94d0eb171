// "Call back later": a date and time in the debtor's own zone. The server refuses a time
// outside the contact window and names the window; a booked callback shows on the timeline
// (its task's event) and comes back to this collector when its time comes.
import { api } from "../../api.js";
import { formatDebtorTime, h, submit } from "../../dom.js";

// The wall-clock value a datetime-local field takes, for `at` in `zone`.
function localValue(at, zone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

export function callbackPanel(id) {
  const problem = h("div", { id: "callback-problem" });
  const done = h("p", { class: "muted", id: "callback-booked", role: "status" });
  const zone = h("span", { id: "callback-zone" }, "the debtor's time");
  const at = h("input", { id: "callback-at", type: "datetime-local", required: true });
  const notes = h("input", { id: "callback-notes", maxlength: 4000 });
  const form = h("form", { class: "inline-form", "aria-label": "Call back later", onsubmit: submit(problem, async () => {
    done.textContent = "";
    const task = await api(`/accounts/${id}/callbacks`, { method: "POST", body: { at: at.value, notes: notes.value.trim() } });
    const when = formatDebtorTime(task.due_at, task.contact?.time_zone || zone.dataset.zone);
    done.textContent = `Callback booked for ${when}; it comes back to you then (task ${task.id}).`;
    notes.value = "";
  }) },
    h("div", { class: "field" }, h("label", { for: "callback-at" }, "Call back at (", zone, ")"), at),
    h("div", { class: "field" }, h("label", { for: "callback-notes" }, "Reminder for the call"), notes),
    h("button", { type: "submit" }, "Book callback"));
  return {
    nodes: [h("h2", {}, "Call back later"), problem, form, done],
    // Each contact status read tells the debtor's zone and their time now.
    update(status) {
      zone.textContent = status.time_zone;
      zone.dataset.zone = status.time_zone;
      at.min = localValue(new Date(status.debtor_local_time), status.time_zone);
    },
  };
}
