// The account's status changed from the desk, with what the law attaches to each change, said
// before it is made: a dispute pauses every contact until a supervisor resolves it; a cease
// request, a bankruptcy or a death stops contact; a settlement ends the collection. Collectors
// record a dispute or a cease (they hear them on the phone); the rest is for managers. The
// server decides in the end (its refusal is shown in words); the change arrives as the
// account's event, like everyone else's.
import { api } from "../../api.js";
import { h, pending, submit } from "../../dom.js";

const OPEN = ["active", "promised", "promise_broken"];
// What each change does, the statuses it starts from, and who may make it.
const CHANGES = {
  disputed: { label: "Open a dispute", from: OPEN, collectors: true,
    does: "This pauses all contact, letters too, until a supervisor resolves the dispute." },
  cease: { label: "Record a cease request", from: [...OPEN, "disputed", "bankrupt"], collectors: true,
    does: "This stops all contact but letters, about every account of the debtor." },
  bankrupt: { label: "Mark bankrupt", from: [...OPEN, "disputed"],
    does: "This stops all contact, letters too." },
  deceased: { label: "Mark deceased", from: [...OPEN, "disputed", "bankrupt"],
    does: "This stops all contact, letters too." },
  settled: { label: "Mark settled", from: OPEN,
    does: "This ends the collection: nothing more is asked of the debtor." },
  active: { label: "Resolve the dispute", from: ["disputed"],
    does: "The account is active again; contact resumes within the usual rules." },
};
const DISPUTE_REASONS = { not_mine: "Not mine", already_paid: "Already paid", wrong_amount: "Wrong amount",
  identity_theft: "Identity theft", other: "Other" };
// Statuses the contact banner does not name (it names disputes and cease requests).
const BANNERS = {
  bankrupt: ["Bankrupt", "the debtor is in bankruptcy: no contact at all, letters included."],
  deceased: ["Deceased", "the debtor is deceased: no contact at all."],
  settled: ["Settled", "the account is settled: nothing more is collected."],
};

export function statusPanel(id, { managers }) {
  const banner = h("div", { id: "status-banner", hidden: true });
  const problem = h("div");
  const change = h("select", { id: "status-change" });
  const reasonField = h("div", { class: "field" });
  const reasonText = h("input", { id: "status-reason", maxlength: 200 });
  const reasonPick = h("select", { id: "status-reason" },
    Object.entries(DISPUTE_REASONS).map(([value, label]) => h("option", { value }, label)));
  const details = h("textarea", { id: "status-details", rows: 2, maxlength: 2000 });
  const confirm = h("div", { id: "status-confirm", class: "pay-confirm", hidden: true });
  const reason = () => (change.value === "disputed" ? reasonPick : reasonText);

  function fields() {
    confirm.hidden = true;
    reasonField.replaceChildren(h("label", { for: "status-reason" }, "Reason"), reason());
  }
  change.addEventListener("change", fields);

  async function make(button) {
    const made = await pending(button, problem, () => api(`/accounts/${id}/status-changes`, {
      method: "POST", body: { status: change.value, reason: reason().value.trim(), details: details.value },
    }));
    confirm.hidden = true;
    if (made) { reasonText.value = ""; details.value = ""; }
  }

  function ask() {
    const what = CHANGES[change.value];
    const yes = h("button", { type: "button", class: "danger", id: "status-confirm-yes",
      onclick: (event) => make(event.currentTarget) }, what.label);
    const back = h("button", { type: "button", onclick: () => { confirm.hidden = true; change.focus(); } }, "Back");
    confirm.replaceChildren(h("p", {}, h("strong", {}, `${what.label}?`), ` ${what.does}`),
      h("div", { class: "inline-form" }, yes, back));
    confirm.hidden = false;
    yes.focus();
  }

  const form = h("form", { class: "inline-form", "aria-label": "Change the account status", onsubmit: submit(problem, async () => {
    if (!reason().value.trim()) throw new Error("Give the reason for the change.");
    ask();
  }) },
    h("div", { class: "field" }, h("label", { for: "status-change" }, "Change"), change),
    reasonField,
    h("div", { class: "field" }, h("label", { for: "status-details" }, "Details"), details),
    h("button", { type: "submit" }, "Change status…"));
  const section = h("div", { id: "status-changes" }, h("h2", {}, "Account status"), problem, form, confirm);

  return {
    banner,
    nodes: section,
    show(account) {
      const stop = BANNERS[account.status];
      banner.hidden = !stop;
      banner.replaceChildren(...(stop ? [h("p", { class: "stop-banner", "data-status": account.status },
        h("strong", {}, `${stop[0]}: `), stop[1])] : []));
      const offered = Object.entries(CHANGES)
        .filter(([, c]) => c.from.includes(account.status) && (managers || c.collectors));
      if (offered.map(([v]) => v).join() === [...change.options].map((o) => o.value).join()) return;
      change.replaceChildren(...offered.map(([value, c]) => h("option", { value }, c.label)));
      section.hidden = !offered.length;
      fields();
    },
  };
}
