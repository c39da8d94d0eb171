// Workflows: what each does, whether it is on, how often it ran today and what last went
// wrong. Supervisors and admins only.
import { api } from "../api.js";
import { formatDateTime, h } from "../dom.js";
import { sectionNav } from "./workflow/section-nav.js";
import { triggerText } from "./workflow/words.js";

function row(w) {
  return h("tr", { dataset: { id: w.id } },
    h("td", {}, h("a", { href: `/workflows/${w.id}` }, w.name)),
    h("td", { "data-label": "Enabled" }, w.enabled ? h("span", { class: "badge", "data-tone": "ok" }, "on")
      : h("span", { class: "badge" }, "off")),
    h("td", { "data-label": "Trigger" }, triggerText(w.trigger)),
    h("td", { class: "num", "data-label": "Runs today" }, h("a", { href: `/workflows/${w.id}/runs`, "aria-label": `${w.runs_today} runs today of ${w.name}` },
      String(w.runs_today))),
    h("td", { class: "last-error", "data-label": "Last error" }, w.last_error ? h("span", { class: "error-text" }, w.last_error) : h("span", { class: "muted" }, "—")),
    h("td", { class: "muted", "data-label": "Version" }, `v${w.version} · ${formatDateTime(w.updated_at)}`));
}

export async function workflowsScreen() {
  const workflows = await api("/workflows");
  return h("section", { "aria-labelledby": "workflows-title" },
    sectionNav("workflows"),
    h("div", { class: "title-bar" },
      h("h1", { id: "workflows-title" }, "Workflows"),
      h("a", { class: "button primary", href: "/workflows/new" }, "New workflow")),
    h("div", { class: "card" },
      workflows.length ? h("div", { class: "table-scroll" }, h("table", { class: "data stack", id: "workflow-list" },
        h("thead", {}, h("tr", {}, ["Name", "Enabled", "Trigger", "Runs today", "Last error", "Version"]
          .map((t) => h("th", { scope: "col", class: t === "Runs today" ? "num" : undefined }, t)))),
        h("tbody", {}, workflows.map(row))))
        : h("p", { class: "muted" }, "No workflows yet. Create one to text a reminder when a promise is broken, "
          + "send a receipt when a payment arrives, and more.")));
}
