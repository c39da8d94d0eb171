// <rc-money amount="1234.50" currency="USD"> shows an exact amount in its currency, and
// marks a negative one.
import { formatMoney, h } from "../js/dom.js";

export const money = (amount, currency) => h("rc-money", { amount, currency });

class RcMoney extends HTMLElement {
  static observedAttributes = ["amount", "currency"];

  attributeChangedCallback() { this.render(); }
  connectedCallback() { this.render(); }

  render() {
    const amount = this.getAttribute("amount");
    this.textContent = formatMoney(amount, this.getAttribute("currency"));
    this.classList.add("money");
    this.toggleAttribute("data-negative", String(amount).startsWith("-"));
  }
}

customElements.define("rc-money", RcMoney);
