"""Assignment strategies, capacity and availability, and "next task" under concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domain.actor import system_actor
from domain.worklist.base import WorklistService
from domain.worklist.pull import PullService
from tests.factories import SeededTenant
from tests.integration.worklist_helpers import (
    agent_actor,
    agents,
    assign,
    group,
    held,
    parallel_work,
    queue,
    task_row,
    tasks,
)


async def test_a_named_agent_gets_the_task_only_when_available(tenant: SeededTenant) -> None:
    [agent] = await agents(tenant, 1, status="away")
    [task_id] = await tasks(tenant, 1, strategy={"kind": "agent", "agent_id": agent})
    assert await assign(tenant) == []
    assert (await task_row(tenant, task_id))["status"] == "open"

    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET status = 'available' WHERE id = $1", agent)
    [made] = await assign(tenant)
    row = await task_row(tenant, task_id)
    assert (row["status"], row["assignee_id"], row["assigned_by"]) == ("assigned", agent, "agent")
    assert "named agent" in row["assignment_reason"]
    assert made.agent_id == agent


async def test_the_account_owner_strategy(tenant: SeededTenant) -> None:
    owner = tenant.collector.id
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET status = 'available' WHERE id = $1", owner)
    account = tenant.accounts[0]
    assert account.owner_id == owner
    [task_id] = await tasks(tenant, 1, account_id=account.id, strategy={"kind": "owner"})
    # An account without an owner: its task waits.
    [orphan] = await tasks(tenant, 1, account_id=tenant.accounts[2].id, strategy={"kind": "owner"})
    await assign(tenant)
    assert (await task_row(tenant, task_id))["assignee_id"] == owner
    assert "owner" in (await task_row(tenant, task_id))["assignment_reason"]
    assert (await task_row(tenant, orphan))["status"] == "open"


async def test_fewest_open_tasks_ends_balanced_within_one(tenant: SeededTenant) -> None:
    team = await group(tenant)
    team_agents = await agents(tenant, 10, group_id=team, capacity=1000)
    # Start uneven: the first agent already holds 37 tasks.
    for task_id in await tasks(tenant, 37):
        async with tenant.db.tenant(tenant.id) as conn:
            await conn.execute(
                "UPDATE tasks SET status = 'assigned', assignee_id = $2 WHERE id = $1",
                task_id,
                team_agents[0],
            )
    await tasks(tenant, 1000, strategy={"kind": "fewest_open", "group_id": team})
    made = await assign(tenant)
    assert len(made) == 1000
    assert len({m.task_id for m in made}) == 1000
    loads = await held(tenant, team_agents)
    assert sum(loads.values()) == 1037
    assert max(loads.values()) - min(loads.values()) <= 1
    assert all("fewest open tasks" in m.reason for m in made)


async def test_round_robin_takes_turns_across_rounds(tenant: SeededTenant) -> None:
    team = await group(tenant)
    team_agents = await agents(tenant, 3, group_id=team)
    strategy = {"kind": "round_robin", "group_id": team}
    first = await tasks(tenant, 4, strategy=strategy)
    await assign(tenant)
    second = await tasks(tenant, 2, strategy=strategy)
    await assign(tenant)
    order = [(await task_row(tenant, t))["assignee_id"] for t in first + second]
    a, b, c = team_agents
    assert order == [a, b, c, a, b, c]


async def test_longest_idle_prefers_who_waited_longest(tenant: SeededTenant) -> None:
    team = await group(tenant)
    busy, idle, never = await agents(tenant, 3, group_id=team)
    now = dt.datetime.now(dt.UTC)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE users SET last_assigned_at = $2 WHERE id = $1",
            busy,
            now - dt.timedelta(minutes=1),
        )
        await conn.execute(
            "UPDATE users SET last_assigned_at = $2 WHERE id = $1",
            idle,
            now - dt.timedelta(hours=3),
        )
    made = await tasks(tenant, 3, strategy={"kind": "longest_idle", "group_id": team})
    await assign(tenant)
    got = [(await task_row(tenant, t))["assignee_id"] for t in made]
    assert got == [never, idle, busy]
    assert "never assigned" in (await task_row(tenant, made[0]))["assignment_reason"]


async def test_capacity_and_offline_agents_are_respected(tenant: SeededTenant) -> None:
    team = await group(tenant)
    [small] = await agents(tenant, 1, group_id=team, capacity=2)
    [gone] = await agents(tenant, 1, group_id=team, capacity=100, status="offline")
    made = await tasks(tenant, 5, strategy={"kind": "fewest_open", "group_id": team})
    await assign(tenant)
    loads = await held(tenant, [small, gone])
    assert loads == {small: 2, gone: 0}
    waiting = [t for t in made if (await task_row(tenant, t))["status"] == "open"]
    assert len(waiting) == 3

    # Someone becomes available: the waiting work goes to them.
    [fresh] = await agents(tenant, 1, group_id=team, capacity=10)
    await assign(tenant)
    assert (await held(tenant, [fresh]))[fresh] == 3


async def test_concurrent_rounds_never_give_a_task_twice(tenant: SeededTenant) -> None:
    team = await group(tenant)
    team_agents = await agents(tenant, 8, group_id=team, capacity=500)
    await tasks(tenant, 600, strategy={"kind": "fewest_open", "group_id": team})
    rounds = await asyncio.gather(*(assign(tenant) for _ in range(4)))
    given = [m.task_id for r in rounds for m in r]
    assert len(given) == len(set(given)) == 600
    loads = await held(tenant, team_agents)
    assert sum(loads.values()) == 600
    assert max(loads.values()) - min(loads.values()) <= 1


async def test_twenty_agents_pulling_from_one_queue_get_every_task_exactly_once(
    tenant: SeededTenant,
) -> None:
    await parallel_work(tenant)
    queue_id = await queue(tenant)
    pullers = await agents(tenant, 20, capacity=1000)
    created = set(await tasks(tenant, 1000, queue_id=queue_id))

    async def pull_all(agent_id: int) -> list[int]:
        got = []
        while True:
            async with tenant.db.tenant(tenant.id) as conn:
                found = await PullService(conn, agent_actor(tenant, agent_id)).next()
            if found.task is None:
                return got
            assert found.task.assignee_id == agent_id
            got.append(found.task.id)

    pulled = await asyncio.gather(*(pull_all(a) for a in pullers))
    every = [t for got in pulled for t in got]
    assert len(every) == 1000
    assert set(every) == created
    assert sum(1 for got in pulled if got) > 1  # the work really was shared
    async with tenant.db.tenant(tenant.id) as conn:
        states = await conn.fetch(
            "SELECT status, count(*) AS n FROM tasks WHERE queue_id = $1 GROUP BY status", queue_id
        )
    assert {r["status"]: r["n"] for r in states} == {"in_progress": 1000}


async def test_next_task_takes_priority_then_age_and_respects_capacity(
    tenant: SeededTenant,
) -> None:
    await parallel_work(tenant)
    queue_id = await queue(tenant)
    [agent] = await agents(tenant, 1, capacity=2)
    old_low = (await tasks(tenant, 1, queue_id=queue_id, priority=10))[0]
    high = await tasks(tenant, 2, queue_id=queue_id, priority=90)
    async with tenant.db.tenant(tenant.id) as conn:
        service = PullService(conn, agent_actor(tenant, agent))
        first = (await service.next()).task
        second = (await service.next()).task
    assert [first.id, second.id] == high  # type: ignore[union-attr]
    async with tenant.db.tenant(tenant.id) as conn:
        with pytest.raises(Exception, match="capacity"):
            await PullService(conn, agent_actor(tenant, agent)).next()
    assert (await task_row(tenant, old_low))["status"] == "open"


async def test_age_boost_lifts_old_work_over_newer_urgent_work(tenant: SeededTenant) -> None:
    queue_id = await queue(tenant, age_boost_minutes=10)
    [agent] = await agents(tenant, 1)
    [old] = await tasks(tenant, 1, queue_id=queue_id, priority=40)
    [new] = await tasks(tenant, 1, queue_id=queue_id, priority=45)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tasks SET created_at = now() - interval '2 hours' WHERE id = $1", old
        )
        got = (await PullService(conn, agent_actor(tenant, agent)).next()).task
    assert got is not None
    assert got.id == old
    assert new != old


async def test_next_task_skips_a_call_the_debtor_may_not_get_now(tenant: SeededTenant) -> None:
    await parallel_work(tenant)
    queue_id = await queue(tenant)
    [agent] = await agents(tenant, 1)
    blocked_account = tenant.accounts[0]
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE debtors SET opt_out_call = true WHERE id = $1", blocked_account.debtor_id
        )
    [blocked] = await tasks(
        tenant, 1, account_id=blocked_account.id, queue_id=queue_id, type="call", priority=99
    )
    [callable_] = await tasks(
        tenant, 1, account_id=tenant.accounts[1].id, queue_id=queue_id, type="call", priority=50
    )
    async with tenant.db.tenant(tenant.id) as conn:
        service = PullService(conn, agent_actor(tenant, agent))
        got = (await service.next()).task
        assert got is not None
        assert got.id == callable_
        assert got.contact is not None
        assert got.contact.allowed
        nothing = await service.next()
    assert nothing.task is None
    row = await task_row(tenant, blocked)
    assert row["status"] == "open"
    assert row["not_before"] is not None
    # The list says why and (for a block only a person lifts) nothing about when.
    async with tenant.db.tenant(tenant.id) as conn:
        [shown] = await WorklistService(conn, system_actor(tenant.id)).load([blocked])
    assert shown.contact is not None
    assert not shown.contact.allowed
    assert "opted out" in (shown.contact.reason or "")


async def test_a_call_outside_the_debtors_hours_says_until_when(tenant: SeededTenant) -> None:
    # A zone where it is now the middle of the night.
    offset = (dt.datetime.now(dt.UTC).hour - 3) % 24
    offset = offset - 24 if offset > 12 else offset
    zone = f"Etc/GMT{offset:+d}" if offset else "Etc/GMT"
    account = tenant.accounts[0]
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE debtors SET time_zone = $2 WHERE id = $1", account.debtor_id, zone
        )
    [task_id] = await tasks(tenant, 1, account_id=account.id, type="call")
    async with tenant.db.tenant(tenant.id) as conn:
        [shown] = await WorklistService(conn, system_actor(tenant.id)).load([task_id])
    assert shown.contact is not None
    assert not shown.contact.allowed
    assert shown.contact.opens_at is not None
    assert shown.contact.opens_at > dt.datetime.now(dt.UTC)
