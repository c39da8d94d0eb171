"""The worklist's background work: assignment rounds and what they write, work not started
in time, agents gone offline, and the sweeps across tenants."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest

from domain.actor import system_actor
from domain.worklist import sweeps
from domain.worklist.assignment import ROUND_SIZE, assign_round
from domain.worklist.schemas import Assignment
from tests.factories import SeededTenant, TenantFactory
from tests.integration.worklist_helpers import agents, group, held, queue, task_row, tasks

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def at_noon() -> dt.datetime:
    return NOW


async def worklist_settings(client, tenant: SeededTenant, **values: Any) -> None:  # type: ignore[no-untyped-def]
    response = await client.patch(
        "/api/v1/tenant", json={"worklist": values}, headers=tenant.admin.headers
    )
    assert response.status_code == 200, response.text


async def audit(tenant: SeededTenant, task_id: int) -> list[tuple[str, dt.datetime]]:
    """The task's audit trail: each action and when (by the sweep's clock) it happened."""
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            "SELECT action, occurred_at FROM audit_log WHERE entity_type = 'task' "
            "AND entity_id = $1 ORDER BY id",
            task_id,
        )
    return [(r["action"], r["occurred_at"]) for r in rows]


async def events(tenant: SeededTenant, type_: str) -> list[dict[str, Any]]:
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch("SELECT data FROM outbox WHERE type = $1 ORDER BY id", type_)
    return [r["data"] for r in rows]


async def test_a_round_for_some_tasks_assigns_those_stamps_the_agent_and_announces_it(
    tenant: SeededTenant,
) -> None:
    team = await group(tenant)
    [agent] = await agents(tenant, 1, group_id=team)
    first, second = await tasks(tenant, 2, strategy={"kind": "fewest_open", "group_id": team})
    async with tenant.db.tenant(tenant.id) as conn:
        made = await sweeps.assign_waiting(conn, system_actor(tenant.id), at_noon, only=[second])
        stamped = await conn.fetchval("SELECT last_assigned_at FROM users WHERE id = $1", agent)
    reason = f"fewest open tasks in Team {tenant.id}: 0 held of 25"
    assert made == [Assignment(task_id=second, agent_id=agent, by="fewest_open", reason=reason)]
    row = await task_row(tenant, second)
    assert (
        row["status"],
        row["assignee_id"],
        row["assigned_by"],
        row["assignment_reason"],
        row["assigned_at"],
        row["started_at"],
    ) == ("assigned", agent, "fewest_open", reason, NOW, None)
    assert stamped == NOW
    assert (await task_row(tenant, first))["status"] == "open"
    assert await audit(tenant, second) == [("task.assign", NOW)]
    [event] = await events(tenant, "task.assigned")
    assert (event["task"]["id"], event["task"]["assignee_id"]) == (second, agent)


async def test_a_round_writes_whose_turn_it_was_for_the_next_round(tenant: SeededTenant) -> None:
    team = await group(tenant)
    first_agent, second_agent = await agents(tenant, 2, group_id=team)
    strategy = {"kind": "round_robin", "group_id": team}
    [task_id] = await tasks(tenant, 1, strategy=strategy)
    async with tenant.db.tenant(tenant.id) as conn:
        [made] = await sweeps.assign_waiting(conn, system_actor(tenant.id), at_noon)
        last = await conn.fetchval(
            "SELECT last_assigned_user_id FROM agent_groups WHERE id = $1", team
        )
    assert (made.task_id, made.agent_id) == (task_id, first_agent)
    assert made.reason == f"round robin in Team {tenant.id}: next after agent none"
    assert last == first_agent
    [later] = await tasks(tenant, 1, strategy=strategy)
    async with tenant.db.tenant(tenant.id) as conn:
        [made] = await sweeps.assign_waiting(conn, system_actor(tenant.id), at_noon)
    assert (made.task_id, made.agent_id) == (later, second_agent)
    assert made.reason == f"round robin in Team {tenant.id}: next after agent {first_agent}"


async def test_a_round_gives_only_to_members_of_the_task_s_group(tenant: SeededTenant) -> None:
    team, other_team = await group(tenant), await group(tenant, "Other")
    [outsider] = await agents(tenant, 1, group_id=other_team)
    [member] = await agents(tenant, 1, group_id=team)
    [task_id] = await tasks(tenant, 1, strategy={"kind": "longest_idle", "group_id": team})
    async with tenant.db.tenant(tenant.id) as conn:
        [made] = await sweeps.assign_waiting(conn, system_actor(tenant.id), at_noon)
    assert (made.task_id, made.agent_id) == (task_id, member)
    assert await held(tenant, [outsider, member]) == {outsider: 0, member: 1}


async def test_a_round_gives_out_the_rest_when_a_task_s_group_was_deleted(
    client, tenant: SeededTenant
) -> None:
    """A deleted group leaves its tasks without a group (their strategy still names it):
    they wait, and the round goes on for everyone else's work."""
    gone, team = await group(tenant, "Gone"), await group(tenant)
    await agents(tenant, 1, group_id=gone)
    [agent] = await agents(tenant, 1, group_id=team)
    [orphan] = await tasks(tenant, 1, strategy={"kind": "fewest_open", "group_id": gone})
    [task_id] = await tasks(tenant, 1, strategy={"kind": "fewest_open", "group_id": team})
    response = await client.delete(f"/api/v1/agent-groups/{gone}", headers=tenant.admin.headers)
    assert response.status_code == 204, response.text
    assert (await task_row(tenant, orphan))["group_id"] is None
    async with tenant.db.tenant(tenant.id) as conn:
        made = await sweeps.assign_waiting(conn, system_actor(tenant.id), at_noon)
    assert [(m.task_id, m.agent_id) for m in made] == [(task_id, agent)]
    assert (await task_row(tenant, orphan))["status"] == "open"


