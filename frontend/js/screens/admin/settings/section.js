// What every section of the tenant settings shares: one form that saves its own part of the
// settings with PATCH /tenant, checks what it can as the admin types, shows the server's
// refusal beside the field it names, and takes another admin's change when it has none of
// its own pending.
import { api } from "../../../api.js";
import { announce, flash, h, submit } from "../../../dom.js";
import { clearFieldErrors, field, showProblem, uid } from "../../../forms.js";

// The server's words for a value outside its field's form ("must be at least 1", "must be
// an https:// address"), as a sentence beside the field; `form`, when the section knows one,
// says the expected form its own way. A form the server has no words for comes as its
// pattern ("Expected `str` matching regex ...").
function plain(message, form) {
  const text = message.replace(/ - at `\$[^`]*`$/, "");
  if (/matching regex/.test(text)) return form ? `This must be ${form}.` : "This is not in a form the field takes.";
  const bound = /^must (be|list|have) (at least|at most|more than|less than) /.test(text);
  if (form && !bound && text.startsWith("must be ")) return `This must be ${form}.`;
  if (/^(must|is) /.test(text)) return `This ${text}.`;
  return text;
}

// A number field with its bounds, explained, and its Regulation F (or shipped) default.
export function numberField(label, path, { min, max, hint, unit, fallback, fallbackWord = "default" }) {
  const input = h("input", { type: "number", inputmode: "numeric", min, max, step: 1, required: true,
    class: "number", dataset: { path } });
  const words = [hint, `${min} to ${max}${unit ? ` ${unit}` : ""}; ${fallbackWord} ${fallback}.`].filter(Boolean).join(" ");
  const node = field(label, input, { path, hint: words });
  return { node, input, path, min, max,
    get value() { return input.value === "" ? null : Number(input.value); },
    set value(v) { input.value = v ?? ""; },
    check() {
      if (input.value === "") return "A number is needed.";
      const n = Number(input.value);
      if (!Number.isInteger(n)) return "This must be a whole number.";
      if (n < min) return `This must be at least ${min}.`;
      if (n > max) return `This must be at most ${max}.`;
      return null;
    } };
}

export function switchField(label, path, hint) {
  const input = h("input", { type: "checkbox", dataset: { path } });
  input.id = uid();
  const hintNode = hint ? h("p", { class: "hint", id: uid("hint") }, hint) : null;
  if (hintNode) input.setAttribute("aria-describedby", hintNode.id);
  const node = h("div", { class: "field switch", dataset: { field: path } },
    h("label", { for: input.id }, input, label), hintNode);
  return { node, input, get value() { return input.checked; }, set value(v) { input.checked = Boolean(v); } };
}

// Shows the client's own findings beside their fields as the admin types (the server's, on
// save, replace them). `errors`: [{field, message}].
export function markErrors(root, errors) {
  clearFieldErrors(root);
  for (const { field: path, message } of errors) {
    const holder = root.querySelector(`[data-field="${CSS.escape(path)}"]`);
    if (!holder) continue;
    const control = holder.querySelector(":scope > input, :scope > select, :scope > label > input")
      || holder.querySelector("input, select");
    const note = h("p", { class: "error-text field-error", id: uid("err") }, message);
    if (control && !holder.matches(".buckets")) {
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby",
        [...(control.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && !id.startsWith("err-")), note.id].join(" "));
    }
    holder.append(note);
  }
}

// A value as text with its keys in one order: the event's copy of the settings comes through
// PostgreSQL's jsonb, which orders keys its own way.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

// One section: `part(tenant)` is what it shows (to compare with another admin's save),
// `fill(tenant)` puts it in the controls, `body()` is what PATCH /tenant is sent, `check()`
// lists what the client already knows to be wrong, `forms` names each field's expected form
// for the server's words. `changed()` runs after each edit (the buckets' counts).
export function settingsForm({ id, title, intro, controls, part, fill, body, check = () => [], forms = {},
  changed, extra = null, saveLabel }) {
  const problem = h("div", { class: "section-problem", id: `${id}-problem` });
  const status = h("p", { class: "muted small saved-note", role: "status", id: `${id}-status` });
  const notice = h("p", { class: "notice", id: `${id}-notice`, hidden: true });
  let shown = null; // the part as last filled from the server
  let dirty = false;
  let saving = false;
  let heldBack = null; // another save heard while ours was on its way

  const form = h("form", { class: "card settings-section", id: `settings-${id}`, novalidate: true,
    "aria-labelledby": `${id}-title` },
  h("h2", { id: `${id}-title` }, title),
  intro ? h("p", { class: "muted section-intro" }, intro) : null,
  notice, controls, extra,
  h("div", { class: "form-actions" },
    h("button", { type: "submit", class: "primary", id: `save-${id}` }, saveLabel || `Save ${title.toLowerCase()}`),
    status),
  problem);

  // The client's findings a moment after the last keystroke; a save answered sooner wins.
  let liveTimer = null;
  const live = () => {
    clearTimeout(liveTimer);
    liveTimer = setTimeout(() => markErrors(form, check()), 250);
  };
  form.addEventListener("input", () => {
    dirty = true;
    status.textContent = "Not saved yet.";
    live();
    changed?.();
  });

  form.addEventListener("submit", submit(problem, async () => {
    status.textContent = "";
    clearTimeout(liveTimer);
    saving = true;
    try {
      const tenant = await api("/tenant", { method: "PATCH", body: body() });
      dirty = false;
      notice.hidden = true;
      clearFieldErrors(form);
      take(tenant);
      status.textContent = "Saved. Everyone's screens use it now.";
      announce(`${title} saved`);
      return tenant;
    } catch (error) {
      const problemDoc = error.problem || {};
      const errors = (problemDoc.errors?.length ? problemDoc.errors
        : problemDoc.field ? [{ field: problemDoc.field, message: error.message }] : [])
        .map((e) => ({ ...e, message: plain(e.message, forms[e.field]) }));
      if (!errors.length) throw error;
      status.textContent = "Not saved.";
      const shownError = { message: `Not saved: ${errors[0].message}`, problem: { ...problemDoc, errors } };
      showProblem(form, problem, shownError);
      return undefined;
    } finally {
      saving = false;
      // Our own save's event may come before its answer; anything else is taken now.
      if (heldBack) {
        const tenant = heldBack;
        heldBack = null;
        update(tenant);
      }
    }
  }));

  function take(tenant) {
    shown = canonical(part(tenant));
    fill(tenant);
    changed?.();
  }

  // The tenant as read or as another admin saved it.
  function update(tenant) {
    if (saving) {
      heldBack = tenant;
      return;
    }
    const next = canonical(part(tenant));
    if (next === shown) return;
    if (dirty) {
      notice.hidden = false;
      notice.textContent = "Another admin has just changed these settings. Saving yours replaces theirs; "
        + "reload the page to see theirs.";
      return;
    }
    take(tenant);
    flash(form);
    status.textContent = "Updated by another admin.";
  }

  return {
    node: form,
    update,
    take,
    markDirty() { dirty = true; status.textContent = "Not saved yet."; live(); changed?.(); },
  };
}
