from __future__ import annotations

import datetime as dt

import asyncpg

from domain.db import Connection
from domain.sql import Where


async def entries(
    conn: Connection,
    *,
    actor_type: str | None,
    actor_id: int | None,
    entity_type: str | None,
    entity_id: int | None,
    occurred_from: dt.datetime | None,
    occurred_before: dt.datetime | None,
    after: tuple[dt.datetime, int] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """The tenant's entries newest first (row-level security keeps them the tenant's), in the
    order of indexes that start with the tenant and end with (occurred_at, id): by actor
    (audit_log_actor_time_idx), by entity (audit_log_entity_time_idx), by time or none
    (audit_log_occurred_idx); each page reads from where the last one ended, never the
    whole log."""
    w = Where()
    if actor_type is not None:
        w.add(f"actor_type = {w.param(actor_type)}")
    if actor_id is not None:
        w.add(f"actor_id = {w.param(actor_id)}")
    if entity_type is not None:
        w.add(f"entity_type = {w.param(entity_type)}")
    if entity_id is not None:
        w.add(f"entity_id = {w.param(entity_id)}")
    if occurred_from is not None:
        w.add(f"occurred_at >= {w.param(occurred_from)}")
    if occurred_before is not None:
        w.add(f"occurred_at < {w.param(occurred_before)}")
    if after is not None:
        w.add(f"(occurred_at, id) < ({w.param(after[0])}, {w.param(after[1])})")
    return await conn.fetch(
        f"""SELECT id, actor_type, actor_id, action, entity_type, entity_id, before, after,
          request_id, occurred_at
        FROM audit_log WHERE {w.sql()} ORDER BY occurred_at DESC, id DESC LIMIT {w.param(limit)}""",
        *w.args,
    )
