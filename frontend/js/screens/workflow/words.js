// The workflow engine's codes as supervisors read them, in one place for every screen.
import { h } from "../../dom.js";

export const EVENT_TRIGGERS = {
  "payment.received": "A payment is received",
  "payment.failed": "A payment fails",
  "promise.made": "A promise is made",
  "promise.kept": "A promise is kept",
  "promise.broken": "A promise is broken",
  "task.completed": "A task is completed",
  "interaction.logged": "An interaction is logged",
  "account.updated": "An account is updated",
};
// Checked by the scheduler every quarter of an hour; each takes a parameter.
export const TIME_TRIGGERS = {
  "account.days_past_due": "An account reaches N days past due",
  "account.bucket_entered": "An account enters a delinquency bucket",
  "promise.due_in": "A promise is due in N days",
};
export const TRIGGER_DAYS = new Set(["account.days_past_due", "promise.due_in"]);

export function triggerText(trigger) {
  if (!trigger) return "—";
  const label = EVENT_TRIGGERS[trigger.type] || TIME_TRIGGERS[trigger.type] || trigger.type;
  if (trigger.type === "account.days_past_due") return `An account reaches ${trigger.days ?? "N"} days past due`;
  if (trigger.type === "promise.due_in") return `A promise is due in ${trigger.days ?? "N"} days`;
  if (trigger.type === "account.bucket_entered") return `An account enters the ${trigger.bucket ?? "?"} bucket`;
  return label;
}

export const STEP_KINDS = {
  send_sms: "Send a text (SMS)",
  send_email: "Send an e-mail",
  create_task: "Create a task",
  set_status: "Set the account status",
  wait: "Wait",
  stop_if: "Stop if",
  emit: "Emit an event",
  branch: "Split into arms (A/B test)",
};

const RUN_TONE = { completed: "ok", running: "info", waiting: "warn", stopped: undefined, failed: "bad" };
const OUTCOME_TONE = { done: "ok", skipped: undefined, waiting: "warn", failed: "bad" };
const MESSAGE_TONE = { sent: "ok", queued: "warn", skipped: undefined, failed: "bad" };

const badge = (tone, text) => h("span", { class: "badge", "data-tone": tone }, text);
export const runBadge = (status) => badge(RUN_TONE[status], status);
export const outcomeBadge = (outcome) => badge(OUTCOME_TONE[outcome], outcome);
export const messageBadge = (status) => badge(MESSAGE_TONE[status], status);
export const channelName = (channel) => (channel === "sms" ? "Text" : channel === "email" ? "E-mail" : channel);
