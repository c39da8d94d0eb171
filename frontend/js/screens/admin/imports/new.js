// A new import: what the file holds (debtors and accounts, or payments), the file, its
// mapping (a saved one of that kind, or built here column by column), the first rows as they
// would be stored, saving the mapping under a name, and starting.
import { api } from "../../../api.js";
import { h, pending, problemBox } from "../../../dom.js";
import { clearFieldErrors, debounce, field, go, showProblem, submitForm, uid } from "../../../forms.js";
import { headOf } from "./csv.js";
import { fieldsOf, KINDS } from "./fields.js";
import { preview as serverPreview, upload } from "./transfer.js";

const DATE_FORMATS = [["%Y-%m-%d", "2026-01-31"], ["%d/%m/%Y", "31/01/2026"], ["%m/%d/%Y", "01/31/2026"],
  ["%d.%m.%Y", "31.01.2026"], ["%Y%m%d", "20260131"]];
const ENCODINGS = [["utf-8", "UTF-8"], ["latin-1", "Latin-1"], ["cp1252", "Windows-1252"]];
const DELIMITERS = [[",", "Comma ,"], [";", "Semicolon ;"], ["\t", "Tab"], ["|", "Bar |"]];
// The browser reads only the header (for the columns to choose from); the server previews.
const PREVIEW_ROWS = 1;

const options = (pairs, chosen) => pairs.map(([value, label]) =>
  h("option", { value, selected: value === chosen }, label));
const squash = (text) => text.toLowerCase().replace(/[^a-z0-9]/g, "");
const FILE_HINTS = {
  accounts: "Debtors and accounts, one account a row, with a header row. At most 512 MiB.",
  payments: "Payments, one payment a row, with a header row. At most 512 MiB.",
};

// The choice of what the file holds: a radio button a kind, each with what it does.
function kindChoice(chosen) {
  return h("fieldset", { class: "import-kind", dataset: { field: "kind" } },
    h("legend", {}, "What the file holds"),
    h("div", { class: "kind-options" }, KINDS.map(([value, label, hint]) => {
      const radio = h("input", { type: "radio", name: "kind", value, id: uid("kind"), checked: value === chosen });
      const note = h("p", { class: "hint", id: uid("hint") }, hint);
      radio.setAttribute("aria-describedby", note.id);
      return h("div", { class: "kind-option" }, radio, h("label", { for: radio.id }, label), note);
    })));
}

