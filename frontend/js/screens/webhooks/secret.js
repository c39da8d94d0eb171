// A signing secret, the one time it is shown (after adding an endpoint or rotating its
// secret): copy it now, for the server keeps it sealed and never shows it again.
import { announce, formatDateTime, h } from "../../dom.js";

export function secretBox({ secret, endpoint }, { rotated = false, done }) {
  const input = h("input", { type: "text", id: "signing-secret", readonly: true, value: secret,
    "aria-label": "Signing secret", spellcheck: "false", onfocus: (event) => event.target.select() });
  const said = h("span", { role: "status", class: "muted" });
  const copy = h("button", { type: "button", onclick: async () => {
    try {
      await navigator.clipboard.writeText(secret);
      said.textContent = "Copied.";
    } catch {
      input.focus();
      said.textContent = "Press Ctrl+C to copy.";
    }
  } }, "Copy");
  const box = h("div", { class: "card secret-box", role: "region", "aria-labelledby": "secret-title" },
    h("h2", { id: "secret-title" }, rotated ? "The new signing secret" : "The endpoint's signing secret"),
    h("p", { class: "secret-warning" }, h("strong", {}, "Copy it now: you will not see this again."),
      " Recoup keeps it encrypted and never shows it a second time. Your receiver verifies each request's ",
      h("code", {}, "webhook-signature"), " with it (Standard Webhooks)."),
    rotated && endpoint.previous_secret_until
      ? h("p", { class: "muted small" }, "The old secret signs beside it until ",
        formatDateTime(endpoint.previous_secret_until), ", so your receiver can switch without a gap.")
      : null,
    h("div", { class: "link-row" }, input, copy),
    h("p", { class: "save-row" }, said, h("span", { class: "spacer" }),
      h("button", { type: "button", onclick: () => { box.remove(); done?.(); } }, "I have stored it")));
  announce("Signing secret shown once: copy it now");
  return box;
}
