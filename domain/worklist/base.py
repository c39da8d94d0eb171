"""What the worklist's services share: tasks loaded as shown (with whether each call may be
made now), who hears of a task's change, announcing changes, and checking strategies."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from channels import names
from domain.accounts.audience import account_audience
from domain.channel_access import announce_access_change
from domain.compliance import service as compliance
from domain.db import Connection
from domain.errors import InvalidInput
from domain.service import Service
from domain.users import queries as user_queries
from domain.worklist.conditions import Context
from domain.worklist.queries import queues as queue_queries
from domain.worklist.queries import tasks as queries
from domain.worklist.schemas import HELD_STATUSES, Strategy, Task, TaskContact
from domain.worklist.views import audit_view, to_task


def task_audience(task: Task, *also_agents: int | None) -> list[str]:
    """The account's audience (with the task's assignee, and anyone who just lost it as an
    agent too) and the task's queue."""
    channels = account_audience(task.account_id, task.assignee_id, *also_agents)
    if task.queue_id is not None:
        channels.append(names.queue(task.queue_id))
    return channels


class WorklistService(Service):
    async def reassigned_by(self, reason: str) -> str:
        """Why a task went to someone by hand, naming who gave it: "reassigned by Sam Lee:
        cover" (an API key or the system by its kind)."""
        who = self.actor.type.replace("_", " ")
        if self.actor.is_user and self.actor.id is not None:
            found = await user_queries.agent(self.conn, self.actor.id)
            who = found["name"] if found else f"user {self.actor.id}"
        why = reason.strip()
        return f"reassigned by {who}: {why}" if why else f"reassigned by {who}"

    async def context(self) -> Context:
        tenant = await self.tenant()
        now = self.clock()
        return Context(tenant=tenant, today=await self.today(), now=now)

    async def contacts(self, rows: Sequence[asyncpg.Record]) -> dict[int, TaskContact]:
        """Whether each open call task's debtor may be called now (two statements)."""
        accounts = sorted(
            {
                r["account_id"]
                for r in rows
                if r["type"] == "call" and r["status"] not in ("completed", "cancelled")
            }
        )
        if not accounts:
            return {}
        tenant = await self.tenant()
        decided = await compliance.decisions(
            self.conn, accounts, "call", self.clock(), tenant.settings.contact
        )
        found = {}
        for account_id, decision in decided.items():
            reason = decision.refusals[0].message if decision.refusals else None
            found[account_id] = TaskContact(
                allowed=decision.allowed,
                reason=reason,
                opens_at=decision.opens_at,
                time_zone=decision.time_zone,
            )
        return found

    async def load(self, ids: list[int]) -> list[Task]:
        if not ids:
            return []
        return await self.to_tasks(await queries.tasks_by_ids(self.conn, ids))

    async def to_tasks(
        self, rows: Sequence[asyncpg.Record], *, known: dict[int, TaskContact] | None = None
    ) -> list[Task]:
        """Tasks as shown; ``known`` contact decisions (by account) are not asked again."""
        tenant = await self.tenant()
        today = await self.today()
        pending = [r for r in rows if not known or r["account_id"] not in known]
        contacts = {**(known or {}), **(await self.contacts(pending))}
        return [
            to_task(
                r, tenant, today, contacts.get(r["account_id"]) if r["type"] == "call" else None
            )
            for r in rows
        ]

    async def announce(
        self,
        action: str,
        event_type: str,
        tasks: list[Task],
        *,
        before: dict[int, Task] | None = None,
        previous_assignees: dict[int, int | None] | None = None,
    ) -> None:
        """Audit and publish a transition of ``tasks`` (each as it is now)."""
        if not tasks:
            return
        before = before or {}
        previous = previous_assignees or {}
        changes = []
        announced = []
        lost = []  # accounts whose work left someone's hands: maybe out of their view now
        for task in tasks:
            prior = before.get(task.id)
            was = previous.get(task.id, prior.assignee_id if prior else None)
            changes.append((task.id, audit_view(prior) if prior else None, audit_view(task)))
            data = {"task": msgspec.to_builtins(task)}
            if was is not None and was != task.assignee_id:
                data["previous_assignee_id"] = was
            audience = task_audience(task, was)
            if prior is not None and prior.queue_id not in (None, task.queue_id):
                audience.append(names.queue(prior.queue_id))  # it left that queue
            announced.append((event_type, audience, data))
            if was is not None and (was != task.assignee_id or task.status not in HELD_STATUSES):
                lost.append(task.account_id)
        await self.changes.record_many(
            action=action, entity_type="task", changes=changes, events=announced
        )
        await announce_access_change(self.changes, accounts=lost)


async def check_strategy(conn: Connection, strategy: Strategy, queue_id: int | None) -> None:
    """A rule's or a task's strategy names a queue, agent and group that exist here."""
    if queue_id is not None and not await queue_queries.queue_exists(conn, queue_id):
        raise InvalidInput(f"queue {queue_id} not found", field="queue_id")
    kind = strategy.kind
    if kind == "agent":
        if strategy.agent_id is None:
            raise InvalidInput("the agent strategy names an agent_id", field="strategy.agent_id")
        if not await user_queries.is_agent(conn, strategy.agent_id):
            raise InvalidInput(
                f"user {strategy.agent_id} is not an active agent", field="strategy.agent_id"
            )
    elif kind in ("fewest_open", "round_robin", "longest_idle") and strategy.group_id is None:
        raise InvalidInput(f"the {kind} strategy names a group_id", field="strategy.group_id")
    if strategy.group_id is not None and not await user_queries.group_exists(
        conn, strategy.group_id
    ):
        raise InvalidInput(f"agent group {strategy.group_id} not found", field="strategy.group_id")
