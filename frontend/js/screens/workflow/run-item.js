// One workflow run as every screen shows it: how it stands, why it started, and each step
// with its outcome and what it did or why not.
import { formatDateTime, h } from "../../dom.js";
import { words } from "../../codes.js";
import { outcomeBadge, runBadge, STEP_KINDS } from "./words.js";

const DETAIL_WORDS = { reason: "", to: "to", until: "until", task_id: "task", message_id: "message", status: "status",
  from: "from", event_id: "event", stopped: "stopped", arm: "arm" };

function detailText(detail) {
  return Object.entries(detail || {})
    .filter(([key, value]) => key in DETAIL_WORDS && value !== null && value !== undefined && key !== "rules")
    .map(([key, value]) => {
      const shown = key === "until" ? formatDateTime(value) : typeof value === "object" ? JSON.stringify(value) : String(value);
      return DETAIL_WORDS[key] ? `${DETAIL_WORDS[key]} ${shown}` : shown;
    }).join(" · ");
}

function stepRow(step) {
  const text = detailText(step.detail);
  return h("li", { dataset: { outcome: step.outcome } },
    h("span", { class: "step-no" }, String(step.position + 1)), " ",
    h("strong", {}, STEP_KINDS[step.kind] || words(step.kind)), " ", outcomeBadge(step.outcome),
    text ? h("span", { class: "muted" }, ` ${text}`) : null,
    step.error ? h("p", { class: "error-text" }, step.error) : null);
}

// `account`: name the account (a workflow's list of runs); `workflow`: link the run's own page
// (supervisors and admins); `named`: lead with the workflow's name, else the run's number;
// `messages`: the nodes of what the run sent.
export function runItem(run, { account = true, workflow = true, named = true, open = false, messages = [] } = {}) {
  const steps = h("ol", { class: "run-steps" }, run.steps.length ? run.steps.map(stepRow)
    : h("li", { class: "muted" }, "No step has run yet."));
  return h("li", { class: "run", dataset: { id: run.id, status: run.status } },
    h("div", { class: "run-head" },
      runBadge(run.status), " ",
      workflow ? h("a", { href: `/workflows/runs/${run.id}` }, named ? run.workflow_name : `Run ${run.id}`)
        : h("strong", {}, named ? run.workflow_name : `Run ${run.id}`),
      h("span", { class: "muted" }, ` v${run.version}`),
      run.arm ? h("span", { class: "badge", "data-tone": "info" }, `arm ${run.arm}`) : null,
      h("span", { class: "muted" }, ` on ${run.trigger_type.replace(/[._]/g, " ")}`),
      account ? [" · ", h("a", { href: `/accounts/${run.account_id}` }, run.account_ref || `account ${run.account_id}`)] : null),
    h("p", { class: "when" }, h("time", { datetime: run.started_at }, formatDateTime(run.started_at)),
      run.finished_at ? [" → ", h("time", { datetime: run.finished_at }, formatDateTime(run.finished_at))] : null,
      run.resume_at && !run.finished_at ? ` · resumes ${formatDateTime(run.resume_at)}` : null),
    run.error ? h("p", { class: "error-text" }, run.error) : null,
    messages.length ? h("ol", { class: "run-messages", "aria-label": "Messages this run sent" }, messages) : null,
    h("details", { open }, h("summary", {}, `${run.steps.length} step${run.steps.length === 1 ? "" : "s"}`), steps));
}
