from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from domain.db import Connection
from domain.sql import assignments, placeholders

USER_COLUMNS = """id, email, name, role, group_id, status, capacity, time_zone, active,
  last_login_at, last_seen_at, created_at, updated_at"""


async def get(conn: Connection, user_id: int, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = $1{lock}", user_id)


async def password_hash(conn: Connection, user_id: int) -> str | None:
    return await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)


async def email_taken(conn: Connection, email: str) -> bool:
    """Across tenants: e-mail addresses sign in, so they are unique everywhere."""
    return bool(await conn.fetchval("SELECT count(*) FROM auth_find_login($1)", email))


async def insert(conn: Connection, tenant_id: int, values: dict[str, Any]) -> asyncpg.Record:
    columns = ["tenant_id", *values]
    params = placeholders(len(columns))
    return await conn.fetchrow(
        f"INSERT INTO users ({', '.join(columns)}) VALUES ({params}) RETURNING {USER_COLUMNS}",
        tenant_id,
        *values.values(),
    )


async def update(conn: Connection, user_id: int, changes: dict[str, Any]) -> asyncpg.Record:
    """The user as changed, with when their status last changed."""
    sets = assignments(changes)
    return await conn.fetchrow(
        f"UPDATE users SET {sets}, updated_at = now() WHERE id = $1 "
        f"RETURNING {USER_COLUMNS}, status_changed_at",
        user_id,
        *changes.values(),
    )


async def other_active_admins(conn: Connection, user_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM users WHERE role = 'admin' AND active AND id <> $1", user_id
    )


async def list_users(
    conn: Connection, *, role: str | None, group_id: int | None, after_id: int | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {USER_COLUMNS} FROM users
        WHERE ($1::text IS NULL OR role = $1)
          AND ($2::bigint IS NULL OR group_id = $2)
          AND ($3::bigint IS NULL OR id > $3)
        ORDER BY id LIMIT $4""",
        role,
        group_id,
        after_id,
        limit,
    )


GROUP_COLUMNS = """g.id, g.name, g.description, g.created_at, g.updated_at,
  (SELECT count(*) FROM users u WHERE u.group_id = g.id) AS member_count"""


async def get_group(conn: Connection, group_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {GROUP_COLUMNS} FROM agent_groups g WHERE g.id = $1", group_id
    )


async def group_exists(conn: Connection, group_id: int) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM agent_groups WHERE id = $1", group_id))


async def group_name_taken(conn: Connection, name: str, *, other_than: int | None = None) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM agent_groups WHERE lower(name) = lower($1) AND id IS DISTINCT FROM $2",
            name,
            other_than,
        )
    )


async def list_groups(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {GROUP_COLUMNS} FROM agent_groups g ORDER BY lower(g.name)")


async def insert_group(conn: Connection, tenant_id: int, name: str, description: str) -> int:
    return await conn.fetchval(
        "INSERT INTO agent_groups (tenant_id, name, description) VALUES ($1, $2, $3) RETURNING id",
        tenant_id,
        name,
        description,
    )


async def update_group(conn: Connection, group_id: int, changes: dict[str, Any]) -> None:
    sets = assignments(changes)
    await conn.execute(
        f"UPDATE agent_groups SET {sets}, updated_at = now() WHERE id = $1",
        group_id,
        *changes.values(),
    )


async def group_users(conn: Connection, group_id: int) -> list[str]:
    """What would change its meaning if the group went: the task queues it may pull from
    (an emptied queue opens to everyone) and the task rules that give it work, by name."""
    rows = await conn.fetch(
        """SELECT 'task queue ' || quote_literal(name) AS what FROM task_queues
           WHERE group_id = $1
         UNION ALL
         SELECT 'task rule ' || quote_literal(name) FROM task_rules
           WHERE (strategy ->> 'group_id')::bigint = $1
         ORDER BY 1""",
        group_id,
    )
    return [r["what"] for r in rows]


async def delete_group(conn: Connection, group_id: int) -> None:
    await conn.execute("DELETE FROM agent_groups WHERE id = $1", group_id)


async def group_of(conn: Connection, user_id: int) -> int | None:
    return await conn.fetchval("SELECT group_id FROM users WHERE id = $1", user_id)


# Agents: the users who work accounts (every role but read-only).


async def is_agent(conn: Connection, user_id: int) -> bool:
    """An active user who works accounts: may own one, hold its work, be a rule's agent."""
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM users WHERE id = $1 AND active AND role <> 'readonly'", user_id
        )
    )


