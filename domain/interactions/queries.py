from __future__ import annotations

import datetime as dt

import asyncpg

from domain.db import Connection

COLUMNS = """id, account_id, debtor_id, user_id, channel, direction, disposition, notes,
  occurred_at, created_at"""


async def insert(
    conn: Connection,
    *,
    tenant_id: int,
    account_id: int,
    debtor_id: int,
    user_id: int | None,
    channel: str,
    direction: str,
    disposition: str | None,
    notes: str,
    occurred_at: dt.datetime,
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO interactions
          (tenant_id, account_id, debtor_id, user_id, channel, direction, disposition, notes,
           occurred_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}""",
        tenant_id,
        account_id,
        debtor_id,
        user_id,
        channel,
        direction,
        disposition,
        notes,
        occurred_at,
    )


async def for_account(
    conn: Connection, account_id: int, *, before: tuple[dt.datetime, int] | None, limit: int
) -> list[asyncpg.Record]:
    """Newest first, keyed on (occurred_at, id) so that back-dated entries page correctly."""
    if before is None:
        return await conn.fetch(
            f"""SELECT {COLUMNS} FROM interactions WHERE account_id = $1
            ORDER BY occurred_at DESC, id DESC LIMIT $2""",
            account_id,
            limit,
        )
    return await conn.fetch(
        f"""SELECT {COLUMNS} FROM interactions
        WHERE account_id = $1 AND (occurred_at, id) < ($2, $3)
        ORDER BY occurred_at DESC, id DESC LIMIT $4""",
        account_id,
        before[0],
        before[1],
        limit,
    )
