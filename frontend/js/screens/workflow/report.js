// Champion and challenger: how each arm of the version does, against the first arm.
import { money } from "../../../components/rc-money.js";
import { api } from "../../api.js";
import { h, problemBox } from "../../dom.js";
import { field } from "../../forms.js";

const percent = (rate) => `${(rate * 100).toFixed(1)}%`;

function armRow(arm, i) {
  const versus = arm.versus_champion;
  const collected = Object.entries(arm.collected);
  return h("tr", {},
    h("th", { scope: "row" }, arm.arm, i === 0 ? h("span", { class: "muted" }, " champion") : null),
    h("td", { class: "num", "data-label": "Accounts" }, String(arm.accounts)),
    h("td", { class: "num", "data-label": "Paying" }, String(arm.paying)),
    h("td", { class: "num", "data-label": "Paying rate" }, percent(arm.paying_rate)),
    h("td", { class: "num", "data-label": "Collected" },
      collected.length ? collected.map(([currency, amount], j) => [j ? h("br") : null, money(amount, currency)]) : "—"),
    h("td", { class: "num", "data-label": "Promises kept" }, String(arm.promises_kept)),
    h("td", { "data-label": "Against the champion" }, versus ? [
      h("span", { class: "badge", "data-tone": versus.significant ? (versus.difference > 0 ? "ok" : "bad") : undefined }, versus.verdict),
      versus.p_value != null ? h("span", { class: "muted" }, ` p = ${versus.p_value.toFixed(3)}`) : null,
    ] : "—"));
}

export function reportPanel(workflowId) {
  const days = h("select", {}, [7, 30, 60, 90].map((d) => h("option", { value: d, selected: d === 30 }, `${d} days`)));
  const body = h("div", { id: "arm-report", "aria-live": "polite" });
  async function load() {
    try {
      const report = await api(`/workflows/${workflowId}/report`, { query: { days: days.value } });
      body.replaceChildren(report.arms.length ? h("div", { class: "table-scroll" }, h("table", { class: "data stack" },
        h("caption", { class: "muted" }, `Version ${report.version}: accounts that paid within ${report.days} days of entering an arm`),
        h("thead", {}, h("tr", {}, ["Arm", "Accounts", "Paying", "Paying rate", "Collected", "Promises kept", "Against the champion"]
          .map((t, i) => h("th", { scope: "col", class: i && i < 6 ? "num" : undefined }, t)))),
        h("tbody", {}, report.arms.map(armRow))))
        : h("p", { class: "muted" }, "No account has entered an arm of this version yet."));
    } catch (error) {
      body.replaceChildren(problemBox(error));
    }
  }
  days.addEventListener("change", load);
  load();
  return [h("div", { class: "title-bar" }, h("h2", {}, "Champion and challenger"), field("Within", days, { className: "compact" })), body];
}
