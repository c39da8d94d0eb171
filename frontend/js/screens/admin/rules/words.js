// What the rule and queue screens say about fields, operators, strategies and ages: the
// server lists fields and operators (GET /rules/fields); the kind of value each one takes
// is the client's to know, so that it offers the control that fits.

export const ACCOUNT_STATUSES = ["active", "promised", "promise_broken", "disputed", "paid", "closed",
  "bankrupt", "deceased", "settled"];

export const TASK_TYPES = [["call", "Call"], ["email", "E-mail"], ["review", "Review"],
  ["follow_up", "Follow-up"], ["custom", "Custom"]];

export const STRATEGIES = [
  ["queue", "Wait in the queue for an agent to pull"],
  ["agent", "One named agent"],
  ["owner", "The account's owner"],
  ["fewest_open", "A group's agent with the fewest open tasks"],
  ["round_robin", "A group's agents in turn"],
  ["longest_idle", "A group's agent idle the longest"],
];
export const GROUP_STRATEGIES = ["fewest_open", "round_robin", "longest_idle"];
export const strategyName = (kind) => STRATEGIES.find(([k]) => k === kind)?.[1] ?? kind;

const FIELD_NAMES = {
  balance: "Balance", principal: "Principal", interest: "Interest", fees: "Fees",
  days_past_due: "Days past due", due_date: "Due date", status: "Account status",
  bucket: "Delinquency bucket", currency: "Currency", creditor: "Creditor",
  owner_id: "Owner", last_contact: "Last contact", promise_broken: "Promise broken",
  "debtor.country": "Debtor's country", "debtor.region": "Debtor's region",
  "debtor.time_zone": "Debtor's time zone", "debtor.do_not_contact": "Debtor: do not contact",
  "debtor.opt_out_call": "Debtor opted out of calls", "debtor.opt_out_sms": "Debtor opted out of SMS",
  "debtor.opt_out_email": "Debtor opted out of e-mail", "debtor.has_phone": "Debtor has a phone",
  "debtor.has_email": "Debtor has an e-mail address",
  "custom.<key>": "Account custom field…", "debtor.custom.<key>": "Debtor custom field…",
};
export const fieldName = (name) => FIELD_NAMES[name] ?? name;

const OP_NAMES = {
  gt: ">", gte: "≥", lt: "<", lte: "≤", eq: "=", ne: "≠", in: "is one of", not_in: "is none of",
  at_least: "at least", at_most: "at most", between: "between", within_days: "within the next days",
  before: "before", after: "after", is_null: "is nobody", not_null: "is someone",
  older_than_days: "more than … days ago", exists: "is set", not_exists: "is not set",
};
const OP_NAMES_BY_FIELD = {
  last_contact: { within_days: "within the last … days" },
  promise_broken: { within_days: "within the last … days" },
  due_date: { within_days: "within the next … days" },
};
export const opName = (field, op) => OP_NAMES_BY_FIELD[field]?.[op] ?? OP_NAMES[op] ?? op;

// The kind of value a field's operator takes: money, days, a range of days, a date, a set
// of known words (status, bucket), free words, ids of agents, yes/no, nothing, or (custom
// fields) a word or a number.
const MONEY = ["balance", "principal", "interest", "fees"];
export function valueKind(field, op) {
  if (["is_null", "not_null", "exists", "not_exists"].includes(op)) return "none";
  if (MONEY.includes(field)) return "money";
  if (field === "days_past_due") return op === "between" ? "day-range" : "days";
  if (field === "due_date") return op === "within_days" ? "days" : "date";
  if (["last_contact", "promise_broken"].includes(field)) return "days";
  if (field === "status") return "status";
  if (field === "bucket") return "bucket";
  if (field === "owner_id") return "agents";
  if (field.startsWith("debtor.") && (field.includes("opt_out") || field.includes("has_")
    || field === "debtor.do_not_contact")) return "yes-no";
  if (field.includes("custom.")) return op === "in" ? "words" : "scalar";
  return "words";
}

// "3 h 20 min", "2 days": how long the oldest task has waited.
export function age(since, now = Date.now()) {
  if (!since) return "—";
  const minutes = Math.max(0, Math.floor((now - Date.parse(since)) / 60000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} days`;
}

// "every 60 minutes" as people say it.
export function cadence(minutes) {
  if (minutes % 1440 === 0) return minutes === 1440 ? "daily" : `every ${minutes / 1440} days`;
  if (minutes % 60 === 0) return minutes === 60 ? "hourly" : `every ${minutes / 60} h`;
  return `every ${minutes} min`;
}
