// The steps as an ordered list: add, remove and move them with buttons (so with keys too),
// each with its own small form. A branch holds weighted arms, each a list of its own.
import { h } from "../../dom.js";
import { field } from "../../forms.js";
import { STEP_FORMS } from "./step-forms.js";
import { STEP_KINDS } from "./words.js";

const MAX_STEPS = 50;

export function newStep(kind, ctx) {
  const firstTemplate = (channel) => ctx.templates.find((t) => t.channel === channel)?.id ?? null;
  switch (kind) {
    case "send_sms": return { kind, template_id: firstTemplate("sms") };
    case "send_email": return { kind, template_id: firstTemplate("email") };
    case "set_status": return { kind, status: "active" };
    case "create_task": return { kind, type: "call", title: "", priority: 50, strategy: { kind: "queue" }, due_offset_minutes: 1440 };
    case "wait": return { kind, minutes: 1440 };
    case "emit": return { kind, event: "", data: {} };
    case "stop_if": return { kind, condition: "" };
    default: return { kind: "branch", arms: [{ name: "A", weight: 50, steps: [] }, { name: "B", weight: 50, steps: [] }] };
  }
}

function branchForm(step, ctx, path, redraw) {
  if (!Array.isArray(step.arms)) step.arms = [];
  const shares = [];
  const showShares = () => {
    const weight = (arm) => (Number(arm?.weight) > 0 ? Number(arm.weight) : 0);
    const total = step.arms.reduce((sum, arm) => sum + weight(arm), 0);
    step.arms.forEach((arm, i) => {
      if (arm && typeof arm === "object") shares[i].textContent = `${total ? Math.round(weight(arm) * 1000 / total) / 10 : 0}% of accounts`;
    });
  };
  const arms = step.arms.map((arm, i) => {
    const at = `${path}.arms[${i}]`;
    if (!arm || typeof arm !== "object") {
      shares[i] = h("span");
      return h("p", { class: "error-text", dataset: { field: at } }, `Arm ${i + 1} is not an object: fix it in the JSON view.`);
    }
    if (!Array.isArray(arm.steps)) arm.steps = [];
    const name = h("input", { value: arm.name ?? "", maxlength: 40, required: true });
    name.addEventListener("input", () => { arm.name = name.value; ctx.changed(); });
    const weight = h("input", { type: "number", min: 1, max: 1000, value: arm.weight ?? 1, inputmode: "numeric" });
    weight.addEventListener("input", () => { arm.weight = weight.value === "" ? null : Number(weight.value); showShares(); ctx.changed(); });
    shares[i] = h("span", { class: "muted share", "aria-live": "polite" });
    const remove = h("button", { type: "button", class: "quiet", disabled: step.arms.length <= 2,
      "aria-label": `Remove arm ${arm.name || i + 1}`, onclick: () => {
        step.arms.splice(i, 1);
        ctx.changed();
        redraw();
      } }, "Remove arm");
    return h("fieldset", { class: "arm", dataset: { field: at } },
      h("legend", {}, i === 0 ? `Arm ${arm.name || i + 1} (champion)` : `Arm ${arm.name || i + 1}`),
      h("div", { class: "row head" },
        field("Name", name, { path: `${at}.name` }),
        field("Weight", weight, { path: `${at}.weight`, className: "weight" }),
        shares[i], remove),
      stepList(arm.steps, ctx, `${at}.steps`, { nested: true }).node);
  });
  showShares();
  const add = h("button", { type: "button", disabled: step.arms.length >= 10, onclick: () => {
    const used = new Set(step.arms.map((a) => a?.name));
    const name = [..."ABCDEFGHIJ"].find((letter) => !used.has(letter)) || `Arm ${step.arms.length + 1}`;
    step.arms.push({ name, weight: 50, steps: [] });
    ctx.changed();
    redraw();
    ctx.root.querySelector(`[data-field="${path}.arms[${step.arms.length - 1}].name"] input`)?.focus();
  } }, "Add an arm");
  return [h("p", { class: "hint" }, "Each account goes to one arm by its weight, always the same arm for this version."),
    h("div", { dataset: { field: `${path}.arms` } }, arms), add];
}

