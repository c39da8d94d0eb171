"""The supervisor tools over real sockets: what a supervisor changes reaches the screens
that show it (the agents' own, the wallboard, the queue) as it is committed."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import SeededTenant
from tests.integration.worklist_helpers import queue, tasks
from tests.realtime import events, open_socket, subscribe

pytestmark = pytest.mark.usefixtures("relay")


async def until_available(tenant: SeededTenant, user_id: int) -> None:
    """Opening a socket makes an agent available (presence); wait for it."""
    for _ in range(100):
        async with tenant.db.tenant(tenant.id) as conn:
            status = await conn.fetchval("SELECT status FROM users WHERE id = $1", user_id)
        if status == "available":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"user {user_id} never became available")


async def test_tasks_given_at_once_reach_the_new_and_old_holders_and_the_wallboard(
    client, live_server, tenant: SeededTenant
) -> None:
    first, second = tenant.collector, tenant.other_collector
    calls = await queue(tenant)
    one = await open_socket(client, live_server, first)
    two = await open_socket(client, live_server, second)
    board = await open_socket(client, live_server, tenant.supervisor)
    for ws, channel in ((one, "agent:me"), (two, "agent:me"), (board, "wallboard")):
        assert (await subscribe(ws, channel))["op"] == "subscribed"
    await until_available(tenant, first.id)
    await until_available(tenant, second.id)
    [a, b] = await tasks(tenant, 2, queue_id=calls)
    given = await client.post(
        f"/api/v1/tasks/{b}/assign",
        json={"assignee_id": second.id},
        headers=tenant.supervisor.headers,
    )
    assert given.status_code == 200
    await events(two, 1, of_type="task.assigned")
    await events(board, 1, of_type="task.assigned")

    moved = await client.post(
        "/api/v1/tasks/bulk/assign",
        json={"task_ids": [a, b], "assignee_id": first.id},
        headers=tenant.supervisor.headers,
    )
    assert moved.status_code == 200, moved.text
    arrived = await events(one, 2, of_type="task.assigned")
    assert {e["data"]["task"]["id"] for e in arrived} == {a, b}
    assert {e["data"]["task"]["assignee_id"] for e in arrived} == {first.id}
    [lost] = await events(two, 1, of_type="task.assigned")
    assert lost["data"]["task"]["id"] == b
    assert lost["data"]["previous_assignee_id"] == second.id
    seen = await events(board, 2, of_type="task.assigned")
    assert {e["id"] for e in seen} == {e["id"] for e in arrived}
    for ws in (one, two, board):
        await ws.close()


async def test_a_status_set_by_a_supervisor_reaches_the_agent_and_the_wallboard(
    client, live_server, tenant: SeededTenant
) -> None:
    agent = tenant.collector
    mine = await open_socket(client, live_server, agent)
    board = await open_socket(client, live_server, tenant.supervisor)
    await subscribe(mine, "agent:me")
    await subscribe(board, "wallboard")
    await until_available(tenant, agent.id)
    response = await client.patch(
        f"/api/v1/agents/{agent.id}",
        json={"status": "away", "capacity": 7},
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 200, response.text
    for ws in (mine, board):
        event = await events(ws, 1, of_type="agent.status")
        while event[0]["data"]["status"] == "available":  # their coming online, maybe
            event = await events(ws, 1, of_type="agent.status")
        assert event[0]["data"]["id"] == agent.id
        assert (event[0]["data"]["status"], event[0]["data"]["capacity"]) == ("away", 7)
    for ws in (mine, board):
        await ws.close()