async def test_a_round_counts_pulled_work_against_capacity(tenant: SeededTenant) -> None:
    team = await group(tenant)
    [agent] = await agents(tenant, 1, group_id=team, capacity=2)
    [pulled] = await tasks(tenant, 1)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tasks SET status = 'in_progress', assignee_id = $2 WHERE id = $1",
            pulled,
            agent,
        )
    pushed = await tasks(tenant, 2, strategy={"kind": "fewest_open", "group_id": team})
    async with tenant.db.tenant(tenant.id) as conn:
        [made] = await sweeps.assign_waiting(conn, system_actor(tenant.id), at_noon)
    assert made.task_id == pushed[0]
    assert made.reason == f"fewest open tasks in Team {tenant.id}: 1 held of 2"
    assert (await task_row(tenant, pushed[1]))["status"] == "open"


async def test_a_round_names_the_named_agent_and_the_account_s_owner_in_its_reasons(
    tenant: SeededTenant,
) -> None:
    [named] = await agents(tenant, 1)
    owner = tenant.collector.id
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET status = 'available' WHERE id = $1", owner)
    [for_named] = await tasks(tenant, 1, strategy={"kind": "agent", "agent_id": named})
    [for_owner] = await tasks(
        tenant, 1, account_id=tenant.accounts[0].id, strategy={"kind": "owner"}
    )
    async with tenant.db.tenant(tenant.id) as conn:
        made = await sweeps.assign_waiting(conn, system_actor(tenant.id), at_noon)
    assert sorted(made, key=lambda m: m.task_id) == [
        Assignment(
            task_id=for_named, agent_id=named, by="agent", reason="the rule's named agent, Agent 1"
        ),
        Assignment(
            task_id=for_owner,
            agent_id=owner,
            by="owner",
            reason=f"the account's owner, Collector of {tenant.slug}",
        ),
    ]


