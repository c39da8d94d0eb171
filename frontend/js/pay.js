// The debtor's payment page: the balance, pay in full or in part, or propose a date.
// Confirmation arrives live on the page's own channel, without a reload.
import { realtime } from "./realtime.js";

const root = document.querySelector("#pay");
const token = location.pathname.split("/")[2];
const base = `/pay/${token}`;
const params = new URLSearchParams(location.search);
let account = null;

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
const money = (amount) => new Intl.NumberFormat(undefined, { style: "currency", currency: account.currency }).format(String(amount));

async function call(path, body) {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || "Something went wrong. Please try again.");
  return data;
}

function notice(kind, text) {
  return el("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status" }, text);
}

async function checkout(amount, button, problem) {
  problem.replaceChildren();
  button.setAttribute("aria-busy", "true");
  try {
    const { checkout_url } = await call("/checkout", { amount: String(amount) });
    location.assign(checkout_url);
  } catch (error) {
    problem.replaceChildren(notice("bad", error.message));
    button.removeAttribute("aria-busy");
  }
}

function render(extra) {
  const problem = el("div");
  const payAll = el("button", { class: "primary", type: "button" }, `Pay in full: ${money(account.balance)}`);
  payAll.addEventListener("click", () => checkout(account.balance, payAll, problem));

  const amount = el("input", { id: "amount", inputmode: "decimal", autocomplete: "off", required: true });
  const payPart = el("button", { type: "submit" }, "Pay this amount");
  const part = el("form", { onsubmit: (e) => { e.preventDefault(); checkout(amount.value.trim(), payPart, problem); } },
    el("label", { for: "amount" }, `Amount (${account.currency})`), amount, payPart);

  const date = el("input", { id: "promise-date", type: "date", required: true });
  const propose = el("button", { type: "submit" }, "Propose this date");
  const promise = el("form", { onsubmit: async (e) => {
    e.preventDefault();
    problem.replaceChildren();
    propose.setAttribute("aria-busy", "true");
    try {
      const [made] = await call("/promise", { due_date: date.value });
      problem.replaceChildren(notice("ok", `Thank you. We noted your promise to pay ${money(made.amount)} by ${made.due_date}.`));
    } catch (error) {
      problem.replaceChildren(notice("bad", error.message));
    } finally {
      propose.removeAttribute("aria-busy");
    }
  } }, el("label", { for: "promise-date" }, "I can pay in full on"), date, propose);

  const owed = Number(account.balance) > 0;
  root.replaceChildren(...[
    el("p", { class: "eyebrow" }, account.creditor, " · reference ", account.reference),
    el("h1", {}, account.first_name ? `Hello ${account.first_name}` : "Your account"),
    el("p", { class: "muted" }, owed ? "Amount due" : "Nothing left to pay"),
    el("p", { class: "amount", id: "balance" }, money(account.balance)),
    el("dl", {},
      el("dt", {}, "Principal"), el("dd", {}, money(account.principal)),
      el("dt", {}, "Interest"), el("dd", {}, money(account.interest)),
      el("dt", {}, "Fees"), el("dd", {}, money(account.fees))),
    extra ?? null,
    problem,
    owed ? payAll : null,
    owed ? el("details", {}, el("summary", {}, "Pay another amount"), part) : null,
    owed ? el("details", {}, el("summary", {}, "Propose a date"), promise) : null,
    el("p", { class: "fine" }, "This page shows this one account only. Payments are processed by our payment provider."),
  ].filter(Boolean));
}

async function start() {
  try {
    account = await call("/summary");
  } catch (error) {
    root.replaceChildren(notice("bad", error.message));
    return;
  }
  const returning = params.get("checkout");
  render(returning ? notice("", "Processing your payment…") : null);
  realtime.ticket = async () => (await call("/ticket", {})).ticket;
  realtime.subscribe("pay", (event) => {
    if (event.type === "payment.received") {
      account = { ...account, ...event.data.account };
      render(notice("ok", `Payment confirmed: ${money(event.data.payment.amount)}. Reference ${event.data.payment.id}. Thank you.`));
      document.title = "Payment confirmed";
    } else if (event.type === "payment.failed" && event.data.payment.provider_ref === returning) {
      render(notice("bad", `The payment did not go through: ${event.data.payment.failure_reason || "declined"}. You have not been charged.`));
    } else if (event.type === "ready" && returning) {
      // Back from the checkout: the confirmation may have come before this page listened.
      call(`/checkout/${returning}`).then((payment) => {
        if (payment.status === "succeeded") {
          call("/summary").then((fresh) => {
            account = fresh;
            render(notice("ok", `Payment confirmed: ${money(payment.amount)}. Reference ${payment.id}. Thank you.`));
          });
        } else if (payment.status === "failed") {
          render(notice("bad", `The payment did not go through: ${payment.failure_reason || "declined"}. You have not been charged.`));
        }
      });
    } else if (event.type === "resync") {
      call("/summary").then((fresh) => { account = fresh; render(); });
    }
  });
}

start();
