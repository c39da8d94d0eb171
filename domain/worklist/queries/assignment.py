"""Assignment rounds: waiting pushed work, the agents who may take it (locked), and the
round's choices written back in one statement."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from domain.db import Connection

# pg_advisory_xact_lock(AGENT_LOCK, user id): held while an agent's work is counted and
# changed (a pull, an assignment round, a reassignment), so capacity is never exceeded. An
# advisory lock rather than a row lock: it costs no write to the users table.
AGENT_LOCK = 52_706
# pg_advisory_xact_lock(ASSIGN_LOCK, tenant id): one assignment round per tenant at a time.
ASSIGN_LOCK = 52_705


async def lock_round(conn: Connection, tenant_id: int) -> None:
    """Wait for the tenant's other assignment round, if any, to end."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2::int)", ASSIGN_LOCK, tenant_id)


async def waiting_push_tasks(
    conn: Connection, tenant_id: int, kinds: tuple[str, ...], only: list[int] | None, limit: int
) -> list[asyncpg.Record]:
    """Unassigned tasks whose strategy picks someone, most urgent first, locked for this
    round (another round skips them rather than waits); held-back work (a callback booked
    for later) waits for the sweep that lets it back in line."""
    only_clause = "AND t.id = ANY($4::bigint[])" if only is not None else ""
    args: list[Any] = [tenant_id, list(kinds), limit]
    if only is not None:
        args.append(only)
    return await conn.fetch(
        f"""SELECT t.id, t.strategy, t.group_id, a.owner_id
        FROM tasks t JOIN accounts a ON a.id = t.account_id
        WHERE t.tenant_id = $1 AND t.status = 'open' AND t.strategy ->> 'kind' <> 'queue'
          AND t.strategy ->> 'kind' = ANY($2::text[]) AND t.not_before IS NULL
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
          AND strategy ->> 'kind' = ANY($1::text[]) AND not_before IS NULL""",
        list(kinds),
    )
    return [r["tenant_id"] for r in rows]
