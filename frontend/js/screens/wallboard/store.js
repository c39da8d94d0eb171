// The wallboard's figures: the latest full reading (GET /stats/realtime on load, then a
// `wallboard.kpis` snapshot every few seconds) with the events that came after it applied on
// top, so a payment shows the moment it lands and the next snapshot confirms it.
//
// A reading counts every row stamped before its `as_of`; an event is applied only when
// what it reports was stamped after that, so nothing is counted twice. Money is added
// exactly, as decimal strings (never binary floats).

// Dispositions meaning the debtor was reached (domain/stats/queries.py, RIGHT_PARTY).
export const RIGHT_PARTY = new Set([
  "right_party_contact", "promise", "dispute", "refusal", "callback_requested",
]);
const FEED_SIZE = 20;
// Events kept to lay again over a newer reading (one that was read before they happened).
const REMEMBERED = 500;

const decimals = (text) => (text.split(".")[1] ?? "").length;

function toUnits(text, scale) {
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = (negative ? text.slice(1) : text).split(".");
  const units = BigInt(whole + fraction.padEnd(scale, "0"));
  return negative ? -units : units;
}

function fromUnits(units, scale) {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const text = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${text}` : text;
}

// The exact sum of two decimal strings ("12.30" + "0.05" = "12.35").
export function addDecimal(a, b) {
  const scale = Math.max(decimals(a), decimals(b));
  return fromUnits(toUnits(a, scale) + toUnits(b, scale), scale);
}

const rate = (part, whole) => (whole ? Math.round((part / whole) * 10000) / 10000 : null);

// A zone as people name it: its place ("New York"), or UTC±n for an Etc/GMT zone, whose
// sign is the other way round (Etc/GMT-3 is three hours ahead of UTC).
export function zoneName(zone) {
  const etc = /^Etc\/GMT(?:([+-])(\d+))?$/.exec(zone);
  if (etc) return etc[1] ? `UTC${etc[1] === "-" ? "+" : "-"}${etc[2]}` : "UTC";
  return zone.split("/").pop().replaceAll("_", " ");
}

export class WallboardStore extends EventTarget {
  constructor() {
    super();
    this.figures = null;
    this.received = 0; // Date.now() of the last reading or applied event
    this.recent = []; // the latest events, newest last
  }

  // A full reading replaces everything: it holds what every event stamped before its
  // `as_of` said. Events stamped after it (a reading can arrive after events that happened
  // while it was on its way) are laid over it again. An older reading than the one shown
  // is dropped.
  reset(figures) {
    if (this.figures && Date.parse(figures.as_of) < this.asOf) return;
    this.figures = figures;
    this.asOf = Date.parse(figures.as_of);
    const zone = { timeZone: figures.time_zone };
    this.dayOf = new Intl.DateTimeFormat("en-CA", { ...zone, year: "numeric", month: "2-digit", day: "2-digit" });
    this.hourOf = new Intl.DateTimeFormat("en-GB", { ...zone, hour: "2-digit", hourCycle: "h23" });
    // Every time on the board is the tenant's, as its hours and its "today" are.
    this.clock = new Intl.DateTimeFormat(undefined, { ...zone, hour: "2-digit", minute: "2-digit" });
    this.timeOfDay = new Intl.DateTimeFormat(undefined, { ...zone, hour: "2-digit", minute: "2-digit", second: "2-digit" });
    // The same zone under two names (UTC and Etc/UTC) is the same clock: compared by the
    // time of day each shows now.
    const now = new Date();
    const wall = (timeZone) => new Intl.DateTimeFormat("en-GB", { timeZone, dateStyle: "short", timeStyle: "short" }).format(now);
    // Said beside them where the viewer's own zone differs: " (New York time)".
    const place = zoneName(figures.time_zone);
    this.zoneNote = wall(undefined) === wall(figures.time_zone) ? "" : ` (${place} time)`;
    this.received = Date.now();
    for (const event of this.recent) HANDLERS[event.type]?.(this, event.data);
    this.#changed("all");
  }

  // Applies one event of the wallboard channel; returns what it changed (nothing when the
  // reading already holds it, or it is not one of today's).
  apply(event) {
    if (event.type === "wallboard.kpis") {
      this.reset(event.data);
      return ["all"];
    }
    if (!HANDLERS[event.type]) return [];
    this.recent.push(event);
    if (this.recent.length > REMEMBERED) this.recent.shift();
    if (!this.figures) return [];
    const handler = HANDLERS[event.type];
    const changed = handler ? handler(this, event.data) : [];
    if (changed.length) {
      this.received = Date.now();
      for (const part of changed) this.#changed(part, event);
    }
    return changed;
  }

  // Stamped after the reading, and on the tenant's today.
  fresh(stamp) {
    return stamp && Date.parse(stamp) > this.asOf && this.isToday(stamp);
  }

  isToday(stamp) {
    return this.dayOf.format(new Date(stamp)) === this.figures.today;
  }

  agent(id) {
    return this.figures.agents.find((agent) => agent.id === id);
  }

  #changed(part, event) {
    this.dispatchEvent(new CustomEvent("change", { detail: { part, event } }));
  }
}

function addMoney(list, currency, amount, extra = {}) {
  let entry = list.find((item) => item.currency === currency);
  if (!entry) {
    entry = { currency, amount: "0", count: 0, ...extra };
    list.push(entry);
    list.sort((a, b) => a.currency.localeCompare(b.currency));
  }
  entry.amount = addDecimal(entry.amount, amount);
  entry.count += 1;
}

function feed(store, item) {
  store.figures.feed.unshift(item);
  store.figures.feed.length = Math.min(store.figures.feed.length, FEED_SIZE);
}

const HANDLERS = {
  "payment.received"(store, { payment, account }) {
    if (payment.status !== "succeeded" || !store.fresh(payment.received_at)) return [];
    const f = store.figures;
    addMoney(f.collected, payment.currency, payment.amount, { target: null });
    const agent = payment.created_by !== null ? store.agent(payment.created_by) : null;
    if (agent) addMoney(agent.collected_today, payment.currency, payment.amount);
    const hour = Number(store.hourOf.format(new Date(payment.received_at)));
    let slot = f.by_hour.find((h) => h.hour === hour && h.currency === payment.currency);
    if (!slot) {
      for (let h = 0; h < 24; h += 1) {
        f.by_hour.push({ hour: h, currency: payment.currency, today: "0", last_week: "0" });
      }
      slot = f.by_hour.find((h) => h.hour === hour && h.currency === payment.currency);
    }
    slot.today = addDecimal(slot.today, payment.amount);
    feed(store, {
      type: "payment.received", at: payment.received_at, account_id: payment.account_id,
      account_ref: account.external_ref, agent_id: payment.created_by,
      agent_name: agent?.name ?? null, currency: payment.currency, amount: payment.amount,
    });
    return ["collected", "agents", "hours", "feed"];
  },
  "promise.made"(store, { promises, account }) {
    if (!promises.length || !store.fresh(promises[0].created_at)) return [];
    const p = store.figures.promises;
    p.made_today += promises.length;
    p.due_today += promises.filter((promise) => promise.due_date === store.figures.today).length;
    const by = promises[0].created_by;
    feed(store, {
      type: "promise.made", at: promises[0].created_at, account_id: account.id,
      account_ref: account.external_ref, agent_id: by, agent_name: store.agent(by)?.name ?? null,
      currency: promises[0].currency,
      amount: promises.reduce((sum, promise) => addDecimal(sum, promise.amount), "0"),
    });
    return ["promises", "feed"];
  },
  "promise.broken"(store, { promise, account }) {
    if (!store.fresh(promise.resolved_at)) return [];
    store.figures.promises.broken_today += 1;
    feed(store, {
      type: "promise.broken", at: promise.resolved_at, account_id: account.id,
      account_ref: account.external_ref, agent_id: promise.created_by,
      agent_name: store.agent(promise.created_by)?.name ?? null,
      currency: promise.currency, amount: promise.amount,
    });
    return ["promises", "feed"];
  },
  "interaction.logged"(store, call) {
    if (call.channel !== "call" || call.direction !== "outbound") return [];
    if (!store.fresh(call.created_at) || !store.isToday(call.occurred_at)) return [];
    const c = store.figures.calls;
    c.attempted_today += 1;
    if (RIGHT_PARTY.has(call.disposition)) c.right_party_today += 1;
    c.right_party_rate = rate(c.right_party_today, c.attempted_today);
    return ["calls"];
  },
  "task.completed"(store, { task }) {
    if (!store.fresh(task.completed_at)) return [];
    store.figures.tasks.completed_today += 1;
    const agent = task.assignee_id !== null ? store.agent(task.assignee_id) : null;
    if (agent) agent.completed_today += 1;
    return ["tasks", "agents"];
  },
  "agent.status"(store, status) {
    const agent = store.agent(status.id);
    if (!agent) return [];
    if (status.capacity !== undefined && status.capacity !== agent.capacity) {
      agent.capacity = status.capacity; // a new capacity keeps the status and its time
      if (Date.parse(status.since) <= Date.parse(agent.since)) return ["agents"];
    }
    if (Date.parse(status.since) <= Date.parse(agent.since)) return [];
    const counts = store.figures.agents_by_status;
    counts[agent.status] -= 1;
    counts[status.status] = (counts[status.status] ?? 0) + 1;
    Object.assign(agent, { status: status.status, since: status.since });
    return ["agents"];
  },
};
