// Branding for the debtor's payment page: the agency the debtor deals with and how to reach
// it. Empty fields are left off the page; an empty name shows the tenant's own name.
import { h } from "../../../dom.js";
import { field } from "../../../forms.js";
import { settingsForm } from "./section.js";

const PHONE = /^(\+?[0-9][0-9 ()./-]{3,30})?$/;
const WEB = /^(https:\/\/[^\s<>"']+)?$/;
const OWN_PATH = /^(\/[A-Za-z0-9._~%!$&()*+,;=:@-][^\s<>"'\\]*)?$/;

const FIELDS = [
  ["name", "Agency name", { maxlength: 200, autocomplete: "off" },
    "The collector the debtor deals with, at the top of the payment page. Empty: the tenant's name."],
  ["phone", "Phone", { type: "tel", maxlength: 32, autocomplete: "off" },
    "The number debtors may call, such as +1 555 010 0200."],
  ["hours", "Phone hours", { maxlength: 200 },
    "When the phone is answered, in words: “Monday to Friday, 8 am to 8 pm Eastern”."],
  ["privacy_url", "Privacy notice address", { type: "url", maxlength: 500, inputmode: "url" },
    "Your privacy notice, an https:// address."],
  ["logo_url", "Logo address", { maxlength: 500, inputmode: "url" },
    "A path on this server, such as /static/logo.svg: the payment page loads nothing from elsewhere."],
];

const FORMS = {
  "branding.phone": "a phone number: digits, spaces and ( ) . / -, optionally starting with +",
  "branding.privacy_url": "an https:// address",
  "branding.logo_url": "a path on this server starting with /, such as /static/logo.svg",
};

export function brandingSection() {
  const inputs = Object.fromEntries(FIELDS.map(([key, , attrs]) => [key, h("input", { id: `branding-${key}`, ...attrs })]));
  return settingsForm({
    id: "branding",
    title: "Payment page branding",
    saveLabel: "Save branding",
    intro: "Who the debtor deals with on the payment page, and how to reach you. Empty fields are left off the page.",
    controls: FIELDS.map(([key, label, , hint]) => field(label, inputs[key], { path: `branding.${key}`, hint })),
    part: (t) => t.settings.branding,
    fill: (t) => { for (const [key] of FIELDS) inputs[key].value = t.settings.branding[key] ?? ""; },
    body: () => ({ branding: Object.fromEntries(FIELDS.map(([key]) => [key, inputs[key].value.trim()])) }),
    forms: FORMS,
    check() {
      const errors = [];
      const value = (key) => inputs[key].value.trim();
      if (!PHONE.test(value("phone"))) errors.push({ field: "branding.phone", message: `This must be ${FORMS["branding.phone"]}.` });
      if (!WEB.test(value("privacy_url"))) errors.push({ field: "branding.privacy_url", message: `This must be ${FORMS["branding.privacy_url"]}.` });
      if (!OWN_PATH.test(value("logo_url"))) errors.push({ field: "branding.logo_url", message: `This must be ${FORMS["branding.logo_url"]}.` });
      return errors;
    },
  });
}
