"""Placement files for import tests: good rows, and bad rows of known kinds at known rows."""

from __future__ import annotations

import asyncio
import contextlib
import csv
from pathlib import Path
from typing import Any

from domain.imports import queries, runner
from domain.imports.mapping import Mapping

HEADER = ["Account", "Debtor", "First", "Last", "Email", "Currency", "Balance", "Fees", "Due"]
MAPPING = Mapping(
    columns={
        "account_ref": "Account",
        "debtor_ref": "Debtor",
        "first_name": "First",
        "last_name": "Last",
        "email": "Email",
        "currency": "Currency",
        "principal": "Balance",
        "fees": "Fees",
        "due_date": "Due",
    }
)


def good_row(i: int, prefix: str = "A") -> list[str]:
    return [
        f"{prefix}-{i:07d}",
        f"D-{i // 2:07d}",  # two accounts per debtor
        "Ann",
        f"Lee{i}",
        f"ann{i // 2}@example.com",
        "USD",
        f"{100 + i % 900}.{i % 100:02d}",
        "5.00",
        "2026-06-30",
    ]


# (what to break, the column named in the error, a word of the reason, how many)
BAD_KINDS: list[tuple[str, str, str, int]] = [
    ("currency", "Currency", "ISO 4217", 5),
    ("comma_money", "Balance", "plain decimal", 5),
    ("jpy_decimals", "Balance", "more decimals than JPY", 3),
    ("negative", "Fees", "must not be negative", 3),
    ("date", "Due", "not a date", 5),
    ("no_account", "Account", "required", 3),
    ("no_debtor", "Debtor", "required", 2),
    ("email", "Email", "", 3),
    ("short_row", "", "fields where the header has", 3),
    ("duplicate", "Account", "more than once", 5),
]


def _break(row: list[str], kind: str, i: int) -> list[str]:
    row = list(row)
    if kind == "currency":
        row[5] = "XYZ"
    elif kind == "comma_money":
        row[6] = "1,200.50"
    elif kind == "jpy_decimals":
        row[5], row[6] = "JPY", "1500.5"
    elif kind == "negative":
        row[7] = "-5"
    elif kind == "date":
        row[8] = "30/06/2026"
    elif kind == "no_account":
        row[0] = ""
    elif kind == "no_debtor":
        row[1] = " "
    elif kind == "email":
        row[4] = "not-an-address"
    elif kind == "short_row":
        row = row[:5]
    elif kind == "duplicate":
        row[0] = f"A-{i - 50:07d}"
    return row


def placement_file(path: Path, rows: int = 10_000) -> list[tuple[int, str, str]]:
    """Write ``rows`` data rows with the bad ones of ``BAD_KINDS`` spread through them;
    returns ``(row number, column, reason word)`` of each bad row, in row order."""
    kinds = [k for kind in BAD_KINDS for k in [kind] * kind[3]]
    step = rows // (len(kinds) + 1)
    bad_at = {100 + step * n: kind for n, kind in enumerate(kinds)}
    expected: list[tuple[int, str, str]] = []
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            number = i + 2
            row = good_row(i)
            if i in bad_at:
                kind, column, word, _ = bad_at[i]
                row = _break(row, kind, i)
                expected.append((number, column, word))
            writer.writerow(row)
    return expected


def write_rows(path: Path, rows: list[list[Any]], header: list[str] = HEADER, **kw: Any) -> Path:
    with path.open("w", newline="", encoding=kw.pop("encoding", "utf-8")) as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


async def finish(db: Any, tenant_id: int, import_id: int) -> None:
    """Run an uploaded import to its end here, or wait for the worker already running it (an
    upload hands the import to the workers, and a session's tests may have one running)."""
    with contextlib.suppress(runner.ImportMoved):
        await runner.run_import(db, tenant_id, import_id)
    for _ in range(600):
        async with db.tenant(tenant_id) as conn:
            row = await queries.get_import(conn, import_id)
        if row["status"] in ("done", "failed"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"import {import_id} did not finish")
