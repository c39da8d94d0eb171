from __future__ import annotations

from typing import Any

import asyncpg

from domain.db import Connection
from domain.sql import assignments

_COLUMNS = "id, slug, name, time_zone, settings, version, created_at"


async def current(conn: Connection) -> asyncpg.Record | None:
    """The tenant of the transaction (row-level security shows no other)."""
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM tenants")


async def all_ids(conn: Connection) -> list[int]:
    """Every tenant (a system connection sees them all)."""
    return [r["id"] for r in await conn.fetch("SELECT id FROM tenants ORDER BY id")]


async def by_slug(conn: Connection, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM tenants WHERE slug = $1", slug)


async def insert(
    conn: Connection, slug: str, name: str, time_zone: str, settings: dict[str, Any]
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"INSERT INTO tenants (slug, name, time_zone, settings) VALUES ($1, $2, $3, $4) "
        f"RETURNING {_COLUMNS}",
        slug,
        name,
        time_zone,
        settings,
    )


async def update(conn: Connection, tenant_id: int, changes: dict[str, Any]) -> asyncpg.Record:
    sets = assignments(changes)
    return await conn.fetchrow(
        f"UPDATE tenants SET {sets} WHERE id = $1 RETURNING {_COLUMNS}",
        tenant_id,
        *changes.values(),
    )


async def active_user_ids(conn: Connection) -> list[int]:
    """The tenant's active users."""
    rows = await conn.fetch("SELECT id FROM users WHERE active")
    return [r["id"] for r in rows]
