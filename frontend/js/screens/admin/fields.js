// Custom fields: the keys of the `custom` object of accounts and debtors, each with a label
// and a type (a select's options, a computed field's CEL expression). One opens to change
// or remove it; a form below adds one. A change that stored values would not satisfy is
// refused with their count, shown beside the type or the options.
import { api, everything } from "../../api.js";
import { announce, h, problemBox } from "../../dom.js";
import { confirmButton, field, submitForm } from "../../forms.js";

const TYPES = [
  ["string", "Text"], ["number", "Number"], ["boolean", "Yes or no"], ["date", "Date"],
  ["email", "E-mail address"], ["phone", "Phone number"], ["url", "Web address"],
  ["json", "JSON"], ["select", "One of a list"], ["multi_select", "Several of a list"],
  ["computed", "Computed (CEL)"],
];
const TYPE_LABEL = new Map(TYPES);
const ENTITIES = [["account", "Account"], ["debtor", "Debtor"]];
const CHOICES = ["select", "multi_select"];
const EXPRESSION_HINT = {
  account: "Over the account: account.balance_minor, account.principal_minor, account.currency, "
    + "account.status, account.due_date, account.custom.<key>. Example: account.balance_minor >= 100000",
  debtor: "Over the debtor: debtor.first_name, debtor.country, debtor.time_zone, "
    + "debtor.custom.<key>. Example: debtor.country == \"GB\"",
};

