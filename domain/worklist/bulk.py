"""A supervisor's actions on several tasks at once: give them to an agent, cancel them, put
them in a queue.

Each action is all or nothing, in the caller's transaction: the tasks are locked in id
order (as a single task's change locks its one), every id is checked first (not the
tenant's: 404 naming them; already completed or cancelled: 409 naming them), and then one
statement changes them all. Each changed task has its audit row and its event, as a change
of one task would (``WorklistService.announce``): the account's audience, the agents who
gain and lose it, and the queues it leaves and joins. Tasks already as asked are left
alone and not announced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import asyncpg

from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.outbox import events
from domain.users import queries as user_queries
from domain.worklist.base import WorklistService
from domain.worklist.queries import assignment as assignment_queries
from domain.worklist.queries import queues as queue_queries
from domain.worklist.queries import tasks as queries
from domain.worklist.schemas import (
    TaskBatch,
    TaskBatchAssign,
    TaskBatchCancel,
    TaskBatchMove,
    TaskContact,
)
from domain.worklist.tasks import RETURNED

_CLOSED = ("completed", "cancelled")
# A problem names at most this many ids in its words (all of them in ``task_ids``).
_NAMED = 10


def _ids(ids: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:_NAMED])
    more = f" and {len(ids) - _NAMED} more" if len(ids) > _NAMED else ""
    return f"task{'s' if len(ids) > 1 else ''} {shown}{more}"


class TaskBatchService(WorklistService):
    async def _locked(self, ids: list[int]) -> list[asyncpg.Record]:
        """The tasks, locked, once each is known to be the tenant's (then what the body
        names is checked, then that the tasks are still to be done: ``_still_open``)."""
        if not self.actor.sees_whole_tenant:
            raise Forbidden("only a supervisor or admin acts on several tasks at once")
        twice = sorted(i for i, n in Counter(ids).items() if n > 1)
        if twice:
            raise InvalidInput(f"{_ids(twice)} listed more than once", field="task_ids")
        rows = await queries.lock_tasks(self.conn, self.actor.tenant_id, ids)
        missing = sorted(set(ids) - {r["id"] for r in rows})
        if missing:
            raise NotFound(f"{_ids(missing)} not found; nothing was changed", task_ids=missing)
        return rows

    @staticmethod
    def _still_open(rows: list[asyncpg.Record]) -> None:
        closed = [r["id"] for r in rows if r["status"] in _CLOSED]
        if closed:
            raise Conflict(
                f"{_ids(closed)} already completed or cancelled; nothing was changed",
                task_ids=closed,
            )

    async def _finish(
        self,
        rows: list[asyncpg.Record],
        changed: list[int],
        action: str,
        event_type: str,
        known: dict[int, TaskContact] | None,
    ) -> TaskBatch:
        """Announce the changed tasks (``rows`` as they were) and answer with all of them."""
        before = {t.id: t for t in await self.to_tasks(rows, known=known)}
        after = {
            t.id: t
            for t in await self.to_tasks(
                await queries.tasks_by_ids(self.conn, changed), known=known
            )
        }
        await self.announce(action, event_type, list(after.values()), before=before)
        tasks = [after.get(task_id, task) for task_id, task in sorted(before.items())]
        return TaskBatch(changed=len(changed), tasks=tasks)

    async def assign(self, data: TaskBatchAssign) -> TaskBatch:
        """Give the tasks to one agent: an active agent of the tenant, not offline, with
        room for them all within their capacity."""
        rows = await self._locked(data.task_ids)
        await assignment_queries.lock_agents(self.conn, [data.assignee_id])
        agent = await user_queries.agent(self.conn, data.assignee_id)
        if agent is None or not agent["active"] or agent["role"] == "readonly":
            raise InvalidInput(
                f"user {data.assignee_id} is not an active agent", field="assignee_id"
            )
        self._still_open(rows)
        if agent["status"] == "offline":
            raise Conflict(f"{agent['name']} is offline", field="assignee_id")
        moving = [r["id"] for r in rows if r["assignee_id"] != agent["id"]]
        held = await queries.held_count(self.conn, agent["id"])
        if held + len(moving) > agent["capacity"]:
            raise Conflict(
                f"{agent['name']} holds {held} tasks of a capacity of {agent['capacity']}: "
                f"{len(moving)} more would be too many; nothing was changed",
                field="assignee_id",
            )
        known = await self.contacts(rows)  # who holds a task does not change when to call
        if moving:
            reason = await self.reassigned_by(data.reason)
            now = self.clock()
            await queries.update_tasks(
                self.conn,
                moving,
                {
                    "status": "assigned",
                    "assignee_id": agent["id"],
                    "assigned_at": now,
                    "started_at": None,
                    "assigned_by": "supervisor",
                    "assignment_reason": reason,
                    "not_before": None,
                    "updated_at": now,
                },
            )
        return await self._finish(rows, moving, "task.assign", events.TASK_ASSIGNED, known)

    async def cancel(self, data: TaskBatchCancel) -> TaskBatch:
        reason = data.reason.strip()
        if not reason:
            raise InvalidInput("say why the tasks are cancelled", field="reason")
        rows = await self._locked(data.task_ids)
        self._still_open(rows)
        ids = [r["id"] for r in rows]
        await queries.cancel_tasks(self.conn, ids, reason, self.clock())
        return await self._finish(rows, ids, "task.cancel", events.TASK_UPDATED, None)

    async def move(self, data: TaskBatchMove) -> TaskBatch:
        """Put the tasks in the queue to be pulled by its agents: whoever held one lets it
        go, and the queue's group becomes the task's."""
        rows = await self._locked(data.task_ids)
        queue = await queue_queries.queue(self.conn, data.queue_id)
        if queue is None:
            raise InvalidInput(f"queue {data.queue_id} not found", field="queue_id")
        self._still_open(rows)
        moving = [r["id"] for r in rows if r["queue_id"] != queue["id"] or r["status"] != "open"]
        known = await self.contacts(rows)
        if moving:
            await queries.update_tasks(
                self.conn,
                moving,
                {
                    **RETURNED,
                    "queue_id": queue["id"],
                    "group_id": queue["group_id"],
                    "strategy": {"kind": "queue"},
                    "updated_at": self.clock(),
                },
            )
        return await self._finish(rows, moving, "task.move", events.TASK_UPDATED, known)
