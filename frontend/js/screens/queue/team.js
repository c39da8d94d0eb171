// Supervisors switch the list between their own work and the team's open work, where they
// can give a task to someone else.
import { h } from "../../dom.js";

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
