"""Task queues: what waits in each, and who may pull from them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from domain.db import Connection
from domain.sql import assignments

# Each queue with what waits in it: how many tasks and since when the oldest has waited,
# from one grouped pass over the waiting work (a list of queues is one statement).
QUEUES = """SELECT q.id, q.name, q.group_id, q.agent_ids, q.age_boost_minutes, q.created_at,
  q.updated_at, coalesce(w.waiting, 0) AS waiting, w.oldest_since
FROM task_queues q
LEFT JOIN (
  SELECT queue_id, count(*) AS waiting, min(created_at) AS oldest_since FROM tasks
  WHERE status = 'open' AND queue_id IS NOT NULL AND ($1::bigint IS NULL OR queue_id = $1)
  GROUP BY queue_id
) w ON w.queue_id = q.id
WHERE $1::bigint IS NULL OR q.id = $1"""


async def queues(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"{QUEUES} ORDER BY lower(q.name)", None)


async def queue(conn: Connection, queue_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(QUEUES, queue_id)


async def queue_exists(conn: Connection, queue_id: int) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM task_queues WHERE id = $1", queue_id))


async def insert_queue(
    conn: Connection,
    tenant_id: int,
    *,
    name: str,
    group_id: int | None,
    agent_ids: list[int],
    age_boost_minutes: int | None,
) -> int:
    return await conn.fetchval(
        """INSERT INTO task_queues (tenant_id, name, group_id, agent_ids, age_boost_minutes)
        VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        tenant_id,
        name,
        group_id,
        agent_ids,
        age_boost_minutes,
    )


async def update_queue(
    conn: Connection, queue_id: int, changes: dict[str, Any], at: dt.datetime
) -> None:
    changes = {**changes, "updated_at": at}
    await conn.execute(
        f"UPDATE task_queues SET {assignments(changes)} WHERE id = $1",
        queue_id,
        *changes.values(),
    )


async def delete_queue(conn: Connection, queue_id: int) -> None:
    await conn.execute("DELETE FROM task_queues WHERE id = $1", queue_id)


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
