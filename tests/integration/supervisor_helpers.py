"""What the supervisor tools' tests share: the audit rows and events a request wrote."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.factories import SeededTenant


@dataclass
class Journal:
    """The audit rows and outbox events written after ``mark``."""

    audit: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == event_type]


async def mark(tenant: SeededTenant) -> tuple[int, int]:
    async with tenant.db.tenant(tenant.id) as conn:
        audit = await conn.fetchval("SELECT COALESCE(max(id), 0) FROM audit_log")
        outbox = await conn.fetchval("SELECT COALESCE(max(id), 0) FROM outbox")
    return audit, outbox


async def written(tenant: SeededTenant, since: tuple[int, int]) -> Journal:
    async with tenant.db.tenant(tenant.id) as conn:
        audit = await conn.fetch(
            """SELECT action, entity_type, entity_id, actor_type, actor_id, before, after
            FROM audit_log WHERE id > $1 ORDER BY id""",
            since[0],
        )
        events = await conn.fetch(
            "SELECT type, channels, data FROM outbox WHERE id > $1 ORDER BY id", since[1]
        )
    return Journal(
        audit=[dict(r) for r in audit],
        events=[{**dict(r), "channels": set(r["channels"])} for r in events],
    )


async def set_agent(tenant: SeededTenant, user_id: int, **values: Any) -> None:
    """Set columns of a user directly (a state to start from, not the change under test)."""
    sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(values, start=2))
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(f"UPDATE users SET {sets} WHERE id = $1", user_id, *values.values())


async def statuses(tenant: SeededTenant, task_ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """Each task's (status, assignee_id, queue_id)."""
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            "SELECT id, status, assignee_id, queue_id FROM tasks WHERE id = ANY($1::bigint[])",
            task_ids,
        )
    return {r["id"]: (r["status"], r["assignee_id"], r["queue_id"]) for r in rows}
