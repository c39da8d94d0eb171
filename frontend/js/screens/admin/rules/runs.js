// A rule's last runs: when, started how (on its cadence or by hand) and how many tasks each
// created and handed out.
import { api } from "../../../api.js";
import { formatDateTime, h, problemBox } from "../../../dom.js";

const TRIGGERS = { manual: "by hand", schedule: "on schedule", scheduled: "on schedule" };

export function runsList(ruleId) {
  const body = h("div", { id: "rule-runs" });

  async function reload() {
    try {
      const { items } = await api(`/rules/${ruleId}/runs`, { query: { limit: 10 } });
      body.replaceChildren(items.length ? h("div", { class: "table-scroll" }, h("table", { class: "data compact" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "Started"),
          h("th", { scope: "col", class: "num" }, "Tasks created"))),
        h("tbody", {}, items.map((run) => h("tr", { dataset: { id: run.id } },
          h("td", {}, formatDateTime(run.started_at)),
          h("td", {}, TRIGGERS[run.trigger] ?? run.trigger),
          h("td", { class: "num run-created" }, String(run.created)))))))
        : h("p", { class: "muted" }, "Not run yet."));
    } catch (error) {
      body.replaceChildren(problemBox(error));
    }
  }

  const node = h("section", { class: "card rule-runs", "aria-labelledby": "runs-title" },
    h("h2", { id: "runs-title" }, "Last runs"), body);
  return { node, reload };
}
