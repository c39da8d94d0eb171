"""Each report as the table its screen shows and its CSV holds: a header and rows of text.

The staff app builds the same cells from the JSON (frontend/js/screens/reports/tables.js);
a browser test holds the two equal. Amounts are plain decimals in their currency's digits,
rates are percentages to two places, durations whole seconds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal

from domain.csv_cells import safe_cell
from domain.money import in_currency
from domain.reports.schemas import Aging, CollectorPerformance, Liquidation, PromiseKept

ZERO = Decimal(0)
Table = tuple[list[str], list[list[str]]]


def text(value: str) -> str:
    """A text cell made safe to open in a spreadsheet (``domain.csv_cells``)."""
    return safe_cell(value)


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.2f}"


def days(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


def aging_table(report: Aging) -> Table:
    header = ["Bucket", "Days past due", "Currency", "Accounts", "Balance"]
    rows = [
        [r.bucket, days(r.min_days, r.max_days), r.currency, str(r.accounts), str(r.balance)]
        for r in report.rows
    ]
    return header, rows


def liquidation_table(report: Liquidation) -> Table:
    header = ["Month placed", "Currency", "Accounts", "Placed", "Collected", "Liquidation %"]
    rows = [
        [
            r.month,
            r.currency,
            str(r.accounts),
            str(r.placed),
            str(r.collected),
            percent(r.rate),
        ]
        for r in report.rows
    ]
    return header, rows


def promise_table(report: PromiseKept) -> Table:
    first = "Month" if report.by == "month" else "Week of"
    header = [first, "Made", "Kept", "Broken", "Pending", "Cancelled", "Kept %"]
    rows = [
        [
            r.period,
            str(r.made),
            str(r.kept),
            str(r.broken),
            str(r.pending),
            str(r.cancelled),
            percent(r.kept_rate),
        ]
        for r in report.rows
    ]
    return header, rows


def collector_table(report: CollectorPerformance) -> Table:
    currencies = sorted({m.currency for r in report.rows for m in r.collected})
    header = [
        "Collector",
        "Calls",
        "Right-party contacts",
        "Promises",
        "Tasks completed",
        "Avg handle (s)",
    ]
    for currency in currencies:
        header += [f"Collected {currency}", f"Payments {currency}"]
    rows = []
    for r in report.rows:
        money = {m.currency: m for m in r.collected}
        row = [
            r.name,
            str(r.calls),
            str(r.right_party),
            str(r.promises),
            str(r.tasks_completed),
            "" if r.avg_handle_seconds is None else str(r.avg_handle_seconds),
        ]
        for currency in currencies:
            m = money.get(currency)
            row += [str(m.amount), str(m.count)] if m else [str(in_currency(ZERO, currency)), "0"]
        rows.append(row)
    return header, rows


# Columns of free text (names the tenant chose), by table: the ones the guard applies to.
TEXT_COLUMNS = {"Bucket", "Collector"}


def to_csv(table: Table) -> str:
    """RFC 4180 text (CRLF line ends, quotes where needed), text cells guarded."""
    header, rows = table
    guarded = [i for i, name in enumerate(header) if name in TEXT_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(_guard(row, guarded))
    return out.getvalue()


def _guard(row: Sequence[str], columns: list[int]) -> list[str]:
    return [text(cell) if i in columns else cell for i, cell in enumerate(row)]
