// The wallboard's panels, each drawn whole from the store's figures (a few dozen nodes: a
// redraw is cheaper than bookkeeping). Every figure carries a data-kpi name, so tests and
// people can find it.
import "../../../components/rc-kpi-tile.js";
import { formatMoney, h } from "../../dom.js";
import { words } from "../../codes.js";
import { age as waited } from "../admin/rules/words.js";

const percent = (share) => (share === null || share === undefined ? "—" : `${Math.round(share * 1000) / 10}%`);
const count = (n) => new Intl.NumberFormat().format(n);

// "4:05" for minutes, "1:02:05" past an hour: how long something has waited.
export function age(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

function tile(kpi, label, value, detail = "", extra = {}) {
  return h("rc-kpi-tile", { "data-kpi": kpi, label, value, detail, ...extra });
}

export function tiles(figures, currency) {
  const main = figures.collected.find((c) => c.currency === currency);
  const others = figures.collected.filter((c) => c.currency !== currency && c.count);
  // Every payment of the day counts, whatever its currency; the other currencies' sums follow.
  const payments = figures.collected.reduce((sum, c) => sum + c.count, 0);
  let collectedDetail = payments ? `${count(payments)} payment${payments === 1 ? "" : "s"}` : "no payments yet";
  const extra = {};
  if (main?.target) {
    const share = Number(main.amount) / Number(main.target);
    collectedDetail = `${percent(share)} of ${formatMoney(main.target, currency)} target`;
    extra.progress = String(share);
    extra.tone = share >= 1 ? "ok" : undefined;
  }
  if (others.length) {
    collectedDetail += ` · ${others.map((c) => formatMoney(c.amount, c.currency)).join(" · ")}`;
  }
  const p = figures.promises;
  const c = figures.calls;
  const open = figures.tasks.open_by_status;
  const agents = figures.agents_by_status;
  return [
    tile("collected", "Collected today", main ? formatMoney(main.amount, currency) : "—", collectedDetail, extra),
    tile("promises", "Promises made", count(p.made_today), `${count(p.due_today)} due today`),
    tile("broken", "Broken today", count(p.broken_today), "", p.broken_today ? { tone: "bad" } : {}),
    tile("kept-rate", "Kept (7 days)", percent(p.kept_rate_7d)),
    tile("calls", "Calls today", count(c.attempted_today), `${count(c.right_party_today)} right-party contacts`),
    tile("right-party", "Right-party rate", percent(c.right_party_rate)),
    tile("open", "Open work", count(open.open + open.assigned + open.in_progress),
      `${count(open.open)} waiting · ${count(open.assigned + open.in_progress)} with agents`),
    tile("completed", "Completed today", count(figures.tasks.completed_today)),
    tile("agents", "Agents available", `${count(agents.available ?? 0)} / ${count(figures.agents.length)}`,
      `${count(agents.away ?? 0)} away · ${count(agents.offline ?? 0)} offline`),
  ];
}

// How urgent a queue's oldest wait is, by the tenant's thresholds: in words as well as colour.
export function queueTone(seconds, thresholds) {
  if (seconds === null) return ["ok", "Clear"];
  if (seconds >= thresholds.alert_seconds) return ["bad", "Late"];
  if (seconds >= thresholds.warn_seconds) return ["warn", "Slow"];
  return ["ok", "On time"];
}

export function queueRows(figures, now) {
  return figures.queues.map((q) => {
    const seconds = q.oldest_since ? (now - Date.parse(q.oldest_since)) / 1000 : null;
    const [tone, label] = queueTone(seconds, figures.queue_thresholds);
    return h("tr", { "data-queue": q.id ?? "none", "data-tone": tone },
      h("th", { scope: "row" }, q.name),
      h("td", { class: "num", "data-kpi": "depth" }, count(q.depth)),
      // "18 min", as the queues screen says it: a clock-like 18:12 reads as a time of day.
      h("td", { class: "num", "data-kpi": "oldest" }, waited(q.oldest_since, now)),
      h("td", {}, h("span", { class: "badge", "data-tone": tone }, label)));
  });
}

const STATUS_TONE = { available: "ok", away: "warn", offline: undefined };

// What an agent's card shows: who, status and since when, and today's figures.
export function agentParts(agent, currency, now) {
  const money = agent.collected_today.find((m) => m.currency === currency);
  return [
    h("div", { class: "agent-head" },
      h("strong", {}, agent.name),
      h("span", { class: "badge", "data-tone": STATUS_TONE[agent.status] }, words(agent.status))),
    h("div", { class: "agent-since", "data-kpi": "since" },
      `${age((now - Date.parse(agent.since)) / 1000)} in status`),
    h("dl", { class: "agent-figures" },
      h("div", {}, h("dt", {}, "Open"), h("dd", {}, count(agent.open_tasks))),
      h("div", {}, h("dt", {}, "Done"), h("dd", {}, count(agent.completed_today))),
      h("div", {}, h("dt", {}, "Collected"), h("dd", { "data-kpi": "agent-collected" },
        money ? formatMoney(money.amount, currency) : "—"))),
    agent.current_task_id ? h("div", { class: "agent-task" }, `On task #${agent.current_task_id}`) : null,
  ];
}

const FEED_LABEL = {
  "payment.received": ["ok", "Payment"],
  "promise.made": ["info", "Promise"],
  "promise.broken": ["bad", "Broken"],
};
// `clock` says the time of day in the tenant's zone (the store's).
export function feedItems(figures, clock) {
  return figures.feed.map((item) => {
    const [tone, label] = FEED_LABEL[item.type] ?? [undefined, item.type];
    return h("li", { "data-type": item.type },
      h("time", { datetime: item.at }, clock.format(new Date(item.at))),
      h("span", { class: "badge", "data-tone": tone }, label),
      h("strong", { class: "money" }, formatMoney(item.amount, item.currency)),
      h("span", { class: "feed-who" }, [item.account_ref, item.agent_name].filter(Boolean).join(" · ")));
  });
}