function select(name, pairs, value) {
  return h("select", { name }, pairs.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

function summary(item) {
  if (CHOICES.includes(item.type)) return item.options.join(", ");
  if (item.type === "computed") return h("code", {}, item.expression);
  return h("span", { class: "muted" }, "—");
}

// The form of a field: a new one (`item` null) or a change (key and entity stay).
function fieldForm({ item = null, saved }) {
  const entity = select("entity", ENTITIES, item?.entity ?? "account");
  const key = h("input", { type: "text", name: "key", required: true, maxlength: 63, autocomplete: "off",
    pattern: "[A-Za-z_][A-Za-z0-9_]*", spellcheck: "false" });
  const label = h("input", { type: "text", name: "label", required: true, maxlength: 100,
    value: item?.label ?? "", autocomplete: "off" });
  const type = select("type", TYPES, item?.type ?? "string");
  const options = h("textarea", { name: "options", rows: 4, spellcheck: "false" }, (item?.options ?? []).join("\n"));
  const expression = h("textarea", { name: "expression", rows: 3, spellcheck: "false", class: "mono" },
    item?.expression ?? "");
  const position = h("input", { type: "number", name: "position", min: 0, max: 10000, step: 1,
    inputmode: "numeric", value: item?.position ?? 0 });
  const expressionField = field("Expression", expression, { path: "expression",
    hint: EXPRESSION_HINT[item?.entity ?? "account"] });
  const optionsField = field("Options", options, { path: "options", hint: "One per line." });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit", class: "primary" }, item ? "Save changes" : "Add field");

  function shape() {
    optionsField.hidden = !CHOICES.includes(type.value);
    expressionField.hidden = type.value !== "computed";
    expressionField.querySelector(".hint").textContent = EXPRESSION_HINT[item?.entity ?? entity.value];
  }
  type.addEventListener("change", shape);
  entity.addEventListener("change", shape);
  shape();

  const form = h("form", { class: "field-form", novalidate: true,
    "aria-label": item ? `Definition of ${item.label}` : "A new custom field" },
  item ? null : h("div", { class: "row" },
    field("Of", entity, { path: "entity" }),
    field("Key", key, { path: "key", hint: "The name in the custom object; imports and task rules say custom.<key> (debtor.custom.<key> for a debtor). It cannot change." })),
  h("div", { class: "row" },
    field("Label", label, { path: "label" }),
    field("Type", type, { path: "type" }),
    field("Position", position, { path: "position", hint: "Lower comes first." })),
  optionsField, expressionField, problem, h("div", { class: "save-row" }, button));

  form.addEventListener("submit", submitForm(form, problem, async () => {
    const body = {
      label: label.value.trim(),
      type: type.value,
      options: CHOICES.includes(type.value)
        ? options.value.split("\n").map((o) => o.trim()).filter(Boolean) : [],
      expression: type.value === "computed" ? expression.value.trim() : null,
      position: Number(position.value || 0),
    };
    const answer = item
      ? await api(`/custom-fields/${item.id}`, { method: "PATCH", body })
      : await api("/custom-fields", { method: "POST", body: { ...body, entity: entity.value, key: key.value.trim() } });
    if (!item) {
      form.reset();
      shape();
    }
    announce(item ? `${answer.label} saved` : `${answer.label} added`);
    await saved(answer);
  }));
  return form;
}

function fieldEditor(item, { changed, removed, close }) {
  const problem = h("div");
  const remove = confirmButton("Remove field",
    `Remove ${item.label}? Values stored under ${item.key} stay on the records.`, problem, async () => {
      await api(`/custom-fields/${item.id}`, { method: "DELETE" });
      announce(`${item.label} removed`);
      await removed();
    });
  return h("section", { class: "card field-editor", id: "field-editor", "aria-labelledby": "field-editor-title" },
    h("div", { class: "editor-head" },
      h("h2", { id: "field-editor-title", tabindex: -1 }, item.label,
        h("span", { class: "muted small" }, ` ${item.entity} · custom.${item.key}`)),
      h("button", { type: "button", class: "quiet", onclick: close }, "Close")),
    fieldForm({ item, saved: changed }),
    h("h3", {}, "Remove"),
    h("div", { class: "field-remove" }, remove, problem));
}

export async function fieldsSection() {
  // Everyone reads the definitions (the account screen labels values with them); only an
  // admin changes them, and the server refuses anyone else.
  const admin = document.body.dataset.role === "admin";
  let items = await everything("/custom-fields");
  let open = null;
  const list = h("div", { class: "card", id: "fields" });
  const editSlot = h("div");

  function row(item) {
    const manage = h("button", { type: "button", class: "quiet", "aria-expanded": String(open === item.id),
      "aria-controls": "field-editor", onclick: () => show(item.id) },
    "Change", h("span", { class: "visually-hidden" }, ` ${item.label}`));
    return h("tr", { dataset: { id: item.id } },
      h("th", { scope: "row" }, item.label, h("div", { class: "muted small mono" }, `custom.${item.key}`)),
      h("td", { "data-label": "Of" }, item.entity === "account" ? "Account" : "Debtor"),
      h("td", { "data-label": "Type" }, TYPE_LABEL.get(item.type) || item.type),
      h("td", { "data-label": "Options or expression", class: "small field-detail" }, summary(item)),
      admin ? h("td", { class: "row-tools" }, manage) : null);
  }

  function render() {
    list.replaceChildren(h("h2", {}, `Custom fields (${items.length})`),
      items.length ? h("div", { class: "table-scroll" }, h("table", { class: "data stack fields-table" },
        h("thead", {}, h("tr", {}, ["Field", "Of", "Type", "Options or expression", ...(admin ? [""] : [])].map((t) => h("th", {
          scope: "col" }, t || h("span", { class: "visually-hidden" }, "Actions"))))),
        h("tbody", {}, items.map(row))))
        : h("p", { class: "muted" }, "No custom fields yet. Until an account or debtor field is defined, "
          + "their custom values are free-form; once one is, every value is checked against its definition."));
    const item = items.find((i) => i.id === open);
    editSlot.replaceChildren(item ? fieldEditor(item, {
      changed: reload,
      removed: async () => { open = null; await reload(); list.querySelector("h2").focus?.(); },
      close: () => { const was = open; open = null; render(); list.querySelector(`tr[data-id="${was}"] button`)?.focus(); },
    }) : "");
  }

  function show(id) {
    open = open === id ? null : id;
    render();
    if (open) {
      editSlot.scrollIntoView?.({ block: "start" });
      editSlot.querySelector("#field-editor-title")?.focus();
    }
  }

  async function reload() {
    items = await everything("/custom-fields");
    render();
  }

  render();
  if (!admin) {
    return h("div", { class: "admin-fields" },
      problemBox(new Error("Only an admin may add, change or remove custom fields.")), list);
  }
  const form = fieldForm({ saved: async (made) => { await reload(); show(made.id); } });
  return h("div", { class: "admin-fields" },
    list, editSlot,
    h("div", { class: "card", id: "add-field" }, h("h2", {}, "Add a field"), form));
}
