"""The floor as a supervisor runs it: each agent's availability, capacity and held work, and
changing the first two on an agent's behalf.

A change is the same change the agent or an admin would make (``UserService``), audited as
``agent.update`` and announced as one ``agent.status`` event to the agent, the wallboard
and the agent's group. Raising a capacity or making someone available may let waiting work
move: the relay hands that event to an assignment round.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from domain.errors import NotFound
from domain.service import Service
from domain.users import queries
from domain.users.schemas import UNSET, Agent, AgentUpdate
from domain.users.service import UserService, to_user


def to_agent(row: asyncpg.Record) -> Agent:
    return Agent(**dict(row))


class AgentService(Service):
    async def list(self, *, group_id: int | None = None) -> list[Agent]:
        """The tenant's active agents (of one group, when given), by name."""
        if group_id is not None and not await queries.group_exists(self.conn, group_id):
            raise NotFound(f"agent group {group_id} not found")
        return [to_agent(r) for r in await queries.list_agents(self.conn, group_id)]

    async def get(self, user_id: int) -> Agent:
        row = await queries.floor_agent(self.conn, user_id)
        if row is None:
            raise NotFound(f"agent {user_id} not found")
        return to_agent(row)

    async def update(self, user_id: int, data: AgentUpdate) -> Agent:
        """Set an agent's status or capacity for them (a read-only or deactivated user is
        no agent: 404, as for an id that does not exist)."""
        current = await queries.get(self.conn, user_id, for_update=True)
        if current is None or not current["active"] or current["role"] == "readonly":
            raise NotFound(f"agent {user_id} not found")
        changes: dict[str, Any] = {}
        if data.status is not UNSET:
            changes["status"] = data.status
        if data.capacity is not UNSET:
            changes["capacity"] = data.capacity
        users = self.using(UserService)
        await users.apply_changes(to_user(current), changes, action="agent.update")
        return await self.get(user_id)
