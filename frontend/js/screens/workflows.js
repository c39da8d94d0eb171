// Workflows: what each does, whether it is on (paused and resumed from here), how often it
// ran today and what last went wrong. Supervisors and admins only. Kept live from the tenant
// channel: a workflow changed anywhere (paused from another screen) is read again.
import { api, everything } from "../api.js";
import { formatDateTime, h, submit } from "../dom.js";
import { realtime } from "../realtime.js";
import { sectionNav } from "./workflow/section-nav.js";
import { triggerText } from "./workflow/words.js";

function row(w, problem, reload) {
  const toggle = h("button", {
    type: "button", class: "quiet", "aria-label": `${w.enabled ? "Pause" : "Resume"} ${w.name}`,
    onclick: submit(problem, async () => {
      await api(`/workflows/${w.id}`, { method: "PATCH", body: { enabled: !w.enabled } });
      await reload();
    }),
  }, w.enabled ? "Pause" : "Resume");
  return h("tr", { dataset: { id: w.id } },
    h("td", {}, h("a", { href: `/workflows/${w.id}` }, w.name)),
    h("td", { "data-label": "Enabled" }, h("span", { class: "confirm" },
      w.enabled ? h("span", { class: "badge", "data-tone": "ok" }, "on") : h("span", { class: "badge" }, "paused"),
      toggle)),
    h("td", { "data-label": "Trigger" }, triggerText(w.trigger)),
    h("td", { class: "num", "data-label": "Runs today" }, h("a", { href: `/workflows/${w.id}/runs`, "aria-label": `${w.runs_today} runs today of ${w.name}` },
      String(w.runs_today))),
    h("td", { class: "last-error", "data-label": "Last error" }, w.last_error ? h("span", { class: "error-text" }, w.last_error) : h("span", { class: "muted" }, "—")),
    h("td", { class: "muted", "data-label": "Version" }, `v${w.version} · ${formatDateTime(w.updated_at)}`));
}

export async function workflowsScreen() {
  const problem = h("div");
  const body = h("tbody");
  const card = h("div", { class: "card" });
  let timer = null;

  function render(workflows) {
    body.replaceChildren(...workflows.map((w) => row(w, problem, reload)));
    card.replaceChildren(problem,
      workflows.length ? h("div", { class: "table-scroll" }, h("table", { class: "data stack", id: "workflow-list" },
        h("thead", {}, h("tr", {}, ["Name", "Enabled", "Trigger", "Runs today", "Last error", "Version"]
          .map((t) => h("th", { scope: "col", class: t === "Runs today" ? "num" : undefined }, t)))),
        body))
        : h("p", { class: "muted" }, "No workflows yet. Create one to text a reminder when a promise is broken, "
          + "send a receipt when a payment arrives, and more."));
  }

  async function reload() {
    render(await everything("/workflows"));
  }

  render(await everything("/workflows"));
  const stop = realtime.subscribe("setup", (event) => {
    if (event.type?.startsWith("workflow.") && !["workflow.triggered", "workflow.step"].includes(event.type)) {
      clearTimeout(timer);
      timer = setTimeout(() => reload().catch(() => {}), 300);
    }
  });
  const node = h("section", { "aria-labelledby": "workflows-title" },
    sectionNav("workflows"),
    h("div", { class: "title-bar" },
      h("h1", { id: "workflows-title" }, "Workflows"),
      h("a", { class: "button primary", href: "/workflows/new" }, "New workflow")),
    card);
  return { node, leave: () => { stop(); clearTimeout(timer); } };
}
