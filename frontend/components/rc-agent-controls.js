// <rc-agent-controls>: one agent as a supervisor runs the floor with them: name, status
// (a word and a shape, never colour alone) and since when, the work they hold against their
// capacity, and the controls to change status and capacity for them (PATCH /agents/{id}).
//
//   const card = document.createElement("rc-agent-controls");
//   card.agent = agent;                       // from GET /api/v1/agents
//   card.agent = { ...card.agent, ...event.data };  // an agent.status event
//   card.addEventListener("agent-changed", (e) => ...);  // e.detail: the agent as saved
//
// The attribute `readonly` shows the agent without controls (a TV wallboard). Parts are
// built once and updated in place, so an update arriving while someone uses a control
// neither moves their focus nor overwrites what they are typing.
import { api } from "../js/api.js";
import { h, problemBox, submit } from "../js/dom.js";

export const AGENT_STATUS = {
  available: { tone: "ok", label: "Available" },
  away: { tone: "warn", label: "Away" },
  offline: { tone: undefined, label: "Offline" },
};

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

export function since(iso, now = Date.now()) {
  if (!iso) return "";
  const at = new Date(iso);
  const minutes = Math.max(0, Math.floor((now - at.getTime()) / 60000));
  const time = clock.format(at);
  if (minutes < 60) return `since ${time} (${minutes} min)`;
  return `since ${time} (${Math.floor(minutes / 60)} h ${minutes % 60} min)`;
}

class RcAgentControls extends HTMLElement {
  static observedAttributes = ["readonly"];

  constructor() {
    super();
    this._agent = null;
  }

  get agent() { return this._agent; }

  set agent(value) {
    this._agent = value;
    if (this.isConnected) this.render();
  }

  connectedCallback() {
    this.setAttribute("role", "group");
    this.render();
  }
  attributeChangedCallback() { if (this.parts) this.parts.controls.hidden = this.hasAttribute("readonly"); }

  build(id) {
    const status = h("select", { id: `agent-${id}-status`, class: "agent-status-select" },
      Object.entries(AGENT_STATUS).map(([value, { label }]) => h("option", { value }, label)));
    const capacity = h("input", {
      id: `agent-${id}-capacity`, type: "number", min: 0, max: 10000, step: 1, required: true,
      inputmode: "numeric", class: "agent-capacity-input",
    });
    const problem = h("div", { class: "agent-problem" });
    status.addEventListener("change", () => this.save({ status: status.value }, problem, status));
    const form = h("form", { class: "agent-capacity", "aria-label": "Set the capacity",
      onsubmit: submit(problem, () => this.save({ capacity: Number(capacity.value) }, problem)) },
      h("label", { for: capacity.id }, "Capacity"), capacity,
      h("button", { type: "submit", class: "quiet" }, "Set"));
    const parts = {
      name: h("strong", { class: "agent-name" }),
      badge: h("span", { class: "badge" }),
      since: h("span", { class: "muted agent-since" }),
      load: h("span", { class: "agent-load" }),
      meter: h("span", { class: "agent-meter", "aria-hidden": "true" }, h("span")),
      status,
      capacity,
      problem,
    };
    parts.controls = h("div", { class: "agent-controls" },
      h("div", { class: "agent-status" }, h("label", { for: status.id }, "Status"), status), form);
    parts.controls.hidden = this.hasAttribute("readonly");
    this.replaceChildren(
      h("div", { class: "agent-head" }, parts.name, parts.badge),
      h("div", { class: "agent-facts" }, parts.load, parts.since),
      parts.meter, parts.controls, problem);
    this.parts = parts;
    this.builtFor = id;
  }

  render() {
    const agent = this._agent;
    if (!agent) return;
    if (this.builtFor !== agent.id) this.build(agent.id);
    const { name, badge, since: when, load, meter, status, capacity } = this.parts;
    const shown = AGENT_STATUS[agent.status] || { label: agent.status };
    this.dataset.status = agent.status;
    this.dataset.id = agent.id;
    this.setAttribute("aria-label", `${agent.name}: ${shown.label}`);
    name.textContent = agent.name;
    badge.textContent = shown.label;
    if (shown.tone) badge.dataset.tone = shown.tone;
    else delete badge.dataset.tone;
    when.textContent = since(agent.since);
    const held = agent.held ?? 0;
    load.textContent = `${held} / ${agent.capacity} tasks`;
    load.title = "Tasks held now / capacity";
    const share = agent.capacity > 0 ? Math.min(1, held / agent.capacity) : 1;
    meter.firstChild.style.width = `${Math.round(share * 100)}%`;
    meter.dataset.full = String(held >= agent.capacity);
    if (document.activeElement !== status) status.value = agent.status;
    if (document.activeElement !== capacity) capacity.value = String(agent.capacity);
  }

  // Saved as soon as the status changes, without disabling the select (that would interrupt
  // someone going through its options with the arrow keys); the capacity through its button.
  async save(change, problem, busy = null) {
    const agent = this._agent;
    busy?.setAttribute("aria-busy", "true");
    problem.replaceChildren();
    try {
      const saved = await api(`/agents/${agent.id}`, { method: "PATCH", body: change });
      this.agent = { ...this._agent, ...saved };
      this.dispatchEvent(new CustomEvent("agent-changed", { detail: this._agent, bubbles: true }));
    } catch (error) {
      problem.replaceChildren(problemBox(error));
      this.render(); // back to what is saved
      if (!busy) throw error;
    } finally {
      busy?.removeAttribute("aria-busy");
    }
  }
}

customElements.define("rc-agent-controls", RcAgentControls);
