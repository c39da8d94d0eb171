// The form a collector logs a call or a note with. What is logged shows on the timeline when
// its event arrives, so every open page shows it the same way.
import { api } from "../../api.js";
import { CHANNELS, DISPOSITIONS, words } from "../../codes.js";
import { h, submit } from "../../dom.js";

function logForm(id) {
  const problem = h("div");
  const note = h("input", { id: "note-text", name: "notes", required: true, maxlength: 10000 });
  const channel = h("select", { id: "note-channel" }, CHANNELS.map((c) => h("option", { value: c }, c)));
  // A debtor who calls in may always be spoken to: an inbound contact is logged even in a
  // quiet period, or outside the hours; only our own calls, texts and e-mails are held back.
  const direction = h("select", { id: "note-direction" },
    h("option", { value: "outbound" }, "Outbound"),
    h("option", { value: "inbound" }, "Inbound (they reached us)"));
  const disposition = h("select", { id: "note-disposition" }, h("option", { value: "" }, "—"),
    DISPOSITIONS.map((d) => h("option", { value: d }, words(d))));
  return [problem, h("form", { class: "inline-form", "aria-label": "Log an interaction", onsubmit: submit(problem, async () => {
    await api(`/accounts/${id}/interactions`, { method: "POST", body: {
      channel: channel.value, direction: direction.value, notes: note.value, disposition: disposition.value || null,
    } });
    note.value = "";
    // Logged: whoever keeps a draft of this form hears that the notes are gone.
    note.dispatchEvent(new Event("input", { bubbles: true }));
  }) },
    h("div", { class: "field" }, h("label", { for: "note-channel" }, "Channel"), channel),
    h("div", { class: "field" }, h("label", { for: "note-direction" }, "Direction"), direction),
    h("div", { class: "field" }, h("label", { for: "note-disposition" }, "Outcome"), disposition),
    h("div", { class: "field" }, h("label", { for: "note-text" }, "Notes"), note),
    h("button", { type: "submit", class: "primary" }, "Log"))];
}

// The form alone: what is logged shows on the account's timeline when its event arrives.
export function interactionsPanel(id, { canLog }) {
  return { nodes: canLog ? [h("h2", {}, "Log a contact"), logForm(id)] : [] };
}
