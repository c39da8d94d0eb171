// Delinquency buckets: the ranges of days past due that accounts are grouped in (the aging
// report, rule conditions, workflow triggers). Rows are added and removed; as the ranges are
// edited, the open accounts each would hold today are counted by the server
// (POST /tenant/buckets/preview), a moment after the last keystroke.
import { api } from "../../../api.js";
import { h } from "../../../dom.js";
import { debounce, field, uid } from "../../../forms.js";
import { settingsForm } from "./section.js";

const count = new Intl.NumberFormat();

// What the server will say, known here already: the rows in the order shown must start at 0,
// follow each other without gap or overlap, and end open.
export function bucketErrors(rows) {
  const errors = [];
  const at = (i, key, message) => errors.push({ field: `buckets[${i}].${key}`, message });
  if (!rows.length) return [{ field: "buckets", message: "At least one bucket is needed." }];
  const names = new Map();
  rows.forEach((r, i) => {
    if (!r.name) at(i, "name", "A name is needed.");
    else if (names.has(r.name)) at(i, "name", `Another bucket is called ${r.name}.`);
    names.set(r.name, i);
    if (r.min === null || !Number.isInteger(r.min) || r.min < 0) {
      at(i, "min_days", "A whole number of days, 0 or more.");
    } else if (i === 0 && r.min !== 0) {
      at(i, "min_days", "The first bucket starts at 0 days.");
    } else if (i > 0 && rows[i - 1].max !== null && Number.isInteger(rows[i - 1].max) && r.min !== rows[i - 1].max + 1) {
      at(i, "min_days", r.min <= rows[i - 1].max
        ? `Overlaps ${rows[i - 1].name || "the bucket above"}: start at ${rows[i - 1].max + 1}.`
        : `Leaves a gap after ${rows[i - 1].name || "the bucket above"}: start at ${rows[i - 1].max + 1}.`);
    }
    const last = i === rows.length - 1;
    if (r.max === null) {
      if (!last) at(i, "max_days", "Only the last bucket is open-ended.");
    } else if (!Number.isInteger(r.max) || r.max < 0) {
      at(i, "max_days", "A whole number of days, or empty for no end.");
    } else if (r.min !== null && r.max < r.min) {
      at(i, "max_days", "Ends before it starts.");
    } else if (last) {
      at(i, "max_days", "The last bucket has no end: leave this empty.");
    }
  });
  return errors;
}