async def agents_among(conn: Connection, user_ids: list[int]) -> set[int]:
    """Those of ``user_ids`` who are agents of this tenant (active or not)."""
    rows = await conn.fetch(
        "SELECT id FROM users WHERE id = ANY($1::bigint[]) AND role <> 'readonly'", user_ids
    )
    return {r["id"] for r in rows}


async def agent(conn: Connection, user_id: int) -> asyncpg.Record | None:
    """What deciding whether to give someone work needs to know of them."""
    return await conn.fetchrow(
        "SELECT id, name, status, capacity, active, role FROM users WHERE id = $1", user_id
    )


AGENT_COLUMNS = """u.id, u.name, u.role, u.group_id, u.status, u.status_changed_at AS since,
  u.capacity,
  (SELECT count(*) FROM tasks t WHERE t.tenant_id = u.tenant_id AND t.assignee_id = u.id
     AND t.status IN ('assigned', 'in_progress')) AS held"""


async def list_agents(conn: Connection, group_id: int | None) -> list[asyncpg.Record]:
    """The tenant's active agents (of a group, when given), by name, each with the work they
    hold (counted from the assignee index)."""
    return await conn.fetch(
        f"""SELECT {AGENT_COLUMNS} FROM users u
        WHERE u.active AND u.role <> 'readonly' AND ($1::bigint IS NULL OR u.group_id = $1)
        ORDER BY lower(u.name), u.id""",
        group_id,
    )


async def floor_agent(conn: Connection, user_id: int) -> asyncpg.Record | None:
    """One active agent as ``list_agents`` shows them."""
    return await conn.fetchrow(
        f"""SELECT {AGENT_COLUMNS} FROM users u
        WHERE u.id = $1 AND u.active AND u.role <> 'readonly'""",
        user_id,
    )


# Presence: coming online, being seen, going offline.

_STATUS = "id, name, status, group_id, status_changed_at, capacity"


async def come_online(conn: Connection, user_id: int, at: dt.datetime) -> asyncpg.Record | None:
    """An offline agent becomes available (and is seen); None when they were not offline."""
    return await conn.fetchrow(
        f"""UPDATE users SET status = 'available', status_changed_at = $2, last_seen_at = $2,
          updated_at = $2
        WHERE id = $1 AND status = 'offline' AND active AND role <> 'readonly'
        RETURNING {_STATUS}""",
        user_id,
        at,
    )


async def seen(conn: Connection, user_ids: list[int], at: dt.datetime) -> None:
    await conn.execute(
        "UPDATE users SET last_seen_at = $2 WHERE id = ANY($1::bigint[])", user_ids, at
    )


async def mark_unseen_offline(
    conn: Connection, tenant_id: int, cutoff: dt.datetime, at: dt.datetime
) -> list[asyncpg.Record]:
    """Agents of the tenant not seen since ``cutoff`` become offline."""
    return await conn.fetch(
        f"""UPDATE users SET status = 'offline', status_changed_at = $2, updated_at = $2
        WHERE tenant_id = $1 AND status <> 'offline' AND role <> 'readonly'
          AND COALESCE(last_seen_at, status_changed_at) < $3
        RETURNING {_STATUS}""",
        tenant_id,
        at,
        cutoff,
    )
