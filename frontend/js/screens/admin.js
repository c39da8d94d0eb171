// Admin: users and API keys of the tenant.
import { api, everything } from "../api.js";
import { formatDateTime, h } from "../dom.js";

export async function adminScreen() {
  const [users, groups, keys] = await Promise.all([
    api("/users", { query: { limit: 200 } }), everything("/agent-groups"), everything("/api-keys"),
  ]);
  const groupName = new Map(groups.map((g) => [g.id, g.name]));
  return h("section", { "aria-labelledby": "admin-title" },
    h("h1", { id: "admin-title" }, "Admin"),
    h("div", { class: "card" },
      h("h2", {}, "Users"),
      h("table", { class: "data" },
        h("thead", {}, h("tr", {}, ["Name", "E-mail", "Role", "Group", "Status", "Last sign-in"]
          .map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, users.items.map((u) => h("tr", {},
          h("td", {}, u.name), h("td", {}, u.email), h("td", {}, u.role),
          h("td", {}, groupName.get(u.group_id) || "—"),
          h("td", {}, h("span", { class: "badge", "data-tone": u.status === "available" ? "ok" : u.status === "away" ? "warn" : undefined }, u.status)),
          h("td", {}, formatDateTime(u.last_login_at))))))),
    h("div", { class: "card", style: undefined },
      h("h2", {}, "API keys"),
      keys.length ? h("table", { class: "data" },
        h("thead", {}, h("tr", {}, ["Name", "Prefix", "Scopes", "Last used", "State"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, keys.map((k) => h("tr", {},
          h("td", {}, k.name), h("td", {}, h("code", {}, k.prefix)), h("td", {}, k.scopes.join(", ")),
          h("td", {}, formatDateTime(k.last_used_at)),
          h("td", {}, k.revoked_at ? h("span", { class: "badge", "data-tone": "bad" }, "revoked") : h("span", { class: "badge", "data-tone": "ok" }, "active"))))))
        : h("p", { class: "muted" }, "No API keys yet. Create one with POST /api/v1/api-keys.")));
}
