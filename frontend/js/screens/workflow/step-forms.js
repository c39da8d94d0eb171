// Each kind of step has its own small form. A form edits its step object in place and says
// so through `ctx.changed()`; `redraw()` rebuilds the form when its shape changes.
import { ACCOUNT_STATUS, words } from "../../codes.js";
import { h } from "../../dom.js";
import { field } from "../../forms.js";
import { conditionInput } from "./condition-input.js";
import { durationInput } from "./duration.js";

const TASK_TYPES = ["call", "email", "review", "follow_up", "custom"];
const STRATEGIES = {
  queue: "A queue (agents pull it)", owner: "The account's owner", agent: "A named agent",
  fewest_open: "A group: fewest open tasks", round_robin: "A group: round robin", longest_idle: "A group: longest idle",
};
const GROUP_STRATEGIES = new Set(["fewest_open", "round_robin", "longest_idle"]);

const options = (items, selected, empty) => [
  empty ? h("option", { value: "" }, empty) : null,
  items.map(([value, label]) => h("option", { value: String(value), selected: String(value) === String(selected ?? "") }, label)),
];
const numberOrNull = (text) => (text.trim() === "" ? null : Number(text));

function select(items, selected, empty, onchange) {
  const node = h("select", {}, options(items, selected, empty));
  node.addEventListener("change", () => onchange(node.value));
  return node;
}

function input(attrs, onchange) {
  const node = h("input", attrs);
  node.addEventListener("input", () => onchange(node.value));
  return node;
}

function message(step, ctx, path) {
  const channel = step.kind === "send_email" ? "email" : "sms";
  const mine = ctx.templates.filter((t) => t.channel === channel);
  const known = mine.some((t) => t.id === step.template_id);
  const items = mine.map((t) => [t.id, t.name]);
  if (step.template_id != null && !known) items.push([step.template_id, `Template ${step.template_id} (not a ${words(channel)} template here)`]);
  const picker = select(items, step.template_id, "Choose a template…", (v) => { step.template_id = numberOrNull(v); ctx.changed(); });
  return [field("Template", picker, { path: `${path}.template_id`,
    hint: mine.length ? null : `No ${channel === "sms" ? "text" : "e-mail"} templates yet: create one under Templates.` })];
}

function setStatus(step, ctx, path) {
  return [field("New status", select(Object.entries(ACCOUNT_STATUS), step.status, null,
    (v) => { step.status = v; ctx.changed(); }), { path: `${path}.status` })];
}

function createTask(step, ctx, path, redraw) {
  if (!step.strategy || typeof step.strategy !== "object") step.strategy = { kind: "queue" };
  const strategy = step.strategy;
  const fields = [
    field("Task type", select(TASK_TYPES.map((t) => [t, words(t)]), step.type ?? "call", null,
      (v) => { step.type = v; ctx.changed(); }), { path: `${path}.type` }),
    field("Title", input({ value: step.title ?? "", maxlength: 200, placeholder: "Call about the broken promise" },
      (v) => { step.title = v; ctx.changed(); }), { path: `${path}.title` }),
    field("Priority (0–100)", input({ type: "number", min: 0, max: 100, value: step.priority ?? 50 },
      (v) => { step.priority = numberOrNull(v); ctx.changed(); }), { path: `${path}.priority` }),
    durationInput({ label: "Due after", minutes: step.due_offset_minutes, path: `${path}.due_offset_minutes`, optional: true,
      onchange: (m) => { step.due_offset_minutes = m; ctx.changed(); } }),
    field("Assign to", select(Object.entries(STRATEGIES), strategy.kind ?? "queue", null, (v) => {
      step.strategy = { kind: v };
      ctx.changed();
      redraw();
    }), { path: `${path}.strategy` }),
  ];
  if (strategy.kind === "agent") {
    fields.push(field("Agent", select(ctx.users.map((u) => [u.id, u.name]), strategy.agent_id, "Choose an agent…",
      (v) => { strategy.agent_id = numberOrNull(v); ctx.changed(); }), { path: `${path}.strategy.agent_id` }));
  } else if (GROUP_STRATEGIES.has(strategy.kind)) {
    fields.push(field("Agent group", select(ctx.groups.map((g) => [g.id, g.name]), strategy.group_id, "Choose a group…",
      (v) => { strategy.group_id = numberOrNull(v); ctx.changed(); }), { path: `${path}.strategy.group_id` }));
  }
  if (strategy.kind === "queue") {
    fields.push(field("Queue", select(ctx.queues.map((q) => [q.id, q.name]), step.queue_id, "No queue (unassigned)",
      (v) => { step.queue_id = numberOrNull(v); ctx.changed(); }), { path: `${path}.queue_id` }));
  }
  return fields;
}

const WAIT_MODES = [["minutes", "For a while"], ["clock", "Until a time of day"], ["moment", "Until a date and time"]];
const waitMode = (step) => (step.until == null ? "minutes" : /^\d\d:\d\d$/.test(step.until) ? "clock" : "moment");

function wait(step, ctx, path, redraw) {
  const mode = waitMode(step);
  const chooser = field("Wait", select(WAIT_MODES, mode, null, (v) => {
    if (v === "minutes") { delete step.until; step.minutes = 1440; }
    else { delete step.minutes; step.until = v === "clock" ? "08:00" : ""; }
    ctx.changed();
    redraw();
  }));
  if (mode === "minutes") {
    return [chooser, durationInput({ label: "How long", minutes: step.minutes, path: `${path}.minutes`,
      onchange: (m) => { step.minutes = m; ctx.changed(); } })];
  }
  const clock = mode === "clock";
  return [chooser, field(clock ? "Time (debtor's time zone)" : "Date and time (debtor's time zone)",
    input({ type: clock ? "time" : "datetime-local", value: step.until ?? "" },
      (v) => { step.until = v.slice(0, clock ? 5 : 16); ctx.changed(); }),
    { path: `${path}.until` })];
}

function emit(step, ctx, path) {
  const data = h("textarea", { class: "code", rows: 2, spellcheck: "false" });
  data.value = JSON.stringify(step.data ?? {});
  const holder = field("Data (a JSON object)", data, { path: `${path}.data` });
  const problem = h("p", { class: "error-text", "aria-live": "polite" });
  holder.append(problem);
  data.addEventListener("input", () => {
    let parsed;
    try { parsed = JSON.parse(data.value || "{}"); } catch { parsed = undefined; }
    const ok = parsed && typeof parsed === "object" && !Array.isArray(parsed);
    problem.textContent = ok ? "" : "Not a JSON object yet: the last valid data is kept.";
    if (ok) { step.data = parsed; ctx.changed(); }
  });
  return [field("Event name", input({ value: step.event ?? "", pattern: "[a-z][a-z0-9_.]{0,59}", placeholder: "letter_requested" },
    (v) => { step.event = v; ctx.changed(); }), { path: `${path}.event`, hint: "Sent as workflow.<name> to webhooks and the account's channel." }),
  holder];
}

function stopIf(step, ctx, path) {
  const check = conditionInput({ value: step.condition, label: "Stop the run when", path: `${path}.condition`,
    trigger: ctx.trigger, onchange: (v) => { step.condition = v; ctx.changed(); } });
  ctx.checks.add(check);
  return [check.node];
}

export const STEP_FORMS = { send_email: message, send_sms: message, set_status: setStatus, create_task: createTask,
  wait, emit, stop_if: stopIf };
