"""Background jobs run on a real `recoup worker` process, fed through Redis streams."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

from tests.factories import SeededTenant

ROOT = Path(__file__).resolve().parents[2]


async def test_expired_refresh_tokens_are_pruned_by_the_worker(
    worker, resources, tenant: SeededTenant
) -> None:
    now = dt.datetime.now(dt.UTC)
    async with tenant.db.tenant(tenant.id) as conn:
        for days_ago in (30, 1):  # long expired, and recently expired (kept a while)
            await conn.execute(
                """INSERT INTO refresh_tokens (tenant_id, user_id, family_id, token_hash, expires_at)
                VALUES ($1, $2, $3, $4, $5)""",
                tenant.id,
                tenant.admin.id,
                uuid.uuid4(),
                uuid.uuid4().hex,
                now - dt.timedelta(days=days_ago),
            )
    from tasks.maintenance import prune_refresh_tokens

    await resources.kick(prune_refresh_tokens)
    for _ in range(200):
        async with tenant.db.tenant(tenant.id) as conn:
            left = await conn.fetchval(
                "SELECT count(*) FROM refresh_tokens WHERE expires_at < now()"
            )
        if left == 1:
            break
        await asyncio.sleep(0.1)
    assert left == 1, "the worker did not prune the long-expired token"