export function bucketsSection() {
  const body = h("tbody");
  const total = h("span", { id: "bucket-total" }, "—");
  const asOf = h("span", { class: "muted small", id: "bucket-as-of" });
  let rows = []; // [{tr, name, min, maxInput, count}]
  let asked = 0;

  const numberOf = (input) => (input.value.trim() === "" ? null : Number(input.value));
  const values = () => rows.map((r) => ({ name: r.name.value.trim(), min: numberOf(r.min), max: numberOf(r.max) }));

  function row(bucket) {
    const name = h("input", { maxlength: 40, required: true, class: "bucket-name" });
    const min = h("input", { type: "number", min: 0, max: 100000, step: 1, required: true, inputmode: "numeric" });
    const max = h("input", { type: "number", min: 0, max: 100000, step: 1, inputmode: "numeric", placeholder: "no end" });
    const shown = h("output", { class: "bucket-count num" }, "—");
    name.value = bucket.name;
    min.value = bucket.min_days ?? "";
    max.value = bucket.max_days ?? "";
    const item = { name, min, max, count: shown };
    const remove = h("button", { type: "button", class: "quiet remove-bucket", onclick: () => {
      rows = rows.filter((r) => r !== item);
      item.tr.remove();
      renumber();
      section.markDirty();
      (rows[0]?.name || addButton).focus();
    } }, "Remove");
    item.remove = remove;
    item.tr = h("tr", { class: "bucket-row" },
      h("td", {}, field("Name", name, { className: "compact" })),
      h("td", {}, field("From day", min, { className: "compact" })),
      h("td", {}, field("To day", max, { className: "compact" })),
      h("td", { class: "num", "data-label": "Accounts now" }, shown),
      h("td", {}, remove));
    return item;
  }

  // Field paths follow the rows as shown, so that a refusal lands on the row it names.
  function renumber() {
    rows.forEach((r, i) => {
      for (const [key, input] of [["name", r.name], ["min_days", r.min], ["max_days", r.max]]) {
        input.closest(".field").dataset.field = `buckets[${i}].${key}`;
      }
      r.tr.dataset.index = i;
      for (const [input, words] of [[r.name, "name"], [r.min, "from day"], [r.max, "to day"]]) {
        input.closest(".field").querySelector("label").textContent = `Bucket ${i + 1} ${words}`;
      }
      const label = r.name.value.trim() || `bucket ${i + 1}`;
      r.remove.setAttribute("aria-label", `Remove ${label}`);
      r.count.setAttribute("aria-label", `Accounts in ${label} now`);
    });
  }

  function render(buckets) {
    rows = buckets.map(row);
    body.replaceChildren(...rows.map((r) => r.tr));
    renumber();
  }

  async function preview() {
    const wanted = values();
    const mine = ++asked;
    if (bucketErrors(wanted).length) {
      for (const r of rows) r.count.textContent = "—";
      total.textContent = "—";
      asOf.textContent = "Counts show once the ranges fit together.";
      return;
    }
    try {
      const counted = await api("/tenant/buckets/preview", { method: "POST", body: { buckets:
        wanted.map((b) => ({ name: b.name, min_days: b.min, max_days: b.max })) } });
      if (mine !== asked) return; // a later edit has asked again
      counted.buckets.forEach((b, i) => { if (rows[i]) rows[i].count.textContent = count.format(b.accounts); });
      total.textContent = count.format(counted.total);
      asOf.textContent = `Open accounts as of ${counted.as_of} (${counted.time_zone}).`;
    } catch (error) {
      if (mine !== asked) return;
      for (const r of rows) r.count.textContent = "—";
      asOf.textContent = `Counts not available: ${error.message}`;
    }
  }
  const previewSoon = debounce(preview, 300);

  const addButton = h("button", { type: "button", id: "add-bucket", onclick: () => {
    const last = rows.at(-1);
    const lastValues = last ? values().at(-1) : null;
    let start = 0;
    if (lastValues) {
      // The open last bucket gets an end, and the new one takes over from the day after.
      const from = Number.isInteger(lastValues.min) ? lastValues.min : 0;
      const end = lastValues.max ?? from + 29;
      last.max.value = end;
      start = end + 1;
    }
    const made = row({ name: "", min_days: start, max_days: null });
    rows.push(made);
    body.append(made.tr);
    renumber();
    section.markDirty();
    made.name.focus();
  } }, "Add a bucket");

  const table = h("div", { class: "table-scroll" }, h("table", { class: "data buckets-table", id: "buckets-table" },
    h("caption", { class: "visually-hidden" }, "Delinquency buckets and the open accounts in each now"),
    h("thead", {}, h("tr", {}, ["Name", "From day", "To day", "Accounts now", ""].map((t) =>
      h("th", { scope: "col", class: t === "Accounts now" ? "num" : undefined }, t)))),
    body,
    h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: 3 }, "All open accounts"),
      h("td", { class: "num" }, total), h("td")))));

  const holder = h("div", { class: "buckets", dataset: { field: "buckets" }, id: uid("buckets") },
    table, h("p", { class: "bucket-tools" }, addButton, " ", asOf));

  const section = settingsForm({
    id: "buckets",
    title: "Delinquency buckets",
    intro: "How late accounts are grouped, by days past due: the aging report, rule conditions and "
      + "workflow triggers use these. The first starts at 0, each starts the day after the one above "
      + "ends, and the last has no end. The counts are today's open accounts, as you edit.",
    controls: [holder],
    part: (t) => t.settings.buckets,
    fill: (t) => render(t.settings.buckets),
    body: () => ({ buckets: values().map((b) => ({ name: b.name, min_days: b.min, max_days: b.max })) }),
    check: () => bucketErrors(values()),
    changed: () => { renumber(); previewSoon(); },
  });
  return section;
}
