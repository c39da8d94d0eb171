// The workflow editor: a form for supervisors (trigger, conditions checked as they are
// typed, steps to add, remove and reorder) and a JSON view kept in step with it. Both edit
// one model, which is exactly the body that is saved; a refusal lands at its field.
import { api, everything } from "../api.js";
import { announce, h, pending } from "../dom.js";
import { clearFieldErrors, confirmButton, field, go, showProblem } from "../forms.js";
import { conditionsPanel } from "./workflow/conditions.js";
import { jsonView } from "./workflow/json-view.js";
import { sectionNav } from "./workflow/section-nav.js";
import { stepList } from "./workflow/steps.js";
import { triggerPicker } from "./workflow/trigger.js";

const EDITABLE = ["name", "enabled", "trigger", "conditions", "steps"];
const pick = (workflow) => Object.fromEntries(EDITABLE.map((key) => [key, structuredClone(workflow[key])]));
const BLANK = { name: "", enabled: false, trigger: { type: "promise.broken" }, conditions: [], steps: [] };

function replace(model, value) {
  for (const key of Object.keys(model)) delete model[key];
  Object.assign(model, value);
}

export async function workflowScreen(id) {
  const [existing, templates, tenant, queues, groups, users] = await Promise.all([
    id ? api(`/workflows/${id}`) : null,
    everything("/templates"), api("/tenant"),
    everything("/queues").catch(() => []), everything("/agent-groups").catch(() => []),
    api("/users", { query: { limit: 200 } }).then((page) => page.items).catch(() => []),
  ]);
  let workflow = existing;
  const model = pick(existing || BLANK);

  const root = h("form", { class: "workflow-editor", novalidate: true, "aria-labelledby": "workflow-title" });
  const title = h("h1", { id: "workflow-title" });
  const version = h("p", { class: "muted", id: "workflow-version" });
  const status = h("span", { class: "save-state", id: "save-state", "aria-live": "polite" });
  const summary = h("div", { id: "save-problem" });
  const ctx = {
    root, templates, queues, groups, users: users.filter((u) => u.role !== "readonly"),
    checks: new Set(),
    trigger: () => model.trigger?.type || "account.updated",
    hasBranch: () => Array.isArray(model.steps) && model.steps.some((s) => s?.kind === "branch"),
    changed() {
      json.show(model);
      status.textContent = "Unsaved changes";
    },
    triggerChanged() {
      for (const check of ctx.checks) {
        if (check.input.isConnected) check.check();
        else ctx.checks.delete(check);
      }
    },
    redrawSteps() {
      stepsHolder.replaceChildren(stepList(model.steps, ctx, "steps").node);
    },
  };

  const name = h("input", { maxlength: 120, required: true, autocomplete: "off", placeholder: "Broken promise follow-up" });
  name.addEventListener("input", () => { model.name = name.value; ctx.changed(); });
  const enabled = h("input", { type: "checkbox", role: "switch" });
  enabled.addEventListener("change", () => { model.enabled = enabled.checked; ctx.changed(); });
  const trigger = triggerPicker(model, ctx, tenant.settings?.buckets || []);
  const conditions = conditionsPanel(model, ctx);
  const stepsHolder = h("div");
  const json = jsonView((value) => {
    replace(model, value);
    showForm();
    status.textContent = "Unsaved changes";
  });

  function showForm() {
    ctx.checks.clear();
    name.value = model.name ?? "";
    enabled.checked = Boolean(model.enabled);
    trigger.show();
    conditions.render();
    ctx.redrawSteps();
  }
  function showHeader() {
    title.textContent = workflow ? workflow.name : "New workflow";
    version.replaceChildren(...(workflow ? [`Version ${workflow.version} · `, h("a", { href: `/workflows/${workflow.id}/runs` }, "Recent runs")]
      : ["Not saved yet."]));
    remove.hidden = !workflow;
  }

  const formView = h("div", { class: "editor-form" },
    h("div", { class: "card" }, h("h2", {}, "Workflow"),
      h("div", { class: "row" }, field("Name", name, { path: "name" }),
        h("div", { class: "field switch", dataset: { field: "enabled" } },
          h("label", {}, enabled, " Enabled"), h("p", { class: "hint" }, "Off: saved, but nothing starts.")))),
    h("div", { class: "card" }, h("h2", {}, "When"), trigger.nodes),
    h("div", { class: "card", dataset: { field: "conditions" } }, h("h2", {}, "Only if"), conditions.nodes),
    h("div", { class: "card", dataset: { field: "steps" } }, h("h2", {}, "Then"), stepsHolder));
  const jsonPanel = h("div", { class: "card editor-json", hidden: true }, json.nodes);
  const views = h("div", { class: "segmented", role: "group", "aria-label": "Edit as" },
    [["form", "Form"], ["json", "JSON"]].map(([view, label]) => h("button", { type: "button", dataset: { view },
      "aria-pressed": String(view === "form"), onclick: () => {
        formView.hidden = view !== "form";
        jsonPanel.hidden = view !== "json";
        for (const b of views.children) b.setAttribute("aria-pressed", String(b.dataset.view === view));
        if (view === "json") json.show(model);
      } }, label)));

  const save = h("button", { type: "submit", class: "primary", id: "save-workflow" }, "Save");
  root.addEventListener("submit", (event) => {
    event.preventDefault();
    pending(save, summary, async () => {
      clearFieldErrors(root);
      if (!json.valid()) {
        json.focus();
        throw new Error("The JSON view holds text that is not a valid workflow: fix it before saving.");
      }
      try {
        workflow = await api(workflow ? `/workflows/${workflow.id}` : "/workflows",
          { method: workflow ? "PATCH" : "POST", body: model });
      } catch (error) {
        showProblem(root, summary, error);
        status.textContent = "Not saved";
        return;
      }
      if (location.pathname !== `/workflows/${workflow.id}`) history.replaceState({}, "", `/workflows/${workflow.id}`);
      replace(model, pick(workflow));
      showForm();
      showHeader();
      json.show(model);
      status.textContent = `Saved · version ${workflow.version}`;
      announce(`Workflow ${workflow.name} saved`);
    });
  });

  const remove = confirmButton("Delete", "Delete this workflow and all its runs?", summary, async () => {
    await api(`/workflows/${workflow.id}`, { method: "DELETE" });
    go("/workflows");
  });

  showForm();
  showHeader();
  json.show(model);
  root.append(
    sectionNav("workflows"),
    h("p", {}, h("a", { href: "/workflows" }, "← Workflows")),
    h("div", { class: "title-bar" }, h("div", {}, title, version), views),
    formView, jsonPanel,
    h("div", { class: "save-bar" }, summary,
      h("div", { class: "save-row" }, save, status, h("span", { class: "spacer" }), remove)));
  return root;
}
