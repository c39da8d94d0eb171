// The supervisor's reports: aging, liquidation, promise kept rate and collector
// performance, each a chart, the table of its figures and the same table as a CSV file.
// The period lives in the address (?from=&to=&by=), so a report can be shared or reloaded.
import { api, download } from "../api.js";
import { h, pending } from "../dom.js";
import { barChart } from "./reports/chart.js";
import { agingTable, collectorTable, liquidationTable, promiseTable } from "./reports/tables.js";

const REPORTS = {
  aging: { title: "Aging", lead: "Open accounts and what they owe, per delinquency bucket and currency, as of today.", table: agingTable, charts: agingCharts, period: false },
  liquidation: { title: "Liquidation", lead: "What accounts placed each month have brought in since, over what they were placed for.", table: liquidationTable, charts: liquidationCharts, period: true },
  promises: { title: "Promises kept", lead: "Promises by when they were made, and what became of them. Kept rate: kept over kept and broken.", table: promiseTable, charts: promiseCharts, period: true, step: true },
  collectors: { title: "Collectors", lead: "Each collector's calls, right-party contacts, promises, money taken and average handle time in the period.", table: collectorTable, charts: collectorCharts, period: true },
};

const num = (text) => Number(text) || 0;

function agingCharts(report) {
  const currencies = [...new Set(report.rows.map((r) => r.currency))];
  return currencies.map((currency) => {
    const rows = report.rows.filter((r) => r.currency === currency);
    return barChart({
      title: `Balance by bucket, ${currency}`,
      categories: rows.map((r) => r.bucket),
      series: [{ name: `Balance (${currency})`, style: "a", values: rows.map((r) => num(r.balance)) }],
    });
  });
}

function liquidationCharts(report) {
  const months = [...new Set(report.rows.map((r) => r.month))];
  const currencies = [...new Set(report.rows.map((r) => r.currency))];
  const styles = ["a", "b", "c", "d"];
  return [barChart({
    title: "Liquidation rate by month of placement",
    categories: months,
    unit: "%",
    format: (v) => `${v.toFixed(2)}%`,
    series: currencies.map((currency, i) => ({
      name: `${currency} liquidation %`,
      style: styles[i % styles.length],
      values: months.map((m) => 100 * (report.rows.find((r) => r.month === m && r.currency === currency)?.rate || 0)),
    })),
  })];
}

function promiseCharts(report) {
  const rows = report.rows;
  return [barChart({
    title: "Promises by outcome",
    categories: rows.map((r) => r.period),
    series: [
      { name: "Kept", style: "a", values: rows.map((r) => r.kept) },
      { name: "Broken", style: "b", values: rows.map((r) => r.broken) },
      { name: "Pending", style: "c", values: rows.map((r) => r.pending) },
    ],
  })];
}

function collectorCharts(report) {
  const busiest = [...report.rows].sort((a, b) => b.calls - a.calls).slice(0, 8);
  return [barChart({
    title: busiest.length < report.rows.length ? `The ${busiest.length} collectors with most calls` : "Calls and contacts by collector",
    categories: busiest.map((r) => r.name),
    series: [
      { name: "Calls", style: "a", values: busiest.map((r) => r.calls) },
      { name: "Right-party contacts", style: "b", values: busiest.map((r) => r.right_party) },
      { name: "Promises", style: "c", values: busiest.map((r) => r.promises) },
    ],
  })];
}

function dataTable({ header, numeric, rows }) {
  const isNum = (i) => numeric.includes(i);
  return h("div", { class: "table-scroll" }, h("table", { class: "data report-table", id: "report-table" },
    h("thead", {}, h("tr", {}, header.map((name, i) => h("th", { scope: "col", class: isNum(i) ? "num" : null }, name)))),
    h("tbody", {}, rows.length
      ? rows.map((row) => h("tr", {}, row.map((cell, i) => h("td", { class: isNum(i) ? "num" : null, "data-label": header[i] }, cell))))
      : h("tr", {}, h("td", { colspan: header.length, class: "muted" }, "Nothing in this period.")))));
}

function reportNav(current) {
  return h("nav", { class: "report-nav", "aria-label": "Reports" },
    Object.entries(REPORTS).map(([kind, r]) => h("a", { href: `/reports/${kind}`, "aria-current": kind === current ? "page" : null }, r.title)));
}

export async function reportsScreen(kind) {
  const spec = REPORTS[kind];
  const params = new URLSearchParams(location.search);
  const query = {};
  for (const key of ["from", "to", "by"]) if (params.get(key)) query[key] = params.get(key);
  const report = await api(`/reports/${kind}`, { query });
  const table = spec.table(report);

  const problem = h("div");
  const search = new URLSearchParams(Object.entries(query)).toString();
  const csvPath = `/api/v1/reports/${kind}.csv${search ? `?${search}` : ""}`;
  const filename = `${kind}-${report.from ?? report.as_of}${report.to ? `-${report.to}` : ""}.csv`;
  const csvLink = h("a", { href: csvPath, class: "button", id: "download-csv", download: filename }, "Download CSV");
  csvLink.addEventListener("click", (event) => {
    event.preventDefault();
    pending(csvLink, problem, () => download(csvPath, filename));
  });

  let form = null;
  if (spec.period) {
    const from = h("input", { type: "date", id: "report-from", name: "from", value: report.from, required: true });
    const to = h("input", { type: "date", id: "report-to", name: "to", value: report.to, required: true });
    const by = spec.step ? h("select", { id: "report-by", name: "by" },
      ["month", "week"].map((v) => h("option", { value: v, selected: report.by === v }, v === "month" ? "Month" : "Week"))) : null;
    form = h("form", { class: "toolbar report-period", method: "get", action: `/reports/${kind}` },
      h("div", { class: "field" }, h("label", { for: "report-from" }, "From"), from),
      h("div", { class: "field" }, h("label", { for: "report-to" }, "To"), to),
      by ? h("div", { class: "field" }, h("label", { for: "report-by" }, "By"), by) : null,
      h("button", { type: "submit", class: "primary" }, "Show"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const next = new URLSearchParams({ from: from.value, to: to.value, ...(by ? { by: by.value } : {}) });
      history.pushState({}, "", `/reports/${kind}?${next}`);
      dispatchEvent(new PopStateEvent("popstate"));
    });
  }

  const when = report.as_of
    ? `As of ${report.as_of} (${report.time_zone})`
    : `${report.from} to ${report.to}, both included (${report.time_zone})`;
  return h("section", { class: "reports", "aria-labelledby": "report-title" },
    reportNav(kind),
    h("div", { class: "report-head" },
      h("div", {}, h("h1", { id: "report-title" }, spec.title), h("p", { class: "muted" }, spec.lead)),
      csvLink),
    form,
    problem,
    h("div", { class: "card report-charts" },
      h("p", { class: "muted report-when", id: "report-when" }, when),
      report.rows.length ? spec.charts(report) : h("p", { class: "muted" }, "Nothing to chart.")),
    h("div", { class: "card" }, dataTable(table)));
}
