// The tenant's custom fields of an account or a debtor as facts (<dt>/<dd> pairs), labelled
// and ordered as their definitions say; a field without a value shows "—". Values under keys
// no definition names are left out.
import { everything } from "../../api.js";
import { formatDate, h } from "../../dom.js";

// Both entities' definitions, read once per screen (a screen without them shows none).
export async function customDefinitions() {
  const all = await everything("/custom-fields").catch(() => []);
  return {
    account: all.filter((f) => f.entity === "account"),
    debtor: all.filter((f) => f.entity === "debtor"),
  };
}

function shown(field, value) {
  if (value === null || value === undefined || value === "" ||
      (Array.isArray(value) && value.length === 0)) return "—";
  switch (field.type) {
    case "boolean": return value ? "Yes" : "No";
    case "date": return formatDate(value);
    case "multi_select": return value.join(", ");
    case "json": return h("code", {}, JSON.stringify(value));
    case "url":
      return /^https?:\/\//i.test(value)
        ? h("a", { href: value, rel: "noopener noreferrer", target: "_blank" }, value)
        : String(value);
    default:
      return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
}

export function customFacts(fields, custom) {
  const values = custom ?? {};
  return fields.flatMap((field) => [
    h("dt", {}, field.label),
    h("dd", { "data-custom": field.key }, shown(field, values[field.key])),
  ]);
}
