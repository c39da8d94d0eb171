"""Tasks: reading them as shown (with account, debtor and assignee), changing them, and
returning held work to its queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from domain.accounts.visibility import collector_sees
from domain.db import Connection
from domain.sql import Where, assignments

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


async def lock_tasks(conn: Connection, tenant_id: int, ids: list[int]) -> list[asyncpg.Record]:
    """Those of the tenant's tasks ``ids`` that exist, as shown, locked in id order: each
    found by its primary key and locked in turn (the planner cannot choose to walk the
    tenant's other tasks instead, however stale its statistics)."""
    return await conn.fetch(
        f"""SELECT {TASK_COLUMNS}
        FROM unnest($2::bigint[]) WITH ORDINALITY AS x(id, n)
        CROSS JOIN LATERAL (
          SELECT * FROM tasks t WHERE t.id = x.id AND t.tenant_id = $1 FOR UPDATE) t{TASK_JOINS}
        ORDER BY x.n""",
        tenant_id,
        sorted(ids),
    )


async def update_tasks(conn: Connection, ids: list[int], changes: dict[str, Any]) -> None:
    """The same change to every task of ``ids``, in one statement."""
    await conn.execute(
        f"UPDATE tasks SET {assignments(changes)} WHERE id = ANY($1::bigint[])",
        ids,
        *changes.values(),
    )


async def cancel_tasks(conn: Connection, ids: list[int], reason: str, at: dt.datetime) -> None:
    """Cancel the tasks, each keeping its notes with ``reason`` added on a line of its own."""
    await conn.execute(
        """UPDATE tasks SET status = 'cancelled', cancelled_at = $3, outcome = 'cancelled',
          notes = CASE WHEN notes = '' THEN $2 ELSE notes || E'\n' || $2 END, updated_at = $3
        WHERE id = ANY($1::bigint[])""",
        ids,
        reason,
        at,
    )


async def search_tasks(
    conn: Connection, where: Where, *, order: str, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE {where.sql()} ORDER BY {order} "
        f"LIMIT {int(limit)}",
        *where.args,
    )


# The ORDER BY of each order a list of tasks may come in. Each reads one index of open work
# in its own order (see the migration of 2026-11-30 22:30); the page after a cursor is one
# or two ranges of that index (TaskService.list).
TASK_ORDERS: dict[str, str] = {
    "newest": "t.id DESC",
    "age": "t.created_at, t.id",
    "priority": "t.priority DESC, t.created_at, t.id",
    "due": "t.due_at, t.id",  # ascending puts the tasks without a due date last
}


async def count_tasks(conn: Connection, where: Where) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM tasks t WHERE {where.sql()}", *where.args)


async def update_task(conn: Connection, task_id: int, changes: dict[str, Any]) -> None:
    await conn.execute(
        f"UPDATE tasks SET {assignments(changes)} WHERE id = $1", task_id, *changes.values()
    )


async def insert_tasks(
    conn: Connection, tenant_id: int, rows: list[dict[str, Any]], at: dt.datetime
) -> list[int]:
    """Many new open tasks in one statement, made ``at``; their ids in the order given (a
    row's ``not_before``, when it has one, holds it back until then)."""
    found = await conn.fetch(
        """INSERT INTO tasks (tenant_id, account_id, type, title, priority, due_at, status,
          queue_id, group_id, strategy, notes, not_before, created_by, created_at, updated_at)
        SELECT $1, x.account_id, x.type, x.title, x.priority, x.due_at, 'open', x.queue_id,
          x.group_id, x.strategy, x.notes, x.not_before, x.created_by, $3, $3
        FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (account_id bigint, type text,
          title text, priority int, due_at timestamptz, queue_id bigint, group_id bigint,
          strategy jsonb, notes text, not_before timestamptz, created_by bigint))
          WITH ORDINALITY AS x
        ORDER BY x.ordinality
        RETURNING id""",
        tenant_id,
        rows,
        at,
    )
    # Ids come from the sequence in the order the rows were inserted.
    return sorted(r["id"] for r in found)


async def missing_accounts(conn: Connection, account_ids: list[int]) -> list[int]:
    """Those of ``account_ids`` that are not accounts of the tenant."""
    rows = await conn.fetch(
        """SELECT x.id FROM unnest($1::bigint[]) AS x(id)
        WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = x.id) ORDER BY x.id""",
        account_ids,
    )
    return [r["id"] for r in rows]


async def held_count(conn: Connection, user_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM tasks "
        "WHERE assignee_id = $1 AND status IN ('assigned', 'in_progress')",
        user_id,
    )


async def account_exists(conn: Connection, account_id: int) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM accounts WHERE id = $1", account_id))


async def collector_sees_account(conn: Connection, account_id: int, user_id: int) -> bool:
    return bool(
        await conn.fetchval(
            f"SELECT 1 FROM accounts a WHERE a.id = $1 AND {collector_sees('a', '$2')}",
            account_id,
            user_id,
        )
    )


# Returning held work --------------------------------------------------------------------

# Each released task with how it was held (its audit row's "before": who had it).
_RELEASE = """WITH held AS (
  SELECT t.id, t.status, t.assignee_id, t.assigned_at, t.started_at, t.assigned_by,
    t.assignment_reason
  FROM tasks t WHERE {where} FOR UPDATE OF t
)
UPDATE tasks t SET status = 'open', assignee_id = NULL, assigned_at = NULL,
  started_at = NULL, assigned_by = NULL, assignment_reason = NULL, updated_at = $1
FROM held WHERE t.id = held.id
RETURNING t.id, t.tenant_id, held.assignee_id AS previous_assignee_id, held.status,
  held.assigned_at, held.started_at, held.assigned_by, held.assignment_reason"""


async def release_timed_out(
    conn: Connection, tenant_id: int, now: dt.datetime, minutes: int
) -> list[asyncpg.Record]:
    """Assigned work not started within ``minutes`` goes back to open; each with who had it."""
    where = """t.tenant_id = $2 AND t.status = 'assigned'
      AND t.assigned_at < $1::timestamptz - make_interval(mins => $3::int)"""
    return await conn.fetch(_RELEASE.format(where=where), now, tenant_id, minutes)


async def release_held_by(
    conn: Connection, tenant_id: int, agent_ids: list[int], now: dt.datetime
) -> list[asyncpg.Record]:
    """Everything the agents hold goes back to open; each with who had it."""
    where = """t.tenant_id = $2 AND t.assignee_id = ANY($3::bigint[])
      AND t.status IN ('assigned', 'in_progress')"""
    return await conn.fetch(_RELEASE.format(where=where), now, tenant_id, agent_ids)
