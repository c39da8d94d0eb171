// When the workflow starts: an event, or a point an account reaches (checked every quarter
// of an hour by the scheduler), with its days or bucket.
import { h } from "../../dom.js";
import { field } from "../../forms.js";
import { EVENT_TRIGGERS, TIME_TRIGGERS, TRIGGER_DAYS } from "./words.js";

export function triggerPicker(model, ctx, buckets) {
  const type = h("select", {},
    h("optgroup", { label: "When something happens" },
      Object.entries(EVENT_TRIGGERS).map(([value, label]) => h("option", { value }, label))),
    h("optgroup", { label: "When an account reaches a point (checked every 15 minutes)" },
      Object.entries(TIME_TRIGGERS).map(([value, label]) => h("option", { value }, label))));
  const parameter = h("div", { class: "trigger-parameter" });

  function showParameter() {
    const trigger = model.trigger;
    if (TRIGGER_DAYS.has(trigger.type)) {
      const days = h("input", { type: "number", min: 0, max: 3650, inputmode: "numeric", value: trigger.days ?? "" });
      days.addEventListener("input", () => { trigger.days = days.value === "" ? null : Number(days.value); ctx.changed(); });
      parameter.replaceChildren(field(trigger.type === "promise.due_in" ? "Days before the promise is due" : "Days past due",
        days, { path: "trigger.days" }));
    } else if (trigger.type === "account.bucket_entered") {
      const bucket = h("select", {}, h("option", { value: "" }, "Choose a bucket…"),
        buckets.map((b) => h("option", { value: b.name, selected: b.name === trigger.bucket }, b.name)));
      bucket.addEventListener("change", () => { trigger.bucket = bucket.value || null; ctx.changed(); });
      parameter.replaceChildren(field("Bucket", bucket, { path: "trigger.bucket" }));
    } else {
      parameter.replaceChildren();
    }
  }

  function show() {
    if (!model.trigger || typeof model.trigger !== "object") model.trigger = { type: "promise.broken" };
    const known = type.querySelector(`option[value="${CSS.escape(String(model.trigger.type))}"]`);
    type.value = known ? model.trigger.type : "";
    showParameter();
  }
  type.addEventListener("change", () => {
    const next = { type: type.value };
    if (TRIGGER_DAYS.has(type.value)) next.days = model.trigger.days ?? (type.value === "promise.due_in" ? 2 : 30);
    if (type.value === "account.bucket_entered") next.bucket = model.trigger.bucket ?? buckets[0]?.name ?? null;
    model.trigger = next;
    showParameter();
    ctx.changed();
    ctx.triggerChanged();
  });
  show();
  return { nodes: [h("div", { class: "row" }, field("Trigger", type, { path: "trigger.type" }), parameter)], show };
}