async def test_one_round_per_tenant_at_a_time(tenant: SeededTenant) -> None:
    team = await group(tenant)
    await agents(tenant, 1, group_id=team)
    await tasks(tenant, 1, strategy={"kind": "fewest_open", "group_id": team})
    holding = await tenant.db.begin(tenant.id)
    try:
        assert len(await assign_round(holding.conn, tenant.id, NOW)) == 1
        # A second round waits for the first to end (here: gives up after 250 ms).
        with pytest.raises(asyncpg.LockNotAvailableError):
            async with tenant.db.tenant(tenant.id) as conn:
                await conn.execute("SET LOCAL lock_timeout = '250ms'")
                await assign_round(conn, tenant.id, NOW)
    finally:
        await holding.commit()


async def test_a_round_places_at_most_its_size_and_the_next_round_the_rest(
    tenant: SeededTenant,
) -> None:
    team = await group(tenant)
    [agent] = await agents(tenant, 1, group_id=team, capacity=ROUND_SIZE + 1)
    made = await tasks(tenant, ROUND_SIZE + 1, strategy={"kind": "fewest_open", "group_id": team})
    async with tenant.db.tenant(tenant.id) as conn:
        first = await assign_round(conn, tenant.id, NOW)
    assert len(first) == ROUND_SIZE
    # The newest task, last in line, waits for the next round.
    assert (await task_row(tenant, made[-1]))["status"] == "open"
    async with tenant.db.tenant(tenant.id) as conn:
        [second] = await assign_round(conn, tenant.id, NOW)
    assert (second.task_id, second.agent_id) == (made[-1], agent)


async def test_a_round_with_nobody_to_give_to_changes_and_announces_nothing(
    tenant: SeededTenant,
) -> None:
    team = await group(tenant)
    [away] = await agents(tenant, 1, group_id=team, status="away")
    [task_id] = await tasks(tenant, 1, strategy={"kind": "fewest_open", "group_id": team})
    async with tenant.db.tenant(tenant.id) as conn:
        assert await sweeps.assign_waiting(conn, system_actor(tenant.id), at_noon) == []
        stamped = await conn.fetchval("SELECT last_assigned_at FROM users WHERE id = $1", away)
    assert (await task_row(tenant, task_id))["status"] == "open"
    assert stamped is None
    assert await events(tenant, "task.assigned") == []


async def test_assigned_work_is_returned_one_second_past_the_timeout_not_at_it(
    client, tenant: SeededTenant
) -> None:
    await worklist_settings(client, tenant, assignment_timeout_minutes=5)
    queue_id = await queue(tenant)
    [agent] = await agents(tenant, 1)
    late, on_time = await tasks(tenant, 2, queue_id=queue_id)
    async with tenant.db.tenant(tenant.id) as conn:
        for task_id, ago in (
            (late, dt.timedelta(minutes=5, seconds=1)),
            (on_time, dt.timedelta(minutes=5)),
        ):
            await conn.execute(
                "UPDATE tasks SET status = 'assigned', assignee_id = $2, assigned_at = $3 "
                "WHERE id = $1",
                task_id,
                agent,
                NOW - ago,
            )
        returned = await sweeps.return_timed_out(conn, system_actor(tenant.id), at_noon)
    assert returned == [late]
    row = await task_row(tenant, late)
    assert (row["status"], row["assignee_id"]) == ("open", None)
    assert (await task_row(tenant, on_time))["assignee_id"] == agent
    assert await audit(tenant, late) == [("task.timeout", NOW)]
    [event] = await events(tenant, "task.updated")
    assert (event["task"]["id"], event["previous_assignee_id"]) == (late, agent)


async def test_nothing_timed_out_announces_nothing(client, tenant: SeededTenant) -> None:
    await worklist_settings(client, tenant, assignment_timeout_minutes=5)
    async with tenant.db.tenant(tenant.id) as conn:
        assert await sweeps.return_timed_out(conn, system_actor(tenant.id), at_noon) == []
    assert await events(tenant, "task.updated") == []


