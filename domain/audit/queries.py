from __future__ import annotations

import asyncpg

from domain.db import Connection
from domain.sql import Where


async def entries(
    conn: Connection,
    *,
    entity_type: str | None,
    entity_id: int | None,
    after_id: int | None,
    limit: int,
) -> list[asyncpg.Record]:
    w = Where()
    if entity_type is not None:
        w.add(f"entity_type = {w.param(entity_type)}")
    if entity_id is not None:
        w.add(f"entity_id = {w.param(entity_id)}")
    if after_id is not None:
        w.add(f"id < {w.param(after_id)}")
    return await conn.fetch(
        f"""SELECT id, actor_type, actor_id, action, entity_type, entity_id, before, after,
          request_id, occurred_at
        FROM audit_log WHERE {w.sql()} ORDER BY id DESC LIMIT {w.param(limit)}""",
        *w.args,
    )
