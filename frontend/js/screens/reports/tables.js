// Each report as the table the screen shows: a header and rows of text, cell for cell the
// CSV the server writes (domain/reports/tables.py; a browser test holds them equal, but for
// the apostrophe the CSV puts before a name a spreadsheet would take for a formula).
const percent = (rate) => (rate === null || rate === undefined ? "" : (rate * 100).toFixed(2));
const days = (low, high) => (high === null ? `${low}+` : `${low}-${high}`);

// Zero in a currency's own digits, as the server writes it ("0.00", "0" for JPY).
function zero(currency) {
  const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  return digits ? `0.${"0".repeat(digits)}` : "0";
}

export function agingTable(report) {
  return {
    header: ["Bucket", "Days past due", "Currency", "Accounts", "Balance"],
    numeric: [3, 4],
    rows: report.rows.map((r) => [r.bucket, days(r.min_days, r.max_days), r.currency, String(r.accounts), r.balance]),
  };
}

export function liquidationTable(report) {
  return {
    header: ["Month placed", "Currency", "Accounts", "Placed", "Collected", "Liquidation %"],
    numeric: [2, 3, 4, 5],
    rows: report.rows.map((r) => [r.month, r.currency, String(r.accounts), r.placed, r.collected, percent(r.rate)]),
  };
}

export function promiseTable(report) {
  return {
    header: [report.by === "month" ? "Month" : "Week of", "Made", "Kept", "Broken", "Pending", "Cancelled", "Kept %"],
    numeric: [1, 2, 3, 4, 5, 6],
    rows: report.rows.map((r) => [r.period, ...[r.made, r.kept, r.broken, r.pending, r.cancelled].map(String), percent(r.kept_rate)]),
  };
}

export function collectorTable(report) {
  const currencies = [...new Set(report.rows.flatMap((r) => r.collected.map((m) => m.currency)))].sort();
  const header = ["Collector", "Calls", "Right-party contacts", "Promises", "Tasks completed", "Avg handle (s)"];
  for (const c of currencies) header.push(`Collected ${c}`, `Payments ${c}`);
  const rows = report.rows.map((r) => {
    const row = [r.name, String(r.calls), String(r.right_party), String(r.promises), String(r.tasks_completed),
      r.avg_handle_seconds === null ? "" : String(r.avg_handle_seconds)];
    for (const c of currencies) {
      const m = r.collected.find((x) => x.currency === c);
      row.push(m ? m.amount : zero(c), m ? String(m.count) : "0");
    }
    return row;
  });
  return { header, numeric: header.map((_, i) => i).slice(1), rows };
}