// `presets`: the tenant's saved mappings of every kind; `defined`: its custom fields.
export function newImport(presets, defined = []) {
  let kind = "accounts";
  let mapped = [];
  let labels = new Map();
  let selects = new Map();
  const kinds = kindChoice(kind);
  const problem = h("div", { class: "form-problem" });
  const file = h("input", { type: "file", name: "file", accept: ".csv,text/csv" });
  const fileField = field("CSV file", file, { path: "file", hint: FILE_HINTS[kind] });
  const preset = h("select", { name: "preset" });
  const grid = h("div", { class: "column-grid" });
  const dateFormat = h("select", { name: "date_format" }, options(DATE_FORMATS, "%Y-%m-%d"));
  const currency = h("input", { type: "text", name: "default_currency", maxlength: 3, size: 4,
    autocomplete: "off", placeholder: "EUR" });
  const encoding = h("select", { name: "encoding" }, options(ENCODINGS, "utf-8"));
  const delimiter = h("select", { name: "delimiter" }, options(DELIMITERS, ","));
  const preview = h("div", { class: "import-preview", "aria-live": "polite" });
  const presetName = h("input", { type: "text", name: "preset_name", maxlength: 100, autocomplete: "off",
    placeholder: "DebtFlow daily" });
  const saveProblem = h("div", { class: "form-problem" });
  const save = h("button", { type: "button" }, "Save mapping");
  const start = h("button", { type: "submit", class: "primary" }, "Start import");
  let header = [];
  let rows = [];
  let chosen = null; // the saved mapping in use, until something is changed

  // The saved mappings of this kind of file.
  function fillPresets() {
    preset.replaceChildren(h("option", { value: "" }, "Build a mapping here"),
      ...presets.filter((p) => p.kind === kind).map((p) => h("option", { value: p.id }, p.name)));
  }

  // A column choice for each field this kind of file feeds.
  function buildColumns() {
    mapped = fieldsOf(kind, defined);
    labels = new Map(mapped.map(([name, label]) => [name, label]));
    selects = new Map(mapped.map(([name]) => [name, h("select", { name: `column-${name}` })]));
    for (const select of selects.values()) select.addEventListener("change", changed);
    grid.replaceChildren(...mapped.map(([name, label, required, hint]) =>
      field(required ? `${label} (required)` : label, selects.get(name), { path: `mapping.columns.${name}`, hint })));
  }

  function fillColumns(wanted = {}) {
    for (const [name, select] of selects) {
      const guess = header.find((c) => squash(c) === squash(name)
        || squash(c) === squash(labels.get(name).replace(/ \(.*\)$/, "")));
      const value = Object.keys(wanted).length ? wanted[name] || "" : select.value || guess || "";
      const names = [...new Set([...header, ...(value ? [value] : [])])];
      select.replaceChildren(h("option", { value: "" }, "— not in the file —"),
        ...names.map((c) => h("option", { value: c, selected: c === value }, c)));
    }
  }

  function mapping() {
    const columns = {};
    for (const [name, select] of selects) if (select.value) columns[name] = select.value;
    return { columns, date_format: dateFormat.value, default_currency: currency.value.trim().toUpperCase() || null,
      encoding: encoding.value, delimiter: delimiter.value };
  }

  // The server reads the start of the file with the import's own reader and checks: the
  // values as they would be stored, and why a row would be refused.
  let asked = 0;
  let previewRefused = false; // its marks beside the fields are to go when it is not
  const showPreview = debounce(async () => {
    if (!file.files.length) {
      preview.replaceChildren(h("p", { class: "muted" }, "Choose a file to see its first rows here."));
      return;
    }
    const ask = ++asked;
    let shown;
    try {
      shown = await serverPreview(file.files[0], mapping(), kind);
    } catch (error) {
      if (ask !== asked) return;
      // A refusal of the mapping shows beside its field too, without taking the focus.
      const box = h("div");
      preview.replaceChildren(h("p", { class: "muted" }, "No preview yet: "), box);
      showProblem(form, box, error, { focus: false });
      previewRefused = true;
      return;
    }
    if (ask !== asked) return;
    if (previewRefused) { clearFieldErrors(form); previewRefused = false; }
    const fields = mapped.filter(([name]) => shown.rows.some((r) => name in r.values));
    const refused = shown.rows.filter((r) => r.errors.length).length;
    const stored = kind === "payments" ? "as the payments would be recorded" : "as they would be stored";
    preview.replaceChildren(
      h("p", { class: "muted small" }, `The first ${shown.rows.length} rows of ${file.files[0].name} ${stored}`
        + (refused ? `; ${refused} of them would be refused, with the reason.` : ".")),
      ...Object.entries(shown.missing).map(([name, column]) => h("p", { class: "problem missing-column" },
        `The file has no column “${column}” (for ${name}): the import would fail.`)),
      h("div", { class: "table-scroll" }, h("table", { class: "data preview-rows" },
        h("caption", { class: "visually-hidden" }, "Preview of the first rows"),
        // The problems next to the row number: a wide file's last column is out of sight.
        h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "num" }, "Row"), h("th", { scope: "col" }, "Problems"),
          fields.map(([, label]) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, shown.rows.map((row) => h("tr", { class: row.errors.length ? "refused" : undefined },
          h("td", { class: "num" }, row.row),
          h("td", { class: "row-problems" }, row.errors.length
            ? [h("span", { class: "badge", "data-tone": "bad" }, "refused"),
              row.errors.map((e) => h("div", {}, e.column ? `${e.column}: ${e.reason}` : e.reason))]
            : h("span", { class: "badge", "data-tone": "ok" }, "ok")),
          fields.map(([name]) => h("td", {}, row.values[name] ?? ""))))))));
  }, 250);

  async function readFile() {
    problem.replaceChildren();
    if (!file.files.length) { header = []; rows = []; fillColumns(); showPreview(); return; }
    try {
      ({ header, rows } = await headOf(file.files[0],
        { encoding: encoding.value, delimiter: delimiter.value, rows: PREVIEW_ROWS }));
    } catch {
      header = []; rows = [];
      problem.replaceChildren(problemBox(new Error(`The file cannot be read as ${encoding.value} text.`)));
    }
    fillColumns(chosen ? chosen.mapping.columns : {});
    showPreview();
  }

  function usePreset() {
    chosen = presets.find((p) => String(p.id) === preset.value) || null;
    if (!chosen) return;
    const m = chosen.mapping;
    dateFormat.value = m.date_format;
    currency.value = m.default_currency || "";
    encoding.value = m.encoding;
    delimiter.value = m.delimiter;
    fillColumns(m.columns);
    readFile();
  }

  function changed() { chosen = null; preset.value = ""; showPreview(); }
  file.addEventListener("change", readFile);
  preset.addEventListener("change", usePreset);
  for (const control of [encoding, delimiter]) control.addEventListener("change", () => { changed(); readFile(); });
  for (const control of [dateFormat, currency]) control.addEventListener("change", changed);
  // Another kind of file: its own fields to map and its own saved mappings; the file stays.
  kinds.addEventListener("change", (event) => {
    if (event.target.name !== "kind") return;
    kind = event.target.value;
    asked += 1; // a preview of the other kind on its way is not shown
    chosen = null;
    clearFieldErrors(form);
    problem.replaceChildren();
    saveProblem.replaceChildren();
    fileField.querySelector(".hint").textContent = FILE_HINTS[kind];
    presetName.placeholder = kind === "payments" ? "DebtFlow payments" : "DebtFlow daily";
    fillPresets();
    buildColumns();
    fillColumns();
    showPreview();
  });
  currency.addEventListener("input", () => { currency.value = currency.value.toUpperCase(); showPreview(); });

  save.addEventListener("click", () => pending(save, saveProblem, async () => {
    clearFieldErrors(form);
    try {
      const made = await api("/import-mappings",
        { method: "POST", body: { name: presetName.value, kind, mapping: mapping() } });
      presets.push(made);
      preset.append(h("option", { value: made.id }, made.name));
      preset.value = String(made.id);
      chosen = made;
      saveProblem.replaceChildren(h("p", { class: "saved-note", role: "status" }, `Saved as “${made.name}”.`));
    } catch (error) {
      showProblem(form, saveProblem, error);
    }
  }));

  const form = h("form", { class: "card import-form", novalidate: true },
    h("h2", {}, "New import"),
    kinds, fileField,
    field("Mapping", preset, { path: "mapping_id", hint: "A saved mapping fills in everything below; changing anything makes it a new one." }),
    h("fieldset", { class: "import-columns" }, h("legend", {}, "Which column feeds each field"), grid),
    h("div", { class: "import-options" },
      field("Date format", dateFormat, { path: "mapping.date_format" }),
      field("Default currency", currency, { path: "mapping.default_currency", hint: "For rows without one." }),
      field("Encoding", encoding, { path: "mapping.encoding" }),
      field("Delimiter", delimiter, { path: "mapping.delimiter" })),
    h("h3", {}, "Preview"), preview,
    h("div", { class: "save-preset" }, field("Save this mapping as", presetName, { path: "name" }), save),
    saveProblem, problem, h("div", { class: "save-row" }, start));
  form.addEventListener("submit", submitForm(form, problem, async () => {
    if (!file.files.length) throw Object.assign(new Error("Choose the CSV file to import."), { problem: { field: "file" } });
    const made = await upload(file.files[0], chosen ? { mappingId: chosen.id, kind } : { mapping: mapping(), kind });
    go(`/admin/imports/${made.id}`);
  }));
  fillPresets();
  buildColumns();
  fillColumns();
  showPreview();
  return form;
}
