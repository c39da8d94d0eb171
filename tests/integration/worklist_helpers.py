"""Building worklist test states quickly: agents, groups, queues and many tasks."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from domain.actor import Actor, system_actor
from domain.worklist import sweeps
from tests.factories import SeededTenant


async def group(tenant: SeededTenant, name: str = "Team") -> int:
    async with tenant.db.tenant(tenant.id) as conn:
        return await conn.fetchval(
            "INSERT INTO agent_groups (tenant_id, name) VALUES ($1, $2) RETURNING id",
            tenant.id,
            f"{name} {tenant.id}",
        )


async def agents(
    tenant: SeededTenant,
    count: int,
    *,
    group_id: int | None = None,
    capacity: int = 25,
    status: str = "available",
    prefix: str = "agent",
) -> list[int]:
    """``count`` collectors, present now (``last_seen_at``), in id order."""
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            """INSERT INTO users (tenant_id, email, name, password_hash, role, group_id, status,
              capacity, last_seen_at)
            SELECT $1, $2 || n || $7, 'Agent ' || n, 'x', 'collector', $3, $4,
              $5, now()
            FROM generate_series(1, $6) AS n ORDER BY n RETURNING id""",
            tenant.id,
            f"{prefix}-{uuid.uuid4().hex[:10]}-",
            group_id,
            status,
            capacity,
            count,
            f"@{tenant.slug}.test",
        )
    return [r["id"] for r in rows]


async def queue(tenant: SeededTenant, *, name: str = "Calls", **values: Any) -> int:
    async with tenant.db.tenant(tenant.id) as conn:
        return await conn.fetchval(
            """INSERT INTO task_queues (tenant_id, name, group_id, agent_ids, age_boost_minutes)
            VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            tenant.id,
            name,
            values.get("group_id"),
            values.get("agent_ids", []),
            values.get("age_boost_minutes"),
        )


async def tasks(
    tenant: SeededTenant,
    count: int,
    *,
    account_id: int | None = None,
    strategy: dict[str, Any] | None = None,
    queue_id: int | None = None,
    type: str = "review",
    priority: int = 50,
) -> list[int]:
    """``count`` open tasks in one statement (on one account unless told)."""
    strategy = strategy or {"kind": "queue"}
    account = account_id or tenant.accounts[0].id
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            """INSERT INTO tasks (tenant_id, account_id, type, priority, status, queue_id,
              group_id, strategy, created_at)
            SELECT $1, $2, $3, $4, 'open', $5, $6, $7, now() - make_interval(secs => $8 - n)
            FROM generate_series(1, $8) AS n ORDER BY n RETURNING id""",
            tenant.id,
            account,
            type,
            priority,
            queue_id,
            strategy.get("group_id"),
            strategy,
            count,
        )
    return [r["id"] for r in rows]


async def parallel_work(tenant: SeededTenant) -> None:
    """The tenant lets an agent take another task while one is under way."""
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            """UPDATE tenants SET settings = settings || '{"worklist": {"parallel_tasks": true}}',
              version = version + 1"""
        )


async def assign(tenant: SeededTenant) -> list[Any]:
    async with tenant.db.tenant(tenant.id) as conn:
        return await sweeps.assign_waiting(conn, system_actor(tenant.id))


async def held(tenant: SeededTenant, agent_ids: list[int]) -> dict[int, int]:
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            """SELECT u.id, count(t.id) AS n FROM users u
            LEFT JOIN tasks t ON t.assignee_id = u.id AND t.status IN ('assigned', 'in_progress')
            WHERE u.id = ANY($1::bigint[]) GROUP BY u.id""",
            agent_ids,
        )
    return {r["id"]: r["n"] for r in rows}


async def task_row(tenant: SeededTenant, task_id: int) -> dict[str, Any]:
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow("SELECT * FROM tasks WHERE id = $1", task_id)
    return dict(row)


def agent_actor(tenant: SeededTenant, user_id: int) -> Actor:
    return Actor(tenant_id=tenant.id, type="user", id=user_id, role="collector")


def builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


async def make_queue(client, tenant: SeededTenant, **body):  # type: ignore[no-untyped-def]
    response = await client.post(
        "/api/v1/queues", json={"name": "Calls", **body}, headers=tenant.supervisor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def make_rule(client, tenant: SeededTenant, **body):  # type: ignore[no-untyped-def]
    response = await client.post(
        "/api/v1/rules",
        json={"name": "Late and large", "conditions": [], **body},
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def outbox(tenant: SeededTenant, type_: str) -> list[dict]:
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            "SELECT channels, data FROM outbox WHERE type = $1 ORDER BY id", type_
        )
    return [{"channels": list(r["channels"]), "data": r["data"]} for r in rows]
