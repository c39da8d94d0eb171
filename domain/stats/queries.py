"""The wallboard's figures, set-based: one statement per kind of figure, each over the
tenant's rows of today (``$1`` to ``$2``, the tenant's day in UTC) and, for a group, its
agents (``$3``, null for the whole tenant)."""

from __future__ import annotations

import datetime as dt

import asyncpg

from domain.db import Connection

# A call in which the debtor was reached: what the disposition says happened.
RIGHT_PARTY = ("right_party_contact", "promise", "dispute", "refusal", "callback_requested")

# The agents counted: every collector of the tenant, or of one group.
AGENTS = "SELECT id FROM users WHERE role = 'collector' AND ($1::bigint IS NULL OR group_id = $1)"


async def agents(conn: Connection, group_id: int | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, name, group_id, status, status_changed_at, capacity FROM users
        WHERE role = 'collector' AND ($1::bigint IS NULL OR group_id = $1) ORDER BY name, id""",
        group_id,
    )


async def collected(
    conn: Connection, start: dt.datetime, end: dt.datetime, group_id: int | None
) -> list[asyncpg.Record]:
    """Money received in the day, per currency, and per agent who took it."""
    return await conn.fetch(
        f"""SELECT GROUPING(created_by) = 1 AS total, created_by AS agent_id, currency,
          sum(amount) AS amount, count(*) AS count
        FROM payments
        WHERE status = 'succeeded' AND received_at >= $2 AND received_at < $3
          AND ($1::bigint IS NULL OR created_by IN ({AGENTS}))
        GROUP BY GROUPING SETS ((currency), (created_by, currency))
        ORDER BY currency, created_by NULLS FIRST""",
        group_id,
        start,
        end,
    )


async def promises(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    today: dt.date,
    week_ago: dt.datetime,
    group_id: int | None,
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""SELECT
          count(*) FILTER (WHERE created_at >= $2 AND created_at < $3) AS made_today,
          count(*) FILTER (WHERE due_date = $4) AS due_today,
          count(*) FILTER (WHERE status = 'broken' AND resolved_at >= $2 AND resolved_at < $3)
            AS broken_today,
          count(*) FILTER (WHERE status = 'kept' AND resolved_at >= $5 AND resolved_at < $3)
            AS kept_7d,
          count(*) FILTER (WHERE status IN ('kept', 'broken') AND resolved_at >= $5
            AND resolved_at < $3) AS judged_7d
        FROM promises
        WHERE (created_at >= $2 OR due_date = $4 OR resolved_at >= $5)
          AND ($1::bigint IS NULL OR created_by IN ({AGENTS}))""",
        group_id,
        start,
        end,
        today,
        week_ago,
    )


async def calls(
    conn: Connection, start: dt.datetime, end: dt.datetime, group_id: int | None
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""SELECT count(*) AS attempted,
          count(*) FILTER (WHERE disposition = ANY($4::text[])) AS right_party
        FROM interactions
        WHERE channel = 'call' AND direction = 'outbound'
          AND occurred_at >= $2 AND occurred_at < $3
          AND ($1::bigint IS NULL OR user_id IN ({AGENTS}))""",
        group_id,
        start,
        end,
        list(RIGHT_PARTY),
    )


TASK_SCOPE = f"""($1::bigint IS NULL OR t.group_id = $1 OR t.assignee_id IN ({AGENTS}))
  AND ($2::bigint IS NULL OR t.queue_id = $2)"""


async def open_tasks(
    conn: Connection, group_id: int | None, queue_id: int | None, high: int, low: int
) -> list[asyncpg.Record]:
    """Open work by status and urgency (``high`` and up, below ``low``, between)."""
    return await conn.fetch(
        f"""SELECT t.status,
          CASE WHEN t.priority >= $3 THEN 'high' WHEN t.priority < $4 THEN 'low'
            ELSE 'normal' END AS urgency,
          count(*) AS count
        FROM tasks t
        WHERE t.status IN ('open', 'assigned', 'in_progress') AND {TASK_SCOPE}
        GROUP BY 1, 2""",
        group_id,
        queue_id,
        high,
        low,
    )


async def completed(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    group_id: int | None,
    queue_id: int | None,
) -> list[asyncpg.Record]:
    """Work completed in the day, in all and per agent."""
    return await conn.fetch(
        f"""SELECT GROUPING(t.assignee_id) = 1 AS total, t.assignee_id AS agent_id,
          count(*) AS count
        FROM tasks t
        WHERE t.status = 'completed' AND t.completed_at >= $3 AND t.completed_at < $4
          AND {TASK_SCOPE}
        GROUP BY GROUPING SETS ((), (t.assignee_id))""",
        group_id,
        queue_id,
        start,
        end,
    )


async def held(conn: Connection, group_id: int | None) -> list[asyncpg.Record]:
    """Each agent's held work: how much, and the task under way (the latest started)."""
    return await conn.fetch(
        f"""SELECT h.agent_id, h.open_tasks, c.current_task_id
        FROM (
          SELECT assignee_id AS agent_id, count(*) AS open_tasks FROM tasks
          WHERE status IN ('assigned', 'in_progress') AND assignee_id IS NOT NULL
            AND ($1::bigint IS NULL OR assignee_id IN ({AGENTS}))
          GROUP BY assignee_id
        ) h
        LEFT JOIN (
          SELECT DISTINCT ON (assignee_id) assignee_id, id AS current_task_id FROM tasks
          WHERE status = 'in_progress' AND assignee_id IS NOT NULL
          ORDER BY assignee_id, started_at DESC NULLS LAST, id DESC
        ) c ON c.assignee_id = h.agent_id""",
        group_id,
    )


async def queues(
    conn: Connection, group_id: int | None, queue_id: int | None, now: dt.datetime
) -> list[asyncpg.Record]:
    """Per queue (and for open work in none): what waits unassigned, and how long the
    oldest has waited, in seconds. One pass over the waiting work."""
    return await conn.fetch(
        """WITH waiting AS (
          SELECT queue_id, count(*) AS depth, min(created_at) AS oldest FROM tasks
          WHERE status = 'open' AND ($2::bigint IS NULL OR queue_id = $2)
            AND ($1::bigint IS NULL OR queue_id IS NOT NULL OR group_id = $1)
          GROUP BY queue_id
        )
        SELECT q.id, q.name, coalesce(w.depth, 0) AS depth,
          floor(extract(epoch FROM $3 - w.oldest))::bigint AS oldest, w.oldest AS oldest_since
        FROM (
          SELECT id, name FROM task_queues
          WHERE ($1::bigint IS NULL OR group_id = $1) AND ($2::bigint IS NULL OR id = $2)
          UNION ALL
          SELECT NULL, '' WHERE $2::bigint IS NULL
        ) q
        LEFT JOIN waiting w ON w.queue_id IS NOT DISTINCT FROM q.id
        ORDER BY q.id IS NULL, q.name, q.id""",
        group_id,
        queue_id,
        now,
    )
