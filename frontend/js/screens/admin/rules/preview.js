// The live preview of unsaved conditions: how many accounts match and a few of them, asked
// again a moment after each edit; an answer that arrives after a newer question was asked
// is dropped, so the count always belongs to the conditions on screen.
import { api } from "../../../api.js";
import { formatMoney, h, problemBox } from "../../../dom.js";
import { debounce } from "../../../forms.js";

const SAMPLE = 8;
const number = new Intl.NumberFormat();

export function previewPanel(read) {
  const count = h("p", { class: "preview-count", id: "preview-count", "aria-live": "polite" }, "…");
  const state = h("p", { class: "preview-state muted small" });
  const sample = h("div", { class: "preview-sample" });
  let asked = 0;

  function show(answer) {
    count.dataset.count = answer.matching;
    count.replaceChildren(h("strong", {}, number.format(answer.matching)),
      answer.matching === 1 ? " account matches" : " accounts match");
    sample.replaceChildren(answer.sample.length ? h("div", { class: "table-scroll" },
      h("table", { class: "data compact" },
        h("caption", { class: "visually-hidden" }, "A sample of the matching accounts"),
        h("thead", {}, h("tr", {}, ["Account", "Balance", "Days late", "Bucket"].map((t) =>
          h("th", { scope: "col", class: { Balance: "num", "Days late": "num", Bucket: "sample-bucket" }[t] }, t)))),
        h("tbody", {}, answer.sample.map((a) => h("tr", {},
          h("td", {}, h("a", { href: `/accounts/${a.id}` }, a.external_ref),
            h("div", { class: "muted" }, a.debtor_name)),
          h("td", { class: "num" }, formatMoney(a.balance, a.currency)),
          h("td", { class: "num" }, String(a.days_past_due)),
          h("td", { class: "sample-bucket" }, a.bucket))))))
      : null);
  }

  async function ask() {
    const conditions = read();
    const mine = ++asked;
    if (conditions === null) {
      state.textContent = "Finish the marked conditions to see what they match.";
      count.setAttribute("aria-busy", "false");
      return;
    }
    state.textContent = "Counting…";
    count.setAttribute("aria-busy", "true");
    try {
      const answer = await api("/rules/preview", { method: "POST", body: { conditions, sample_size: SAMPLE } });
      if (mine !== asked) return; // a newer question is on its way
      show(answer);
      state.textContent = answer.matching > answer.sample.length && answer.sample.length
        ? `Showing ${answer.sample.length} of them.` : "";
    } catch (error) {
      if (mine !== asked) return;
      state.replaceChildren(problemBox(error));
    } finally {
      if (mine === asked) count.setAttribute("aria-busy", "false");
    }
  }

  const node = h("section", { class: "card rule-preview", "aria-labelledby": "preview-title" },
    h("h2", { id: "preview-title" }, "Matching now"), count, state, sample);
  return { node, refresh: debounce(ask, 300), now: ask };
}
