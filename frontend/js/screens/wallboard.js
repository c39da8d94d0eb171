// The supervisor's wallboard: today's figures, updating by themselves, readable across a room.
// `?tv=1` drops the app's chrome for a screen on the wall. The figures come from GET
// /stats/realtime, the wallboard channel's events move them at once, and its snapshot
// (`wallboard.kpis`, every few seconds) confirms them; a clear banner says when they are
// not live.
import { api } from "../api.js";
import { announce, flash, formatMoney, h } from "../dom.js";
import { realtime } from "../realtime.js";
import { hourlyChart, mainCurrency } from "./wallboard/chart.js";
import "../../components/rc-agent-controls.js";
import { age, agentParts, feedItems, queueRows, tiles } from "./wallboard/panels.js";
import { WallboardStore } from "./wallboard/store.js";

// Without a reading or an event for this long, even on a live socket, the figures are stale
// (an unchanged snapshot is resent every 30 s, so a quiet floor stays fresh).
const STALE_AFTER_MS = 45_000;

export async function wallboardScreen() {
  const tv = new URLSearchParams(location.search).get("tv") === "1";
  document.body.dataset.screen = "wallboard";
  document.body.toggleAttribute("data-tv", tv);

  const store = new WallboardStore();
  const tileRow = h("div", { class: "wb-tiles", id: "wb-tiles" });
  const chartBox = h("div", { class: "wb-chart-box" });
  const chartCaption = h("p", { class: "wb-caption" });
  const queueBody = h("tbody", { id: "wb-queues" });
  const agentList = h("ul", { class: "wb-agents", id: "wb-agents" });
  const feedList = h("ol", { class: "wb-feed", id: "wb-feed", "aria-live": "off" });
  const asOf = h("span", { class: "wb-as-of", id: "wb-as-of" });
  const stale = h("div", { class: "wb-stale", id: "wb-stale", role: "status", hidden: true });
  const title = h("h1", {}, "Floor today");

  const node = h("section", { class: "wallboard", "aria-label": "Wallboard", "data-state": "loading" },
    h("header", { class: "wb-head" }, title, stale, asOf),
    tileRow,
    h("div", { class: "wb-middle" },
      h("section", { class: "wb-panel", "aria-labelledby": "wb-chart-title" },
        h("h2", { id: "wb-chart-title" }, "Collected per hour"), chartCaption, chartBox),
      h("section", { class: "wb-panel", "aria-labelledby": "wb-queues-title" },
        h("h2", { id: "wb-queues-title" }, "Queues"),
        h("div", { class: "table-scroll" }, h("table", { class: "wb-queues" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Queue"), h("th", { scope: "col", class: "num" }, "Waiting"),
            h("th", { scope: "col", class: "num" }, "Oldest"), h("th", { scope: "col" }, "State"))),
          queueBody)))),
    h("div", { class: "wb-bottom" },
      h("section", { class: "wb-panel", "aria-labelledby": "wb-agents-title" },
        h("h2", { id: "wb-agents-title" }, "Agents"), agentList),
      h("section", { class: "wb-panel", "aria-labelledby": "wb-feed-title" },
        h("h2", { id: "wb-feed-title" }, "Latest"), feedList)));

  // One card per agent, kept across redraws: its controls (outside TV mode) keep focus and
  // what someone is typing while the figures move.
  const cards = new Map();
  const drawAgents = (now) => {
    const order = [];
    for (const agent of store.figures.agents) {
      let card = cards.get(agent.id);
      if (!card) {
        const body = h("div", { class: "agent-body" });
        const controls = tv ? null : document.createElement("rc-agent-controls");
        card = { li: h("li", { class: "agent", "data-agent": agent.id }, body, controls), body, controls };
        cards.set(agent.id, card);
      }
      card.li.dataset.status = agent.status;
      card.body.replaceChildren(...agentParts(agent, currency, now).filter(Boolean));
      if (card.controls) {
        card.controls.agent = {
          id: agent.id, name: agent.name, status: agent.status, since: agent.since,
          capacity: agent.capacity, held: agent.open_tasks,
        };
      }
      order.push(card.li);
    }
    const shown = new Set(order);
    for (const [id, card] of cards) {
      if (!shown.has(card.li)) { card.li.remove(); cards.delete(id); }
    }
    // In order, moving only what is out of place: a card moved loses the focus (and with it
    // the capacity being typed), so an agent arriving goes in beside it instead.
    order.forEach((li, n) => {
      if (agentList.children[n] !== li) agentList.insertBefore(li, agentList.children[n] || null);
    });
  };

  let currency = null;
  const draw = (part) => {
    const f = store.figures;
    const now = Date.now();
    if (part === "all" || !currency) currency = mainCurrency(f) ?? currency;
    if (["all", "collected", "promises", "calls", "tasks", "agents"].includes(part)) {
      tileRow.replaceChildren(...tiles(f, currency));
    }
    if (["all", "hours", "collected"].includes(part)) {
      const hour = Number(store.hourOf.format(new Date()));
      chartBox.replaceChildren(hourlyChart(f, currency, hour));
      chartCaption.textContent = currency
        ? `${currency}: bars today, line the same hours last week${store.zoneNote}`
        : "No money yet today";
    }
    if (part === "all") queueBody.replaceChildren(...queueRows(f, now));
    if (["all", "agents", "collected"].includes(part)) drawAgents(now);
    if (["all", "feed"].includes(part)) feedList.replaceChildren(...feedItems(f, store.clock));
    title.textContent = `Floor today · ${f.today}`;
  };

  const showState = () => {
    const live = realtime.state === "live";
    const quiet = Date.now() - store.received > STALE_AFTER_MS;
    const fresh = live && store.figures && !quiet;
    node.dataset.state = fresh ? "live" : "stale";
    stale.hidden = Boolean(fresh);
    if (!fresh) {
      const since = store.figures ? store.timeOfDay.format(new Date(store.received)) + store.zoneNote : "—";
      stale.textContent = live
        ? `Not updating — figures as of ${since}`
        : `Connection lost — figures as of ${since}; reconnecting…`;
    }
    if (store.figures) {
      const at = new Date(Math.max(store.received, Date.parse(store.figures.as_of)));
      asOf.textContent = `As of ${store.timeOfDay.format(at)}${store.zoneNote}`;
    }
  };

  store.addEventListener("change", (event) => {
    const { part, event: cause } = event.detail;
    draw(part);
    showState();
    if (cause?.type === "payment.received" && part === "feed") {
      const { payment } = cause.data;
      announce(`Payment of ${formatMoney(payment.amount, payment.currency)} received`);
      const first = feedList.firstElementChild;
      if (first) flash(first);
    }
  });

  let loading = null;
  const load = () => {
    loading ??= api("/stats/realtime")
      .then((figures) => store.reset(figures))
      .finally(() => { loading = null; });
    return loading;
  };
  const stop = realtime.subscribe("wallboard", (event) => {
    if (event.type === "ready" || event.type === "resync") {
      load();
      return;
    }
    store.apply(event);
  });
  const onState = () => showState();
  realtime.addEventListener("state", onState);
  const ticker = setInterval(() => {
    if (!store.figures) return;
    const now = Date.now();
    queueBody.replaceChildren(...queueRows(store.figures, now));
    for (const since of agentList.querySelectorAll("[data-kpi=since]")) {
      const agent = store.agent(Number(since.closest("[data-agent]").dataset.agent));
      if (agent) since.textContent = since.textContent.replace(/^[\d:]+/, age((now - Date.parse(agent.since)) / 1000));
    }
    if (store.dayOf.format(new Date()) !== store.figures.today) load(); // past midnight
    showState();
  }, 1000);

  await load();
  return {
    node,
    leave() {
      stop();
      clearInterval(ticker);
      realtime.removeEventListener("state", onState);
      delete document.body.dataset.screen;
      document.body.removeAttribute("data-tv");
    },
  };
}
