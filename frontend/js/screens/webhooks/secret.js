// A signing secret, the one time it is shown (after adding an endpoint or rotating its
// secret): copy it now, for the server keeps it sealed and never shows it again.
import { formatDateTime, h } from "../../dom.js";
import { shownOnce } from "../../shown-once.js";

export function secretBox({ secret, endpoint }, { rotated = false, done }) {
  return shownOnce({
    id: "signing-secret",
    title: rotated ? "The new signing secret" : "The endpoint's signing secret",
    label: "Signing secret",
    value: secret,
    warning: ["Recoup keeps it encrypted and never shows it a second time. Your receiver verifies each request's ",
      h("code", {}, "webhook-signature"), " with it (Standard Webhooks)."],
    note: rotated && endpoint.previous_secret_until
      ? h("p", { class: "muted small" }, "The old secret signs beside it until ",
        formatDateTime(endpoint.previous_secret_until), ", so your receiver can switch without a gap.")
      : null,
    spoken: "Signing secret shown once: copy it now",
    done,
  });
}
