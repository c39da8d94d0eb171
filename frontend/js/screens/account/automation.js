// What the workflows did on this account: each run with its steps, and the messages it
// sent (and any other message to the debtor). Reloaded when the account's events say
// something may have happened.
import { api } from "../../api.js";
import { h, problemBox } from "../../dom.js";
import { debounce } from "../../forms.js";
import { messageItem } from "../workflow/message-item.js";
import { runItem } from "../workflow/run-item.js";

export function automationPanel(id, { managers }) {
  const runs = h("ol", { class: "runs", id: "account-runs" });
  const others = h("ol", { class: "timeline", id: "account-messages" });
  const othersTitle = h("h3", { hidden: true }, "Other messages");
  async function load() {
    try {
      const [runPage, messagePage] = await Promise.all([
        api(`/accounts/${id}/workflow-runs`, { query: { limit: 10 } }),
        api(`/accounts/${id}/messages`, { query: { limit: 30 } }),
      ]);
      const shown = new Set(runPage.items.map((r) => r.id));
      const byRun = new Map();
      for (const m of messagePage.items) if (shown.has(m.run_id)) byRun.set(m.run_id, [...(byRun.get(m.run_id) || []), m]);
      runs.replaceChildren(...(runPage.items.length
        ? runPage.items.map((run) => runItem(run, { account: false, workflow: managers,
          messages: (byRun.get(run.id) || []).map((m) => messageItem(m)) }))
        : [h("li", { class: "muted" }, "No workflow has run on this account.")]));
      const rest = messagePage.items.filter((m) => !shown.has(m.run_id));
      others.replaceChildren(...rest.map((m) => messageItem(m, { run: managers })));
      othersTitle.hidden = !rest.length;
    } catch (error) {
      runs.replaceChildren(h("li", {}, problemBox(error)));
    }
  }
  return { nodes: [h("h2", {}, "Workflows and messages"), runs, othersTitle, others], load, later: debounce(load, 400) };
}
