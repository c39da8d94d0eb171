""" "Next task": an agent pulls the most urgent waiting work of the queues they may pull from.

One round trip locks the agent (``AGENT_LOCK``: their capacity cannot change under the
pull) and reads their tenant and queues; candidates come most urgent first, locked with
``SKIP LOCKED`` so that agents pulling at once take the next task rather than queue behind
each other, each call with its debtor's contact state. Calls that may not be made now are
held back until they may; the first task that may be worked is taken and started.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from domain.compliance import service as compliance
from domain.errors import Conflict, Forbidden
from domain.outbox import events
from domain.tenancy.schemas import to_tenant
from domain.users import presence
from domain.worklist.base import WorklistService
from domain.worklist.queries import pull as queries
from domain.worklist.queries.tasks import held_count
from domain.worklist.schemas import Task, TaskContact

# A call that only a person can reopen (an opt-out, a dispute) is looked at again after this.
RECHECK_BLOCKED = dt.timedelta(hours=1)
# Candidates per queue in each round of a pull: the first usually serves; later rounds are
# wider, to pass over calls that may not be made yet in fewer round trips.
PULL_BATCHES = (1, 8, 8, 8, 8)

RESUMED = "you are already working on this task: complete it or hand it back to take another"
AWAY = "you are away: set yourself available to take new work"


class NextTask(msgspec.Struct, kw_only=True):
    """What "next task" gave: a task, or none and why."""

    task: Task | None
    message: str
    # The task is the one the agent already had under way, given back rather than another.
    resumed: bool = False


class PullService(WorklistService):
    async def next(self) -> NextTask:
        """Pull the most urgent waiting task of the caller's queues and start it. Call tasks
        whose debtor may not be called now are passed over until they may. An agent with a
        task under way gets that one back (unless the tenant allows parallel work); an agent
        who is away gets no new work."""
        if not self.actor.is_user or self.actor.id is None:
            raise Forbidden("only a signed-in agent pulls tasks")
        found = await queries.lock_agent(self.conn, self.actor.id)
        me = found[0] if found else None
        if me is None or not me["active"] or me["role"] == "readonly":
            raise Forbidden("only an active agent pulls tasks")
        tenant = to_tenant(
            {
                "id": me["tenant_id"],
                "slug": me["slug"],
                "name": me["tenant_name"],
                "time_zone": me["time_zone"],
                "settings": me["settings"],
                "version": me["tenant_version"],
                "created_at": me["tenant_created_at"],
            }
        )
        self.knows_tenant(tenant)
        eligible = {r["queue_id"]: r["queue_name"] for r in found if r["queue_id"] is not None}
        if me["status"] == "offline":
            await presence.connected(self.conn, self.actor, me["id"], self.clock)
        if not tenant.settings.worklist.parallel_tasks:
            under_way = await queries.under_way(self.conn, tenant.id, me["id"])
            if under_way is not None:
                (task,) = await self.to_tasks([under_way])
                return NextTask(task=task, message=RESUMED, resumed=True)
        if me["status"] == "away":
            return NextTask(task=None, message=AWAY)
        if not eligible:
            return NextTask(task=None, message="you are not in any queue")
        boosted = any(r["age_boost_minutes"] for r in found if r["queue_id"] is not None)
        now = self.clock()
        chosen = None
        contact: TaskContact | None = None
        skipped = 0
        rules = tenant.settings.contact
        window = compliance.state_window(now)
        for batch in PULL_BATCHES:
            rows = await queries.pull_candidates(
                self.conn, self.actor.tenant_id, list(eligible), now, batch, window, boosted=boosted
            )
            if not rows:
                break
            decided = {
                r["account_id"]: compliance.decide_state(r, "call", now, rules)
                for r in rows
                if r["type"] == "call" and r["state_account_id"] is not None
            }
            held_back = []
            for row in rows:
                decision = decided.get(row["account_id"]) if row["type"] == "call" else None
                if decision is not None and not decision.allowed:
                    held_back.append((row["id"], decision.opens_at or now + RECHECK_BLOCKED))
                    continue
                chosen = row
                if decision is not None:
                    contact = TaskContact(allowed=True, time_zone=decision.time_zone)
                break
            skipped += len(held_back)
            await queries.hold_back(self.conn, held_back)
            if chosen is not None:
                break
        if chosen is None:
            message = "nothing is waiting in your queues"
            if skipped:
                message += f" that may be worked now ({skipped} calls may not be made yet)"
            return NextTask(task=None, message=message)
        waited = max(0, int((now - chosen["created_at"]).total_seconds() // 60))
        reason = (
            f"next task from {eligible[chosen['queue_id']]}: "
            f"priority {chosen['priority']}, waited {waited} min"
        )
        row = await queries.take(self.conn, chosen["id"], me["id"], me["capacity"], reason, now)
        if row is None:
            held = await held_count(self.conn, me["id"])
            raise Conflict(
                f"you hold {held} tasks, your capacity; finish one before taking another"
            )
        known = {chosen["account_id"]: contact} if contact is not None else None
        (task,) = await self.to_tasks([row], known=known)
        await self.announce("task.pull", events.TASK_ASSIGNED, [task])
        return NextTask(task=task, message=reason)
