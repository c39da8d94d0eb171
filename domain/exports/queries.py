"""The exports' statements: one SELECT per kind, written out by PostgreSQL as CSV (COPY).

Every cell is formatted in SQL so that the server's CSV is the file: money to its
currency's digits as a plain decimal, times in ISO 8601 UTC, dates as ISO dates, text
cells guarded against formulas (``domain.csv_cells``). Rows come in id order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from functools import cache
from typing import Any

from domain.accounts.visibility import collector_sees
from domain.csv_cells import safe_cell_sql
from domain.db import Connection
from domain.money import currencies
from domain.sql import Where


@cache
def _digits_case(currency: str) -> str:
    """SQL: the minor digits of the currency in column ``currency`` (2 for most)."""
    odd = sorted((code, digits) for code, digits in currencies().items() if digits != 2)
    whens = " ".join(f"WHEN '{code}' THEN {digits}" for code, digits in odd)
    return f"CASE {currency} {whens} ELSE 2 END"


def money(column: str, currency: str) -> str:
    return f"round({column}, {_digits_case(currency)})"


def utc(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


def text(column: str) -> str:
    return safe_cell_sql(column)


def select(columns: Sequence[tuple[str, str]], source: str, w: Where, order: str) -> str:
    """``SELECT expr AS "header", ...`` (headers are ours, never input)."""
    cells = ", ".join(f'{expr} AS "{name}"' for name, expr in columns)
    return f"SELECT {cells} FROM {source} WHERE {w.sql()} ORDER BY {order}"


def limited(sql: str, w: Where, limit: int | None) -> str:
    return sql if limit is None else f"{sql} LIMIT {w.param(limit)}"


ACCOUNTS_FROM = "accounts a JOIN debtors d ON d.id = a.debtor_id"
_ACCOUNT_FIELDS = """a.id, a.external_ref, a.debtor_id, d.first_name, d.last_name, a.creditor,
  a.currency, a.principal, a.interest, a.fees, a.due_date, a.status, a.owner_id, a.created_at,
  a.updated_at"""


def accounts_sql(
    w: Where,
    today: Any,
    buckets: Sequence[tuple[str, int, int | None]],
    limit: int | None,
    custom: Sequence[tuple[str, str, str]] = (),
) -> str:
    """The accounts ``w`` selects (``a`` the accounts, ``d`` their debtors), as the file's
    columns, then a column per custom field (``custom``: entity, key and type, in order) named as
    an import mapping names it (``custom.tier``, ``debtor.custom.score``), so that the file
    can be imported again. The rows are picked and sorted first with their days past due,
    then formatted, so that each row's lateness and currency digits are worked out once."""
    dpd = f"COALESCE(GREATEST(0, {w.param(today)}::date - a.due_date), 0)"
    customs = ", a.custom, d.custom AS debtor_custom" if custom else ""
    inner = limited(
        f"SELECT {_ACCOUNT_FIELDS}{customs}, {dpd} AS dpd, "
        f"{_digits_case('a.currency')} AS digits "
        f"FROM {ACCOUNTS_FROM} WHERE {w.sql()} "
        f"ORDER BY a.id",
        w,
        limit,
    )
    whens = " ".join(
        f"WHEN a.dpd >= {low}{'' if high is None else f' AND a.dpd <= {high}'} "
        f"THEN {w.param(name)}::text"
        for name, low, high in buckets
    )
    bucket = text(f"CASE {whens} ELSE {w.param(buckets[-1][0])}::text END") if whens else "''"
    columns = [
        ("id", "a.id"),
        ("external_ref", text("a.external_ref")),
        ("debtor_id", "a.debtor_id"),
        ("debtor_name", text("trim(a.first_name || ' ' || a.last_name)")),
        ("creditor", text("a.creditor")),
        ("currency", "a.currency"),
        ("principal", "round(a.principal, a.digits)"),
        ("interest", "round(a.interest, a.digits)"),
        ("fees", "round(a.fees, a.digits)"),
        ("balance", "round(a.principal + a.interest + a.fees, a.digits)"),
        ("due_date", "to_char(a.due_date, 'YYYY-MM-DD')"),
        ("days_past_due", "a.dpd"),
        ("bucket", bucket),
        ("status", "a.status"),
        ("owner_id", "a.owner_id"),
        ("created_at", utc("a.created_at")),
        ("updated_at", utc("a.updated_at")),
    ]
    for entity, key, kind in custom:
        # A text value as it is; a number, true/false or a list as its JSON text. Only a
        # number's minus sign is left unguarded.
        source = "a.custom" if entity == "account" else "a.debtor_custom"
        prefix = "custom." if entity == "account" else "debtor.custom."
        name = w.param(key)
        cell = f"({source} ->> {name}::text)"
        if kind == "number":
            # Guarded unless it is stored as a number (a value kept from before the field
            # was a number may be any text).
            cell = (
                f"CASE WHEN jsonb_typeof({source} -> {name}::text) = 'number' "
                f"THEN {cell} ELSE {text(cell)} END"
            )
        else:
            cell = text(cell)
        columns.append((prefix + key, cell))
    cells = ", ".join(f'{expr} AS "{name}"' for name, expr in columns)
    # A subquery with ORDER BY is not merged into the outer one: the formatting runs after.
    return f"SELECT {cells} FROM ({inner}) a"


