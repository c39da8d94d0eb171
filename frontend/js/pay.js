// The debtor's payment page: the balance, pay in full or in part, propose a date, or dispute;
// who collects and how to reach them. Confirmation arrives live on the page's own channel,
// without a reload. It runs on small, slow phones: it takes only dom.js and realtime.js,
// never the staff screens.
import { currencyDecimals, decimalsOf, exampleAmount, formatMoney, h, submit } from "./dom.js";
import { realtime } from "./realtime.js";

const root = document.querySelector("#pay");
const token = location.pathname.split("/")[2];
const base = `/pay/${token}`;
const params = new URLSearchParams(location.search);
let account = null;
// What the last action came to (a receipt, a decline, a promise or dispute noted): one at a
// time, so that a later outcome replaces an earlier one, and kept across re-renders.
let outcome = null;

const money = (amount) => formatMoney(amount, account.currency);

async function call(path, body, headers = {}) {
  let response;
  try {
    response = await fetch(`${base}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? headers : { "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error("We could not reach our server. Check your connection and try again.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    // The API's details are phrases ("the amount is more than ..."): a sentence here.
    const detail = typeof data.detail === "string" && data.detail ? data.detail : "";
    throw new Error(detail ? detail[0].toUpperCase() + detail.slice(1) + (/[.!?]$/.test(detail) ? "" : ".")
      : "Something went wrong. Please try again.");
  }
  return data;
}

function notice(kind, ...text) {
  return h("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status" }, ...text);
}

// Dates and times in words, in the debtor's language (the browser's) and time zone.
function when(iso) {
  return new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "long", day: "numeric", hour: "numeric", minute: "2-digit",
    timeZone: account.time_zone, timeZoneName: "short",
  }).format(new Date(iso));
}
const onDay = (iso) => new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeZone: account.time_zone })
  .format(new Date(iso));
// A calendar day (a promise's due date) is the same day wherever the debtor is.
const day = (date) => new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeZone: "UTC" })
  .format(new Date(`${date}T00:00:00Z`));

const METHODS = {
  card: "Card", bank_transfer: "Bank transfer", cash: "Cash", check: "Check",
  direct_debit: "Direct debit", other: "Other",
};

// The receipt of a payment that went through, with what is left to pay after it.
function receipt(payment) {
  const rows = [
    ["Receipt number", h("strong", { id: "receipt" }, payment.receipt)],
    ["Amount paid", money(payment.amount)],
    payment.received_at ? ["Date", when(payment.received_at)] : null,
    ["Method", METHODS[payment.method] ?? payment.method],
    ["Still to pay", h("span", { id: "remaining" }, money(account.balance))],
  ].filter(Boolean);
  return h("section", { class: "notice ok receipt", role: "status", "aria-labelledby": "receipt-title" },
    h("h2", { id: "receipt-title" }, "Payment confirmed"),
    h("dl", {}, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
    h("p", {}, "Thank you. Keep the receipt number for your records."));
}

// A provider's reason ends with its own full stop ("Your card was declined."): one is enough.
function declined(reason) {
  const why = (reason || "the card was declined").replace(/[\s.]+$/, "");
  return notice("bad", `The payment did not go through: ${why}. You have not been charged.`);
}

const PAID = { succeeded: "", refunded: " (refunded)", reversed: " (reversed)" };

function history() {
  const paid = account.payments || [];
  if (!paid.length) return null;
  return h("section", { "aria-labelledby": "payments-title" },
    h("h2", { id: "payments-title" }, "Your payments"),
    h("ul", { class: "paid", id: "payments" }, paid.map((p) => h("li", {},
      h("span", {}, p.received_at ? onDay(p.received_at) : ""),
      h("span", { class: "figure" }, money(p.amount), PAID[p.status] ?? ""),
      h("span", { class: "receipt-line" }, "Receipt ", p.receipt, " · ", METHODS[p.method] ?? p.method)))));
}

function promised() {
  const open = (account.promises || []).filter((p) => p.status === "pending");
  if (!open.length) return null;
  return h("section", { "aria-labelledby": "promises-title" },
    h("h2", { id: "promises-title" }, "Your promise to pay"),
    h("ul", { class: "paid", id: "promises" }, open.map((p) => h("li", {},
      h("span", {}, "By ", day(p.due_date)), h("span", { class: "figure" }, money(p.amount))))));
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

const REASONS = [
  ["not_mine", "This is not my debt"],
  ["already_paid", "I have already paid it"],
  ["wrong_amount", "The amount is wrong"],
  ["identity_theft", "Someone used my identity"],
  ["other", "Another reason"],
];

function disputeBanner() {
  if (!account.dispute) return null;
  return h("div", { class: "notice", id: "disputed", role: "status", tabindex: "-1" },
    h("strong", {}, "You disputed this debt on ", onDay(account.dispute.opened_at), ". "),
    "We have paused collection while we look into it, and we will write to you with what we ",
    "find. You do not need to do anything else now; you can still pay if you choose to.");
}

function disputeForm(problem) {
  const reason = h("select", { id: "dispute-reason", required: true },
    h("option", { value: "" }, "Choose a reason"),
    REASONS.map(([value, label]) => h("option", { value }, label)));
  const details = h("textarea", { id: "dispute-details", rows: 4, maxlength: 2000 });
  const form = h("form", { onsubmit: submit(problem, async () => {
    const opened = await call("/dispute", { reason: reason.value, details: details.value });
    account = { ...account, status: "disputed", dispute: opened };
    outcome = null;
    render();
    document.querySelector("#disputed").focus();
  }) },
    h("p", {}, "If you think you do not owe this debt, or not this amount, tell us here. We will ",
      "pause collection while we look into it."),
    h("label", { for: "dispute-reason" }, "Reason"), reason,
    h("label", { for: "dispute-details" }, "Anything we should know (optional)"), details,
    h("button", { type: "submit" }, "Send my dispute"));
  return h("details", { id: "dispute" }, h("summary", {}, "Dispute this debt"), form);
}

// How to dispute: the form on this page while there is something to dispute, or the phone.
function disputeWays() {
  if (account.dispute) return null;
  const { phone } = account.agency;
  const form = Number(account.balance) > 0;
  if (!form && !phone) return null;
  return h("p", {}, "To dispute this debt, ", form ? "use “Dispute this debt” above" : null,
    form && phone ? " or " : null, phone ? ["call ", phone] : null,
    ". We pause collection while we look into it.");
}

function agencyFooter() {
  const { agency } = account;
  const phone = agency.phone
    ? h("a", { href: `tel:${agency.phone.replace(/[^+0-9]/g, "")}` }, agency.phone) : null;
  return h("footer", { class: "agency", "aria-labelledby": "agency-title" },
    h("h2", { id: "agency-title" }, "About ", agency.name),
    h("p", { id: "debt-collector-notice", class: "legal" }, agency.notice),
    phone ? h("p", {}, "Questions? Call ", phone, agency.hours ? ` (${agency.hours})` : "", ".") : null,
    disputeWays(),
    h("p", { id: "link-expiry" }, "This link works until ", when(account.link_expires_at), "."),
    agency.privacy_url ? h("p", {}, h("a", { href: agency.privacy_url, rel: "noopener" }, "How we use your information")) : null,
    h("p", { class: "fine" }, "This page shows this one account only. Payments are processed by our payment provider."));
}

// Amounts as the API writes them ("1075.00"), subtracted exactly in their minor units.
function minus(a, b) {
  const places = Math.max(...[a, b].map((x) => (String(x).split(".")[1] || "").length));
  const units = (x) => {
    const [whole, fraction = ""] = String(x).split(".");
    return BigInt(whole + fraction.padEnd(places, "0"));
  };
  const left = units(a) - units(b);
  const digits = (left < 0n ? -left : left).toString().padStart(places + 1, "0");
  const text = places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
  return left < 0n ? `-${text}` : text;
}

function render() {
  const problem = h("div");
  // A checkout started in the last hour and not finished (another tab, say) holds its part.
  const underWay = Number(account.under_way || 0) > 0;
  const rest = underWay ? minus(account.balance, account.under_way) : account.balance;
  const payAll = Number(rest) > 0
    ? h("button", { class: "primary", type: "button", onclick: submit(problem, () => checkout(rest)) },
      underWay ? `Pay the rest: ${money(rest)}` : `Pay in full: ${money(rest)}`)
    : null;
  const held = underWay
    ? notice("", `A payment of ${money(account.under_way)} started in the last hour is still under way`,
      Number(rest) > 0 ? "." : ": nothing more can be paid until it ends.")
    : null;

  const amount = h("input", { id: "amount", inputmode: "decimal", autocomplete: "off", required: true,
    "aria-describedby": "amount-problem" });
  const amountProblem = h("p", { class: "field-problem", id: "amount-problem", role: "alert" });
  const part = h("form", { onsubmit: submit(problem, () => {
    // "1,250.50" as people write it; anything else is said here, beside the field.
    const text = amount.value.trim().replace(/,(?=\d{3}(\D|$))/g, "");
    const places = currencyDecimals(account.currency);
    const wrong = !/^\d+(\.\d+)?$/.test(text) ? `Enter an amount in figures, such as ${exampleAmount(account.currency)}.`
      : decimalsOf(text) > places ? (places ? `Amounts in ${account.currency} have at most ${places} decimals.`
        : `Amounts in ${account.currency} have no decimals: enter a whole number, such as ${exampleAmount(account.currency)}.`)
        : null;
    if (wrong) {
      amountProblem.textContent = wrong;
      amount.setAttribute("aria-invalid", "true");
      amount.focus();
      return undefined;
    }
    amountProblem.textContent = "";
    amount.removeAttribute("aria-invalid");
    return checkout(text);
  }) },
    h("label", { for: "amount" }, `Amount (${account.currency})`), amount, amountProblem,
    h("button", { type: "submit" }, "Pay this amount"));

  const { earliest, latest } = account.promise_dates;
  const date = h("input", { id: "promise-date", type: "date", required: true, min: earliest, max: latest });
  const promise = h("form", { onsubmit: submit(problem, async () => {
    const [made] = await call("/promise", { due_date: date.value });
    account = { ...account, promises: [...(account.promises || []), made] };
    outcome = notice("ok", `Thank you. We noted your promise to pay ${money(made.amount)} by ${day(made.due_date)}.`);
    render();
  }) }, h("label", { for: "promise-date" }, "I can pay in full on"),
  h("p", { class: "hint", id: "promise-hint" }, `Any day from ${day(earliest)} to ${day(latest)}.`),
  date, h("button", { type: "submit" }, "Propose this date"));
  date.setAttribute("aria-describedby", "promise-hint");

  const owed = Number(account.balance) > 0;
  const { agency } = account;
  root.replaceChildren(...[
    h("header", { class: "agency-head" },
      agency.logo_url ? h("img", { src: agency.logo_url, alt: "", class: "logo" }) : null,
      h("p", { class: "eyebrow" }, h("strong", {}, agency.name), ", for ", account.creditor || "your creditor",
        " · reference ", account.reference)),
    h("h1", {}, account.first_name ? `Hello ${account.first_name}` : "Your account"),
    h("p", { class: "muted" }, owed ? "Amount due" : "Nothing left to pay"),
    h("p", { class: "amount", id: "balance" }, money(account.balance)),
    h("dl", {},
      h("dt", {}, "Principal"), h("dd", {}, money(account.principal)),
      h("dt", {}, "Interest"), h("dd", {}, money(account.interest)),
      h("dt", {}, "Fees"), h("dd", {}, money(account.fees))),
    disputeBanner(),
    outcome,
    held,
    problem,
    owed ? payAll : null,
    owed && payAll ? h("details", {}, h("summary", {}, "Pay another amount"), part) : null,
    owed ? h("details", {}, h("summary", {}, "Propose a date"), promise) : null,
    owed && !account.dispute ? disputeForm(problem) : null,
    promised(),
    history(),
    agencyFooter(),
  ].filter(Boolean));
}

async function refresh() {
  account = await call("/summary");
  render();
}

function paid(payment) {
  outcome = receipt(payment);
  render();
  document.title = "Payment confirmed";
}

async function start() {
  try {
    account = await call("/summary");
  } catch (error) {
    root.replaceChildren(notice("bad", error.message));
    return;
  }
  const returning = params.get("checkout");
  if (returning) outcome = notice("", "Processing your payment…");
  render();
  realtime.ticket = async () => (await call("/ticket", {})).ticket;
  realtime.subscribe("pay", (event) => {
    if (event.type === "payment.received") {
      account = { ...account, ...event.data.account };
      paid(event.data.payment);
      // The list of payments, with this one in it.
      refresh().catch(() => {});
    } else if (event.type === "payment.failed") {
      // Ours, or another tab's: either way it no longer holds its part of the balance.
      if (event.data.payment.provider_ref === returning) outcome = declined(event.data.payment.failure_reason);
      refresh().catch(() => render());
    } else if (event.type === "ready" && returning) {
      // Back from the checkout: the confirmation may have come before this page listened.
      call(`/checkout/${returning}`).then(async (payment) => {
        if (payment.status === "succeeded") {
          account = await call("/summary");
          paid(payment);
        } else if (payment.status === "failed") {
          outcome = declined(payment.failure_reason);
          await refresh().catch(() => render());
        }
      }).catch(() => {});
    } else if (event.type === "resync") {
      refresh().catch(() => {});
    }
  });
}

start();
