// A workflow's recent runs, newest first, each with its steps; the arms' report where the
// workflow splits accounts. And one run on its own page.
import { api } from "../api.js";
import { h, pending } from "../dom.js";
import { reportPanel } from "./workflow/report.js";
import { messageItem } from "./workflow/message-item.js";
import { runItem } from "./workflow/run-item.js";
import { sectionNav } from "./workflow/section-nav.js";
import { triggerText } from "./workflow/words.js";

export async function workflowRunsScreen(id) {
  const workflow = await api(`/workflows/${id}`);
  const list = h("ol", { class: "runs", id: "runs" });
  const problem = h("div");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let cursor = null;
  async function load() {
    const page = await api(`/workflows/${id}/runs`, { query: { cursor, limit: 25 } });
    list.append(...page.items.map((run) => runItem(run, { workflow: true, named: false })));
    if (!list.children.length) list.append(h("li", { class: "muted" }, "No runs yet."));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => pending(more, problem, load));
  await load();
  const branched = workflow.steps.some((s) => s.kind === "branch");
  return h("section", { "aria-labelledby": "runs-title" },
    sectionNav("workflows"),
    h("p", {}, h("a", { href: `/workflows/${id}` }, `← ${workflow.name}`)),
    h("h1", { id: "runs-title" }, `Runs of ${workflow.name}`),
    h("p", { class: "muted" }, `${triggerText(workflow.trigger)} · version ${workflow.version} · ${workflow.runs_today} today`),
    workflow.last_error ? h("p", { class: "problem" }, `Last error: ${workflow.last_error}`) : null,
    branched ? h("div", { class: "card" }, reportPanel(id)) : null,
    h("div", { class: "card" }, h("h2", {}, "Recent runs"), list, problem, more));
}

export async function runScreen(runId) {
  const run = await api(`/workflows/runs/${runId}`);
  const messages = await api(`/accounts/${run.account_id}/messages`, { query: { limit: 50 } })
    .then((page) => page.items.filter((m) => m.run_id === run.id)).catch(() => []);
  return h("section", { "aria-labelledby": "run-title" },
    sectionNav("workflows"),
    h("p", {}, h("a", { href: `/workflows/${run.workflow_id}/runs` }, `← Runs of ${run.workflow_name}`)),
    h("h1", { id: "run-title" }, `Run ${run.id}`),
    h("div", { class: "card" }, h("ol", { class: "runs" }, runItem(run, { workflow: false, open: true })),
      messages.length ? [h("h2", {}, "Messages sent"), h("ol", { class: "timeline" }, messages.map((m) => messageItem(m)))] : null));
}
