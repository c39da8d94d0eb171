// The tenant's SFTP sources: where each one's files come from, which mapping reads them, and
// how its last poll went (a failed poll says why); a form to add one, and on each a switch
// to pause or resume its polling and a way to remove it. Private keys go in and are never
// shown again.
import { api, everything } from "../../../api.js";
import { announce, formatDateTime, h, submit } from "../../../dom.js";
import { confirmButton, field, submitForm } from "../../../forms.js";

function lastPoll(source) {
  if (!source.last_polled_at) return h("span", { class: "badge", "data-tone": "info" }, "not polled yet");
  const when = formatDateTime(source.last_polled_at);
  if (source.last_status === "failed") {
    return h("div", { class: "sftp-poll" },
      h("span", { class: "badge", "data-tone": "bad" }, "failed"), " ", when,
      h("p", { class: "sftp-error" }, source.last_error));
  }
  const files = source.last_files === 1 ? "1 new file" : `${source.last_files} new files`;
  return h("div", { class: "sftp-poll" },
    h("span", { class: "badge", "data-tone": "ok" }, "ok"), " ", when, h("span", { class: "muted" }, ` · ${files}`));
}

function tools(source, reload) {
  const problem = h("div");
  const toggle = h("button", { type: "button", class: "quiet" },
    source.enabled ? "Pause" : "Resume", h("span", { class: "visually-hidden" }, ` ${source.name}`));
  toggle.addEventListener("click", submit(problem, async () => {
    await api(`/sftp-sources/${source.id}`, { method: "PATCH", body: { enabled: !source.enabled } });
    announce(`${source.name} ${source.enabled ? "paused" : "resumed"}`);
    await reload();
  }));
  const remove = confirmButton("Remove", `Remove the source ${source.name}? Files it imported stay imported.`,
    problem, async () => {
      await api(`/sftp-sources/${source.id}`, { method: "DELETE" });
      announce(`${source.name} removed`);
      await reload();
    });
  return h("td", { class: "row-tools" }, toggle, remove, problem);
}

function sourceForm(presets, added) {
  const input = (attrs = {}) => h("input", { type: "text", autocomplete: "off", ...attrs });
  const name = input({ maxlength: 100 });
  const host = input({ placeholder: "sftp.example.com" });
  const port = input({ type: "number", min: 1, max: 65535, value: "22" });
  const username = input();
  const key = h("textarea", { rows: 4, spellcheck: "false", placeholder: "-----BEGIN OPENSSH PRIVATE KEY-----" });
  const hostKey = input({ placeholder: "ssh-ed25519 AAAA…" });
  const folder = input({ value: "/" });
  const pattern = input({ value: "*.csv" });
  const processed = input({ placeholder: "/processed" });
  const mapping = h("select", {}, h("option", { value: "" }, "Choose a mapping…"),
    presets.map((p) => h("option", { value: p.id }, `${p.name} (${p.kind})`)));
  const enabled = h("input", { type: "checkbox", checked: true });
  const problem = h("div");
  const button = h("button", { type: "submit", class: "primary" }, "Add source");
  const form = h("form", { class: "sftp-form", novalidate: true, "aria-label": "A new SFTP source" },
    h("div", { class: "row" },
      field("Name", name, { path: "name" }),
      field("Server", host, { path: "host" }),
      field("Port", port, { path: "port" }),
      field("User", username, { path: "username" })),
    field("Private key", key, { path: "private_key",
      hint: "OpenSSH or PEM, without a passphrase. Kept sealed; never shown again." }),
    field("Server's host key (optional)", hostKey, { path: "host_key",
      hint: "When given, a server presenting any other key is refused." }),
    h("div", { class: "row" },
      field("Folder", folder, { path: "folder" }),
      field("Files", pattern, { path: "pattern", hint: "A pattern such as placements-*.csv." }),
      field("Then moved to", processed, { path: "processed_folder" }),
      field("Read with mapping", mapping, { path: "mapping_id" })),
    h("div", { class: "field check-field", dataset: { field: "enabled" } },
      h("label", { class: "check-choice" }, enabled, "Poll it every 5 minutes")),
    problem, h("div", { class: "save-row" }, button));
  form.addEventListener("submit", submitForm(form, problem, async () => {
    const body = {
      name: name.value.trim(), host: host.value.trim(), port: Number(port.value || 22),
      username: username.value.trim(), private_key: key.value,
      host_key: hostKey.value.trim() || null, folder: folder.value.trim(),
      pattern: pattern.value.trim(), processed_folder: processed.value.trim(),
      mapping_id: mapping.value ? Number(mapping.value) : 0, enabled: enabled.checked,
    };
    const made = await api("/sftp-sources", { method: "POST", body });
    form.reset();
    announce(`${made.name} added`);
    await added();
  }));
  return form;
}

function sourceRow(source, mappings, reload) {
  const server = `${source.username}@${source.host}${source.port === 22 ? "" : `:${source.port}`}`;
  const files = `${source.folder.replace(/\/$/, "")}/${source.pattern}`;
  return h("tr", { dataset: { id: source.id } },
    h("th", { scope: "row" }, source.name),
    h("td", { "data-label": "Files" }, h("code", { class: "sftp-server" }, server),
      h("code", { class: "sftp-files" }, files),
      h("div", { class: "muted" }, `then moved to ${source.processed_folder}`)),
    h("td", { "data-label": "Mapping" }, mappings.get(source.mapping_id) || `mapping ${source.mapping_id}`),
    h("td", { "data-label": "Polled" }, source.enabled
      ? h("span", { class: "badge", "data-tone": "ok" }, "every 5 min")
      : h("span", { class: "badge", "data-tone": "warn" }, "disabled")),
    h("td", { "data-label": "Last poll" }, lastPoll(source)),
    tools(source, reload));
}

export async function sftpSources(presets) {
  const mappings = new Map(presets.map((p) => [p.id, p.name]));
  const list = h("div");
  async function reload() {
    const sources = await everything("/sftp-sources");
    list.replaceChildren(sources.length
      ? h("div", { class: "table-scroll" }, h("table", { class: "data stack sftp" },
        h("thead", {}, h("tr", {}, ["Source", "Files", "Mapping", "Polled", "Last poll", ""].map((t) =>
          h("th", { scope: "col" }, t || h("span", { class: "visually-hidden" }, "Actions"))))),
        h("tbody", {}, sources.map((s) => sourceRow(s, mappings, reload)))))
      : h("p", { class: "muted" }, "No SFTP sources yet: add one below, and its files are imported as they arrive."));
  }
  await reload();
  return h("div", { class: "card", id: "sftp-sources" }, h("h2", {}, "SFTP sources"), list,
    h("details", { class: "add-source" }, h("summary", {}, "Add an SFTP source"),
      sourceForm(presets, reload)));
}
