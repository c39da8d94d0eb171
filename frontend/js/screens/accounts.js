// Accounts: a filterable list, and one account with its interactions.
import { api } from "../api.js";
import { formatDate, formatDateTime, h, problemBox } from "../dom.js";
import { realtime } from "../realtime.js";

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

const DISPOSITIONS = ["right_party_contact", "no_answer", "left_message", "wrong_number", "promise",
  "dispute", "refusal", "callback_requested"];

function timelineItem(i) {
  return h("li", { dataset: { id: i.id } },
    h("strong", {}, `${i.channel} · ${i.direction}`),
    i.disposition ? ` — ${i.disposition.replaceAll("_", " ")}` : "",
    h("br"), h("time", { datetime: i.occurred_at }, formatDateTime(i.occurred_at)),
    i.notes ? h("p", {}, i.notes) : null);
}

function announce(text) {
  const announcer = document.querySelector("#announcer");
  if (announcer) announcer.textContent = text;
}

function flash(node) {
  node.classList.remove("changed");
  void node.offsetWidth; // restart the animation
  node.classList.add("changed");
}

const TASK_TONE = { open: "warn", assigned: "info", in_progress: "info", completed: "ok", cancelled: undefined };

function taskItem(t) {
  const when = t.completed_at || t.cancelled_at || t.created_at;
  return h("li", { dataset: { id: t.id } },
    h("strong", {}, `${t.type.replace("_", " ")} task`), " · ",
    h("span", { class: "badge", "data-tone": TASK_TONE[t.status] }, t.status.replace("_", " ")),
    t.outcome ? ` — ${t.outcome.replaceAll("_", " ")}` : "",
    t.assignee_name ? ` · ${t.assignee_name}` : "",
    h("br"), h("time", { datetime: when }, formatDateTime(when)),
    t.assignment_reason ? h("p", { class: "muted" }, t.assignment_reason) : null);
}

