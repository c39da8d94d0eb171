// <rc-kpi-tile label="Collected today" value="$1,234.00" detail="62% of $2,000.00"
//   progress="0.62" tone="ok"> one headline figure of the wallboard, large enough to read
// across a room. The value is set as text; `progress` (0 to 1) draws a bar beneath it.
import { h } from "../js/dom.js";

class RcKpiTile extends HTMLElement {
  static observedAttributes = ["label", "value", "detail", "progress", "tone"];

  connectedCallback() {
    this.setAttribute("role", "group");
    this.render();
  }

  attributeChangedCallback() {
    if (this.isConnected) this.render();
  }

  render() {
    const label = this.getAttribute("label") ?? "";
    this.setAttribute("aria-label", label);
    const progress = this.getAttribute("progress");
    const share = progress === null ? null : Math.max(0, Math.min(1, Number(progress)));
    let bar = null;
    if (share !== null) {
      const fill = h("span");
      fill.style.width = `${(share * 100).toFixed(1)}%`; // through the CSSOM: the policy allows no inline styles
      bar = h("span", { class: "kpi-bar", "aria-hidden": "true" }, fill);
    }
    const parts = [
      h("span", { class: "kpi-label" }, label),
      h("span", { class: "kpi-value" }, this.getAttribute("value") ?? "—"),
      bar,
      h("span", { class: "kpi-detail" }, this.getAttribute("detail") ?? ""),
    ];
    this.replaceChildren(...parts.filter(Boolean));
  }
}

customElements.define("rc-kpi-tile", RcKpiTile);
