"""Tasks: the life of one unit of collector work.

A task goes open -> assigned -> in progress -> completed (or cancelled at any point
before). Every transition writes its audit row and its event (``task.created``,
``task.assigned``, ``task.updated``, ``task.completed``) for the account's audience, the
assignee (and the previous one, when it changes hands) and the task's queue.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import asyncpg
import msgspec

from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.outbox import events
from domain.pagination import check_limit, decode_cursor, encode_cursor
from domain.sql import Where
from domain.users import queries as user_queries
from domain.worklist.base import WorklistService, check_strategy
from domain.worklist.queries import assignment as assignment_queries
from domain.worklist.queries import tasks as queries
from domain.worklist.schemas import (
    HELD_STATUSES,
    TASK_SORTS,
    TASK_STATUSES,
    TASK_TYPES,
    Task,
    TaskAssign,
    TaskCancel,
    TaskComplete,
    TaskCreate,
    TaskFilter,
    TaskPage,
)

# What a task that goes back to its queue forgets.
RETURNED: dict[str, Any] = {
    "status": "open",
    "assignee_id": None,
    "assigned_at": None,
    "started_at": None,
    "assigned_by": None,
    "assignment_reason": None,
}


# The most held work one agent's list shows (``mine``).
MINE_MAX = 1000


def _cursor_after(sort: str, task: Task, tenant_id: int) -> str:
    """The cursor of the page after ``task`` in the order ``sort`` names (``tenant_id``'s)."""
    if sort == "newest":
        return encode_cursor(task.id, tenant_id=tenant_id)
    if sort == "age":
        return encode_cursor(sort, task.created_at, task.id, tenant_id=tenant_id)
    if sort == "priority":
        return encode_cursor(sort, task.priority, task.created_at, task.id, tenant_id=tenant_id)
    return encode_cursor(sort, task.due_at, task.id, tenant_id=tenant_id)


def _after(where: Where, sort: str, cursor: str, tenant_id: int) -> list[Where]:
    """The tasks after the cursor's, in the order it was given out for, as ranges of that
    order's index, each a row comparison on plain columns (which an index can start at; a
    comparison over mixed directions or an expression would be a filter over every row
    before the cursor): most urgent, then oldest, is first the rest of the cursor's
    priority, then every lower one; soonest due is first the later due dates, then the
    tasks without one."""
    first = where.copy()
    if sort == "newest":
        (after,) = decode_cursor(cursor, tuple[int], tenant_id=tenant_id)
        first.add(f"t.id < {first.param(after)}")
        return [first]
    if sort == "age":
        _, created, task_id = decode_cursor(
            cursor, tuple[Literal["age"], dt.datetime, int], tenant_id=tenant_id
        )
        first.add(f"(t.created_at, t.id) > ({first.param(created)}, {first.param(task_id)})")
        return [first]
    rest = where.copy()
    if sort == "priority":
        _, priority, created, task_id = decode_cursor(
            cursor, tuple[Literal["priority"], int, dt.datetime, int], tenant_id=tenant_id
        )
        first.add(f"t.priority = {first.param(priority)}")
        first.add(f"(t.created_at, t.id) > ({first.param(created)}, {first.param(task_id)})")
        rest.add(f"t.priority < {rest.param(priority)}")
        return [first, rest]
    _, due, task_id = decode_cursor(
        cursor, tuple[Literal["due"], dt.datetime | None, int], tenant_id=tenant_id
    )
    if due is None:
        first.add(f"t.due_at IS NULL AND t.id > {first.param(task_id)}")
        return [first]
    first.add(f"(t.due_at, t.id) > ({first.param(due)}, {first.param(task_id)})")
    rest.add("t.due_at IS NULL")
    return [first, rest]


class TaskService(WorklistService):
    @property
    def _collector(self) -> bool:
        return not self.actor.sees_whole_tenant

    async def get(self, task_id: int) -> Task:
        row = await queries.get_task(self.conn, task_id)
        if row is None or not await self._may_see(row):
            raise NotFound(f"task {task_id} not found")
        return (await self.to_tasks([row]))[0]

    async def _may_see(self, row: asyncpg.Record) -> bool:
        if not self._collector or row["assignee_id"] == self.actor.id:
            return True
        return await self._sees_account(row["account_id"])

    async def _sees_account(self, account_id: int) -> bool:
        return await queries.collector_sees_account(self.conn, account_id, self.actor.id)  # type: ignore[arg-type]

    async def list(
        self,
        filters: TaskFilter,
        *,
        sort: str = "newest",
        cursor: str | None = None,
        limit: int = 50,
    ) -> TaskPage:
        """A page of the tasks the filters select, in the order ``sort`` names, with how
        many they select in all."""
        check_limit(limit)
        if sort not in TASK_SORTS:
            raise InvalidInput(
                f"unknown sort {sort!r}; one of {', '.join(TASK_SORTS)}", field="sort"
            )
        where = Where()
        where.add(f"t.tenant_id = {where.param(self.actor.tenant_id)}")
        # Known words only, written into the statement so that the planner sees which
        # statuses (and so which partial index of open work) a query asks about.
        for name, given, known in (
            ("status", filters.status, TASK_STATUSES),
            ("type", filters.type, TASK_TYPES),
        ):
            for value in given or ():
                if value not in known:
                    raise InvalidInput(
                        f"unknown {name} {value!r}; one of {', '.join(known)}", field=name
                    )
            if given:
                words = ", ".join(f"'{value}'" for value in sorted(set(given)))
                where.add(f"t.{name} IN ({words})")
        if self._collector:
            # Their own work; or, on an account they may see, all of its work (its history).
            if filters.account_id is None or not await self._sees_account(filters.account_id):
                where.add(f"t.assignee_id = {where.param(self.actor.id)}")
        elif filters.assignee_id is not None:
            where.add(f"t.assignee_id = {where.param(filters.assignee_id)}")
        if filters.unassigned:
            where.add("t.assignee_id IS NULL")
        for column in ("queue_id", "rule_id", "account_id"):
            value = getattr(filters, column)
            if value is not None:
                where.add(f"t.{column} = {where.param(value)}")
        total = await queries.count_tasks(self.conn, where)
        order = queries.TASK_ORDERS[sort]
        rows: list[asyncpg.Record] = []
        # The ranges after the cursor, in order: the next is read only if the page needs it.
        for part in _after(where, sort, cursor, self.actor.tenant_id) if cursor else [where]:
            rows += await queries.search_tasks(
                self.conn, part, order=order, limit=limit + 1 - len(rows)
            )
            if len(rows) > limit:
                break
        items = await self.to_tasks(rows[:limit])
        more = len(rows) > limit and items
        return TaskPage(
            items=items,
            next_cursor=_cursor_after(sort, items[-1], self.actor.tenant_id) if more else None,
            total=total,
        )

    async def mine(self, limit: int = 500) -> list[Task]:
        """The caller's held work, in the order they should work it."""
        if not 1 <= limit <= MINE_MAX:
            raise InvalidInput(f"limit must be between 1 and {MINE_MAX}", field="limit")
        where = Where()
        where.add(f"t.tenant_id = {where.param(self.actor.tenant_id)}")
        where.add(f"t.assignee_id = {where.param(self.actor.id)}")
        where.add("t.status IN ('assigned', 'in_progress')")
        rows = await queries.search_tasks(self.conn, where, order=queries.HELD_ORDER, limit=limit)
        return await self.to_tasks(rows)

    async def create(self, data: TaskCreate) -> Task:
        (task,) = await self.create_many([data])
        return task

    async def create_many(self, items: list[TaskCreate]) -> list[Task]:
        """New tasks, in the order given: one insert, and one audit statement and one of
        events for them all."""
        if not items:
            return []
        missing = await queries.missing_accounts(self.conn, sorted({i.account_id for i in items}))
        if missing:
            raise InvalidInput(f"account {missing[0]} not found", field="account_id")
        distinct = {(msgspec.json.encode(i.strategy), i.queue_id): i for i in items}
        for item in distinct.values():
            await check_strategy(self.conn, item.strategy, item.queue_id)
        ids = await queries.insert_tasks(
            self.conn,
            self.actor.tenant_id,
            [
                {
                    "account_id": i.account_id,
                    "type": i.type,
                    "title": i.title.strip(),
                    "priority": i.priority,
                    "due_at": i.due_at,
                    "queue_id": i.queue_id,
                    "group_id": i.strategy.group_id,
                    "strategy": msgspec.to_builtins(i.strategy),
                    "notes": i.notes,
                    "created_by": self.actor.id if self.actor.is_user else None,
                }
                for i in items
            ],
            self.clock(),
        )
        tasks = await self.load(ids)
        await self.announce("task.create", events.TASK_CREATED, tasks)
        return tasks

    async def _held(self, task_id: int) -> Task:
        """The task, locked, for a change by its assignee or a manager."""
        row = await queries.get_task(self.conn, task_id, for_update=True)
        if row is None or not await self._may_see(row):
            raise NotFound(f"task {task_id} not found")
        if self._collector and row["assignee_id"] != self.actor.id:
            raise Forbidden("this task is assigned to someone else")
        return (await self.to_tasks([row]))[0]

    async def _change(
        self, before: Task, changes: dict[str, Any], action: str, event_type: str
    ) -> Task:
        changes["updated_at"] = self.clock()
        await queries.update_task(self.conn, before.id, changes)
        (after,) = await self.load([before.id])
        await self.announce(action, event_type, [after], before={before.id: before})
        return after

    async def start(self, task_id: int) -> Task:
        task = await self._held(task_id)
        if task.status == "in_progress":
            return task
        if task.status != "assigned":
            raise Conflict(f"only assigned work can be started; this task is {task.status}")
        return await self._change(
            task,
            {"status": "in_progress", "started_at": self.clock()},
            "task.start",
            events.TASK_UPDATED,
        )

    async def complete(self, task_id: int, data: TaskComplete) -> Task:
        task = await self._held(task_id)
        if task.status in ("completed", "cancelled"):
            raise Conflict(f"this task is already {task.status}")
        if task.status == "open" and self._collector:
            raise Forbidden("take the task before completing it")
        notes = "\n".join(n for n in (task.notes, data.notes.strip()) if n)
        return await self._change(
            task,
            {
                "status": "completed",
                "outcome": data.outcome.strip(),
                "notes": notes,
                "completed_at": self.clock(),
                "started_at": task.started_at or self.clock(),
            },
            "task.complete",
            events.TASK_COMPLETED,
        )

    async def cancel(self, task_id: int, data: TaskCancel) -> Task:
        task = await self._held(task_id)
        if self._collector:
            raise Forbidden("only a supervisor or admin cancels tasks")
        if task.status in ("completed", "cancelled"):
            raise Conflict(f"this task is already {task.status}")
        notes = "\n".join(n for n in (task.notes, data.reason.strip()) if n)
        return await self._change(
            task,
            {
                "status": "cancelled",
                "cancelled_at": self.clock(),
                "outcome": "cancelled",
                "notes": notes,
            },
            "task.cancel",
            events.TASK_UPDATED,
        )

    async def release(self, task_id: int) -> Task:
        """The assignee hands the task back to its queue."""
        task = await self._held(task_id)
        if task.status not in HELD_STATUSES:
            raise Conflict(f"only held work can be handed back; this task is {task.status}")
        return await self._change(task, RETURNED.copy(), "task.release", events.TASK_UPDATED)

    async def assign(self, task_id: int, data: TaskAssign) -> Task:
        """A supervisor gives the task to an agent, or back to its queue (no agent)."""
        if self._collector:
            raise Forbidden("only a supervisor or admin reassigns tasks")
        task = await self._held(task_id)
        if task.status in ("completed", "cancelled"):
            raise Conflict(f"this task is already {task.status}")
        if data.assignee_id is None:
            if task.assignee_id is None:
                return task
            return await self._change(task, RETURNED.copy(), "task.assign", events.TASK_ASSIGNED)
        await assignment_queries.lock_agents(self.conn, [data.assignee_id])
        agent = await user_queries.agent(self.conn, data.assignee_id)
        if agent is None or not agent["active"] or agent["role"] == "readonly":
            raise InvalidInput(
                f"user {data.assignee_id} is not an active agent", field="assignee_id"
            )
        if agent["status"] == "offline":
            raise Conflict(f"{agent['name']} is offline", field="assignee_id")
        if agent["id"] == task.assignee_id:
            return task
        held = await queries.held_count(self.conn, agent["id"])
        if held >= agent["capacity"]:
            raise Conflict(
                f"{agent['name']} already holds {held} tasks, their capacity", field="assignee_id"
            )
        reason = await self.reassigned_by(data.reason)
        now = self.clock()
        return await self._change(
            task,
            {
                "status": "assigned",
                "assignee_id": agent["id"],
                "assigned_at": now,
                "started_at": None,
                "assigned_by": "supervisor",
                "assignment_reason": reason,
                "not_before": None,
            },
            "task.assign",
            events.TASK_ASSIGNED,
        )
