// <rc-money amount="1234.50" currency="USD"> shows an exact amount in its currency.
// Amounts arrive as decimal strings and go to Intl.NumberFormat as strings, which formats
// them as exact decimals (never through a float).
const formatters = new Map();

export function formatMoney(amount, currency) {
  const text = String(amount ?? "");
  if (!/^-?\d+(\.\d+)?$/.test(text) || !currency) return text;
  let format = formatters.get(currency);
  if (!format) {
    format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    formatters.set(currency, format);
  }
  return format.format(text);
}

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
