// The difference an audit entry records: the fields whose value changed between `before`
// and `after` (nested objects by their dotted path), each as old → new. Secrets are never
// shown, only that they changed.
import { formatDateTime, h } from "../../../dom.js";

const SECRET = /(secret|password|token|hash)/i;
const isSecret = (path) => path.split(".").some((part) => SECRET.test(part) || part === "key");

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const isPlain = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

function flatten(value, prefix = "", into = new Map()) {
  if (!isPlain(value)) {
    if (prefix) into.set(prefix, value);
    return into;
  }
  const entries = Object.entries(value);
  if (!entries.length && prefix) into.set(prefix, value);
  for (const [name, inner] of entries) flatten(inner, prefix ? `${prefix}.${name}` : name, into);
  return into;
}

// [{ field, before, after, secret }] for the fields that differ, in the record's own order.
export function changes(before, after) {
  const old = flatten(before ?? {});
  const now = flatten(after ?? {});
  const fields = [...new Set([...old.keys(), ...now.keys()])];
  return fields
    .filter((name) => JSON.stringify(old.get(name) ?? null) !== JSON.stringify(now.get(name) ?? null))
    .map((name) => ({ field: name, before: old.get(name), after: now.get(name), secret: isSecret(name) }));
}

function shown(value) {
  if (value === undefined || value === null || value === "") return h("span", { class: "muted" }, "—");
  if (Array.isArray(value)) {
    return value.length ? value.map((item) => (isPlain(item) ? JSON.stringify(item) : String(item))).join(", ")
      : h("span", { class: "muted" }, "none");
  }
  if (isPlain(value)) return JSON.stringify(value);
  if (typeof value === "string" && INSTANT.test(value)) return h("time", { datetime: value }, formatDateTime(value));
  return String(value);
}

const words = (name) => name.replaceAll("_", " ");

export function differenceTable(before, after) {
  const rows = changes(before, after);
  if (!rows.length) return h("p", { class: "muted small" }, "No field changed.");
  return h("table", { class: "audit-diff" },
    h("caption", { class: "visually-hidden" }, "Changed fields"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Before"),
      h("th", { scope: "col", class: "visually-hidden" }, "becomes"), h("th", { scope: "col" }, "After"))),
    h("tbody", {}, rows.map((row) => h("tr", { dataset: { field: row.field } },
      h("th", { scope: "row" }, words(row.field)),
      row.secret
        ? h("td", { colspan: 3, class: "muted" }, "changed (secret, not shown)")
        : [h("td", { class: "old" }, shown(row.before)),
          h("td", { class: "arrow", "aria-hidden": "true" }, "→"),
          h("td", { class: "new" }, shown(row.after))]))));
}
