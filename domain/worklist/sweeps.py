"""The worklist in the background (taskiq jobs call these): assignment rounds, assigned
work not started in time, agents gone offline, calls held back for their debtors' sake,
rules whose cadence has come round. Each is one set-based statement per tenant, and
idempotent: a job delivered twice changes nothing the second time."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.db import Connection
from domain.outbox import events
from domain.users import presence
from domain.worklist.assignment import assign_round
from domain.worklist.base import WorklistService
from domain.worklist.queries import assignment as assignment_queries
from domain.worklist.queries import pull as pull_queries
from domain.worklist.queries import rules as rule_queries
from domain.worklist.queries import tasks as task_queries
from domain.worklist.schemas import PUSH_KINDS, Assignment


async def assign_waiting(
    conn: Connection, actor: Actor, clock: Clock = utcnow, *, only: list[int] | None = None
) -> list[Assignment]:
    """One assignment round for the actor's tenant, announced."""
    made = await assign_round(conn, actor.tenant_id, clock(), only=only)
    if made:
        worklist = WorklistService(conn, actor, clock)
        tasks = await worklist.load([m.task_id for m in made])
        await worklist.announce("task.assign", events.TASK_ASSIGNED, tasks)
    return made


async def return_timed_out(conn: Connection, actor: Actor, clock: Clock = utcnow) -> list[int]:
    """Assigned work not started within the tenant's time goes back to its queue."""
    worklist = WorklistService(conn, actor, clock)
    tenant = await worklist.tenant()
    minutes = tenant.settings.worklist.assignment_timeout_minutes
    rows = await task_queries.release_timed_out(conn, actor.tenant_id, clock(), minutes)
    await _announce_returned(worklist, rows, "task.timeout")
    return [r["id"] for r in rows]


async def mark_offline(
    conn: Connection, actor: Actor, clock: Clock = utcnow
) -> tuple[list[int], list[int]]:
    """Agents of the tenant unseen for its offline time become offline; their held work
    stays or returns to its queue as the tenant says. Returns (agents, returned tasks)."""
    worklist = WorklistService(conn, actor, clock)
    rules = (await worklist.tenant()).settings.worklist
    cutoff = clock() - dt.timedelta(minutes=rules.offline_after_minutes)
    gone = await presence.mark_unseen_offline(conn, actor, cutoff, clock)
    if not gone or rules.offline_tasks != "return":
        return gone, []
    rows = await task_queries.release_held_by(conn, actor.tenant_id, gone, clock())
    await _announce_returned(worklist, rows, "task.offline_return")
    return gone, [r["id"] for r in rows]


async def _announce_returned(
    worklist: WorklistService, rows: list[asyncpg.Record], action: str
) -> None:
    if not rows:
        return
    tasks = await worklist.load([r["id"] for r in rows])
    held = {r["id"]: r for r in rows}
    # As each was before (what the audit row keeps: who held it, and how it came to them).
    before = {
        t.id: msgspec.structs.replace(
            t,
            status=held[t.id]["status"],
            assignee_id=held[t.id]["previous_assignee_id"],
            assigned_at=held[t.id]["assigned_at"],
            started_at=held[t.id]["started_at"],
            assigned_by=held[t.id]["assigned_by"],
            assignment_reason=held[t.id]["assignment_reason"],
        )
        for t in tasks
    }
    await worklist.announce(action, events.TASK_UPDATED, tasks, before=before)


# Across tenants (a system connection) ----------------------------------------------------


async def due_rules(conn: Connection, now: dt.datetime) -> list[asyncpg.Record]:
    """Enabled rules whose cadence has come round, in every tenant."""
    return await rule_queries.due_rules(conn, now)


async def release_held_back(conn: Connection, now: dt.datetime) -> int:
    """Calls held back whose time has come wait in line again, in every tenant."""
    return await pull_queries.release_held_back(conn, now)


async def tenants_waiting(conn: Connection) -> list[int]:
    """Tenants with pushed work still waiting for an agent."""
    return await assignment_queries.tenants_with_waiting_push(conn, PUSH_KINDS)
