// Where the debtor may be reached: every number, e-mail address and postal address, its
// type, the consent given for it (when and how) and the preferred one of each kind. The
// server checks each change (a number must be a real one, kept in E.164) and its refusal
// shows beside the form; a change made anywhere arrives as the debtor's event and the list
// is read anew.
import { api, everything } from "../../api.js";
import { formatDateTime, h, problemBox, submit } from "../../dom.js";

const KINDS = { phone: "Phone", email: "E-mail", address: "Address" };
const TYPES = {
  phone: ["mobile", "home", "work", "other"],
  email: ["home", "work", "other", "mobile"],
  address: ["home", "work", "mailing"],
};
const CONSENTS = { phone: [["sms", "Texts"], ["call", "Calls"]], email: [["email", "E-mails"]], address: [] };
const ADDRESS = [["address_line1", "Address line 1", 200], ["address_line2", "Address line 2", 200],
  ["city", "City", 100], ["region", "Region", 100], ["postal_code", "Postal code", 20], ["country", "Country (2 letters)", 2]];

function where(c) {
  return c.kind === "address"
    ? ADDRESS.map(([key]) => c[key]).filter(Boolean).join(", ")
    : c.value;
}

function consentBadge(c, [key, label]) {
  const given = c[`${key}_consent`];
  return given
    ? h("span", { class: "badge", "data-tone": "ok", title: `Given ${formatDateTime(given.at)}: ${given.how}` },
      `${label}: consent (${given.how})`)
    : h("span", { class: "badge", "data-tone": "warn" }, `${label}: no consent`);
}

function field(id, label, control) {
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

export function contactDetails(debtorId, { canEdit }) {
  const list = h("ul", { class: "contact-list", id: "contact-details" });
  const problem = h("div", { id: "contact-details-problem" });
  const done = h("p", { class: "muted", role: "status", id: "contact-details-done" });
  let contacts = [];
  let editing = null;

  const kind = h("select", { name: "kind" }, Object.entries(KINDS).map(([k, v]) => h("option", { value: k }, v)));
  const type = h("select", { name: "type" });
  const value = h("input", { name: "value", maxlength: 254, autocomplete: "off" });
  const valueLabel = h("label", { for: "contact-value" }, "Number");
  const address = ADDRESS.map(([key, label, max]) => field(`contact-${key}`, label, h("input", { name: key, maxlength: max })));
  const consents = Object.fromEntries(["sms", "call", "email"].map((key) => [key, h("input", { type: "checkbox", id: `contact-${key}-consent` })]));
  const consentFields = Object.fromEntries(Object.values(CONSENTS).flat().map(([key, label]) =>
    [key, h("div", { class: "field switch" }, h("label", {}, consents[key], ` ${label}: consent given`))]));
  const how = h("input", { name: "consent_how", maxlength: 200, placeholder: "e.g. said yes on a call" });
  const preferred = h("input", { type: "checkbox", id: "contact-preferred" });
  const save = h("button", { type: "submit", class: "primary" }, "Add contact");
  const cancel = h("button", { type: "button", class: "quiet", hidden: true, onclick: () => reset() }, "Cancel");
  const valueField = h("div", { class: "field" }, valueLabel, value);
  value.id = "contact-value";

  function shape() {
    const k = kind.value;
    type.replaceChildren(...TYPES[k].map((t) => h("option", { value: t }, t)));
    valueField.hidden = k === "address";
    valueLabel.textContent = k === "email" ? "E-mail address" : "Number";
    for (const node of address) node.hidden = k !== "address";
    for (const [key, node] of Object.entries(consentFields)) {
      node.hidden = !CONSENTS[k].some(([c]) => c === key);
    }
  }
  kind.addEventListener("change", shape);

  function reset() {
    editing = null;
    drawer.open = false;
    form.reset();
    kind.disabled = false;
    save.textContent = "Add contact";
    cancel.hidden = true;
    shape();
  }

  function edit(c) {
    editing = c;
    kind.value = c.kind;
    kind.disabled = true;
    shape();
    type.value = c.type;
    value.value = c.value ?? "";
    for (const [key] of ADDRESS) form.elements[key].value = c[key] ?? "";
    for (const [key] of CONSENTS[c.kind]) consents[key].checked = Boolean(c[`${key}_consent`]);
    preferred.checked = c.preferred;
    how.value = "";
    save.textContent = "Save contact";
    cancel.hidden = false;
    drawer.open = true;
    (c.kind === "address" ? form.elements.address_line1 : value).focus();
  }

  function body() {
    const k = kind.value;
    const out = { type: type.value };
    if (!editing) out.kind = k;
    if (k === "address") {
      for (const [key] of ADDRESS) {
        const v = form.elements[key].value.trim();
        if (v || editing) out[key] = v || null;
      }
    } else {
      out.value = value.value;
    }
    for (const [key] of CONSENTS[k]) out[`${key}_consent`] = consents[key].checked;
    if (how.value.trim()) out.consent_how = how.value.trim();
    if (preferred.checked || !editing) out.preferred = preferred.checked;
    return out;
  }

  const form = h("form", { class: "inline-form", "aria-label": "Contact details", onsubmit: submit(problem, async () => {
    done.textContent = "";
    const saved = editing
      ? await api(`/debtors/${debtorId}/contacts/${editing.id}`, { method: "PATCH", body: body() })
      : await api(`/debtors/${debtorId}/contacts`, { method: "POST", body: body() });
    done.textContent = `${KINDS[saved.kind]} ${where(saved)} saved.`;
    reset();
    await load();
  }) },
    field("contact-kind", "Kind", kind), field("contact-type", "Type", type), valueField, address,
    Object.values(consentFields),
    field("contact-how", "How consent was given", how),
    h("div", { class: "field switch" }, h("label", {}, preferred, " Preferred")),
    save, cancel);
  // The form stays folded away until a contact is added or edited.
  const drawer = h("details", { class: "contact-form" }, h("summary", {}, "Add a contact"), form);

  function item(c) {
    const act = (label, action) => h("button", { type: "button", class: "quiet", onclick: submit(problem, action) }, label);
    return h("li", { dataset: { contact: c.id, kind: c.kind } },
      h("strong", {}, KINDS[c.kind]), h("span", { class: "contact-value" }, where(c)),
      h("span", { class: "badge" }, c.type),
      c.preferred ? h("span", { class: "badge", "data-tone": "info" }, "preferred") : null,
      CONSENTS[c.kind].map((consent) => consentBadge(c, consent)),
      canEdit ? h("div", { class: "contact-actions" },
        c.preferred ? null : act("Make preferred", async () => {
          await api(`/debtors/${debtorId}/contacts/${c.id}`, { method: "PATCH", body: { preferred: true } });
          await load();
        }),
        h("button", { type: "button", class: "quiet", onclick: () => edit(c) }, "Edit"),
        act("Remove", async () => {
          await api(`/debtors/${debtorId}/contacts/${c.id}`, { method: "DELETE" });
          if (editing?.id === c.id) reset();
          await load();
        })) : null);
  }

  async function load() {
    try {
      contacts = await everything(`/debtors/${debtorId}/contacts`);
      list.replaceChildren(...(contacts.length ? contacts.map(item) : [h("li", { class: "muted" }, "No contact details.")]));
    } catch (error) {
      list.replaceChildren(problemBox(error));
    }
  }

  shape();
  return {
    nodes: [h("h3", {}, "Contact details"), list, canEdit ? [problem, drawer, done] : null],
    load,
  };
}
