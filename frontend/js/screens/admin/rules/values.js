// The value control of one condition, chosen by the kind of value its field and operator
// take (words.js): each reads itself into what the API expects, or says what is wrong.
import { h } from "../../../dom.js";
import { uid } from "../../../forms.js";
import { ACCOUNT_STATUSES } from "./words.js";

const MAX_DAYS = 100000;
const MONEY = /^\d{1,13}(\.\d{1,4})?$/;

const ok = (value) => ({ ok: true, value });
const bad = (message) => ({ ok: false, message });

function days(text) {
  if (!/^\d+$/.test(text.trim())) return bad("a whole number of days");
  const n = Number(text);
  return n <= MAX_DAYS ? ok(n) : bad(`at most ${MAX_DAYS} days`);
}

function input(attrs, value, label) {
  return h("input", { id: uid("value"), "aria-label": label, autocomplete: "off", ...attrs, value: value ?? "" });
}

function choices(legend, options, chosen) {
  const boxes = options.map(([value, text]) => {
    const box = h("input", { type: "checkbox", value, id: uid("choice"), checked: chosen.includes(value) });
    return h("label", { class: "check-choice", for: box.id }, box, text);
  });
  const node = h("fieldset", { class: "value-choices" }, h("legend", { class: "visually-hidden" }, legend), boxes);
  const read = () => {
    const picked = [...node.querySelectorAll("input:checked")].map((box) => box.value);
    return picked.length ? ok(picked) : bad("choose at least one");
  };
  return { node, read };
}

// `kind`: from valueKind(); `value`: the condition's current value; `context`: the
// tenant's buckets and agents; `label`: what the control is called for a screen reader.
export function valueControl(kind, value, { buckets, agents }, label) {
  if (kind === "none") return { node: null, read: () => ok(null) };
  if (kind === "money") {
    const node = input({ type: "text", inputmode: "decimal", class: "money-input", placeholder: "100.00" }, value, label);
    return { node, read: () => (MONEY.test(node.value.trim()) ? ok(node.value.trim())
      : bad("an amount written plainly, as in 100 or 100.50")) };
  }
  if (kind === "days") {
    const node = input({ type: "number", min: 0, max: MAX_DAYS, step: 1, inputmode: "numeric", class: "days-input" }, value, label);
    return { node, read: () => days(node.value) };
  }
  if (kind === "day-range") {
    const [low, high] = Array.isArray(value) ? value : ["", ""];
    const from = input({ type: "number", min: 0, max: MAX_DAYS, step: 1, class: "days-input" }, low, `${label}: from`);
    const to = input({ type: "number", min: 0, max: MAX_DAYS, step: 1, class: "days-input" }, high, `${label}: to`);
    const read = () => {
      const a = days(from.value);
      const b = days(to.value);
      if (!a.ok) return a;
      if (!b.ok) return b;
      return a.value <= b.value ? ok([a.value, b.value]) : bad("the first number must not be larger");
    };
    return { node: h("span", { class: "day-range" }, from, h("span", {}, "and"), to), read };
  }
  if (kind === "date") {
    const node = input({ type: "date" }, value, label);
    return { node, read: () => (/^\d{4}-\d{2}-\d{2}$/.test(node.value) ? ok(node.value) : bad("a date")) };
  }
  if (kind === "status") {
    return choices(label, ACCOUNT_STATUSES.map((s) => [s, s.replaceAll("_", " ")]), Array.isArray(value) ? value : []);
  }
  if (kind === "bucket") {
    return choices(label, buckets.map((b) => [b.name, b.name]), Array.isArray(value) ? value : []);
  }
  if (kind === "agents") {
    const { node, read } = choices(label, agents.map((a) => [String(a.id), a.name]),
      Array.isArray(value) ? value.map(String) : []);
    return { node, read: () => { const r = read(); return r.ok ? ok(r.value.map(Number)) : r; } };
  }
  if (kind === "yes-no") {
    const node = h("select", { id: uid("value"), "aria-label": label },
      h("option", { value: "true", selected: value !== false }, "yes"),
      h("option", { value: "false", selected: value === false }, "no"));
    return { node, read: () => ok(node.value === "true") };
  }
  if (kind === "scalar") {
    const node = input({ type: "text" }, value, label);
    return { node, read: () => {
      const text = node.value.trim();
      if (!text) return bad("a word or a number");
      return ok(/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text);
    } };
  }
  // Free words, comma separated: currencies, creditors, countries...
  const node = input({ type: "text", placeholder: "one, another" }, Array.isArray(value) ? value.join(", ") : value, label);
  return { node, read: () => {
    const words = node.value.split(",").map((w) => w.trim()).filter(Boolean);
    return words.length ? ok(words) : bad("at least one value, separated by commas");
  } };
}
