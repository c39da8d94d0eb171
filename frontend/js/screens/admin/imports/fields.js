// What a file can hold, and the fields each kind of file feeds (domain/imports/mapping.py:
// FIELDS and PAYMENT_FIELDS), the required ones first. Files of accounts also feed the
// tenant's custom fields; files of payments do not.
import { PAYMENT_METHODS, words } from "../../../codes.js";

export const KINDS = [
  ["accounts", "Debtors and accounts", "One account a row, with its debtor; rows are merged by their references."],
  ["payments", "Payments", "One payment a row, on the account of its reference; a payment reference already recorded is not recorded again."],
];
export const kindWord = (kind) => (KINDS.find(([value]) => value === kind) || [kind, kind])[1];

const ACCOUNT_FIELDS = [
  ["account_ref", "Account reference", true], ["debtor_ref", "Debtor reference", true],
  ["principal", "Principal", true], ["currency", "Currency", true],
  ["interest", "Interest"], ["fees", "Fees"], ["due_date", "Due date"], ["creditor", "Creditor"],
  ["first_name", "First name"], ["last_name", "Last name"], ["email", "E-mail"], ["phone", "Phone"],
  ["address_line1", "Address"], ["city", "City"], ["postal_code", "Postal code"],
  ["country", "Country"], ["time_zone", "Time zone"],
];
// The server reads a method in any case, with spaces for underscores.
const METHODS = PAYMENT_METHODS.filter((m) => m !== "other").map(words).join(", ");
const PAYMENT_FIELDS = [
  ["account_ref", "Account reference", true], ["payment_ref", "Payment reference", true],
  ["amount", "Amount", true], ["currency", "Currency", true],
  ["paid_on", "Date paid", false, "The time of the import when not in the file; never in the future."],
  ["method", "Method", false, `One of ${METHODS} or other (other when not in the file).`],
];

// The tenant's custom fields a file can feed (not the computed ones), as the mapping names
// them: custom.<key> of the account, debtor.custom.<key> of its debtor.
const customFields = (defined) => defined.filter((f) => f.type !== "computed").map((f) =>
  [f.entity === "account" ? `custom.${f.key}` : `debtor.custom.${f.key}`,
    `${f.label} (${f.entity === "account" ? "account" : "debtor"} field)`]);

// [name, label, required, hint] of each field a file of `kind` feeds.
export const fieldsOf = (kind, defined = []) =>
  (kind === "payments" ? PAYMENT_FIELDS : [...ACCOUNT_FIELDS, ...customFields(defined)]);
