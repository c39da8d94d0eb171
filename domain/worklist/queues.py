"""Task queues: where work waits for agents to pull it, ordered by urgency and age."""

from __future__ import annotations

from typing import Any

import asyncpg

from channels import names
from domain.errors import Conflict, InvalidInput, NotFound
from domain.outbox import events
from domain.service import Service
from domain.users import queries as user_queries
from domain.validation import name_text
from domain.worklist.queries import queues as queries
from domain.worklist.schemas import UNSET, Queue, QueueCreate, QueueUpdate
from domain.worklist.views import to_queue


def queue_audience(queue_id: int) -> list[str]:
    """Who hears a queue change: whoever watches the tenant's setup, and the queue itself."""
    return [names.TENANT, names.queue(queue_id)]


class QueueService(Service):
    async def list(self) -> list[Queue]:
        return [to_queue(r) for r in await queries.queues(self.conn)]

    async def get(self, queue_id: int) -> Queue:
        row = await queries.queue(self.conn, queue_id)
        if row is None:
            raise NotFound(f"queue {queue_id} not found")
        return to_queue(row)

    async def _check(self, group_id: int | None, agent_ids: list[int]) -> None:
        if group_id is not None and not await user_queries.group_exists(self.conn, group_id):
            raise InvalidInput(f"agent group {group_id} not found", field="group_id")
        if agent_ids:
            found = await user_queries.agents_among(self.conn, agent_ids)
            missing = [a for a in agent_ids if a not in found]
            if missing:
                raise InvalidInput(
                    f"user {missing[0]} is not an agent of this tenant", field="agent_ids"
                )

    async def create(self, data: QueueCreate) -> Queue:
        await self._check(data.group_id, data.agent_ids)
        try:
            queue_id = await queries.insert_queue(
                self.conn,
                self.actor.tenant_id,
                name=name_text(data.name),
                group_id=data.group_id,
                agent_ids=sorted(set(data.agent_ids)),
                age_boost_minutes=data.age_boost_minutes,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a queue named {data.name!r} already exists", field="name") from None
        queue = await self.get(queue_id)
        await self._record("queue.create", events.QUEUE_CREATED, None, queue)
        return queue

    async def update(self, queue_id: int, data: QueueUpdate) -> Queue:
        before = await self.get(queue_id)
        changes: dict[str, Any] = {
            k: getattr(data, k)
            for k in ("name", "group_id", "agent_ids", "age_boost_minutes")
            if getattr(data, k) is not UNSET
        }
        if "name" in changes:
            changes["name"] = name_text(changes["name"])
        if "agent_ids" in changes:
            changes["agent_ids"] = sorted(set(changes["agent_ids"]))
        await self._check(changes.get("group_id"), changes.get("agent_ids", []))
        if changes:
            try:
                await queries.update_queue(self.conn, queue_id, changes, self.clock())
            except asyncpg.UniqueViolationError:
                raise Conflict("a queue with that name already exists", field="name") from None
        after = await self.get(queue_id)
        await self._record("queue.update", events.QUEUE_UPDATED, before, after)
        return after

    async def delete(self, queue_id: int) -> None:
        before = await self.get(queue_id)
        if before.waiting:
            raise Conflict(
                f"queue {before.name!r} still has {before.waiting} waiting tasks; "
                "move or cancel them first"
            )
        await queries.delete_queue(self.conn, queue_id)
        await self._record("queue.delete", events.QUEUE_DELETED, before, None)

    async def _record(
        self, action: str, event_type: str, before: Queue | None, after: Queue | None
    ) -> None:
        queue_id = (after or before).id  # type: ignore[union-attr]
        await self.record_change(
            action, "queue", before, after, event_type=event_type, channels=queue_audience(queue_id)
        )
