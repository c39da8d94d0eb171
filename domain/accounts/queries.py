from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from domain.accounts.visibility import collector_sees
from domain.db import Connection
from domain.search import match_text
from domain.sql import Where, assignments, placeholders

COLUMNS = """a.id, a.external_ref, a.debtor_id,
  trim(d.first_name || ' ' || d.last_name) AS debtor_name, a.creditor, a.currency,
  a.principal, a.interest, a.fees, a.due_date, a.status, a.owner_id, a.custom, a.version,
  a.created_at, a.updated_at"""

_FROM = "accounts a JOIN debtors d ON d.id = a.debtor_id"


_GET = f"SELECT {COLUMNS} FROM {_FROM} WHERE a.id = $1"
_GET_SEEN = f"{_GET} AND {collector_sees('a', '$2')}"


async def get(
    conn: Connection, account_id: int, *, viewer: int | None = None, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE OF a" if for_update else ""
    if viewer is None:
        return await conn.fetchrow(_GET + lock, account_id)
    return await conn.fetchrow(_GET_SEEN + lock, account_id, viewer)


async def get_many(conn: Connection, account_ids: list[int]) -> list[asyncpg.Record]:
    """The accounts of ``account_ids`` (as ``get`` reads one), in id order."""
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM {_FROM} WHERE a.id = ANY($1) ORDER BY a.id", account_ids
    )


async def ref_taken(conn: Connection, ref: str, *, other_than: int | None = None) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM accounts WHERE external_ref = $1 AND id IS DISTINCT FROM $2",
            ref,
            other_than,
        )
    )


async def insert(conn: Connection, tenant_id: int, values: dict[str, Any]) -> int:
    columns = ["tenant_id", *values]
    return await conn.fetchval(
        f"INSERT INTO accounts ({', '.join(columns)}) VALUES ({placeholders(len(columns))}) "
        f"RETURNING id",
        tenant_id,
        *values.values(),
    )


async def update(conn: Connection, account_id: int, changes: dict[str, Any]) -> None:
    await conn.execute(
        f"UPDATE accounts SET {assignments(changes)}, version = version + 1, updated_at = now() "
        f"WHERE id = $1",
        account_id,
        *changes.values(),
    )


def filter_where(
    w: Where,
    *,
    viewer: int | None,
    statuses: list[str] | None,
    due_on_or_before: dt.date | None,
    due_on_or_after: dt.date | None,
    owner_id: int | None,
    unowned: bool,
    currency: str | None,
    debtor_id: int | None,
    text: str | None,
    custom: list[tuple[str, dict[str, Any]]] | None = None,
) -> Where:
    """Add to ``w`` the conditions of an account list's filters (``a`` the accounts, ``d``
    their debtors): the list and the export select alike. Days past due arrive as due-date
    bounds, which the (tenant_id, due_date) index serves; an account without a due date is
    0 days past due."""
    if viewer is not None:
        w.add(collector_sees("a", w.param(viewer)))
    if statuses:
        w.add(f"a.status = ANY({w.param(statuses)}::text[])")
    if due_on_or_before is not None:
        w.add(f"a.due_date <= {w.param(due_on_or_before)}")
    if due_on_or_after is not None:
        w.add(f"(a.due_date IS NULL OR a.due_date >= {w.param(due_on_or_after)})")
    if owner_id is not None:
        w.add(f"a.owner_id = {w.param(owner_id)}")
    if unowned:
        w.add("a.owner_id IS NULL")
    if currency is not None:
        w.add(f"a.currency = {w.param(currency)}")
    if debtor_id is not None:
        w.add(f"a.debtor_id = {w.param(debtor_id)}")
    for column, holds in custom or ():
        # As text, cast here: the export's COPY inlines its parameters as text literals.
        w.add(f"{column} @> ({w.param(msgspec.json.encode(holds).decode())}::text)::jsonb")
    match_text(w, text, vector="d.search", reference="a.external_ref", debtor="d")
    return w


async def search(
    conn: Connection, *, after_id: int | None, limit: int, **filters: Any
) -> list[asyncpg.Record]:
    """Accounts newest first, under ``filter_where``'s filters."""
    w = filter_where(Where(), **filters)
    if after_id is not None:
        w.add(f"a.id < {w.param(after_id)}")
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM {_FROM} WHERE {w.sql()} ORDER BY a.id DESC LIMIT {w.param(limit)}",
        *w.args,
    )


async def dispute(conn: Connection, account_id: int) -> asyncpg.Record | None:
    """The account's open dispute: when, why and in whose words (None while there is none)."""
    return await conn.fetchrow(
        "SELECT disputed_at, dispute_reason, dispute_details FROM accounts "
        "WHERE id = $1 AND status = 'disputed' AND disputed_at IS NOT NULL",
        account_id,
    )
