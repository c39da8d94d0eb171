"""The figures of a period, set-based: one statement per kind of figure, each over the
tenant's rows of the period (``$2`` to ``$3``, instants) through an index on the instant it
reads, and for a group its agents (``$1``, null for the whole tenant). Money received in the
period is ``queries.collected``, which takes any range."""

from __future__ import annotations

import datetime as dt

import asyncpg

from domain.db import Connection
from domain.stats.queries import AGENTS, RIGHT_PARTY, TASK_SCOPE

# ``TASK_SCOPE`` numbers the group $1 and the queue $2: the period follows as $3 and $4.
_IN_PERIOD = "{column} >= $3 AND {column} < $4"


async def collected_per_hour(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    group_id: int | None,
    hours: list[dt.datetime],
) -> list[asyncpg.Record]:
    """Money received in the period per currency and hour: ``hour`` is the 1-based number
    of the hour in ``hours`` (each hour's first instant, ascending, the first at or before
    ``start``). Hours without money have no row."""
    return await conn.fetch(
        f"""SELECT currency, width_bucket(received_at, $4::timestamptz[]) AS hour,
          sum(amount) AS amount, count(*) AS count
        FROM payments
        WHERE status = 'succeeded' AND received_at >= $2 AND received_at < $3
          AND ($1::bigint IS NULL OR created_by IN ({AGENTS}))
        GROUP BY 1, 2 ORDER BY 1, 2""",
        group_id,
        start,
        end,
        hours,
    )


async def promises(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    first_day: dt.date,
    last_day: dt.date,
    group_id: int | None,
) -> list[asyncpg.Record]:
    """Promises made, due (``first_day`` to ``last_day``), broken, kept and judged in the
    period: in all (``total``) and made per agent."""
    return await conn.fetch(
        f"""SELECT GROUPING(created_by) = 1 AS total, created_by AS agent_id,
          count(*) FILTER (WHERE created_at >= $2 AND created_at < $3) AS made,
          count(*) FILTER (WHERE due_date BETWEEN $4 AND $5) AS due,
          count(*) FILTER (WHERE status = 'broken' AND resolved_at >= $2 AND resolved_at < $3)
            AS broken,
          count(*) FILTER (WHERE status = 'kept' AND resolved_at >= $2 AND resolved_at < $3)
            AS kept
        FROM promises
        WHERE ((created_at >= $2 AND created_at < $3) OR due_date BETWEEN $4 AND $5
            OR (status IN ('kept', 'broken') AND resolved_at >= $2 AND resolved_at < $3))
          AND ($1::bigint IS NULL OR created_by IN ({AGENTS}))
        GROUP BY GROUPING SETS ((), (created_by))""",
        group_id,
        start,
        end,
        first_day,
        last_day,
    )


async def calls(
    conn: Connection, start: dt.datetime, end: dt.datetime, group_id: int | None
) -> list[asyncpg.Record]:
    """Outbound calls and right-party contacts in the period, in all and per agent."""
    return await conn.fetch(
        f"""SELECT GROUPING(user_id) = 1 AS total, user_id AS agent_id,
          count(*) AS attempted,
          count(*) FILTER (WHERE disposition = ANY($4::text[])) AS right_party
        FROM interactions
        WHERE channel = 'call' AND direction = 'outbound'
          AND occurred_at >= $2 AND occurred_at < $3
          AND ($1::bigint IS NULL OR user_id IN ({AGENTS}))
        GROUP BY GROUPING SETS ((), (user_id))""",
        group_id,
        start,
        end,
        list(RIGHT_PARTY),
    )


async def completed(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    group_id: int | None,
    queue_id: int | None,
) -> list[asyncpg.Record]:
    """Work completed in the period and its average handle time (started to completed, in
    seconds), in all and per agent."""
    return await conn.fetch(
        f"""SELECT GROUPING(t.assignee_id) = 1 AS total, t.assignee_id AS agent_id,
          count(*) AS count,
          avg(extract(epoch FROM t.completed_at - t.started_at))::float8 AS handle
        FROM tasks t
        WHERE t.status = 'completed' AND {_IN_PERIOD.format(column="t.completed_at")}
          AND {TASK_SCOPE}
        GROUP BY GROUPING SETS ((), (t.assignee_id))""",
        group_id,
        queue_id,
        start,
        end,
    )


async def picked_up(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    group_id: int | None,
    queue_id: int | None,
) -> asyncpg.Record:
    """Work handed to an agent (not pulled by them) and started in the period: how many,
    and the average wait from assignment to start, in seconds."""
    return await conn.fetchrow(
        f"""SELECT count(*) AS count,
          avg(extract(epoch FROM t.started_at - t.assigned_at))::float8 AS pickup
        FROM tasks t
        WHERE t.started_at IS NOT NULL AND {_IN_PERIOD.format(column="t.started_at")}
          AND t.assigned_at IS NOT NULL AND t.assigned_by IS DISTINCT FROM 'pull'
          AND {TASK_SCOPE}""",
        group_id,
        queue_id,
        start,
        end,
    )


async def timed_out(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    group_id: int | None,
    queue_id: int | None,
) -> int:
    """Assigned work taken back in the period for not being started in time: the audit rows
    of the sweep (``task.timeout``), which keep who held the task and its queue then."""
    return await conn.fetchval(
        f"""SELECT count(*) FROM audit_log a
        LEFT JOIN tasks t ON t.id = a.entity_id
        WHERE a.action = 'task.timeout' AND {_IN_PERIOD.format(column="a.occurred_at")}
          AND ($1::bigint IS NULL OR t.group_id = $1
            OR (a.before ->> 'assignee_id')::bigint IN ({AGENTS}))
          AND ($2::bigint IS NULL OR (a.after ->> 'queue_id')::bigint = $2)""",
        group_id,
        queue_id,
        start,
        end,
    )
