// The audit log's filters: who (anyone, a kind of actor, one user or key), what (an entity
// type, with an id for one entity) and when (from, before), kept in the address so that a
// filtered view can be shared and survives a reload.
import { h } from "../../../dom.js";
import { field } from "../../../forms.js";

// The kinds of entity the log records today, offered as suggestions; any type can be typed.
const ENTITY_TYPES = ["account", "agent_group", "api_key", "debtor", "debtor_contact", "interaction",
  "message", "payment", "payment_link", "promise", "rule", "task", "tenant", "user", "webhook_endpoint",
  "workflow_run"];
const KEYS = ["actor_type", "actor_id", "entity_type", "entity_id", "occurred_from", "occurred_before"];

export function filtersFromAddress(search = location.search) {
  const params = new URLSearchParams(search);
  return Object.fromEntries(KEYS.filter((key) => params.get(key)).map((key) => [key, params.get(key)]));
}

export function filtersToAddress(filters) {
  const params = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== undefined && v !== ""));
  const query = params.toString();
  history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}`);
}

// An ISO instant shown in a datetime-local box (the viewer's zone), and back.
const pad = (n) => String(n).padStart(2, "0");
function toLocalInput(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}
const fromLocalInput = (value) => (value ? new Date(value).toISOString() : undefined);

function whoChoices(users, keys, chosen) {
  const option = (value, label) => h("option", { value, selected: value === chosen }, label);
  return h("select", { name: "who" },
    option("", "Anyone"),
    h("optgroup", { label: "Users" }, option("user:", "Any user"),
      users.map((u) => option(`user:${u.id}`, `${u.name} (${u.email})`))),
    h("optgroup", { label: "API keys" }, option("api_key:", "Any API key"),
      keys.map((k) => option(`api_key:${k.id}`, `${k.name} (${k.prefix}…)`))),
    h("optgroup", { label: "Others" }, option("system:", "Recoup itself"), option("debtor:", "A debtor (payment page)")));
}

// The form; `apply(filters)` gets the filters to ask the API with.
export function filterForm({ users, keys, filters, apply }) {
  const chosen = filters.actor_type ? `${filters.actor_type}:${filters.actor_id ?? ""}` : "";
  const who = whoChoices(users, keys, chosen);
  const listId = "audit-entity-types";
  const entityType = h("input", { type: "text", name: "entity_type", list: listId, maxlength: 40,
    value: filters.entity_type ?? "", autocomplete: "off", spellcheck: "false", placeholder: "any" });
  const entityId = h("input", { type: "text", inputmode: "numeric", name: "entity_id",
    value: filters.entity_id ?? "", autocomplete: "off", placeholder: "any" });
  const from = h("input", { type: "datetime-local", name: "occurred_from",
    value: filters.occurred_from ? toLocalInput(filters.occurred_from) : "" });
  const before = h("input", { type: "datetime-local", name: "occurred_before",
    value: filters.occurred_before ? toLocalInput(filters.occurred_before) : "" });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit", class: "primary" }, "Show");
  const form = h("form", { class: "audit-filters", novalidate: true, "aria-label": "Filter the audit log" },
    h("datalist", { id: listId }, ENTITY_TYPES.map((type) => h("option", { value: type }))),
    h("div", { class: "row" },
      field("Who", who, { path: "actor_type" }),
      field("Entity type", entityType, { path: "entity_type", hint: "e.g. account, api_key, user" }),
      field("Entity id", entityId, { path: "entity_id" })),
    h("div", { class: "row" },
      field("From", from, { path: "occurred_from", hint: "Your time zone; included." }),
      field("Before", before, { path: "occurred_before", hint: "Not included." })),
    problem,
    h("div", { class: "save-row" }, button,
      h("button", { type: "button", onclick: () => {
        form.reset();
        for (const control of [entityType, entityId, from, before]) control.value = "";
        who.value = "";
        form.requestSubmit(button);
      } }, "Clear")));
  const read = () => {
    const [actorType, actorId] = who.value ? who.value.split(":") : [undefined, undefined];
    return { actor_type: actorType, actor_id: actorId || undefined, entity_type: entityType.value.trim() || undefined,
      entity_id: entityId.value.trim() || undefined, occurred_from: fromLocalInput(from.value),
      occurred_before: fromLocalInput(before.value) };
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(read(), { form, problem, button });
  });
  // Filling the entity from an entry ("only this") and showing it at once.
  const showEntity = (type, id) => {
    entityType.value = type;
    entityId.value = id ?? "";
    form.requestSubmit(button);
  };
  return { form, problem, button, showEntity };
}
