// Supervisors switch the list between their own work and the team's open work. The team
// view adds the team's agents (status and capacity, changed from there) and bulk actions on
// the tasks ticked in the list.
import { h } from "../../dom.js";
import { agentsPanel } from "./agents.js";
import { bulkBar } from "./bulk.js";

export function scopeSwitch(choose) {
  const mine = h("button", { type: "button", "aria-pressed": "true" }, "Mine");
  const team = h("button", { type: "button", "aria-pressed": "false", id: "scope-team" }, "Team");
  const pick = (which) => {
    mine.setAttribute("aria-pressed", String(which === "mine"));
    team.setAttribute("aria-pressed", String(which === "team"));
    choose(which);
  };
  mine.addEventListener("click", () => pick("mine"));
  team.addEventListener("click", () => pick("team"));
  return h("div", { class: "segmented", role: "group", "aria-label": "Whose tasks" }, mine, team);
}

// Shown only in the team view; `say` gives the queue's quiet notice.
export function teamTools({ list, say }) {
  const bulk = bulkBar({ list, say });
  const agents = agentsPanel({ onAgents: (found) => bulk.setAgents(found) });
  agents.node.hidden = true;
  bulk.node.hidden = true;
  return {
    agents: agents.node,
    bulk: bulk.node,
    show(team) {
      list.selectable = team;
      if (team) {
        agents.start();
        bulk.start();
      } else {
        agents.stop();
        bulk.stop();
      }
    },
    stop() {
      agents.stop();
    },
  };
}
