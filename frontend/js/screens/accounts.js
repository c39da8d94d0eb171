// Accounts: a filterable list, fifty at a time. The filters live in the address, so a
// filtered list can be reloaded or shared; "Export CSV" downloads every account they match.
import { money } from "../../components/rc-money.js";
import { api, download } from "../api.js";
import { ACCOUNT_STATUS, statusBadge } from "../codes.js";
import { h, pending, submit } from "../dom.js";

function accountRow(a) {
  return h("tr", {},
    h("td", {}, h("a", { href: `/accounts/${a.id}` }, a.external_ref)),
    h("td", {}, a.debtor_name),
    h("td", {}, a.creditor),
    h("td", { class: "num" }, money(a.balance, a.currency)),
    h("td", { class: "num" }, String(a.days_past_due)),
    h("td", {}, a.bucket),
    h("td", {}, statusBadge(a.status)));
}

export async function accountsScreen() {
  const tenant = await api("/tenant");
  const query = new URLSearchParams(location.search);
  const filters = { q: query.get("q") || "", status: query.get("status") || "", bucket: query.get("bucket") || "" };

  const search = h("input", { id: "f-q", type: "search", value: filters.q, placeholder: "Name or reference" });
  const status = h("select", { id: "f-status" }, h("option", { value: "" }, "Any status"),
    Object.entries(ACCOUNT_STATUS).map(([value, label]) =>
      h("option", { value, selected: value === filters.status }, label)));
  const bucket = h("select", { id: "f-bucket" }, h("option", { value: "" }, "Any bucket"),
    tenant.settings.buckets.map((b) => h("option", { value: b.name, selected: b.name === filters.bucket }, b.name)));
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const problem = h("div");
  const count = h("p", { class: "muted", "aria-live": "polite" });
  let cursor = null;
  let shown = 0;

  async function load(reset) {
    if (reset) { body.replaceChildren(); cursor = null; shown = 0; }
    const page = await api("/accounts", {
      query: { q: search.value, status: status.value, bucket: bucket.value, cursor, limit: 50 },
    });
    body.append(...page.items.map(accountRow));
    shown += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    count.textContent = `${shown} account${shown === 1 ? "" : "s"} shown${cursor ? ", more available" : ""}`;
    count.hidden = !shown;
    if (!shown) body.replaceChildren(h("tr", { class: "empty-row" }, h("td", { colspan: 7, id: "accounts-empty" }, nothing())));
  }

  // What an empty list means, and what to do about it.
  function nothing() {
    if (search.value || status.value || bucket.value) {
      const clear = h("button", { type: "button", onclick: () => {
        search.value = ""; status.value = ""; bucket.value = "";
        form.requestSubmit();
      } }, "Clear the filters");
      return ["No account matches these filters. ", clear];
    }
    const role = document.body.dataset.role;
    if (role === "collector") return "No accounts yet: the accounts you own, and those you hold work on, show here.";
    if (role === "admin") return ["No accounts yet: import a file in ", h("a", { href: "/admin/imports" }, "Admin › Imports"), ", or send them over the API."];
    return "No accounts yet.";
  }

  more.addEventListener("click", submit(problem, () => load(false)));
  const form = h("form", { class: "toolbar", role: "search", onsubmit: submit(problem, () => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ q: search.value, status: status.value, bucket: bucket.value })) if (v) params.set(k, v);
    history.replaceState({}, "", `/accounts${params.size ? `?${params}` : ""}`);
    return load(true);
  }) },
    h("div", { class: "field" }, h("label", { for: "f-q" }, "Search"), search),
    h("div", { class: "field" }, h("label", { for: "f-status" }, "Status"), status),
    h("div", { class: "field" }, h("label", { for: "f-bucket" }, "Bucket"), bucket),
    h("button", { type: "submit", class: "primary" }, "Filter"));
  const exportLink = h("a", { href: "/api/v1/exports/accounts.csv", class: "button", id: "export-csv" }, "Export CSV");
  exportLink.addEventListener("click", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ q: search.value, status: status.value, bucket: bucket.value })) if (v) params.set(k, v);
    const path = `/api/v1/exports/accounts.csv${params.size ? `?${params}` : ""}`;
    pending(exportLink, problem, () => download(path, "accounts.csv"));
  });
  form.append(exportLink);
  await pending(more, problem, () => load(true));
  return h("section", { "aria-labelledby": "accounts-title" },
    h("h1", { id: "accounts-title" }, "Accounts"),
    form, problem,
    h("div", { class: "card" },
      h("div", { class: "table-scroll" }, h("table", { class: "data" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Reference"), h("th", { scope: "col" }, "Debtor"),
          h("th", { scope: "col" }, "Creditor"), h("th", { scope: "col", class: "num" }, "Balance"),
          h("th", { scope: "col", class: "num" }, "Days past due"), h("th", { scope: "col" }, "Bucket"),
          h("th", { scope: "col" }, "Status"))),
        body)),
      count, more));
}
