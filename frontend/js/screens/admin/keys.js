// API keys of the tenant: the list (never the keys themselves), a form that creates one
// with scopes ticked from the server's own list, the key shown once, and revoking.
import { api, everything } from "../../api.js";
import { formatDateTime, h } from "../../dom.js";
import { clearFieldErrors, confirmButton, field, showProblem, uid } from "../../forms.js";
import { shownOnce } from "../../shown-once.js";

const state = (key) => (key.revoked_at
  ? h("span", { class: "badge", "data-tone": "bad" }, "revoked")
  : h("span", { class: "badge", "data-tone": "ok" }, "active"));

function keyRow(key, revoke) {
  const problem = h("div", { class: "row-problem" });
  return h("tr", { dataset: { id: key.id } },
    h("th", { scope: "row" }, key.name),
    h("td", { "data-label": "Prefix" }, h("code", {}, key.prefix)),
    h("td", { "data-label": "Scopes", class: "key-scopes" }, key.scopes.map((s) => h("code", {}, s))),
    h("td", { "data-label": "Created" }, formatDateTime(key.created_at)),
    h("td", { "data-label": "Last used" }, key.last_used_at ? formatDateTime(key.last_used_at) : "never"),
    h("td", { "data-label": "State" }, state(key),
      key.revoked_at ? h("div", { class: "muted small" }, formatDateTime(key.revoked_at)) : null),
    h("td", { class: "key-tools" }, key.revoked_at ? null
      : confirmButton("Revoke", `Revoke “${key.name}”? Systems using it are refused at once.`, problem,
        () => revoke(key)), problem));
}

function scopeChoices(scopes) {
  const hint = h("p", { class: "hint", id: uid("hint") }, "Tick at least one. A write scope includes its read scope.");
  return h("fieldset", { class: "scope-choices", dataset: { field: "scopes" }, "aria-describedby": hint.id },
    h("legend", {}, "Scopes"), hint,
    h("div", { class: "scope-list" }, scopes.map((scope) => {
      const box = h("input", { type: "checkbox", name: "scopes", value: scope.name, id: uid("scope") });
      const allows = h("span", { class: "scope-allows", id: uid("allows") }, scope.allows);
      box.setAttribute("aria-describedby", allows.id);
      return h("label", { class: "check-choice scope-choice", for: box.id }, box,
        h("span", {}, h("code", {}, scope.name), allows));
    })));
}

function keyForm(scopes, created) {
  const name = h("input", { type: "text", name: "name", maxlength: 100, autocomplete: "off",
    placeholder: "CRM sync" });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit", class: "primary" }, "Create key");
  const form = h("form", { class: "key-form", novalidate: true },
    field("Name", name, { path: "name", hint: "Say which system uses it, so you know what revoking it stops." }),
    scopeChoices(scopes), problem, h("div", { class: "save-row" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.getAttribute("aria-busy") === "true") return;
    const body = { name: name.value,
      scopes: [...form.querySelectorAll("input[name=scopes]:checked")].map((box) => box.value) };
    clearFieldErrors(form);
    problem.replaceChildren();
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    try {
      const made = await api("/api-keys", { method: "POST", body });
      form.reset();
      await created(made);
    } catch (error) {
      showProblem(form, problem, error);
    } finally {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  });
  return form;
}

export async function keysSection() {
  const [keys, { scopes }] = await Promise.all([everything("/api-keys"), api("/api-keys/scopes")]);
  const list = h("div", { class: "card", id: "api-keys" });
  const once = h("div", { "aria-live": "polite" });

  function render(items) {
    list.replaceChildren(h("h2", {}, "API keys"),
      items.length ? h("div", { class: "table-scroll" }, h("table", { class: "data stack keys" },
        h("thead", {}, h("tr", {}, ["Name", "Prefix", "Scopes", "Created", "Last used", "State", ""]
          .map((t) => h("th", { scope: "col" }, t || h("span", { class: "visually-hidden" }, "Actions"))))),
        h("tbody", {}, items.map((key) => keyRow(key, revoke)))))
        : h("p", { class: "muted" }, "No API keys yet. Create one below for a system that sends "
          + "accounts and payments in or reads them out."));
  }
  const reload = async () => render(await everything("/api-keys"));
  async function revoke(key) {
    await api(`/api-keys/${key.id}`, { method: "DELETE" });
    await reload();
    list.querySelector(`tr[data-id="${key.id}"] th`)?.setAttribute("tabindex", "-1");
    list.querySelector(`tr[data-id="${key.id}"] th`)?.focus();
  }

  const form = keyForm(scopes, async (made) => {
    once.replaceChildren(shownOnce({
      id: "api-key-value", title: `The key “${made.name}”`, label: "API key", value: made.key,
      warning: ["Recoup keeps only a hash of it. Send it as ",
        h("code", {}, "Authorization: Bearer …"), "; its scopes: ", made.scopes.join(", "), "."],
      spoken: "API key shown once: copy it now",
    }));
    once.querySelector("#api-key-value").focus();
    await reload();
  });
  render(keys);
  return h("div", { class: "admin-keys" }, once, list,
    h("div", { class: "card", id: "add-key" }, h("h2", {}, "Create a key"), form));
}
