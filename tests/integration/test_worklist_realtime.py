"""The worklist over real sockets: tasks reach and leave agents' channels, queue channels
are the staff's, and an open socket is presence."""

from __future__ import annotations

import asyncio

import pytest

from server.pull_gate import Busy, PullGate
from tests.factories import SeededTenant
from tests.integration.worklist_helpers import queue, task_row, tasks
from tests.realtime import events, open_socket, silence, subscribe

pytestmark = pytest.mark.usefixtures("relay")


async def status_of(tenant: SeededTenant, user_id: int) -> tuple[str, object]:
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow("SELECT status, last_seen_at FROM users WHERE id = $1", user_id)
    return row["status"], row["last_seen_at"]


async def test_a_reassignment_reaches_both_agents_sockets(
    client, live_server, tenant: SeededTenant
) -> None:
    first, second = tenant.collector, tenant.other_collector
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE users SET status = 'available' WHERE id = ANY($1::bigint[])",
            [first.id, second.id],
        )
    one = await open_socket(client, live_server, first)
    two = await open_socket(client, live_server, second)
    assert (await subscribe(one, "agent:me"))["channel"] == f"agent:{first.id}"
    assert (await subscribe(two, "agent:me"))["channel"] == f"agent:{second.id}"
    [task_id] = await tasks(tenant, 1)

    given = await client.post(
        f"/api/v1/tasks/{task_id}/assign",
        json={"assignee_id": first.id},
        headers=tenant.supervisor.headers,
    )
    assert given.status_code == 200
    [arrived] = await events(one, 1, of_type="task.assigned")
    assert arrived["data"]["task"]["id"] == task_id
    assert arrived["data"]["task"]["assignee_id"] == first.id

    moved = await client.post(
        f"/api/v1/tasks/{task_id}/assign",
        json={"assignee_id": second.id},
        headers=tenant.supervisor.headers,
    )
    assert moved.status_code == 200
    [gone] = await events(one, 1, of_type="task.assigned")
    [came] = await events(two, 1, of_type="task.assigned")
    assert gone["id"] == came["id"]  # one event, on both channels
    assert gone["data"]["task"]["assignee_id"] == second.id
    assert gone["data"]["previous_assignee_id"] == first.id

    done = await client.post(
        f"/api/v1/tasks/{task_id}/complete", json={"outcome": "done"}, headers=second.headers
    )
    assert done.status_code == 200
    [completed] = await events(two, 1, of_type="task.completed")
    assert completed["data"]["task"]["status"] == "completed"
    for ws in (one, two):
        await ws.close()


async def test_queue_channels_are_the_staffs(client, live_server, tenant: SeededTenant) -> None:
    """A queue's tasks carry their account (debtor, balance): a collector who may pull from
    it hears them only once pulled, on their own channel; the staff watch the queue."""
    theirs = await queue(tenant, name="Named", agent_ids=[tenant.collector.id])
    ws = await open_socket(client, live_server, tenant.collector)
    refused = await subscribe(ws, f"queue:{theirs}")
    assert (refused["op"], refused["code"]) == ("error", "forbidden")
    assert (await subscribe(ws, f"agent:{tenant.collector.id}"))["op"] == "subscribed"
    supervisor = await open_socket(client, live_server, tenant.supervisor)
    assert (await subscribe(supervisor, f"queue:{theirs}"))["op"] == "subscribed"
    readonly = await open_socket(client, live_server, tenant.readonly)
    assert (await subscribe(readonly, f"queue:{theirs}"))["op"] == "subscribed"

    created = await client.post(
        "/api/v1/tasks",
        json={"account_id": tenant.accounts[0].id, "queue_id": theirs, "type": "review"},
        headers=tenant.supervisor.headers,
    )
    assert created.status_code == 201
    for socket in (supervisor, readonly):
        [event] = await events(socket, 1, of_type="task.created")
        assert event["data"]["task"]["queue_id"] == theirs
    assert not [f for f in await silence(ws, 0.5) if f.get("type") == "task.created"]
    pulled = await client.post("/api/v1/tasks/next", headers=tenant.collector.headers)
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["task"]["id"] == created.json()["id"]
    [event] = await events(ws, 1)
    assert (event["channel"], event["data"]["task"]["id"]) == (
        f"agent:{tenant.collector.id}",
        created.json()["id"],
    )
    for socket in (ws, readonly, supervisor):
        await socket.close()


async def test_an_open_socket_brings_an_agent_online_and_closing_it_is_remembered(
    client, live_server, tenant: SeededTenant
) -> None:
    agent = tenant.collector
    assert (await status_of(tenant, agent.id))[0] == "offline"
    ws = await open_socket(client, live_server, agent)
    await subscribe(ws, "agent:me")
    for _ in range(100):
        status, seen = await status_of(tenant, agent.id)
        if status == "available":
            break
        await asyncio.sleep(0.05)
    assert status == "available"
    assert seen is not None
    await ws.close()
    for _ in range(100):
        _, later = await status_of(tenant, agent.id)
        if later != seen:
            break
        await asyncio.sleep(0.05)
    assert later > seen  # type: ignore[operator]
    # A read-only user's socket is not presence.
    viewer = await open_socket(client, live_server, tenant.readonly)
    await subscribe(viewer, "tenant")
    await asyncio.sleep(0.3)
    assert (await status_of(tenant, tenant.readonly.id))[0] == "offline"
    await viewer.close()


async def test_held_back_calls_return_to_line_when_their_time_comes(tenant: SeededTenant) -> None:
    from domain.worklist.sweeps import release_held_back

    queue_id = await queue(tenant)
    [soon, later] = await tasks(tenant, 2, queue_id=queue_id, type="call")
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tasks SET not_before = now() - interval '1 minute' WHERE id = $1", soon
        )
        await conn.execute(
            "UPDATE tasks SET not_before = now() + interval '1 hour' WHERE id = $1", later
        )
    async with tenant.db.system() as conn:
        from domain.clock import utcnow

        assert await release_held_back(conn, utcnow()) >= 1
    assert (await task_row(tenant, soon))["not_before"] is None
    assert (await task_row(tenant, later))["not_before"] is not None


async def test_the_pull_gate_takes_turns_and_refuses_beyond_its_bound() -> None:
    gate = PullGate(concurrency=2, max_waiting=3)
    inside = 0
    most = 0
    release = asyncio.Event()

    async def pull() -> None:
        nonlocal inside, most
        async with gate.turn():
            inside += 1
            most = max(most, inside)
            await release.wait()
            inside -= 1

    running = [asyncio.create_task(pull()) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert (inside, gate.waiting) == (2, 3)
    with pytest.raises(Busy):
        async with gate.turn():
            pass
    release.set()
    await asyncio.gather(*running)
    assert most == 2
    assert gate.waiting == 0
