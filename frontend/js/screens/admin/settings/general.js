// General: the tenant's name and the time zone its days are counted in (days past due, the
// reports' periods, the wallboard's today). The browser offers its IANA zones; the server
// decides.
import { h } from "../../../dom.js";
import { field } from "../../../forms.js";
import { settingsForm } from "./section.js";

function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
}

export function generalSection() {
  const known = new Set(["UTC", ...zones()]);
  const name = h("input", { id: "tenant-name", maxlength: 200, required: true, autocomplete: "organization" });
  const zone = h("input", { id: "tenant-zone", list: "tenant-zones", required: true, autocomplete: "off",
    spellcheck: "false" });
  const list = h("datalist", { id: "tenant-zones" }, [...known].sort().map((z) => h("option", { value: z })));
  return settingsForm({
    id: "general",
    title: "General",
    intro: "Your agency's name as staff see it, and the time zone its working days are counted in: "
      + "days past due, the reports' periods and the wallboard's today.",
    controls: [
      field("Name", name, { path: "name" }),
      field("Time zone", zone, { path: "time_zone",
        hint: "An IANA time zone, such as America/New_York. Start typing to choose one." }),
      list,
    ],
    part: (t) => ({ name: t.name, time_zone: t.time_zone }),
    fill: (t) => { name.value = t.name; zone.value = t.time_zone; },
    body: () => ({ name: name.value.trim(), time_zone: zone.value.trim() }),
    check() {
      const errors = [];
      if (!name.value.trim()) errors.push({ field: "name", message: "A name is needed." });
      const z = zone.value.trim();
      if (!z) errors.push({ field: "time_zone", message: "A time zone is needed." });
      else if (known.size > 1 && !known.has(z)) {
        errors.push({ field: "time_zone", message: `${z} is not a time zone this browser knows.` });
      }
      return errors;
    },
  });
}