PAYMENT_COLUMNS = [
    ("id", "p.id"),
    ("account_id", "p.account_id"),
    ("account_ref", text("a.external_ref")),
    ("amount", money("p.amount", "p.currency")),
    ("currency", "p.currency"),
    ("status", "p.status"),
    ("method", "p.method"),
    ("source", "p.source"),
    ("reference", text("p.reference")),
    ("provider", text("p.provider")),
    ("provider_ref", text("p.provider_ref")),
    ("applied_fees", money("p.applied_fees", "p.currency")),
    ("applied_interest", money("p.applied_interest", "p.currency")),
    ("applied_principal", money("p.applied_principal", "p.currency")),
    ("applied_credit", money("p.applied_credit", "p.currency")),
    ("failure_reason", text("p.failure_reason")),
    ("created_by", "p.created_by"),
    ("received_at", utc("p.received_at")),
    ("failed_at", utc("p.failed_at")),
    ("refunded_at", utc("p.refunded_at")),
    ("created_at", utc("p.created_at")),
]
PAYMENTS_FROM = "payments p JOIN accounts a ON a.id = p.account_id"

INTERACTION_COLUMNS = [
    ("id", "i.id"),
    ("account_id", "i.account_id"),
    ("account_ref", text("a.external_ref")),
    ("debtor_id", "i.debtor_id"),
    ("user_id", "i.user_id"),
    ("channel", "i.channel"),
    ("direction", "i.direction"),
    ("disposition", "i.disposition"),
    ("notes", text("i.notes")),
    ("occurred_at", utc("i.occurred_at")),
    ("created_at", utc("i.created_at")),
]
INTERACTIONS_FROM = "interactions i JOIN accounts a ON a.id = i.account_id"


def seen_by(w: Where, viewer: int | None) -> None:
    """Only the accounts ``viewer`` (a collector; None: the whole tenant) may see."""
    if viewer is not None:
        w.add(collector_sees("a", w.param(viewer)))


# Chunks of about 64 KiB, at most this many held between the COPY and the client: a slow
# client pauses the COPY (and PostgreSQL behind it) rather than growing memory.
_CHUNK_BYTES = 64 * 1024
_QUEUE_CHUNKS = 4


async def copy_csv(conn: Connection, sql: str, args: Sequence[Any]) -> AsyncIterator[bytes]:
    """The CSV (with its header) of ``sql``'s rows, as PostgreSQL writes it, chunk by chunk.

    The COPY runs in a task that hands chunks over a bounded queue; leaving the loop early
    (the client went away) cancels it, which cancels the statement."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(_QUEUE_CHUNKS)
    pending = bytearray()

    async def sink(row: bytes) -> None:
        # PostgreSQL sends a message per row: gathered into chunks of _CHUNK_BYTES, so that
        # the queue and the socket see one hand-over per chunk, not per row.
        pending.extend(row)
        if len(pending) >= _CHUNK_BYTES:
            await queue.put(bytes(pending))
            pending.clear()

    async def run() -> None:
        try:
            await conn.copy_from_query(sql, *args, output=sink, format="csv", header=True)
        except asyncio.CancelledError:
            raise  # the reader is gone: nobody to wake
        except BaseException:
            await queue.put(None)  # wake the reader, which then meets the error
            raise
        if pending:
            await queue.put(bytes(pending))
        await queue.put(None)

    copying = asyncio.create_task(run())
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
        await copying  # its error, if any
    finally:
        if not copying.done():
            copying.cancel()
            await asyncio.wait({copying})
        if not copying.cancelled():
            copying.exception()  # retrieved: raised above when the loop ended normally
