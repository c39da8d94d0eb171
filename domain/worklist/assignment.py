"""Assignment strategies: who gets a waiting task, decided for a whole round at once.

A round takes the tenant's assignment lock (one round per tenant at a time), locks the
waiting tasks it will place (``SKIP LOCKED``: a concurrent pull or round never waits on
them) and every available agent (in id order; a pull locks its own agent the same way),
then counts each agent's held work. The choices are made in memory, where capacity and
order are exact, and written back in one statement whose ``status = 'open'`` guard means a
task is never given twice. Nobody eligible: the task stays open and waits for the next
round, which runs when an agent becomes available, work is finished, or the minute sweep.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from domain.db import Connection
from domain.worklist.queries import assignment as queries
from domain.worklist.schemas import PUSH_KINDS, Assignment

ROUND_SIZE = 5_000


@dataclass(slots=True)
class Agent:
    id: int
    name: str
    group_id: int | None
    capacity: int
    load: int
    last_assigned_at: dt.datetime | None

    @property
    def free(self) -> bool:
        return self.load < self.capacity

    def idle_key(self) -> tuple[int, float, int]:
        # Never assigned first, then the longest since the last assignment.
        if self.last_assigned_at is None:
            return (0, 0.0, self.id)
        return (1, self.last_assigned_at.timestamp(), self.id)


@dataclass(slots=True)
class Group:
    id: int
    name: str
    last: int | None
    members: list[Agent]


class Planner:
    """Decides a round: pure bookkeeping over the locked agents and groups."""

    def __init__(self, agents: list[Agent], groups: dict[int, Group], now: dt.datetime) -> None:
        self.agents = {a.id: a for a in agents}
        self.groups = groups
        self.now = now
        self.touched_groups: dict[int, int] = {}

    def _take(self, agent: Agent) -> None:
        agent.load += 1
        agent.last_assigned_at = self.now

    def choose(
        self, strategy: dict[str, Any], group_id: int | None, owner_id: int | None
    ) -> tuple[Agent, str] | None:
        kind = strategy.get("kind")
        if kind == "agent":
            return self._named(strategy.get("agent_id"), "the rule's named agent")
        if kind == "owner":
            return self._named(owner_id, "the account's owner")
        group = self.groups.get(strategy.get("group_id") or group_id or 0)
        if group is None:
            return None
        free = [a for a in group.members if a.free]
        if not free:
            return None
        if kind == "fewest_open":
            agent = min(free, key=lambda a: (a.load, *a.idle_key()))
            reason = f"fewest open tasks in {group.name}: {agent.load} held of {agent.capacity}"
        elif kind == "longest_idle":
            agent = min(free, key=Agent.idle_key)
            since = (
                "never assigned before"
                if agent.last_assigned_at is None
                else f"idle since {agent.last_assigned_at.isoformat(timespec='seconds')}"
            )
            reason = f"longest idle in {group.name}: {since}"
        elif kind == "round_robin":
            ordered = sorted(group.members, key=lambda a: a.id)
            after = group.last
            start = next(
                (n for n, a in enumerate(ordered) if after is not None and a.id > after), 0
            )
            turn = ordered[start:] + ordered[:start]
            agent = next(a for a in turn if a.free)
            reason = f"round robin in {group.name}: next after agent {after or 'none'}"
            group.last = agent.id
            self.touched_groups[group.id] = agent.id
        else:
            return None
        self._take(agent)
        return agent, reason

    def _named(self, agent_id: int | None, who: str) -> tuple[Agent, str] | None:
        agent = self.agents.get(agent_id or 0)
        if agent is None or not agent.free:
            return None
        self._take(agent)
        return agent, f"{who}, {agent.name}"


async def assign_round(
    conn: Connection, tenant_id: int, now: dt.datetime, *, only: list[int] | None = None
) -> list[Assignment]:
    """One assignment round in the caller's transaction; returns what it assigned."""
    await queries.lock_round(conn, tenant_id)
    tasks = await queries.waiting_push_tasks(conn, tenant_id, PUSH_KINDS, only, ROUND_SIZE)
    if not tasks:
        return []
    agent_ids = await queries.lock_available_agents(conn, tenant_id)
    if not agent_ids:
        return []
    agents = [
        Agent(
            id=r["id"],
            name=r["name"],
            group_id=r["group_id"],
            capacity=r["capacity"],
            load=r["load"],
            last_assigned_at=r["last_assigned_at"],
        )
        for r in await queries.agent_loads(conn, agent_ids)
    ]
    group_ids = sorted(
        {
            t["strategy"].get("group_id") or t["group_id"]
            for t in tasks
            if t["strategy"].get("group_id") or t["group_id"]
        }
    )
    groups = {
        g["id"]: Group(
            id=g["id"],
            name=g["name"],
            last=g["last_assigned_user_id"],
            members=[a for a in agents if a.group_id == g["id"]],
        )
        for g in await queries.lock_groups(conn, group_ids)
    }
    planner = Planner(agents, groups, now)
    planned: list[tuple[int, int, str, str]] = []
    for task in tasks:
        found = planner.choose(task["strategy"], task["group_id"], task["owner_id"])
        if found is not None:
            agent, reason = found
            planned.append((task["id"], agent.id, task["strategy"]["kind"], reason))
    done = set(await queries.apply_assignments(conn, planned, now))
    chosen = [p for p in planned if p[0] in done]
    await queries.mark_assigned(conn, sorted({p[1] for p in chosen}), planner.touched_groups, now)
    return [Assignment(task_id=t, agent_id=a, by=by, reason=r) for t, a, by, r in chosen]
