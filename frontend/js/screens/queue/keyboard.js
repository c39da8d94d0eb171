// The queue's keys: one letter for each thing a collector does all day, "?" lists them.
// Letters are left alone while typing in a field; Esc leaves the field for the list.
import { h } from "../../dom.js";

const KEYS = [
  ["j / k", "Move down / up the list"], ["Enter", "Open the selected task"],
  ["n", "Next task from my queues"], ["c", "Log a call"], ["p", "Record a promise"],
  ["$", "Take a payment"], ["l", "Send a payment link"], ["d", "Done: complete the task"],
  ["?", "Show these keys"], ["Esc", "Leave a field, close this list"],
  ["x / Space", "Team view: tick the selected task for a bulk action"],
];

function typing(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName));
}

// `panel` is the working panel, `next` takes the next task, `say` gives a quiet notice.
export function queueKeys({ list, panel, next, say }) {
  const help = h("dialog", { id: "keys", "aria-labelledby": "keys-title" },
    h("h2", { id: "keys-title" }, "Keyboard"),
    h("dl", { class: "facts keys" }, KEYS.flatMap(([k, v]) => [h("dt", {}, h("kbd", {}, k)), h("dd", {}, v)])),
    h("form", { method: "dialog" }, h("button", { type: "submit" }, "Close")));

  function focusField(selector, prepare) {
    const field = panel.node.querySelector(selector);
    if (!field) {
      say(panel.current() ? "Not available for this task" : "Open a task first", "warn");
      return;
    }
    prepare?.();
    field.scrollIntoView({ block: "center" });
    field.focus();
  }

  const actions = {
    j: () => list.move(1),
    k: () => list.move(-1),
    Enter: () => list.open(),
    n: () => next(),
    c: () => focusField("#note-text", () => {
      const channel = panel.node.querySelector("#note-channel");
      if (channel) channel.value = "call";
    }),
    p: () => focusField("#promise-amount"),
    $: () => focusField("#pay-amount"),
    // Sending a message is for the collector to confirm: the key goes to the first choice.
    l: () => {
      const button = panel.node.querySelector("[data-send], [data-copy]");
      if (button) button.focus();
      else say("Open a task first", "warn");
    },
    d: () => focusField("#task-outcome"),
    x: () => {
      if (list.selectable) list.toggle();
      else say("Ticking tasks is for the team view", "warn");
    },
    "?": () => help.showModal(),
  };

  function onKey(event) {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      list.focus();
      return;
    }
    if (typing(event.target) || help.open) return;
    const action = actions[event.key];
    if (!action) return;
    // Enter on a focused button presses that button.
    if (event.key === "Enter" && event.target instanceof HTMLButtonElement) return;
    event.preventDefault();
    action();
  }
  document.addEventListener("keydown", onKey);

  return {
    help,
    button: h("button", { type: "button", onclick: () => help.showModal(), "aria-keyshortcuts": "?" }, "Keys"),
    stop: () => document.removeEventListener("keydown", onKey),
  };
}
