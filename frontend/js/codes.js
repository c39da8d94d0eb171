// The server's codes as the staff screens name and group them: one list each, so the
// account page, the queue and the filters never disagree.
import { h } from "./dom.js";

// Codes read as words: "promise_broken" is "promise broken".
export const words = (code) => code.replaceAll("_", " ");

export const ACCOUNT_STATUS = {
  active: "Active", promised: "Promised", promise_broken: "Promise broken", disputed: "Disputed",
  paid: "Paid", closed: "Closed", bankrupt: "Bankrupt", deceased: "Deceased", settled: "Settled",
};
const ACCOUNT_TONE = {
  active: "info", promised: "ok", promise_broken: "bad", disputed: "warn", paid: "ok", closed: undefined,
  bankrupt: "bad", deceased: "bad", settled: "ok",
};

export const statusBadge = (status) =>
  h("span", { class: "badge", "data-tone": ACCOUNT_TONE[status] }, ACCOUNT_STATUS[status] || status);

export const CHANNELS = ["note", "call", "email", "sms", "letter"];
export const PAYMENT_METHODS = ["card", "bank_transfer", "cash", "check", "direct_debit", "other"];

// Two lists that look alike but are not one: how a single contact went (an interaction's
// disposition, a fixed set the server checks) and how a piece of work ended (a task's
// outcome, free text on the server, offered as these choices).
export const DISPOSITIONS = ["right_party_contact", "no_answer", "left_message", "wrong_number", "promise",
  "dispute", "refusal", "callback_requested"];
export const TASK_OUTCOMES = [
  ["promise", "Promise to pay"], ["paid", "Paid"], ["right_party_contact", "Spoke to debtor"],
  ["left_message", "Left a message"], ["no_answer", "No answer"], ["callback", "Call back later"],
  ["dispute", "Dispute raised"], ["refused", "Refused to pay"], ["wrong_number", "Wrong number"],
  ["done", "Done"],
];

// A task someone holds, and a task still to be done (held or waiting in a queue).
export const TASK_HELD = new Set(["assigned", "in_progress"]);
export const TASK_OPEN = new Set(["open", "assigned", "in_progress"]);
export const TASK_TONE = { open: "warn", assigned: "info", in_progress: "info", completed: "ok", cancelled: undefined };
