// The audit log: who changed what and when, newest first, filtered by actor, entity and
// time, a page at a time ("Show more"); each entry shows the fields it changed, old → new.
import { api, everything } from "../../api.js";
import { formatDateTime, h, pending } from "../../dom.js";
import { clearFieldErrors, showProblem } from "../../forms.js";
import { differenceTable } from "./audit/diff.js";
import { filterForm, filtersFromAddress, filtersToAddress } from "./audit/filters.js";

const PAGE = 25;

function actorName(entry, users, keys) {
  if (entry.actor_type === "user") {
    const user = users.get(entry.actor_id);
    return user ? user.name : `user ${entry.actor_id ?? "(unknown)"}`;
  }
  if (entry.actor_type === "api_key") {
    const key = keys.get(entry.actor_id);
    return key ? `API key “${key.name}”` : `API key ${entry.actor_id}`;
  }
  if (entry.actor_type === "debtor") return "A debtor on the payment page";
  return "Recoup itself";
}

function entryItem(entry, { users, keys, showEntity }) {
  const what = `${entry.entity_type.replaceAll("_", " ")}${entry.entity_id === null ? "" : ` ${entry.entity_id}`}`;
  return h("li", { class: "audit-entry", dataset: { id: entry.id, action: entry.action } },
    h("div", { class: "audit-head" },
      h("time", { datetime: entry.occurred_at, class: "audit-when" }, formatDateTime(entry.occurred_at)),
      h("span", { class: "audit-who" }, actorName(entry, users, keys)),
      h("code", { class: "audit-action" }, entry.action),
      h("span", { class: "audit-on" }, "on ",
        h("button", { type: "button", class: "link", title: `Show only the changes to ${what}`,
          onclick: () => showEntity(entry.entity_type, entry.entity_id) }, what))),
    differenceTable(entry.before, entry.after));
}

export async function auditSection() {
  const [userList, keyList] = await Promise.all([everything("/users"), everything("/api-keys")]);
  const users = new Map(userList.map((u) => [u.id, u]));
  const keys = new Map(keyList.map((k) => [k.id, k]));
  const list = h("ol", { class: "audit-list", "aria-label": "Audit entries, newest first" });
  const count = h("p", { class: "muted small", role: "status" });
  const moreProblem = h("div", {});
  const more = h("button", { type: "button", hidden: true }, "Show more");
  let asked = {};
  let cursor = null;
  let shown = 0;

  const context = { users, keys, showEntity: (type, id) => filters.showEntity(type, id) };
  function add(page, fresh) {
    if (fresh) { list.replaceChildren(); shown = 0; }
    list.append(...page.items.map((entry) => entryItem(entry, context)));
    shown += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    count.textContent = shown ? `${shown} ${shown === 1 ? "entry" : "entries"}${cursor ? ", more below" : ""}.`
      : "No entries match.";
  }

  const filters = filterForm({
    users: userList, keys: keyList, filters: filtersFromAddress(),
    apply: (wanted, { form, problem, button }) => pending(button, problem, async () => {
      clearFieldErrors(form);
      try {
        const page = await api("/audit", { query: { ...wanted, limit: PAGE } });
        asked = wanted;
        filtersToAddress(wanted);
        add(page, true);
      } catch (error) {
        showProblem(form, problem, error);
      }
    }),
  });
  more.addEventListener("click", () => pending(more, moreProblem, async () => {
    add(await api("/audit", { query: { ...asked, limit: PAGE, cursor } }), false);
  }));

  const first = filtersFromAddress();
  try {
    add(await api("/audit", { query: { ...first, limit: PAGE } }), true);
    asked = first;
  } catch (error) {
    showProblem(filters.form, filters.problem, error);
  }
  return h("div", { class: "admin-audit" },
    h("div", { class: "card" }, h("h2", {}, "Audit log"),
      h("p", { class: "muted" }, "Every change, who made it and when, newest first."), filters.form),
    h("div", { class: "card" }, count, list, moreProblem, h("p", { class: "save-row" }, more)));
}
