// Accounts: a filterable list, and one account with its interactions.
import { api } from "../api.js";
import { formatDate, formatDateTime, h, problemBox } from "../dom.js";

const STATUS_TONE = {
  active: "info", promised: "ok", promise_broken: "bad", disputed: "warn", paid: "ok", closed: undefined,
};
const STATUS_LABEL = {
  active: "Active", promised: "Promised", promise_broken: "Promise broken", disputed: "Disputed",
  paid: "Paid", closed: "Closed",
};

export const statusBadge = (status) =>
  h("span", { class: "badge", "data-tone": STATUS_TONE[status] }, STATUS_LABEL[status] || status);

const money = (amount, currency) => h("rc-money", { amount, currency });

export async function accountsScreen() {
  const tenant = await api("/tenant");
  const query = new URLSearchParams(location.search);
  const filters = { q: query.get("q") || "", status: query.get("status") || "", bucket: query.get("bucket") || "" };

  const search = h("input", { id: "f-q", type: "search", value: filters.q, placeholder: "Name or reference" });
  const status = h("select", { id: "f-status" }, h("option", { value: "" }, "Any status"),
    Object.entries(STATUS_LABEL).map(([value, label]) =>
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
    problem.replaceChildren();
    more.setAttribute("aria-busy", "true");
    try {
      const page = await api("/accounts", {
        query: { q: search.value, status: status.value, bucket: bucket.value, cursor, limit: 50 },
      });
      for (const a of page.items) {
        body.append(h("tr", {},
          h("td", {}, h("a", { href: `/accounts/${a.id}` }, a.external_ref)),
          h("td", {}, a.debtor_name),
          h("td", {}, a.creditor),
          h("td", { class: "num" }, money(a.balance, a.currency)),
          h("td", { class: "num" }, String(a.days_past_due)),
          h("td", {}, a.bucket),
          h("td", {}, statusBadge(a.status))));
      }
      shown += page.items.length;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      count.textContent = `${shown} account${shown === 1 ? "" : "s"} shown${cursor ? ", more available" : ""}`;
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    } finally {
      more.removeAttribute("aria-busy");
    }
  }

  const form = h("form", { class: "toolbar", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ q: search.value, status: status.value, bucket: bucket.value })) if (v) params.set(k, v);
    history.replaceState({}, "", `/accounts${params.size ? `?${params}` : ""}`);
    load(true);
  } },
    h("div", { class: "field" }, h("label", { for: "f-q" }, "Search"), search),
    h("div", { class: "field" }, h("label", { for: "f-status" }, "Status"), status),
    h("div", { class: "field" }, h("label", { for: "f-bucket" }, "Bucket"), bucket),
    h("button", { type: "submit", class: "primary" }, "Filter"));
  more.addEventListener("click", () => load(false));
  await load(true);
  return h("section", { "aria-labelledby": "accounts-title" },
    h("h1", { id: "accounts-title" }, "Accounts"),
    form, problem,
    h("div", { class: "card" },
      h("table", { class: "data" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Reference"), h("th", { scope: "col" }, "Debtor"),
          h("th", { scope: "col" }, "Creditor"), h("th", { scope: "col", class: "num" }, "Balance"),
          h("th", { scope: "col", class: "num" }, "Days past due"), h("th", { scope: "col" }, "Bucket"),
          h("th", { scope: "col" }, "Status"))),
        body),
      count, more));
}

export async function accountScreen(id) {
  const [account, interactions] = await Promise.all([
    api(`/accounts/${id}`),
    api(`/accounts/${id}/interactions`, { query: { limit: 20 } }),
  ]);
  const debtor = await api(`/debtors/${account.debtor_id}`).catch(() => null);
  const facts = [
    ["Reference", account.external_ref],
    ["Creditor", account.creditor || "—"],
    ["Due date", formatDate(account.due_date)],
    ["Days past due", `${account.days_past_due} (${account.bucket})`],
    ["Status", statusBadge(account.status)],
  ];
  const breakdown = [
    ["Principal", money(account.principal, account.currency)],
    ["Interest", money(account.interest, account.currency)],
    ["Fees", money(account.fees, account.currency)],
  ];
  const list = interactions.items.length
    ? h("ol", { class: "timeline" }, interactions.items.map((i) => h("li", {},
      h("strong", {}, `${i.channel} · ${i.direction}`), i.disposition ? ` — ${i.disposition.replaceAll("_", " ")}` : "",
      h("br"), h("time", { datetime: i.occurred_at }, formatDateTime(i.occurred_at)),
      i.notes ? h("p", {}, i.notes) : null)))
    : h("p", { class: "muted" }, "No interactions yet.");
  return h("section", { "aria-labelledby": "account-title" },
    h("p", {}, h("a", { href: "/accounts" }, "← Accounts")),
    h("h1", { id: "account-title" }, `${account.debtor_name} · ${account.external_ref}`),
    h("div", { class: "grid-2" },
      h("div", { class: "card" },
        h("h2", {}, "Balance"),
        h("div", { class: "big-money", id: "balance" }, money(account.balance, account.currency)),
        h("dl", { class: "facts" }, breakdown.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { class: "num" }, v)])),
        h("h2", { style: undefined }, "Account"),
        h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))),
      h("div", { class: "card" },
        h("h2", {}, "Debtor"),
        debtor ? h("dl", { class: "facts" },
          [["Name", `${debtor.first_name} ${debtor.last_name}`], ["Phone", debtor.phone || "—"],
            ["E-mail", debtor.email || "—"], ["Time zone", debtor.time_zone],
            ["Contact", debtor.do_not_contact ? "Do not contact" : [
              debtor.opt_out_call && "no calls", debtor.opt_out_sms && "no SMS", debtor.opt_out_email && "no e-mail",
            ].filter(Boolean).join(", ") || "Allowed"]]
            .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))
          : problemBox(new Error("Debtor details are not available.")),
        h("h2", {}, "Interactions"), list)));
}
