"""SQL of the worklist. Every statement here is set-based: a rule run, an assignment
round, a timeout sweep is one statement however many tasks it touches."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from domain.compliance.queries import state_of
from domain.db import Connection
from domain.sql import Where, assignments, placeholders

# pg_advisory_xact_lock(AGENT_LOCK, user id): held while an agent's work is counted and
# changed (a pull, an assignment round, a reassignment), so capacity is never exceeded. An
# advisory lock rather than a row lock: it costs no write to the users table.
AGENT_LOCK = 52_706

TASK_COLUMNS = """t.id, t.account_id, t.type, t.title, t.priority, t.due_at, t.status,
  t.assignee_id, u.name AS assignee_name, t.group_id, t.queue_id, t.rule_id, t.strategy,
  t.assigned_by, t.assignment_reason, t.outcome, t.notes, t.not_before, t.created_at,
  t.assigned_at, t.started_at, t.completed_at, t.cancelled_at, t.updated_at,
  a.external_ref, a.debtor_id, trim(d.first_name || ' ' || d.last_name) AS debtor_name,
  a.currency, a.principal, a.interest, a.fees, a.due_date, a.status AS account_status,
  a.owner_id"""

# Each task's account, debtor and assignee by primary key, one row at a time (LIMIT 1 keeps
# the planner from reordering the joins around a fresh tenant's missing statistics).
TASK_JOINS = """
  CROSS JOIN LATERAL (SELECT * FROM accounts a WHERE a.id = t.account_id LIMIT 1) a
  CROSS JOIN LATERAL (
    SELECT first_name, last_name FROM debtors d WHERE d.id = a.debtor_id LIMIT 1) d
  LEFT JOIN LATERAL (SELECT name FROM users u WHERE u.id = t.assignee_id LIMIT 1) u ON true"""
TASK_FROM = f"tasks t{TASK_JOINS}"

# Held work, first what is under way, then as a queue sorts: most urgent, then oldest.
HELD_ORDER = "(t.status = 'in_progress') DESC, t.priority DESC, t.created_at, t.id"

ACCOUNT_SAMPLE = """a.id, a.external_ref, a.debtor_id,
  trim(d.first_name || ' ' || d.last_name) AS debtor_name, a.currency, a.principal,
  a.interest, a.fees, a.due_date, a.status AS account_status, a.owner_id"""


async def tasks_by_ids(conn: Connection, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.id = ANY($1::bigint[]) ORDER BY t.id",
        ids,
    )


async def get_task(
    conn: Connection, task_id: int, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE OF t" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.id = $1{lock}", task_id
    )


async def search_tasks(
    conn: Connection, where: Where, *, order: str, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE {where.sql()} ORDER BY {order} "
        f"LIMIT {int(limit)}",
        *where.args,
    )


async def update_task(conn: Connection, task_id: int, changes: dict[str, Any]) -> None:
    await conn.execute(
        f"UPDATE tasks SET {assignments(changes)} WHERE id = $1", task_id, *changes.values()
    )


async def insert_task(conn: Connection, tenant_id: int, values: dict[str, Any]) -> int:
    columns = ["tenant_id", *values]
    return await conn.fetchval(
        f"INSERT INTO tasks ({', '.join(columns)}) VALUES ({placeholders(len(columns))}) "
        "RETURNING id",
        tenant_id,
        *values.values(),
    )


async def held_count(conn: Connection, user_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM tasks "
        "WHERE assignee_id = $1 AND status IN ('assigned', 'in_progress')",
        user_id,
    )


# Queues ----------------------------------------------------------------------------------

QUEUE_COLUMNS = """q.id, q.name, q.group_id, q.agent_ids, q.age_boost_minutes, q.created_at,
  q.updated_at,
  (SELECT count(*) FROM tasks t WHERE t.tenant_id = q.tenant_id AND t.queue_id = q.id
     AND t.status = 'open') AS waiting"""


async def queues(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {QUEUE_COLUMNS} FROM task_queues q ORDER BY lower(q.name)")


async def queue(conn: Connection, queue_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {QUEUE_COLUMNS} FROM task_queues q WHERE q.id = $1", queue_id
    )


async def eligible_queues(
    conn: Connection, user_id: int, group_id: int | None
) -> list[asyncpg.Record]:
    """The queues an agent may pull from: their group's, those naming them, and those open
    to everyone (no group, no agents)."""
    return await conn.fetch(
        """SELECT id, name, age_boost_minutes FROM task_queues
        WHERE group_id = $2 OR $1 = ANY(agent_ids)
           OR (group_id IS NULL AND cardinality(agent_ids) = 0)
        ORDER BY id""",
        user_id,
        group_id,
    )


# Pulling the next task -------------------------------------------------------------------


async def lock_agent(conn: Connection, user_id: int) -> list[asyncpg.Record]:
    """The agent, locked (``AGENT_LOCK``), with their tenant and each queue they may pull
    from (one row per queue; one row with no queue when there is none), in one round trip."""
    return await conn.fetch(
        """SELECT me.id, me.name, me.status, me.capacity, me.group_id, me.role, me.active,
          tn.id AS tenant_id, tn.slug, tn.name AS tenant_name, tn.time_zone, tn.settings,
          tn.created_at AS tenant_created_at,
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


# Assignment ------------------------------------------------------------------------------