async def test_an_agent_unseen_one_second_past_the_offline_time_goes_offline_and_loses_work(
    client, tenant: SeededTenant
) -> None:
    await worklist_settings(client, tenant, offline_after_minutes=3, offline_tasks="return")
    gone, here = await agents(tenant, 2)
    mine, theirs = await tasks(tenant, 2)
    async with tenant.db.tenant(tenant.id) as conn:
        for agent, task_id, ago in (
            (gone, mine, dt.timedelta(minutes=3, seconds=1)),
            (here, theirs, dt.timedelta(minutes=3)),
        ):
            await conn.execute("UPDATE users SET last_seen_at = $2 WHERE id = $1", agent, NOW - ago)
            await conn.execute(
                "UPDATE tasks SET status = 'in_progress', assignee_id = $2 WHERE id = $1",
                task_id,
                agent,
            )
        offline, returned = await sweeps.mark_offline(conn, system_actor(tenant.id), at_noon)
        statuses = await conn.fetch(
            "SELECT id, status, status_changed_at FROM users WHERE id = ANY($1::bigint[])",
            [gone, here],
        )
    assert (offline, returned) == ([gone], [mine])
    by_id = {r["id"]: (r["status"], r["status_changed_at"]) for r in statuses}
    assert by_id[gone] == ("offline", NOW)
    assert by_id[here][0] == "available"
    assert (await task_row(tenant, mine))["status"] == "open"
    assert (await task_row(tenant, theirs))["assignee_id"] == here
    assert await audit(tenant, mine) == [("task.offline_return", NOW)]
    [event] = await events(tenant, "task.updated")
    assert (event["task"]["id"], event["previous_assignee_id"]) == (mine, gone)


async def test_calls_held_back_return_to_line_when_their_time_comes_in_every_tenant(
    tenant: SeededTenant, tenants: TenantFactory
) -> None:
    other = await tenants.new()
    # Long ago, so that no other test's held calls are due at this clock.
    then = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    due_here, due_there, later = (
        (await tasks(tenant, 1, type="call"))[0],
        (await tasks(other, 1, type="call"))[0],
        (await tasks(tenant, 1, type="call"))[0],
    )
    for owner, task_id, until in (
        (tenant, due_here, then - dt.timedelta(seconds=1)),
        (other, due_there, then),
        (tenant, later, then + dt.timedelta(seconds=1)),
    ):
        async with owner.db.tenant(owner.id) as conn:
            await conn.execute("UPDATE tasks SET not_before = $2 WHERE id = $1", task_id, until)
    async with tenant.db.system() as conn:
        assert await sweeps.release_held_back(conn, then) == 2
    assert (await task_row(tenant, due_here))["not_before"] is None
    assert (await task_row(other, due_there))["not_before"] is None
    assert (await task_row(tenant, later))["not_before"] == then + dt.timedelta(seconds=1)


async def test_tenants_with_pushed_work_waiting_are_found_and_others_not(
    tenant: SeededTenant, tenants: TenantFactory
) -> None:
    pulled_only, assigned = await tenants.new(), await tenants.new()
    team = await group(tenant)
    await tasks(tenant, 1, strategy={"kind": "fewest_open", "group_id": team})
    await tasks(pulled_only, 1, queue_id=await queue(pulled_only))
    [given] = await tasks(assigned, 1, strategy={"kind": "owner"})
    async with assigned.db.tenant(assigned.id) as conn:
        await conn.execute(
            "UPDATE tasks SET status = 'assigned', assignee_id = owner_id FROM accounts a "
            "WHERE tasks.id = $1 AND a.id = tasks.account_id",
            given,
        )
    async with tenant.db.system() as conn:
        waiting = await sweeps.tenants_waiting(conn)
    assert tenant.id in waiting
    assert pulled_only.id not in waiting
    assert assigned.id not in waiting
