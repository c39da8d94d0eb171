// The team's agents in the team view: each one's status and since when, the work they hold
// against their capacity, and the controls to change both (<rc-agent-controls>). Kept live
// from the wallboard channel: an agent.status event updates its agent at once; task events
// change what agents hold, so the figures are read again (at most every half second).
import "../../../components/rc-agent-controls.js";
import { AGENT_STATUS } from "../../../components/rc-agent-controls.js";
import { api, everything } from "../../api.js";
import { flash, h, problemBox } from "../../dom.js";
import { realtime } from "../../realtime.js";

export function agentsPanel({ onAgents }) {
  const grid = h("ul", { class: "agent-grid", id: "agent-grid", "aria-label": "Agents" });
  const counts = h("span", { class: "muted", id: "agent-counts" });
  const problem = h("div");
  const node = h("details", { class: "card team-agents", id: "team-agents", open: true },
    h("summary", {}, h("h2", {}, "Agents"), counts),
    problem, grid);
  const cards = new Map();
  let stopFeed = null;
  let reloadTimer = null;
  let minuteTick = null;

  function summarize() {
    const agents = [...cards.values()].map((c) => c.agent);
    counts.textContent = Object.entries(AGENT_STATUS)
      .map(([status, { label }]) => `${agents.filter((a) => a.status === status).length} ${label.toLowerCase()}`)
      .join(" · ");
    onAgents(agents);
  }

  function show(agents) {
    const seen = new Set();
    for (const agent of agents) {
      seen.add(agent.id);
      let card = cards.get(agent.id);
      if (!card) {
        card = h("rc-agent-controls");
        cards.set(agent.id, card);
      }
      card.agent = agent;
    }
    for (const [id, card] of cards) {
      if (!seen.has(id)) { card.parentElement?.remove(); cards.delete(id); }
    }
    // In name order, moving only what is out of place (focus stays where it is).
    agents.forEach((agent, index) => {
      const item = cards.get(agent.id).parentElement || h("li", {}, cards.get(agent.id));
      if (grid.children[index] !== item) grid.insertBefore(item, grid.children[index] || null);
    });
    summarize();
  }

  async function load() {
    try {
      show(await everything("/agents"));
      problem.replaceChildren();
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    }
  }

  function reloadSoon() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, 500);
  }

  function onEvent(event) {
    if (event.type === "ready" || event.type === "resync") load();
    else if (event.type === "agent.status") {
      const card = cards.get(event.data?.id);
      if (!card) { reloadSoon(); return; }
      card.agent = { ...card.agent, ...event.data };
      flash(card);
      summarize();
    } else if (event.type?.startsWith("task.")) reloadSoon();
  }

  grid.addEventListener("agent-changed", summarize);

  return {
    node,
    async start() {
      node.hidden = false;
      stopFeed?.();
      stopFeed = realtime.subscribe("wallboard", onEvent);
      clearInterval(minuteTick);
      // Keeps "since" true.
      minuteTick = setInterval(() => { for (const card of cards.values()) card.agent = card.agent; }, 60000);
      await load();
    },
    stop() {
      node.hidden = true;
      stopFeed?.();
      stopFeed = null;
      clearTimeout(reloadTimer);
      clearInterval(minuteTick);
    },
  };
}