async def waiting_push_tasks(
    conn: Connection, tenant_id: int, kinds: tuple[str, ...], only: list[int] | None, limit: int
) -> list[asyncpg.Record]:
    """Unassigned tasks whose strategy picks someone, most urgent first, locked for this
    round (another round skips them rather than waits)."""
    only_clause = "AND t.id = ANY($4::bigint[])" if only is not None else ""
    args: list[Any] = [tenant_id, list(kinds), limit]
    if only is not None:
        args.append(only)
    return await conn.fetch(
        f"""SELECT t.id, t.strategy, t.group_id, a.owner_id
        FROM tasks t JOIN accounts a ON a.id = t.account_id
        WHERE t.tenant_id = $1 AND t.status = 'open' AND t.strategy ->> 'kind' <> 'queue'
          AND t.strategy ->> 'kind' = ANY($2::text[])
          {only_clause}
        ORDER BY t.priority DESC, t.created_at, t.id
        LIMIT $3
        FOR UPDATE OF t SKIP LOCKED""",
        *args,
    )


async def lock_available_agents(conn: Connection, tenant_id: int) -> list[int]:
    """Lock every available agent of the tenant, in id order (``AGENT_LOCK``)."""
    rows = await conn.fetch(
        """SELECT id FROM users
        WHERE tenant_id = $1 AND active AND status = 'available' AND role <> 'readonly'
        ORDER BY id""",
        tenant_id,
    )
    ids = [r["id"] for r in rows]
    await lock_agents(conn, ids)
    return ids


async def lock_agents(conn: Connection, ids: list[int]) -> None:
    """Take the agents' locks, in the order given."""
    if ids:
        await conn.execute(
            """SELECT pg_advisory_xact_lock($1, x.id::int)
            FROM unnest($2::bigint[]) WITH ORDINALITY AS x(id, n) ORDER BY x.n""",
            AGENT_LOCK,
            ids,
        )


async def agent_loads(conn: Connection, ids: list[int]) -> list[asyncpg.Record]:
    """Each agent's held work, counted after the locks are taken (a fresh snapshot), and
    when work last came to them: pushed (``last_assigned_at``) or pulled (held work)."""
    return await conn.fetch(
        """SELECT u.id, u.name, u.group_id, u.capacity,
          GREATEST(u.last_assigned_at, h.latest) AS last_assigned_at, h.load
        FROM users u CROSS JOIN LATERAL (
          SELECT count(*) AS load, max(assigned_at) AS latest FROM tasks h
          WHERE h.tenant_id = u.tenant_id AND h.assignee_id = u.id
            AND h.status IN ('assigned', 'in_progress')) h
        WHERE u.id = ANY($1::bigint[]) AND u.active AND u.status = 'available'
        ORDER BY u.id""",
        ids,
    )


async def lock_groups(conn: Connection, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, name, last_assigned_user_id FROM agent_groups "
        "WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
        ids,
    )


async def apply_assignments(
    conn: Connection, rows: list[tuple[int, int, str, str]], at: dt.datetime
) -> list[int]:
    """Give each task ``(task id, agent id, by, reason)`` to its agent if still waiting."""
    if not rows:
        return []
    records = await conn.fetch(
        """UPDATE tasks t SET status = 'assigned', assignee_id = x.agent, assigned_at = $5,
          started_at = NULL, assigned_by = x.by, assignment_reason = x.reason,
          not_before = NULL, updated_at = $5
        FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS x(id, agent, by, reason)
        WHERE t.id = x.id AND t.status = 'open'
        RETURNING t.id""",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        at,
    )
    return [r["id"] for r in records]


async def mark_assigned(
    conn: Connection, agents: list[int], groups: dict[int, int], at: dt.datetime
) -> None:
    if agents:
        await conn.execute(
            "UPDATE users SET last_assigned_at = $2 WHERE id = ANY($1::bigint[])", agents, at
        )
    if groups:
        await conn.execute(
            """UPDATE agent_groups g SET last_assigned_user_id = x.agent
            FROM unnest($1::bigint[], $2::bigint[]) AS x(id, agent) WHERE g.id = x.id""",
            list(groups),
            list(groups.values()),
        )


async def tenants_with_waiting_push(conn: Connection, kinds: tuple[str, ...]) -> list[int]:
    rows = await conn.fetch(
        """SELECT DISTINCT tenant_id FROM tasks
        WHERE status = 'open' AND strategy ->> 'kind' <> 'queue'
          AND strategy ->> 'kind' = ANY($1::text[])""",
        list(kinds),
    )
    return [r["tenant_id"] for r in rows]


# Returning work --------------------------------------------------------------------------


async def release(
    conn: Connection, where: str, args: list[Any], at: dt.datetime
) -> list[asyncpg.Record]:
    """Put held tasks matching ``where`` back to open; returns each with who held it."""
    return await conn.fetch(
        f"""WITH held AS (
          SELECT t.id, t.assignee_id FROM tasks t WHERE {where} FOR UPDATE OF t
        )
        UPDATE tasks t SET status = 'open', assignee_id = NULL, assigned_at = NULL,
          started_at = NULL, assigned_by = NULL, assignment_reason = NULL,
          updated_at = ${len(args) + 1}
        FROM held WHERE t.id = held.id
        RETURNING t.id, t.tenant_id, held.assignee_id AS previous_assignee_id""",
        *args,
        at,
    )
