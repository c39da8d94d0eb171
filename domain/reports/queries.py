"""The reports' statements: each one pass over the tenant's rows of the period, grouped in
the database (row-level security keeps them to the tenant). Instants arrive as the tenant's
days in UTC (``[start, end)``); months and weeks are cut in the tenant's time zone."""

from __future__ import annotations

import datetime as dt

import asyncpg

from domain.db import Connection


async def aging(conn: Connection, today: dt.date, thresholds: list[int]) -> list[asyncpg.Record]:
    """Open accounts per currency and bucket: ``bucket`` is how many of ``thresholds`` (the
    buckets' first days past due after the first, ascending) the account has reached. An
    account without a due date, or not yet due, is 0 days past due."""
    return await conn.fetch(
        """SELECT currency,
          width_bucket(greatest($1::date - due_date, 0), $2::int[]) AS bucket,
          count(*) AS accounts, sum(principal + interest + fees) AS balance
        FROM accounts
        WHERE status IN ('active', 'promised', 'promise_broken', 'disputed')
        GROUP BY 1, 2""",
        today,
        thresholds,
    )


async def bucket_counts(
    conn: Connection, today: dt.date, thresholds: list[int]
) -> list[asyncpg.Record]:
    """Open accounts per bucket, every currency together, as ``aging`` cuts them (read from
    the aging index alone)."""
    return await conn.fetch(
        """SELECT width_bucket(greatest($1::date - due_date, 0), $2::int[]) AS bucket,
          count(*) AS accounts
        FROM accounts
        WHERE status IN ('active', 'promised', 'promise_broken', 'disputed')
        GROUP BY 1""",
        today,
        thresholds,
    )


async def placed(
    conn: Connection, start: dt.datetime, end: dt.datetime, zone: str
) -> list[asyncpg.Record]:
    """Accounts placed in ``[start, end)`` per month of placement and currency: how many,
    and what they were placed for."""
    return await conn.fetch(
        """SELECT date_trunc('month', created_at AT TIME ZONE $3)::date AS month, currency,
          count(*) AS accounts, sum(placed_balance) AS placed
        FROM accounts
        WHERE created_at >= $1 AND created_at < $2
        GROUP BY 1, 2""",
        start,
        end,
        zone,
    )


async def collected_since_placement(
    conn: Connection, start: dt.datetime, end: dt.datetime, zone: str
) -> list[asyncpg.Record]:
    """What succeeded payments have brought in to date on the accounts placed in
    ``[start, end)``, per month of placement and currency (a payment carries its account's
    placement, ``placed_at``, and is always in its account's currency)."""
    return await conn.fetch(
        """SELECT date_trunc('month', placed_at AT TIME ZONE $3)::date AS month, currency,
          sum(amount) AS collected
        FROM payments
        WHERE status = 'succeeded' AND placed_at >= $1 AND placed_at < $2
        GROUP BY 1, 2""",
        start,
        end,
        zone,
    )


async def promises(
    conn: Connection, start: dt.datetime, end: dt.datetime, zone: str, step: str
) -> list[asyncpg.Record]:
    """Promises made in ``[start, end)`` per month or week (from Monday) of their making,
    by what became of them."""
    return await conn.fetch(
        """SELECT date_trunc($4, created_at AT TIME ZONE $3)::date AS period,
          count(*) AS made,
          count(*) FILTER (WHERE status = 'kept') AS kept,
          count(*) FILTER (WHERE status = 'broken') AS broken,
          count(*) FILTER (WHERE status = 'pending') AS pending,
          count(*) FILTER (WHERE status = 'cancelled') AS cancelled
        FROM promises
        WHERE created_at >= $1 AND created_at < $2
        GROUP BY 1""",
        start,
        end,
        zone,
        step,
    )


async def collectors(
    conn: Connection, start: dt.datetime, end: dt.datetime, right_party: list[str]
) -> list[asyncpg.Record]:
    """Every collector with their calls, right-party contacts, promises taken and work
    completed in ``[start, end)``, and the mean time from starting to completing it."""
    return await conn.fetch(
        """WITH calls AS (
          SELECT user_id, count(*) AS calls,
            count(*) FILTER (WHERE disposition = ANY($3::text[])) AS right_party
          FROM interactions
          WHERE channel = 'call' AND direction = 'outbound'
            AND occurred_at >= $1 AND occurred_at < $2
          GROUP BY user_id
        ), taken AS (
          SELECT created_by, count(*) AS promises FROM promises
          WHERE created_at >= $1 AND created_at < $2
          GROUP BY created_by
        ), done AS (
          SELECT assignee_id, count(*) AS completed,
            round(avg(extract(epoch FROM completed_at - started_at))) AS handle
          FROM tasks
          WHERE status = 'completed' AND completed_at >= $1 AND completed_at < $2
          GROUP BY assignee_id
        )
        SELECT u.id, u.name, coalesce(c.calls, 0) AS calls,
          coalesce(c.right_party, 0) AS right_party, coalesce(t.promises, 0) AS promises,
          coalesce(d.completed, 0) AS completed, d.handle::bigint AS handle
        FROM users u
        LEFT JOIN calls c ON c.user_id = u.id
        LEFT JOIN taken t ON t.created_by = u.id
        LEFT JOIN done d ON d.assignee_id = u.id
        WHERE u.role = 'collector'
        ORDER BY u.name, u.id""",
        start,
        end,
        right_party,
    )


async def collected(conn: Connection, start: dt.datetime, end: dt.datetime) -> list[asyncpg.Record]:
    """Succeeded payments received in ``[start, end)`` per user who took them and currency."""
    return await conn.fetch(
        """SELECT created_by AS user_id, currency, sum(amount) AS amount, count(*) AS count
        FROM payments
        WHERE status = 'succeeded' AND received_at >= $1 AND received_at < $2
          AND created_by IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 2""",
        start,
        end,
    )
