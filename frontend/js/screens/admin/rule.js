// One task rule (/admin/rules/{id}) or a new one (/admin/rules/new): the condition builder
// with its live preview, what the tasks are and who gets them, how often it runs, and its
// last runs. Checked as one types; the server's refusal lands beside the control it names.
import { api, everything } from "../../api.js";
import { h, pending } from "../../dom.js";
import { clearFieldErrors, confirmButton, field, go, showProblem } from "../../forms.js";
import { realtime } from "../../realtime.js";
import { conditionBuilder } from "./rules/conditions.js";
import { previewPanel } from "./rules/preview.js";
import { runsList } from "./rules/runs.js";
import { GROUP_STRATEGIES, STRATEGIES, TASK_TYPES } from "./rules/words.js";

const DEFAULTS = { name: "", enabled: true, conditions: [], task_type: "call", priority: 50,
  due_offset_minutes: 0, strategy: { kind: "queue" }, queue_id: null, cadence_minutes: 60 };

// A message under a control, shown as soon as what is typed cannot be right.
function checked(control, test) {
  const note = h("p", { class: "error-text value-check", "aria-live": "polite" });
  const run = () => {
    const message = test(control.value.trim());
    note.textContent = message || "";
    if (message) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
    return !message;
  };
  control.addEventListener("input", run);
  return { note, run };
}

const whole = (low, high, what) => (text) => (/^\d+$/.test(text) && Number(text) >= low && Number(text) <= high
  ? null : `${what} is a whole number from ${low} to ${high}.`);

const options = (items, chosen, none) => [
  none ? h("option", { value: "", selected: chosen == null }, none) : null,
  ...items.map(([value, text]) => h("option", { value, selected: String(value) === String(chosen ?? "") }, text)),
];

