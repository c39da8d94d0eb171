from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from domain.db import Connection

COLUMNS = """id, account_id, plan_id, instalment, instalments, amount, currency, due_date, status,
  source, created_by, created_at, resolved_at"""


async def insert_plan(
    conn: Connection, tenant_id: int, rows: list[dict[str, Any]]
) -> list[asyncpg.Record]:
    """All instalments of a plan in one statement."""
    return await conn.fetch(
        f"""INSERT INTO promises (tenant_id, account_id, plan_id, instalment, instalments,
          amount, currency, due_date, source, created_by)
        SELECT $1, r.account_id, r.plan_id, r.instalment, r.instalments, r.amount, r.currency,
          r.due_date, r.source, r.created_by
        FROM unnest($2::bigint[], $3::uuid[], $4::int[], $5::int[], $6::numeric[], $7::text[],
                    $8::date[], $9::text[], $10::bigint[])
          AS r(account_id, plan_id, instalment, instalments, amount, currency, due_date, source,
               created_by)
        RETURNING {COLUMNS}""",
        tenant_id,
        [r["account_id"] for r in rows],
        [r["plan_id"] for r in rows],
        [r["instalment"] for r in rows],
        [r["instalments"] for r in rows],
        [r["amount"] for r in rows],
        [r["currency"] for r in rows],
        [r["due_date"] for r in rows],
        [r["source"] for r in rows],
        [r["created_by"] for r in rows],
    )


async def for_account(conn: Connection, account_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM promises WHERE account_id = $1 ORDER BY due_date DESC, id DESC",
        account_id,
    )


async def pending_for_account(conn: Connection, account_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM promises WHERE account_id = $1 AND status = 'pending'", account_id
    )


async def promised_unpaid(conn: Connection, account_id: int) -> Any:
    """What the account's pending promises still await: their total less what was paid since
    the first of them was made (never below zero)."""
    return await conn.fetchval(
        """WITH pending AS (
          SELECT amount, created_at FROM promises WHERE account_id = $1 AND status = 'pending'
        )
        SELECT greatest(0, coalesce((SELECT sum(amount) FROM pending), 0)
          - coalesce((SELECT sum(pay.amount) FROM payments pay
                      WHERE pay.account_id = $1 AND pay.status = 'succeeded'
                        AND pay.received_at >= (SELECT min(created_at) FROM pending)), 0))""",
        account_id,
    )


async def settle(
    conn: Connection, *, grace_days: int, time_zone: str, now: dt.datetime
) -> list[asyncpg.Record]:
    """Mark the tenant's pending promises kept or broken, all in one statement.

    An instalment is kept when the payments received on its account since the plan was made,
    up to the end of its due date plus the grace period (in the tenant's time zone), cover
    every instalment of its plan up to and including it (which may happen before it is due);
    broken when that moment has passed without them. Refunded or reversed payments do not
    count.
    """
    return await conn.fetch(
        f"""WITH candidates AS (
          SELECT p.id, p.account_id, p.created_at, p.due_date,
            (SELECT sum(q.amount) FROM promises q
             WHERE q.plan_id = p.plan_id AND q.instalment <= p.instalment) AS owed,
            ((p.due_date + $1::int + 1)::timestamp AT TIME ZONE $2::text) AS deadline
          FROM promises p
          WHERE p.status = 'pending'
        ), judged AS (
          SELECT c.id, c.deadline,
            (SELECT coalesce(sum(pay.amount), 0) FROM payments pay
             WHERE pay.account_id = c.account_id AND pay.status = 'succeeded'
               AND pay.received_at >= c.created_at AND pay.received_at < c.deadline) >= c.owed
              AS covered
          FROM candidates c
        )
        UPDATE promises p SET
          status = CASE WHEN j.covered THEN 'kept' ELSE 'broken' END,
          resolved_at = $3::timestamptz
        FROM judged j
        WHERE p.id = j.id AND (j.covered OR j.deadline <= $3)
        RETURNING {", ".join("p." + c.strip() for c in COLUMNS.split(","))}""",
        grace_days,
        time_zone,
        now,
    )


# What a promise does to its account's status.


async def mark_promised(conn: Connection, account_id: int) -> None:
    await conn.execute(
        "UPDATE accounts SET status = 'promised', version = version + 1, updated_at = now() "
        "WHERE id = $1",
        account_id,
    )


async def mark_broken(conn: Connection, account_ids: list[int]) -> None:
    """Accounts whose promise broke (unless already settled another way)."""
    await conn.execute(
        """UPDATE accounts SET status = 'promise_broken', version = version + 1, updated_at = now()
        WHERE id = ANY($1::bigint[]) AND status IN ('promised', 'active')""",
        account_ids,
    )


async def mark_kept(conn: Connection, account_ids: list[int]) -> None:
    """Accounts whose promises are all kept are active again."""
    await conn.execute(
        """UPDATE accounts a SET status = 'active', version = version + 1, updated_at = now()
        WHERE a.id = ANY($1::bigint[]) AND a.status = 'promised'
          AND NOT EXISTS (
            SELECT 1 FROM promises p WHERE p.account_id = a.id AND p.status = 'pending')""",
        account_ids,
    )
