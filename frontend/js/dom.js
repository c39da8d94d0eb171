// Helpers every page shares, the debtor's payment page too: keep this file free of imports
// so that page stays light on a phone.
//
// Building DOM safely: text is always set as text, never parsed as HTML. Children may come
// in (nested) arrays, as panels hand over their nodes.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function problemBox(error) {
  return h("div", { class: "problem", role: "alert" }, error.message || String(error));
}

// Every action a person starts with a button goes through here, so they all answer alike:
// the button shows it is working at once and cannot be pressed twice (keys that press it
// are ignored meanwhile too), a refusal shows the server's reason in `problem`, which sits
// beside what caused it, and the button comes back whatever happened. Resolves to what
// `action` returned, or undefined when it failed.
export async function pending(button, problem, action) {
  if (button.getAttribute("aria-busy") === "true") return undefined;
  const focused = document.activeElement === button;
  problem.replaceChildren();
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  try {
    return await action();
  } catch (error) {
    problem.replaceChildren(problemBox(error));
    return undefined;
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = false;
    // A disabled button loses focus; give it back unless the person has moved on.
    if (focused && button.isConnected && document.activeElement === document.body) button.focus();
  }
}

// The submit handler of a form (or the click handler of a lone button): runs `action`
// through `pending` for the button that was pressed, Enter in a field included.
export function submit(problem, action) {
  return (event) => {
    event.preventDefault();
    const target = event.currentTarget;
    const button = event.submitter
      ?? (target instanceof HTMLFormElement ? target.querySelector("[type=submit]") : target);
    return pending(button, problem, action);
  };
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const date = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "—");

// A time the contact rules judge, as the debtor's clock shows it, the zone named
// ("Dec 6, 2026, 9:00 AM debtor time (America/New_York)"); `short` keeps the weekday and the
// hour, for a list's row, and the date as well from six days ahead (a weekday a week away
// would read as this week's). Without a zone it is the viewer's time, like every other.
const SIX_DAYS = 6 * 24 * 3600 * 1000;
export function formatDebtorTime(iso, zone, { short = false } = {}) {
  if (!iso) return "—";
  if (!zone) return formatDateTime(iso);
  const far = Date.parse(iso) - Date.now() >= SIX_DAYS;
  const brief = { weekday: "short", hour: "2-digit", minute: "2-digit", ...(far ? { month: "short", day: "numeric" } : {}) };
  const style = short ? brief : { dateStyle: "medium", timeStyle: "short" };
  const text = new Intl.DateTimeFormat(undefined, { ...style, timeZone: zone }).format(new Date(iso));
  return `${text} debtor time (${zone})`;
}
export const formatDate = (iso) => (iso ? date.format(new Date(`${iso}T00:00:00Z`)) : "—");

// Amounts arrive as decimal strings and go to Intl.NumberFormat as strings, which formats
// them as exact decimals (never through a float).
const moneyFormats = new Map();

function moneyFormat(currency, places) {
  const name = `${currency}:${places ?? ""}`;
  let format = moneyFormats.get(name);
  if (!format) {
    const exact = places === undefined ? {} : { minimumFractionDigits: places, maximumFractionDigits: places };
    format = new Intl.NumberFormat(undefined, { style: "currency", currency, ...exact });
    moneyFormats.set(name, format);
  }
  return format;
}

// ISO 4217's minor units where CLDR's display digits (the browser's) differ, as the server
// counts them (domain/money.py, _ISO_MINOR_UNITS; a test keeps the two the same).
const ISO_MINOR_UNITS = {
  IQD: 3, AFN: 2, ALL: 2, IRR: 2, KPW: 2, LAK: 2, LBP: 2, MGA: 2, MMK: 2, RSD: 2, SOS: 2, SYP: 2, YER: 2,
};

// How many decimals the currency's amounts have, as the server counts them: 2 for EUR, 0 for
// JPY, 3 for KWD and IQD.
export function currencyDecimals(currency) {
  return ISO_MINOR_UNITS[currency] ?? moneyFormat(currency).resolvedOptions().maximumFractionDigits;
}

// The decimals of an amount as typed ("10.50": 2).
export const decimalsOf = (text) => (String(text).split(".")[1] || "").length;

// An amount in figures people write, in the currency's own decimals ("120.50", "¥120").
export const exampleAmount = (currency) => formatMoney(currencyDecimals(currency) ? "120.50" : "120", currency);

// Shown with the currency's own decimals (the server's count, where the browser's differs:
// ALL 1,000.50, not ALL 1,001), and an amount with more than its currency has (¥10.50 typed)
// as typed, never rounded to one that was not (up to 20 decimals).
export function formatMoney(amount, currency) {
  const text = String(amount ?? "");
  if (!/^-?\d+(\.\d+)?$/.test(text) || !currency) return text;
  const places = Math.min(Math.max(decimalsOf(text), currencyDecimals(currency)), 20);
  const shown = moneyFormat(currency).resolvedOptions().maximumFractionDigits;
  return (places === shown ? moneyFormat(currency) : moneyFormat(currency, places)).format(text);
}

// The brief highlight on what just changed; restarted even if the last one still runs.
export function flash(node) {
  node.classList.remove("changed");
  void node.offsetWidth;
  node.classList.add("changed");
}

// Tells screen-reader users what changed on its own (the app frame's live region).
export function announce(text) {
  const announcer = document.querySelector("#announcer");
  if (announcer) announcer.textContent = text;
}

// A drop-down's options read again (agents, queues) are changed in place: an option whose
// value stays is the same node with its text and state brought up to date, so a drop-down
// someone has open stays open and the choice stays made. `options`: [{ value, text,
// disabled, data }] in order; the choice falls back to "" when its option has gone.
export function setOptions(select, options) {
  const chosen = select.value;
  const had = new Map([...select.options].map((option) => [option.value, option]));
  options.forEach(({ value, text, disabled = false, data = {} }, at) => {
    const key = String(value);
    const option = had.get(key) ?? h("option", { value: key });
    had.delete(key);
    if (option.textContent !== text) option.textContent = text;
    if (option.disabled !== disabled) option.disabled = disabled;
    for (const [name, datum] of Object.entries(data)) {
      if (option.dataset[name] !== String(datum)) option.dataset[name] = datum;
    }
    if (select.options[at] !== option) select.insertBefore(option, select.options[at] ?? null);
  });
  for (const gone of had.values()) gone.remove();
  const keep = options.some((option) => String(option.value) === chosen);
  if (select.value !== (keep ? chosen : "")) select.value = keep ? chosen : "";
}

// A list an event draws again keeps the rows someone is busy in, as they are: a row holding
// the focus in a field (something half typed) and a row with a question or an inline form
// open (marked `data-question`, on the row or inside it, and not hidden). Rows are named by
// `data-row`; `draw(busy)` gets the busy ones by name and puts each back instead of a fresh
// row while what it concerns still stands (the caller knows when the question no longer
// applies). The focus comes back after, since moving a node drops it.
const FIELD = "input, select, textarea";
const OPEN_QUESTION = "[data-question]:not([hidden])";

export function redrawKeeping(container, draw) {
  const focused = document.activeElement;
  const busy = new Map();
  for (const row of container.querySelectorAll("[data-row]")) {
    if ((row.contains(focused) && focused.matches(FIELD))
      || row.matches(OPEN_QUESTION) || row.querySelector(OPEN_QUESTION)) busy.set(row.dataset.row, row);
  }
  draw(busy);
  if (focused && focused !== document.activeElement && container.contains(focused)) focused.focus();
}