export async function ruleSection(id) {
  const [fields, tenant, agents, groups, queues, saved] = await Promise.all([
    api("/rules/fields"), api("/tenant"), everything("/agents"), everything("/agent-groups"),
    everything("/queues"), id ? api(`/rules/${id}`) : null,
  ]);
  const rule = saved ?? DEFAULTS;
  const context = { buckets: tenant.settings.buckets, agents };
  const preview = previewPanel(() => builder.read());
  const builder = conditionBuilder({ fields, context, initial: rule.conditions, changed: () => preview.refresh() });

  const name = h("input", { type: "text", name: "name", maxlength: 120, value: rule.name, required: true, autocomplete: "off" });
  const nameCheck = checked(name, (t) => (t ? null : "A rule needs a name."));
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: rule.enabled });
  const taskType = h("select", { name: "task_type" }, options(TASK_TYPES, rule.task_type));
  const priority = h("input", { type: "number", name: "priority", min: 0, max: 100, step: 1, value: rule.priority });
  const priorityCheck = checked(priority, whole(0, 100, "Priority"));
  const due = h("input", { type: "number", name: "due_offset_minutes", min: 0, max: 525600, step: 1, value: rule.due_offset_minutes });
  const dueCheck = checked(due, whole(0, 525600, "The time to do it"));
  const cadence = h("input", { type: "number", name: "cadence_minutes", min: 1, max: 10080, step: 1, value: rule.cadence_minutes });
  const cadenceCheck = checked(cadence, whole(1, 10080, "The cadence"));
  cadence.setAttribute("aria-describedby", "rule-cadence-hint");
  const kind = h("select", { name: "strategy" }, options(STRATEGIES, rule.strategy.kind));
  const agent = h("select", { name: "agent" }, options(agents.map((a) => [a.id, a.name]), rule.strategy.agent_id, "Choose an agent"));
  const group = h("select", { name: "group" }, options(groups.map((g) => [g.id, g.name]), rule.strategy.group_id, "No group"));
  const queue = h("select", { name: "queue" }, options(queues.map((q) => [q.id, q.name]), rule.queue_id, "No queue"));
  const agentField = field("Agent", agent, { path: "strategy.agent_id" });
  const groupField = field("Agent group", group, { path: "strategy.group_id" });
  const showStrategy = () => {
    agentField.hidden = kind.value !== "agent";
    groupField.hidden = !GROUP_STRATEGIES.includes(kind.value) && kind.value !== "queue";
  };
  kind.addEventListener("change", showStrategy);
  showStrategy();

  const problem = h("div", { class: "form-problem" });
  const state = h("span", { class: "save-state", role: "status" });
  const save = h("button", { type: "submit", class: "primary" }, id ? "Save rule" : "Create rule");
  const run = h("button", { type: "button", id: "run-now", disabled: !id }, "Run now");
  const runs = id ? runsList(id) : null;
  const notice = h("div", { class: "rule-notice", "aria-live": "polite" });
  const title = h("h2", { id: "rule-title", class: "section-title" }, id ? rule.name : "New task rule");
  let saving = false;
  let heard = null;

  const form = h("form", { class: "rule-form", novalidate: true, "aria-labelledby": "rule-title" },
    h("section", { class: "card rule-conditions", "aria-labelledby": "conditions-title" },
      h("h2", { id: "conditions-title" }, "Accounts that match all of"), builder.node),
    h("div", { class: "rule-side" }, preview.node, runs?.node),
    h("section", { class: "card rule-task", "aria-labelledby": "task-title" },
      h("h2", { id: "task-title" }, "The task"),
      h("div", { class: "row" },
        h("div", { class: "field", dataset: { field: "name" } }, h("label", { for: "rule-name" }, "Name"),
          Object.assign(name, { id: "rule-name" }), nameCheck.note),
        field("Task type", taskType, { path: "task_type" }),
        h("div", { class: "field", dataset: { field: "priority" } }, h("label", { for: "rule-priority" }, "Priority (0–100)"),
          Object.assign(priority, { id: "rule-priority" }), priorityCheck.note),
        h("div", { class: "field", dataset: { field: "due_offset_minutes" } },
          h("label", { for: "rule-due" }, "Due after (minutes)"), Object.assign(due, { id: "rule-due" }), dueCheck.note)),
      h("h3", {}, "Who gets it"),
      h("div", { class: "row" }, field("Strategy", kind, { path: "strategy.kind" }), agentField, groupField,
        field("Queue", queue, { path: "queue_id", hint: "Where unassigned tasks wait to be pulled." })),
      h("h3", {}, "When it runs"),
      h("div", { class: "row" },
        h("div", { class: "field", dataset: { field: "cadence_minutes" } },
          h("label", { for: "rule-cadence" }, "Every (minutes)"),
          Object.assign(cadence, { id: "rule-cadence" }),
          h("p", { class: "hint", id: "rule-cadence-hint" }, "From 1 minute to a week (10080)."), cadenceCheck.note),
        h("div", { class: "field check-field", dataset: { field: "enabled" } },
          h("label", { class: "check-choice", for: "rule-enabled" }, Object.assign(enabled, { id: "rule-enabled" }),
            "Enabled: runs on its cadence")))),
    h("div", { class: "rule-problem" }, problem),
    h("div", { class: "save-bar save-row" }, save, run, state,
      id ? confirmButton("Delete rule", "Delete this rule? Its tasks stay.", problem, async () => {
        await api(`/rules/${id}`, { method: "DELETE" });
        go("/admin/rules");
      }) : null));

  function body() {
    const strategy = { kind: kind.value };
    if (kind.value === "agent") strategy.agent_id = agent.value ? Number(agent.value) : null;
    if (!groupField.hidden && group.value) strategy.group_id = Number(group.value);
    return {
      name: name.value.trim(), enabled: enabled.checked, task_type: taskType.value,
      priority: Number(priority.value), due_offset_minutes: Number(due.value),
      cadence_minutes: Number(cadence.value), strategy,
      queue_id: queue.value ? Number(queue.value) : null,
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const conditions = builder.read(true);
    const fine = [nameCheck.run(), priorityCheck.run(), dueCheck.run(), cadenceCheck.run()].every(Boolean);
    if (conditions === null || !fine) {
      problem.replaceChildren(h("div", { class: "problem", role: "alert" }, "Fix the marked fields first."));
      form.querySelector("[aria-invalid=true], .value-check:not(:empty)")?.closest(".field")
        ?.querySelector("input, select")?.focus();
      return;
    }
    pending(save, problem, async () => {
      saving = true;
      try {
        const answer = id
          ? await api(`/rules/${id}`, { method: "PATCH", body: { ...body(), conditions } })
          : await api("/rules", { method: "POST", body: { ...body(), conditions } });
        if (!id) {
          go(`/admin/rules/${answer.id}`);
          return;
        }
        rule.updated_at = answer.updated_at;
        title.textContent = answer.name;
        state.textContent = "Saved.";
      } catch (error) {
        showProblem(form, problem, error);
      } finally {
        saving = false;
        if (heard) onChange(heard);
        heard = null;
      }
    });
  });
  run.addEventListener("click", () => pending(run, problem, async () => {
    const answer = await api(`/rules/${id}/run`, { method: "POST" });
    state.textContent = `Run: ${answer.created} task${answer.created === 1 ? "" : "s"} created.`;
    await runs.reload();
  }));
  for (const control of [name, priority, due, cadence, kind, agent, group, queue, taskType, enabled]) {
    control.addEventListener("input", () => { state.textContent = ""; });
  }

  // Another manager's run or change shows here without a reload. A change heard while our
  // own save is on its way is judged once its answer is in (it may be that save's event).
  function onChange(event) {
    if (event.type === "rule.updated" && event.data.updated_at !== rule.updated_at) {
      notice.replaceChildren(h("p", { class: "notice-box" }, "Someone else changed this rule. ",
        h("a", { href: `/admin/rules/${id}` }, "Load their version")));
    } else if (event.type === "rule.deleted") {
      notice.replaceChildren(h("p", { class: "notice-box" }, "Someone else deleted this rule."));
    }
  }
  const stop = id ? realtime.subscribe("setup", (event) => {
    if (event.type === "rule.run" && event.data?.rule_id === id) runs.reload();
    else if (["rule.updated", "rule.deleted"].includes(event.type) && event.data?.id === id) {
      if (saving) heard = event;
      else onChange(event);
    }
  }) : () => {};

  preview.now();
  runs?.reload();
  const node = h("div", { class: "rule-editor" },
    h("div", { class: "title-bar" },
      title,
      h("a", { href: "/admin/rules" }, "All rules")),
    notice,
    form);
  return { node, leave: stop };
}
