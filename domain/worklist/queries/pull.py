"""Pulling the next task: the agent and their queues in one round trip, the waiting
candidates with each call's contact state, taking one, and holding back calls that may not
be made yet."""

from __future__ import annotations

import datetime as dt

import asyncpg

from domain.compliance.queries import state_of
from domain.db import Connection
from domain.worklist.queries.assignment import AGENT_LOCK
from domain.worklist.queries.tasks import TASK_COLUMNS, TASK_JOINS


async def lock_agent(conn: Connection, user_id: int) -> list[asyncpg.Record]:
    """The agent, locked (``AGENT_LOCK``), with their tenant and each queue they may pull
    from (one row per queue; one row with no queue when there is none), in one round trip."""
    return await conn.fetch(
        """SELECT me.id, me.name, me.status, me.capacity, me.group_id, me.role, me.active,
          tn.id AS tenant_id, tn.slug, tn.name AS tenant_name, tn.time_zone, tn.settings,
          tn.created_at AS tenant_created_at, tn.version AS tenant_version,
          q.id AS queue_id, q.name AS queue_name, q.age_boost_minutes
        FROM (SELECT pg_advisory_xact_lock($2, $1::int)) AS locked, users me
        JOIN tenants tn ON tn.id = me.tenant_id
        LEFT JOIN task_queues q ON q.group_id = me.group_id OR me.id = ANY(q.agent_ids)
          OR (q.group_id IS NULL AND cardinality(q.agent_ids) = 0)
        WHERE me.id = $1
        ORDER BY q.id""",
        user_id,
        AGENT_LOCK,
    )


async def under_way(conn: Connection, tenant_id: int, agent_id: int) -> asyncpg.Record | None:
    """The task the agent started last and has not finished, as shown (None when none)."""
    return await conn.fetchrow(
        f"""SELECT {TASK_COLUMNS} FROM tasks t{TASK_JOINS}
        WHERE t.tenant_id = $1 AND t.assignee_id = $2 AND t.status = 'in_progress'
        ORDER BY t.started_at DESC NULLS LAST, t.id DESC
        LIMIT 1""",
        tenant_id,
        agent_id,
    )


async def take(
    conn: Connection, task_id: int, agent_id: int, capacity: int, reason: str, at: dt.datetime
) -> asyncpg.Record | None:
    """The agent pulled the task: it is theirs and under way, unless that would take them
    past their capacity (None then). Returns the task as shown."""
    return await conn.fetchrow(
        f"""WITH taken AS (
          UPDATE tasks SET status = 'in_progress', assignee_id = $2, assigned_at = $5,
            started_at = $5, assigned_by = 'pull', assignment_reason = $4, not_before = NULL,
            updated_at = $5
          WHERE id = $1 AND status = 'open'
            AND (SELECT count(*) FROM tasks h WHERE h.assignee_id = $2
                 AND h.status IN ('assigned', 'in_progress')) < $3
          RETURNING *
        )
        SELECT {TASK_COLUMNS} FROM taken t{TASK_JOINS}""",
        task_id,
        agent_id,
        capacity,
        reason,
        at,
    )


# Each eligible queue's most urgent waiting work, read in order from its index, then merged.
_CANDIDATES = """SELECT c.* FROM unnest($2::bigint[]) AS q(id) CROSS JOIN LATERAL (
  SELECT t.id, t.type, t.account_id, t.queue_id, t.priority, t.created_at, t.priority AS rank
  FROM tasks t
  WHERE t.tenant_id = $1 AND t.queue_id = q.id AND t.status = 'open'
    AND t.not_before IS NULL
  ORDER BY t.priority DESC, t.created_at, t.id
  LIMIT $4
  FOR UPDATE OF t SKIP LOCKED
) c
ORDER BY c.rank DESC, c.created_at, c.id
LIMIT $4"""

# The common case, one eligible queue: straight from its index.
_CANDIDATES_ONE = """SELECT t.id, t.type, t.account_id, t.queue_id, t.priority, t.created_at,
  t.priority AS rank
FROM tasks t
WHERE t.tenant_id = $1 AND t.queue_id = ($2::bigint[])[1] AND t.status = 'open'
  AND t.not_before IS NULL
ORDER BY t.priority DESC, t.created_at, t.id
LIMIT $4
FOR UPDATE OF t SKIP LOCKED"""

# With an age boost the order is an expression of the clock, so every waiting task is ranked.
_CANDIDATES_BOOSTED = """SELECT t.id, t.type, t.account_id, t.queue_id, t.priority, t.created_at,
  t.priority + COALESCE(
    floor(extract(epoch FROM $3 - t.created_at) / 60 / q.age_boost_minutes), 0) AS rank
FROM tasks t JOIN task_queues q ON q.id = t.queue_id
WHERE t.tenant_id = $1 AND t.status = 'open' AND t.queue_id = ANY($2::bigint[])
  AND t.not_before IS NULL
ORDER BY rank DESC, t.created_at, t.id
LIMIT $4
FOR UPDATE OF t SKIP LOCKED"""


def _with_contact(candidates: str) -> str:
    """Candidates, and for each call among them the debtor's contact state (so that "may
    we call now?" needs no further round trip)."""
    state = state_of("c.account_id", "$5", "$3", "$6")
    return f"""SELECT c.*, s.* FROM ({candidates}) c
    LEFT JOIN LATERAL (SELECT * FROM ({state}) s WHERE c.type = 'call') s ON true
    ORDER BY c.rank DESC, c.created_at, c.id"""


_PULL = {
    "one": _with_contact(_CANDIDATES_ONE),
    "many": _with_contact(_CANDIDATES),
    "boosted": _with_contact(_CANDIDATES_BOOSTED),
}


async def pull_candidates(
    conn: Connection,
    tenant_id: int,
    queue_ids: list[int],
    now: dt.datetime,
    limit: int,
    contact_window: tuple[dt.datetime, dt.datetime, list[str]],
    *,
    boosted: bool,
) -> list[asyncpg.Record]:
    """Waiting work to offer, most urgent first, locked (skipping what another pull holds),
    with each call's contact state (``contact_window`` as ``state_window`` gives it)."""
    kind = "boosted" if boosted else "one" if len(queue_ids) == 1 else "many"
    since, _, conversations = contact_window
    return await conn.fetch(_PULL[kind], tenant_id, queue_ids, now, limit, since, conversations)


async def release_held_back(conn: Connection, now: dt.datetime) -> int:
    """Calls whose hold has run out go back into line (every tenant: a system connection)."""
    status = await conn.execute(
        """UPDATE tasks SET not_before = NULL
        WHERE status = 'open' AND not_before IS NOT NULL AND not_before <= $1""",
        now,
    )
    return int(status.split()[-1])


async def hold_back(conn: Connection, until: list[tuple[int, dt.datetime]]) -> None:
    """Keep call tasks whose debtor may not be called yet out of "next task" until then (out
    of the waiting index altogether, so later pulls do not step over them; the minute sweep
    lets them back in line)."""
    if until:
        await conn.execute(
            """UPDATE tasks t SET not_before = x.until
            FROM unnest($1::bigint[], $2::timestamptz[]) AS x(id, until) WHERE t.id = x.id""",
            [i for i, _ in until],
            [u for _, u in until],
        )
