"""What the wallboard shows besides the day's totals: money per hour of the day against the
same hours a week ago, and the latest payments, promises and broken promises.

Both read the tenant's rows through the same indexes as the totals (payments by status and
time received, promises by time made and time judged); ``$1`` is the group (null for the
whole tenant), and only money taken by the group's agents counts for a group.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from domain.db import Connection
from domain.stats.queries import AGENTS

FEED_SIZE = 20


async def by_hour(
    conn: Connection,
    group_id: int | None,
    today: tuple[dt.datetime, dt.datetime],
    last_week: tuple[dt.datetime, dt.datetime],
    time_zone: str,
) -> list[asyncpg.Record]:
    """Money received per local hour of the day and currency, today and a week ago."""
    return await conn.fetch(
        f"""SELECT received_at >= $2 AS today,
          extract(hour FROM received_at AT TIME ZONE $6)::int AS hour,
          currency, sum(amount) AS amount
        FROM payments
        WHERE status = 'succeeded'
          AND ((received_at >= $2 AND received_at < $3)
            OR (received_at >= $4 AND received_at < $5))
          AND ($1::bigint IS NULL OR created_by IN ({AGENTS}))
        GROUP BY 1, 2, 3""",
        group_id,
        *today,
        *last_week,
        time_zone,
    )


async def feed(
    conn: Connection, group_id: int | None, start: dt.datetime, end: dt.datetime
) -> list[asyncpg.Record]:
    """The day's latest payments received, promises made (a plan of instalments is one
    entry, for its whole amount) and instalments broken, newest first."""
    return await conn.fetch(
        f"""WITH latest AS (
          (SELECT 'payment.received' AS type, received_at AS at, account_id,
             created_by AS agent_id, currency, amount
           FROM payments
           WHERE status = 'succeeded' AND received_at >= $2 AND received_at < $3
             AND ($1::bigint IS NULL OR created_by IN ({AGENTS}))
           ORDER BY received_at DESC LIMIT $4)
          UNION ALL
          (SELECT 'promise.made', min(created_at), account_id, created_by, currency,
             sum(amount)
           FROM promises
           WHERE created_at >= $2 AND created_at < $3
             AND ($1::bigint IS NULL OR created_by IN ({AGENTS}))
           GROUP BY coalesce(plan_id::text, id::text), account_id, created_by, currency
           ORDER BY 2 DESC LIMIT $4)
          UNION ALL
          (SELECT 'promise.broken', resolved_at, account_id, created_by, currency, amount
           FROM promises
           WHERE status = 'broken' AND resolved_at >= $2 AND resolved_at < $3
             AND ($1::bigint IS NULL OR created_by IN ({AGENTS}))
           ORDER BY resolved_at DESC LIMIT $4)
        )
        SELECT l.type, l.at, l.account_id, a.external_ref AS account_ref, l.agent_id,
          u.name AS agent_name, l.currency, l.amount
        FROM latest l
        JOIN accounts a ON a.id = l.account_id
        LEFT JOIN users u ON u.id = l.agent_id
        ORDER BY l.at DESC, l.type, l.account_id
        LIMIT $4""",
        group_id,
        start,
        end,
        FEED_SIZE,
    )
