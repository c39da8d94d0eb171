// The debtor's payment page: the balance, pay in full or in part, or propose a date.
// Confirmation arrives live on the page's own channel, without a reload. It runs on small,
// slow phones: it takes only dom.js and realtime.js, never the staff screens.
import { formatMoney, h, submit } from "./dom.js";
import { realtime } from "./realtime.js";

const root = document.querySelector("#pay");
const token = location.pathname.split("/")[2];
const base = `/pay/${token}`;
const params = new URLSearchParams(location.search);
let account = null;

const money = (amount) => formatMoney(amount, account.currency);

async function call(path, body, headers = {}) {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? headers : { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || "Something went wrong. Please try again.");
  return data;
}

function notice(kind, ...text) {
  return h("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status" }, ...text);
}

// The confirmation keeps the receipt number in view: the same the receipt e-mail carries.
function confirmed(amount, receipt) {
  return notice("ok", `Payment confirmed: ${money(amount)}. `,
    receipt ? ["Receipt number ", h("strong", { id: "receipt" }, receipt), ". "] : null, "Thank you.");
}

const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const PAID = { succeeded: "", refunded: " (refunded)", reversed: " (reversed)" };

function history() {
  const paid = account.payments || [];
  if (!paid.length) return null;
  return h("section", { "aria-labelledby": "payments-title" },
    h("h2", { id: "payments-title" }, "Your payments"),
    h("ul", { class: "paid", id: "payments" }, paid.map((p) => h("li", {},
      h("span", {}, p.received_at ? day.format(new Date(p.received_at)) : ""),
      h("span", { class: "figure" }, money(p.amount), PAID[p.status] ?? ""),
      h("span", { class: "receipt" }, "Receipt ", p.receipt)))));
}

// One Idempotency-Key per amount until its checkout starts: a retry after a lost answer gets
// the same checkout, not a second pending payment.
const checkoutKeys = new Map();

async function checkout(amount) {
  const key = checkoutKeys.get(String(amount)) ?? crypto.randomUUID();
  checkoutKeys.set(String(amount), key);
  const { checkout_url } = await call("/checkout", { amount: String(amount) }, { "Idempotency-Key": key });
  checkoutKeys.delete(String(amount));
  location.assign(checkout_url);
  // Stay busy until the browser has left for the checkout, so a second tap cannot start a
  // second one; and be usable again if the debtor comes back with the back button.
  await new Promise((resolve) => addEventListener("pagehide", resolve, { once: true }));
}

function render(extra) {
  const problem = h("div");
  const payAll = h("button", { class: "primary", type: "button", onclick: submit(problem, () => checkout(account.balance)) },
    `Pay in full: ${money(account.balance)}`);

  const amount = h("input", { id: "amount", inputmode: "decimal", autocomplete: "off", required: true });
  const part = h("form", { onsubmit: submit(problem, () => checkout(amount.value.trim())) },
    h("label", { for: "amount" }, `Amount (${account.currency})`), amount,
    h("button", { type: "submit" }, "Pay this amount"));

  const date = h("input", { id: "promise-date", type: "date", required: true });
  const promise = h("form", { onsubmit: submit(problem, async () => {
    const [made] = await call("/promise", { due_date: date.value });
    problem.replaceChildren(notice("ok", `Thank you. We noted your promise to pay ${money(made.amount)} by ${made.due_date}.`));
  }) }, h("label", { for: "promise-date" }, "I can pay in full on"), date, h("button", { type: "submit" }, "Propose this date"));

  const owed = Number(account.balance) > 0;
  root.replaceChildren(...[
    h("p", { class: "eyebrow" }, account.creditor, " · reference ", account.reference),
    h("h1", {}, account.first_name ? `Hello ${account.first_name}` : "Your account"),
    h("p", { class: "muted" }, owed ? "Amount due" : "Nothing left to pay"),
    h("p", { class: "amount", id: "balance" }, money(account.balance)),
    h("dl", {},
      h("dt", {}, "Principal"), h("dd", {}, money(account.principal)),
      h("dt", {}, "Interest"), h("dd", {}, money(account.interest)),
      h("dt", {}, "Fees"), h("dd", {}, money(account.fees))),
    extra,
    problem,
    owed ? payAll : null,
    owed ? h("details", {}, h("summary", {}, "Pay another amount"), part) : null,
    owed ? h("details", {}, h("summary", {}, "Propose a date"), promise) : null,
    history(),
    h("p", { class: "fine" }, "This page shows this one account only. Payments are processed by our payment provider."),
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
      const { amount, receipt } = event.data.payment;
      account = { ...account, ...event.data.account };
      render(confirmed(amount, receipt));
      document.title = "Payment confirmed";
      // The list of payments, with this one in it.
      call("/summary").then((fresh) => { account = fresh; render(confirmed(amount, receipt)); }).catch(() => {});
    } else if (event.type === "payment.failed" && event.data.payment.provider_ref === returning) {
      render(notice("bad", `The payment did not go through: ${event.data.payment.failure_reason || "declined"}. You have not been charged.`));
    } else if (event.type === "ready" && returning) {
      // Back from the checkout: the confirmation may have come before this page listened.
      call(`/checkout/${returning}`).then((payment) => {
        if (payment.status === "succeeded") {
          call("/summary").then((fresh) => {
            account = fresh;
            render(confirmed(payment.amount, payment.receipt));
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