// One account, kept current by its channel: every change arrives as an event. Embedded
// (in the queue's working panel) it leaves out the way back to the list.
export async function accountScreen(id, { embedded = false } = {}) {
  const role = document.body.dataset.role;
  const [first, interactions] = await Promise.all([
    api(`/accounts/${id}`),
    api(`/accounts/${id}/interactions`, { query: { limit: 20 } }),
  ]);
  let account = first;
  const debtor = await api(`/debtors/${account.debtor_id}`).catch(() => null);

  const title = h(embedded ? "h2" : "h1", { id: "account-title" });
  const balance = h("div", { class: "big-money", id: "balance" });
  const breakdown = h("dl", { class: "facts", id: "breakdown" });
  const facts = h("dl", { class: "facts", id: "facts" });
  const timeline = h("ol", { class: "timeline", id: "timeline" });
  const empty = h("p", { class: "muted" }, "No interactions yet.");

  function render(changed) {
    title.textContent = `${account.debtor_name} · ${account.external_ref}`;
    balance.replaceChildren(money(account.balance, account.currency));
    breakdown.replaceChildren(...[
      ["Principal", money(account.principal, account.currency)],
      ["Interest", money(account.interest, account.currency)],
      ["Fees", money(account.fees, account.currency)],
    ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", { class: "num" }, v)]));
    facts.replaceChildren(...[
      ["Reference", account.external_ref],
      ["Creditor", account.creditor || "—"],
      ["Due date", formatDate(account.due_date)],
      ["Days past due", `${account.days_past_due} (${account.bucket})`],
      ["Status", statusBadge(account.status)],
    ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    if (changed) {
      for (const node of [balance, breakdown, facts]) flash(node);
    }
  }

  function addToTimeline(item, live) {
    if (timeline.querySelector(`[data-id="${item.id}"]`)) return;
    empty.remove();
    const node = timelineItem(item);
    timeline.prepend(node);
    if (live) flash(node);
  }
  for (const item of [...interactions.items].reverse()) addToTimeline(item, false);
  render(false);

  const problem = h("div");
  const note = h("input", { id: "note-text", name: "notes", required: true, maxlength: 10000 });
  const channel = h("select", { id: "note-channel" },
    ["note", "call", "email", "sms", "letter"].map((c) => h("option", { value: c }, c)));
  const disposition = h("select", { id: "note-disposition" }, h("option", { value: "" }, "—"),
    DISPOSITIONS.map((d) => h("option", { value: d }, d.replaceAll("_", " "))));
  const logButton = h("button", { type: "submit", class: "primary" }, "Log");
  const logForm = h("form", { class: "inline-form", "aria-label": "Log an interaction", onsubmit: async (event) => {
    event.preventDefault();
    problem.replaceChildren();
    logButton.setAttribute("aria-busy", "true");
    try {
      // The timeline shows it when its event arrives, like everyone else's changes.
      await api(`/accounts/${id}/interactions`, { method: "POST", body: {
        channel: channel.value, notes: note.value, disposition: disposition.value || null,
      } });
      note.value = "";
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    } finally {
      logButton.removeAttribute("aria-busy");
    }
  } },
    h("div", { class: "field" }, h("label", { for: "note-channel" }, "Channel"), channel),
    h("div", { class: "field" }, h("label", { for: "note-disposition" }, "Outcome"), disposition),
    h("div", { class: "field" }, h("label", { for: "note-text" }, "Notes"), note),
    logButton);

  let statusForm = null;
  if (role === "admin" || role === "supervisor") {
    const status = h("select", { id: "account-status" },
      Object.entries(STATUS_LABEL).map(([value, label]) => h("option", { value, selected: value === account.status }, label)));
    const save = h("button", { type: "submit" }, "Set status");
    statusForm = h("form", { class: "inline-form", "aria-label": "Change the status", onsubmit: async (event) => {
      event.preventDefault();
      problem.replaceChildren();
      save.setAttribute("aria-busy", "true");
      try {
        await api(`/accounts/${id}`, { method: "PATCH", body: { status: status.value } });
      } catch (error) {
        problem.replaceChildren(problemBox(error));
      } finally {
        save.removeAttribute("aria-busy");
      }
    } }, h("div", { class: "field" }, h("label", { for: "account-status" }, "Status"), status), save);
  }

  // Contact status: what may be done now, in the debtor's own time.
  const contact = h("div", { id: "contact-status", class: "contact" });
  async function loadContact() {
    try {
      const status = await api(`/accounts/${id}/contact-status`);
      const local = new Date(status.debtor_local_time);
      const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: status.time_zone }).format(local);
      contact.replaceChildren(
        h("p", { class: "muted" }, `Debtor local ${time} (${status.time_zone})`),
        h("ul", { class: "chips" }, status.channels.map((c) => h("li", {},
          h("span", { class: "badge", "data-tone": c.allowed ? "ok" : "bad" }, c.channel),
          c.allowed ? "" : ` ${c.reasons[0]?.message ?? ""}${c.opens_at ? ` — opens ${formatDateTime(c.opens_at)}` : ""}`))));
    } catch (error) {
      contact.replaceChildren(problemBox(error));
    }
  }
  loadContact();

  const payments = h("ol", { class: "timeline", id: "payments" });
  const promisesList = h("ol", { class: "timeline", id: "promises" });
  async function loadMoney() {
    const [paid, promised] = await Promise.all([
      api(`/accounts/${id}/payments`, { query: { limit: 10 } }).catch(() => ({ items: [] })),
      api(`/accounts/${id}/promises`).catch(() => []),
    ]);
    payments.replaceChildren(...(paid.items.length ? paid.items.map((p) => h("li", {},
      money(p.amount, p.currency), ` · ${p.method} · `, h("span", { class: "badge", "data-tone": p.status === "succeeded" ? "ok" : p.status === "pending" ? "warn" : "bad" }, p.status),
      h("br"), h("time", { datetime: p.received_at || p.created_at }, formatDateTime(p.received_at || p.created_at))))
      : [h("li", { class: "muted" }, "No payments yet.")]));
    promisesList.replaceChildren(...(promised.length ? promised.map((p) => h("li", {},
      money(p.amount, p.currency), ` by ${formatDate(p.due_date)}`, p.instalments > 1 ? ` (${p.instalment}/${p.instalments})` : "", " · ",
      h("span", { class: "badge", "data-tone": p.status === "kept" ? "ok" : p.status === "broken" ? "bad" : "info" }, p.status)))
      : [h("li", { class: "muted" }, "No promises.")]));
  }
  loadMoney();

  const actionProblem = h("div");
  const payAmount = h("input", { id: "pay-amount", inputmode: "decimal", required: true });
  const payMethod = h("select", { id: "pay-method" }, ["card", "bank_transfer", "cash", "check", "direct_debit", "other"].map((m) => h("option", { value: m }, m.replace("_", " "))));
  const payButton = h("button", { type: "submit", class: "primary" }, "Take payment");
  let paymentKey = crypto.randomUUID(); // the same key for retries of one payment
  const payForm = h("form", { class: "inline-form", "aria-label": "Take a payment", onsubmit: async (event) => {
    event.preventDefault();
    actionProblem.replaceChildren();
    payButton.setAttribute("aria-busy", "true");
    try {
      const made = await api(`/accounts/${id}/payments`, { method: "POST", headers: { "Idempotency-Key": paymentKey },
        body: { amount: payAmount.value.trim(), currency: account.currency, method: payMethod.value } });
      paymentKey = crypto.randomUUID();
      payAmount.value = "";
      announce(`Payment of ${made.amount} ${made.currency} recorded`);
    } catch (error) {
      actionProblem.replaceChildren(problemBox(error));
    } finally {
      payButton.removeAttribute("aria-busy");
    }
  } },
    h("div", { class: "field" }, h("label", { for: "pay-amount" }, `Amount (${account.currency})`), payAmount),
    h("div", { class: "field" }, h("label", { for: "pay-method" }, "Method"), payMethod), payButton);

  const promiseAmount = h("input", { id: "promise-amount", inputmode: "decimal", required: true });
  const promiseDate = h("input", { id: "promise-date", type: "date", required: true });
  const promiseButton = h("button", { type: "submit" }, "Record promise");
  const promiseForm = h("form", { class: "inline-form", "aria-label": "Record a promise", onsubmit: async (event) => {
    event.preventDefault();
    actionProblem.replaceChildren();
    promiseButton.setAttribute("aria-busy", "true");
    try {
      await api(`/accounts/${id}/promises`, { method: "POST", body: { amount: promiseAmount.value.trim(), due_date: promiseDate.value } });
      promiseAmount.value = "";
    } catch (error) {
      actionProblem.replaceChildren(problemBox(error));
    } finally {
      promiseButton.removeAttribute("aria-busy");
    }
  } },
    h("div", { class: "field" }, h("label", { for: "promise-amount" }, "Promised amount"), promiseAmount),
    h("div", { class: "field" }, h("label", { for: "promise-date" }, "By"), promiseDate), promiseButton);

  const linkOut = h("p", { class: "muted", id: "payment-link" });
  const linkButton = h("button", { type: "button", onclick: async () => {
    actionProblem.replaceChildren();
    linkButton.setAttribute("aria-busy", "true");
    try {
      const link = await api(`/accounts/${id}/payment-links`, { method: "POST", body: {} });
      linkOut.replaceChildren("Payment link (valid until ", formatDateTime(link.expires_at), "): ",
        h("a", { href: link.url, target: "_blank", rel: "noopener" }, link.url));
      navigator.clipboard?.writeText(link.url).catch(() => {});
    } catch (error) {
      actionProblem.replaceChildren(problemBox(error));
    } finally {
      linkButton.removeAttribute("aria-busy");
    }
  } }, "Send payment link");
  const canWork = role !== "readonly";

  // The account's work: tasks, kept current from their events on this channel.
  const tasks = new Map();
  const taskList = h("ol", { class: "timeline", id: "account-tasks" });
  function renderTasks() {
    const items = [...tasks.values()].sort((a, b) => b.id - a.id).slice(0, 20);
    taskList.replaceChildren(...(items.length ? items.map(taskItem) : [h("li", { class: "muted" }, "No tasks.")]));
  }
  async function loadTasks() {
    const page = await api("/tasks", { query: { account_id: id, limit: 20 } }).catch(() => ({ items: [] }));
    for (const t of page.items) tasks.set(t.id, t);
    renderTasks();
  }
  loadTasks();

  const stop = realtime.subscribe(`account:${id}`, async (event) => {
    if (event.type?.startsWith("task.") && event.data?.task) {
      tasks.set(event.data.task.id, event.data.task);
      renderTasks();
      return;
    }
    if (event.type === "account.updated" || event.type === "account.created") {
      account = event.data;
      render(true);
      announce(`Account updated: balance ${balance.textContent}`);
    } else if (event.type === "interaction.logged") {
      addToTimeline(event.data, true);
      loadContact();
      announce(`New ${event.data.channel} logged`);
    } else if (event.type === "payment.received" || event.type === "payment.refunded"
      || event.type === "payment.reversed" || event.type === "promise.made"
      || event.type === "promise.kept" || event.type === "promise.broken") {
      account = event.data.account;
      render(true);
      loadMoney();
      announce(`${event.type.replace(".", " ")}: balance ${balance.textContent}`);
    } else if (event.type === "interaction.logged" || event.type === "debtor.updated" || event.type === "debtor.opted_out") {
      loadContact();
    } else if (event.type === "payment.pending" || event.type === "payment.failed") {
      loadMoney();
    } else if (event.type === "ready" || event.type === "resync") {
      loadMoney();
      loadContact();
      loadTasks();
      account = await api(`/accounts/${id}`);
      render(true);
      const latest = await api(`/accounts/${id}/interactions`, { query: { limit: 20 } });
      for (const item of [...latest.items].reverse()) addToTimeline(item, false);
    }
  });

  const node = h("section", { "aria-labelledby": "account-title" },
    embedded ? null : h("p", {}, h("a", { href: "/accounts" }, "← Accounts")),
    title, problem,
    h("div", { class: "grid-2" },
      h("div", { class: "card" },
        h("h2", {}, "Balance"), balance, breakdown,
        canWork ? h("h2", {}, "Take a payment or a promise") : null, actionProblem,
        canWork ? payForm : null, canWork ? promiseForm : null,
        canWork ? h("div", { class: "inline-form" }, linkButton) : null, linkOut,
        h("h2", {}, "Payments"), payments,
        h("h2", {}, "Promises"), promisesList,
        h("h2", {}, "Account"), facts, statusForm),
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
        h("h2", {}, "Contact"), contact,
        h("h2", {}, "Interactions"), role === "readonly" ? null : logForm,
        interactions.items.length ? null : empty, timeline,
        h("h2", {}, "Tasks"), taskList)));
  return { node, leave: stop };
}
