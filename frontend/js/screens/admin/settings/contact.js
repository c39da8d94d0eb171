// Contact rules, per channel: when a debtor may be called, texted, e-mailed or written to.
// The defaults are Regulation F's (12 CFR 1006): at most 7 call attempts in 7 days, none for
// 7 days after a conversation, and nothing before 08:00 or after 21:00 the debtor's time.
// Every screen that shows "no call until" reads these rules.
import { announce, h } from "../../../dom.js";
import { field } from "../../../forms.js";
import { numberField, settingsForm, switchField } from "./section.js";

export const REGULATION_F = Object.freeze({
  max_calls_per_7_days: 7,
  quiet_days_after_conversation: 7,
  window_start: "08:00",
  window_end: "21:00",
  window_channels: ["call", "sms"],
});

const CHANNELS = [
  ["call", "Calls", "Telephone calls, made by a collector or a dialler."],
  ["sms", "Texts", "SMS messages, sent by a collector or a workflow."],
  ["email", "E-mails", "E-mails, sent by a collector or a workflow."],
  ["letter", "Letters", "Letters posted to the debtor (not held to the hours by default)."],
];

const CLOCK = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

export function contactSection() {
  const calls = numberField("Call attempts in any 7 days, at most", "contact.max_calls_per_7_days", {
    min: 1, max: 100, fallback: REGULATION_F.max_calls_per_7_days, fallbackWord: "Regulation F:",
    hint: "Every call attempt counts, answered or not. Once reached, the next call waits until the "
      + "oldest attempt is 7 days old." });
  const quiet = numberField("Days without calls after a conversation", "contact.quiet_days_after_conversation", {
    min: 0, max: 30, unit: "days", fallback: REGULATION_F.quiet_days_after_conversation, fallbackWord: "Regulation F:",
    hint: "After the debtor is spoken to, no call for this many days, counting the day of the conversation. "
      + "0 lets a call follow at once." });
  const start = h("input", { type: "time", id: "window-start", required: true, step: 60 });
  const end = h("input", { type: "time", id: "window-end", required: true, step: 60 });
  const inWindow = Object.fromEntries(CHANNELS.map(([key, label]) => [key,
    switchField(`${label} only within the contact hours`, `contact.window_channels.${key}`)]));

  const hours = h("fieldset", { class: "settings-group", id: "contact-hours" },
    h("legend", {}, "Contact hours"),
    h("p", { class: "hint" }, "In the debtor's own time zone, as their record holds it. Outside these hours "
      + "the channels ticked below wait: the account and the queue show when they open again. "
      + "Regulation F: 08:00 to 21:00."),
    h("div", { class: "row" },
      field("Contact starts at", start, { path: "contact.window_start" }),
      field("Contact ends at", end, { path: "contact.window_end" })));

  const perChannel = CHANNELS.map(([key, label, what]) => h("fieldset", { class: "settings-group channel", dataset: { channel: key } },
    h("legend", {}, label),
    h("p", { class: "hint" }, what),
    key === "call" ? [calls.node, quiet.node] : null,
    inWindow[key].node));

  function fill(rules) {
    calls.value = rules.max_calls_per_7_days;
    quiet.value = rules.quiet_days_after_conversation;
    start.value = rules.window_start;
    end.value = rules.window_end;
    for (const [key] of CHANNELS) inWindow[key].value = rules.window_channels.includes(key);
  }

  const restoreNote = h("span", { class: "muted small", role: "status", id: "contact-restored" });
  const restore = h("button", { type: "button", id: "restore-regulation-f", onclick: () => {
    fill(REGULATION_F);
    section.markDirty();
    restoreNote.textContent = "Regulation F defaults filled in: save to use them.";
    announce(restoreNote.textContent);
  } }, "Restore Regulation F defaults");

  const section = settingsForm({
    id: "contact",
    title: "Contact rules",
    saveLabel: "Save contact rules",
    intro: "When debtors may be contacted, channel by channel. Collectors, the queue and workflows "
      + "all keep to these; the defaults are Regulation F's.",
    controls: [hours, h("div", { class: "channels", dataset: { field: "contact.window_channels" } }, perChannel)],
    extra: h("p", { class: "restore" }, restore, " ", restoreNote),
    part: (t) => t.settings.contact,
    fill: (t) => { fill(t.settings.contact); restoreNote.textContent = ""; },
    body: () => ({ contact: {
      max_calls_per_7_days: calls.value,
      quiet_days_after_conversation: quiet.value,
      window_start: start.value,
      window_end: end.value,
      window_channels: CHANNELS.map(([key]) => key).filter((key) => inWindow[key].value),
    } }),
    forms: {
      "contact.window_start": "a time of day such as 08:00",
      "contact.window_end": "a time of day such as 21:00",
    },
    check() {
      const errors = [calls, quiet].map((f) => ({ field: f.path, message: f.check() })).filter((e) => e.message);
      if (!CLOCK.test(start.value)) errors.push({ field: "contact.window_start", message: "A time of day is needed." });
      if (!CLOCK.test(end.value)) errors.push({ field: "contact.window_end", message: "A time of day is needed." });
      else if (CLOCK.test(start.value) && start.value >= end.value) {
        errors.push({ field: "contact.window_start", message: "Contact must start before it ends." });
      }
      return errors;
    },
  });
  return section;
}
