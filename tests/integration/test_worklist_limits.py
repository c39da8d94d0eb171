"""The worklist at its limits: a pull never waits behind another agent's pull (SKIP LOCKED),
and an agent may be given work up to their capacity, not one task past it, even when pulls,
reassignments and assignment rounds reach their last place at once."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import Conflict
from domain.worklist.pull import NextTask, PullService
from domain.worklist.schemas import TaskAssign
from domain.worklist.tasks import TaskService
from tests.factories import SeededTenant, TenantFactory
from tests.integration.worklist_helpers import (
    agent_actor,
    agents,
    group,
    held,
    parallel_work,
    queue,
    task_row,
    tasks,
)
from tests.integration.worklist_helpers import assign as assign_round

# How long a pull may wait on a row lock before the test calls it blocked.
NO_WAIT = "250ms"


async def three_tasks(tenant: SeededTenant, kind: str) -> list[int]:
    """Tasks of priority 90, 80 and 70 in the shape of pull ``kind``: one queue, several
    queues, or a queue with an age boost."""
    first = await queue(tenant, age_boost_minutes=10 if kind == "boosted" else None)
    if kind == "many":
        await queue(tenant, name="Also open to everyone")
    return [(await tasks(tenant, 1, queue_id=first, priority=p))[0] for p in (90, 80, 70)]


@pytest.mark.parametrize("kind", ["one", "many", "boosted"])
async def test_a_pull_takes_the_next_task_past_one_another_pull_holds(
    tenant: SeededTenant, kind: str
) -> None:
    top, second, _ = await three_tasks(tenant, kind)
    first_agent, second_agent = await agents(tenant, 2)
    holding = await tenant.db.begin(tenant.id)
    try:
        got = (await PullService(holding.conn, agent_actor(tenant, first_agent)).next()).task
        assert got is not None
        assert got.id == top
        async with tenant.db.tenant(tenant.id) as conn:
            # A pull that waited for the first one's row would fail here instead.
            await conn.execute(f"SET LOCAL lock_timeout = '{NO_WAIT}'")
            other = (await PullService(conn, agent_actor(tenant, second_agent)).next()).task
    finally:
        await holding.commit()
    assert other is not None
    assert (other.id, other.assignee_id) == (second, second_agent)
    assert await held(tenant, [first_agent, second_agent]) == {first_agent: 1, second_agent: 1}


async def test_next_task_over_http_does_not_wait_for_another_agents_pull(
    client, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    top, second, _ = await three_tasks(tenant, "one")
    first_agent, second_agent = await agents(tenant, 2)
    token = tenants.token_for(second_agent, tenant.id, "collector")
    holding = await tenant.db.begin(tenant.id)
    request = None
    try:
        got = (await PullService(holding.conn, agent_actor(tenant, first_agent)).next()).task
        assert got is not None
        assert got.id == top
        request = asyncio.ensure_future(
            client.post("/api/v1/tasks/next", headers={"Authorization": f"Bearer {token}"})
        )
        done, _ = await asyncio.wait({request}, timeout=3)
        assert request in done, "the second agent's pull waited for the first agent's"
    finally:
        await holding.commit()
        if request is not None:
            await request
    response = request.result()
    assert response.status_code == 200, response.text
    pulled = response.json()["task"]
    assert (pulled["id"], pulled["assignee_id"]) == (second, second_agent)


async def assign(client, tenant: SeededTenant, task_id: int, agent_id: int):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/v1/tasks/{task_id}/assign",
        json={"assignee_id": agent_id},
        headers=tenant.supervisor.headers,
    )


@pytest.mark.parametrize("capacity", [1, 3])
async def test_a_supervisor_assigns_up_to_capacity_and_not_one_past(
    client, tenant: SeededTenant, capacity: int
) -> None:
    [agent] = await agents(tenant, 1, capacity=capacity)
    work = await tasks(tenant, capacity + 1)
    for task_id in work[:capacity]:
        response = await assign(client, tenant, task_id, agent)
        assert response.status_code == 200, response.text
    assert await held(tenant, [agent]) == {agent: capacity}
    over = await assign(client, tenant, work[capacity], agent)
    assert over.status_code == 409, over.text
    assert over.json()["errors"][0]["field"] == "assignee_id"
    assert f"already holds {capacity} tasks, their capacity" in over.json()["detail"]
    row = await task_row(tenant, work[capacity])
    assert (row["status"], row["assignee_id"]) == ("open", None)
    assert await held(tenant, [agent]) == {agent: capacity}


async def test_the_task_service_refuses_one_past_capacity(tenant: SeededTenant) -> None:
    [agent] = await agents(tenant, 1, capacity=2)
    first, second, third = await tasks(tenant, 3)
    async with tenant.db.tenant(tenant.id) as conn:
        service = TaskService(conn, tenant.supervisor.actor)
        await service.assign(first, TaskAssign(assignee_id=agent))
        at_capacity = await service.assign(second, TaskAssign(assignee_id=agent))
        assert at_capacity.assignee_id == agent
        with pytest.raises(Conflict, match="capacity"):
            await service.assign(third, TaskAssign(assignee_id=agent))


async def test_two_supervisors_filling_an_agent_s_last_place_at_once_give_it_once(
    client, tenant: SeededTenant
) -> None:
    [agent] = await agents(tenant, 1, capacity=1)
    first, second = await tasks(tenant, 2)
    holding = await tenant.db.begin(tenant.id)
    request = None
    try:
        await TaskService(holding.conn, tenant.supervisor.actor).assign(
            first, TaskAssign(assignee_id=agent)
        )
        request = asyncio.ensure_future(assign(client, tenant, second, agent))
        done, _ = await asyncio.wait({request}, timeout=0.5)
        # The second waits for the first's hold on the agent, then counts what they hold.
        assert request not in done, "the second assignment did not wait for the first"
    finally:
        await holding.commit()
        if request is not None:
            await request
    over = request.result()
    assert over.status_code == 409, over.text
    assert over.json()["detail"] == "Agent 1 already holds 1 tasks, their capacity"
    assert over.json()["errors"][0]["field"] == "assignee_id"
    assert await held(tenant, [agent]) == {agent: 1}
    row = await task_row(tenant, second)
    assert (row["status"], row["assignee_id"]) == ("open", None)


async def test_an_agent_pulling_twice_at_once_at_their_last_place_gets_one_task(
    tenant: SeededTenant,
) -> None:
    await parallel_work(tenant)
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1, capacity=1)
    first, second = await tasks(tenant, 2, queue_id=calls)
    holding = await tenant.db.begin(tenant.id)
    again = None
    try:
        got = (await PullService(holding.conn, agent_actor(tenant, agent)).next()).task
        assert got is not None
        assert got.id == first

        async def pull_again() -> NextTask:
            async with tenant.db.tenant(tenant.id) as conn:
                return await PullService(conn, agent_actor(tenant, agent)).next()

        again = asyncio.ensure_future(pull_again())
        done, _ = await asyncio.wait({again}, timeout=0.5)
        assert again not in done, "the second pull did not wait for the first"
    finally:
        await holding.commit()
        if again is not None:
            await asyncio.wait({again})
    with pytest.raises(Conflict) as refused:
        again.result()
    assert refused.value.detail == (
        "you hold 1 tasks, your capacity; finish one before taking another"
    )
    assert await held(tenant, [agent]) == {agent: 1}
    assert (await task_row(tenant, second))["status"] == "open"


async def test_an_assignment_round_waits_for_a_pull_at_the_agent_s_last_place(
    tenant: SeededTenant,
) -> None:
    team = await group(tenant)
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1, group_id=team, capacity=1)
    [pulled] = await tasks(tenant, 1, queue_id=calls)
    [pushed] = await tasks(tenant, 1, strategy={"kind": "fewest_open", "group_id": team})
    holding = await tenant.db.begin(tenant.id)
    round_ = None
    try:
        got = (await PullService(holding.conn, agent_actor(tenant, agent)).next()).task
        assert got is not None
        assert got.id == pulled
        round_ = asyncio.ensure_future(assign_round(tenant))
        done, _ = await asyncio.wait({round_}, timeout=0.5)
        assert round_ not in done, "the round did not wait for the pull"
    finally:
        await holding.commit()
        if round_ is not None:
            await asyncio.wait({round_})
    assert round_.result() == []
    assert await held(tenant, [agent]) == {agent: 1}
    assert (await task_row(tenant, pushed))["status"] == "open"
