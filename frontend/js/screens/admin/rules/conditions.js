// The condition builder: rows of field, operator and value over the fields the server lists
// (GET /rules/fields); all must hold. Each row's value control fits its field (values.js)
// and says as one types what is wrong with it. Rows are named conditions[n] as the server
// names them, so a refusal lands beside the control it is about.
import { h } from "../../../dom.js";
import { uid } from "../../../forms.js";
import { valueControl } from "./values.js";
import { fieldName, opName, valueKind } from "./words.js";

const CUSTOM = /^(debtor\.)?custom\./;
const CUSTOM_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_CONDITIONS = 30;

// "custom.region" -> ["custom.<key>", "region"]; "balance" -> ["balance", ""].
function splitField(name, fields) {
  if (fields[name] || !CUSTOM.test(name)) return [name, ""];
  const prefix = name.startsWith("debtor.") ? "debtor.custom." : "custom.";
  return [`${prefix}<key>`, name.slice(prefix.length)];
}

function select(label, options, chosen) {
  return h("select", { id: uid("c"), "aria-label": label },
    options.map(([value, text]) => h("option", { value, selected: value === chosen }, text)));
}

// `fields`: {name: [ops]}; `context`: {buckets, agents}; `initial`: the saved conditions;
// `changed()`: called on every edit.
export function conditionBuilder({ fields, context, initial = [], changed }) {
  const list = h("ol", { class: "rule-conditions-list" });
  const empty = h("p", { class: "muted conditions-empty" }, "No conditions: every account matches.");
  const rows = [];
  const add = h("button", { type: "button", class: "add-condition" }, "Add condition");
  const fieldOptions = Object.keys(fields).map((name) => [name, fieldName(name)]);

  function makeRow(condition) {
    const [fieldKey, customKey] = splitField(condition.field, fields);
    const row = { fieldKey, customKey, op: condition.op, value: condition.value, node: null, control: null };
    rows.push(row);
    return row;
  }

  function renderRow(row, n) {
    const label = `Condition ${n + 1}`;
    const ops = fields[row.fieldKey] ?? [];
    if (!ops.includes(row.op)) row.op = ops[0];
    const fieldSelect = select(`${label}: field`, fieldOptions, row.fieldKey);
    const opSelect = select(`${label}: operator`, ops.map((op) => [op, opName(row.fieldKey, op)]), row.op);
    const kind = valueKind(row.fieldKey, row.op);
    row.control = valueControl(kind, row.value, context, `${label}: value`);
    const check = h("p", { class: "error-text value-check", "aria-live": "polite" });
    row.check = check;
    let keyInput = null;
    if (CUSTOM.test(row.fieldKey)) {
      keyInput = h("input", { type: "text", id: uid("key"), "aria-label": `${label}: custom field name`,
        placeholder: "field name", value: row.customKey, class: "key-input", autocomplete: "off" });
      keyInput.addEventListener("input", () => { row.customKey = keyInput.value.trim(); changed(); });
    }
    fieldSelect.addEventListener("change", () => {
      row.fieldKey = fieldSelect.value;
      row.value = undefined;
      rerender(row, n, fieldSelect);
    });
    opSelect.addEventListener("change", () => {
      const before = valueKind(row.fieldKey, row.op);
      row.op = opSelect.value;
      row.value = before === valueKind(row.fieldKey, row.op) ? read(row).value : undefined;
      rerender(row, n, opSelect);
    });
    const remove = h("button", { type: "button", class: "quiet remove-condition", "aria-label": `Remove condition ${n + 1}` }, "Remove");
    remove.addEventListener("click", () => {
      rows.splice(rows.indexOf(row), 1);
      renderAll();
      (rows[n]?.node.querySelector("select") ?? add).focus();
      changed();
    });
    const valueHolder = h("div", { class: "field condition-value", dataset: { field: `conditions[${n}].value` } },
      row.control.node, check);
    const onValue = () => { row.value = read(row).value ?? row.value; showCheck(row, false); changed(); };
    valueHolder.addEventListener("input", onValue);
    valueHolder.addEventListener("change", onValue);
    row.node = h("li", { class: "rule-condition", dataset: { field: `conditions[${n}]` } },
      h("span", { class: "condition-no", "aria-hidden": "true" }, String(n + 1)),
      h("div", { class: "field condition-field", dataset: { field: `conditions[${n}].field` } }, fieldSelect, keyInput),
      h("div", { class: "field condition-op", dataset: { field: `conditions[${n}].op` } }, opSelect),
      valueHolder, remove);
    return row.node;
  }

  function rerender(row, n, focusLike) {
    const old = row.node;
    const which = focusLike.getAttribute("aria-label");
    old.replaceWith(renderRow(row, n));
    row.node.querySelector(`[aria-label="${CSS.escape(which)}"]`)?.focus();
    changed();
  }

  function renderAll() {
    list.replaceChildren(...rows.map((row, n) => renderRow(row, n)));
    empty.hidden = rows.length > 0;
    add.disabled = rows.length >= MAX_CONDITIONS;
  }

  function read(row) {
    if (CUSTOM.test(row.fieldKey) && !CUSTOM_KEY.test(row.customKey)) {
      return { ok: false, message: "name the custom field (letters, digits, _ and -)" };
    }
    return row.control.read();
  }

  // The message under a row's value: shown once the person has typed there (or asked to
  // see every problem), cleared as soon as the value is right.
  function showCheck(row, force) {
    const result = read(row);
    const touched = force || row.node.contains(document.activeElement) || row.touched;
    row.touched ||= touched;
    const message = result.ok || !touched ? "" : `Needs ${result.message}.`;
    row.check.textContent = message;
    const control = row.control.node;
    if (control?.matches?.("input, select")) {
      if (message) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
    return result;
  }

  add.addEventListener("click", () => {
    const first = Object.keys(fields)[0];
    makeRow({ field: first, op: fields[first][0] });
    renderAll();
    rows.at(-1).node.querySelector("select").focus();
    changed();
  });

  for (const condition of initial) makeRow(condition);
  renderAll();

  return {
    node: h("div", { class: "condition-builder", dataset: { field: "conditions" } }, empty, list, add),
    // The conditions as the API takes them, or null when one of them is not complete yet
    // (`loud`: show every row's problem, as before saving).
    read(loud = false) {
      let valid = true;
      const conditions = rows.map((row) => {
        const result = loud ? showCheck(row, true) : read(row);
        valid &&= result.ok;
        const field = CUSTOM.test(row.fieldKey) ? row.fieldKey.replace("<key>", row.customKey) : row.fieldKey;
        return { field, op: row.op, value: result.ok ? result.value : null };
      });
      return valid ? conditions : null;
    },
  };
}