const FORMS = { ...STEP_FORMS, branch: branchForm };

function stepItem(steps, i, ctx, path, render) {
  const step = steps[i];
  const at = `${path}[${i}]`;
  const body = h("div", { class: "step-body" });
  const redraw = () => {
    const form = FORMS[step?.kind];
    body.replaceChildren(...(form ? form(step, ctx, at, redraw)
      : [h("p", { class: "error-text" }, `Unknown step kind ${JSON.stringify(step?.kind)}: fix it in the JSON view or remove it.`)]));
  };
  redraw();
  const label = STEP_KINDS[step?.kind] || String(step?.kind);
  const move = (by, action) => h("button", { type: "button", class: "icon", dataset: { action },
    disabled: i + by < 0 || i + by >= steps.length, "aria-label": `Move step ${i + 1} (${label}) ${action}`,
    onclick: () => {
      [steps[i], steps[i + by]] = [steps[i + by], steps[i]];
      ctx.changed();
      render();
      const moved = ctx.root.querySelector(`[data-field="${path}[${i + by}]"]`);
      const again = moved?.querySelector(`:scope > .head [data-action="${action}"]`);
      (again && !again.disabled ? again : moved?.querySelector(":scope > .head button:not([disabled])"))?.focus();
    } }, action === "up" ? "↑" : "↓");
  const remove = h("button", { type: "button", class: "icon", "aria-label": `Remove step ${i + 1} (${label})`, onclick: () => {
    steps.splice(i, 1);
    ctx.changed();
    render();
    const next = ctx.root.querySelector(`[data-field="${path}[${Math.min(i, steps.length - 1)}]"] > .head button[data-action="remove"]`);
    (next || ctx.root.querySelector(`[data-add="${path}"]`))?.focus();
  }, dataset: { action: "remove" } }, "✕");
  return h("li", { class: "step", dataset: { field: at, kind: step?.kind } },
    h("div", { class: "head" }, h("span", { class: "step-no" }, String(i + 1)), h("h3", {}, label),
      h("span", { class: "tools" }, move(-1, "up"), move(1, "down"), remove)),
    body);
}

// `steps` is edited in place. A nested list (an arm's) offers no branch.
export function stepList(steps, ctx, path, { nested = false } = {}) {
  const list = h("ol", { class: "steps", dataset: { field: path } });
  const kind = h("select", { "aria-label": nested ? "Kind of step for this arm" : "Kind of step" });
  const add = h("button", { type: "button", dataset: { add: path } }, nested ? "Add a step to this arm" : "Add a step");
  const empty = h("p", { class: "muted" }, nested ? "No steps: accounts in this arm get nothing (a control group)." : "No steps yet.");

  function render() {
    list.replaceChildren(...steps.map((_, i) => stepItem(steps, i, ctx, path, render)));
    empty.hidden = steps.length > 0;
    const hasBranch = ctx.hasBranch();
    kind.replaceChildren(...Object.entries(STEP_KINDS)
      .filter(([k]) => k !== "branch" || !nested)
      .map(([k, label]) => h("option", { value: k, disabled: k === "branch" && hasBranch }, k === "branch" && hasBranch ? `${label} — one per workflow` : label)));
    add.disabled = steps.length >= MAX_STEPS;
  }
  add.addEventListener("click", () => {
    const option = kind.selectedOptions[0];
    if (!option || option.disabled) return;
    steps.push(newStep(kind.value, ctx));
    ctx.changed();
    ctx.redrawSteps();
    const added = ctx.root.querySelector(`[data-field="${path}[${steps.length - 1}]"]`);
    added?.querySelector(".step-body input, .step-body select, .step-body textarea")?.focus();
  });
  render();
  return { node: h("div", { class: "step-list" }, list, empty, h("div", { class: "add-step" }, kind, add)), render };
}
