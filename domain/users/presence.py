"""Agent presence: coming online, being seen, going offline, and the ``agent.status`` event.

An agent is present while any of their sockets is open, on any web process: the web
process counts sockets and reports here when an agent's first one opens (an offline agent
becomes available), while they stay (``seen``, refreshed every few seconds) and when
the last one closes. The worklist's minute sweep turns agents unseen for the tenant's
offline time to offline. Every change of status, whoever makes it (these functions, the
agent themselves, an admin), is announced with one shape: ``AgentStatus``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import msgspec

from channels import names
from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.db import Connection
from domain.outbox import events
from domain.outbox.service import ChangeRecorder
from domain.users import queries
from domain.users.schemas import AgentStatus


def agent_status(row: Mapping[str, Any]) -> AgentStatus:
    return AgentStatus(
        id=row["id"],
        name=row["name"],
        status=row["status"],
        group_id=row["group_id"],
        since=row["status_changed_at"],
        capacity=row["capacity"],
    )


def status_audience(status: AgentStatus) -> list[str]:
    """Who hears an agent's status: the agent and the wallboard, the managers'. Not the
    agent's group, whose collectors may not read one another's availability over the API."""
    return [names.agent(status.id), names.WALLBOARD]


def status_event(status: AgentStatus) -> tuple[str, list[str], dict[str, Any]]:
    """``(type, channels, data)`` of the event announcing ``status``."""
    return events.AGENT_STATUS, status_audience(status), msgspec.to_builtins(status)


async def connected(conn: Connection, actor: Actor, user_id: int, clock: Clock = utcnow) -> bool:
    """An agent opened the app: seen now, and available again if they were offline.
    Returns True when their status changed."""
    now = clock()
    row = await queries.come_online(conn, user_id, now)
    if row is None:
        await queries.seen(conn, [user_id], now)
        return False
    await announce(ChangeRecorder(conn, actor, clock), [row], "user.online", "offline")
    return True


async def seen(conn: Connection, user_ids: list[int], clock: Clock = utcnow) -> None:
    """The agents still have a socket open (or just closed their last one)."""
    if user_ids:
        await queries.seen(conn, user_ids, clock())


async def mark_unseen_offline(
    conn: Connection, actor: Actor, cutoff: dt.datetime, clock: Clock = utcnow
) -> list[int]:
    """Agents of the actor's tenant unseen since ``cutoff`` become offline, announced."""
    rows = await queries.mark_unseen_offline(conn, actor.tenant_id, cutoff, clock())
    await announce(ChangeRecorder(conn, actor, clock), rows, "user.offline", None)
    return [r["id"] for r in rows]


async def announce(
    changes: ChangeRecorder, rows: list[Any], action: str, previous: str | None
) -> None:
    """Audit and announce status changes the system made (``rows`` as the queries return
    them; ``previous`` status when known)."""
    if not rows:
        return
    statuses = [agent_status(r) for r in rows]
    reason = "no socket" if action == "user.offline" else None
    await changes.record_many(
        action=action,
        entity_type="user",
        changes=[
            (
                s.id,
                {"status": previous} if previous else None,
                {"status": s.status, **({"reason": reason} if reason else {})},
            )
            for s in statuses
        ],
        events=[status_event(s) for s in statuses],
    )
