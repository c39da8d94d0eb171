"""The worklist over REST: a collector working tasks, a supervisor reassigning, timeouts,
presence, and the jobs that run rules and hand their tasks out."""

from __future__ import annotations

import asyncio

import pytest

from domain.actor import system_actor
from domain.worklist import sweeps
from domain.worklist.rules import RuleService
from domain.worklist.schemas import RuleCreate, Strategy
from tests.factories import SeededTenant
from tests.integration.worklist_helpers import (
    agents,
    group,
    make_queue,
    make_rule,
    outbox,
    queue,
    task_row,
    tasks,
)


async def test_a_collector_pulls_works_and_completes_a_task(client, tenant: SeededTenant) -> None:
    calls = await make_queue(client, tenant)
    # The unowned account: the collector could not see it before holding its task.
    account = tenant.accounts[2]
    [task_id] = await tasks(tenant, 1, account_id=account.id, queue_id=calls["id"], type="call")
    me = tenant.collector
    hidden = await client.get(f"/api/v1/accounts/{account.id}", headers=me.headers)
    assert hidden.status_code == 404
    pulled = await client.post("/api/v1/tasks/next", headers=me.headers)
    assert pulled.status_code == 200, pulled.text
    task = pulled.json()["task"]
    assert (task["id"], task["status"], task["assignee_id"]) == (task_id, "in_progress", me.id)
    assert task["assigned_by"] == "pull"
    assert "next task from Calls" in task["assignment_reason"]
    assert task["account"]["balance"] == "1075.00"
    assert task["contact"]["allowed"] is True
    visible = await client.get(f"/api/v1/accounts/{account.id}", headers=me.headers)
    assert visible.status_code == 200
    mine = (await client.get("/api/v1/tasks/mine", headers=me.headers)).json()["items"]
    assert [t["id"] for t in mine] == [task_id]
    # "Next task" again gives back the one under way rather than taking another.
    same = (await client.post("/api/v1/tasks/next", headers=me.headers)).json()
    assert (same["task"]["id"], same["resumed"]) == (task_id, True)
    done = await client.post(
        f"/api/v1/tasks/{task_id}/complete",
        json={"outcome": "promise", "notes": "Will pay Friday"},
        headers=me.headers,
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["outcome"]) == ("completed", "promise")
    again = await client.post(
        f"/api/v1/tasks/{task_id}/complete", json={"outcome": "x"}, headers=me.headers
    )
    assert again.status_code == 409
    assert (await client.get("/api/v1/tasks/mine", headers=me.headers)).json() == {
        "items": [],
        "next_cursor": None,
    }
    empty = (await client.post("/api/v1/tasks/next", headers=me.headers)).json()
    assert (empty["task"], empty["resumed"]) == (None, False)
    assert "nothing is waiting" in empty["message"]
    completed = await outbox(tenant, "task.completed")
    assert completed
    assert f"agent:{me.id}" in completed[-1]["channels"]
    assert f"account:{account.id}" in completed[-1]["channels"]
    # Someone else's task is not theirs to complete.
    [other] = await tasks(tenant, 1, queue_id=calls["id"])
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tasks SET status = 'assigned', assignee_id = $2 WHERE id = $1",
            other,
            tenant.other_collector.id,
        )
    refused = await client.post(
        f"/api/v1/tasks/{other}/complete", json={"outcome": "x"}, headers=me.headers
    )
    # The task is on the collector's own account: they see it, but it is not theirs.
    assert refused.status_code == 403, refused.text


async def test_a_supervisor_reassigns_and_the_first_collector_loses_it(
    client, tenant: SeededTenant
) -> None:
    first, second = tenant.collector, tenant.other_collector
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE users SET status = 'available' WHERE id = ANY($1::bigint[])",
            [first.id, second.id],
        )
    [task_id] = await tasks(tenant, 1, account_id=tenant.accounts[0].id)
    given = await client.post(
        f"/api/v1/tasks/{task_id}/assign",
        json={"assignee_id": first.id},
        headers=tenant.supervisor.headers,
    )
    assert given.status_code == 200, given.text
    assert given.json()["assigned_by"] == "supervisor"
    moved = await client.post(
        f"/api/v1/tasks/{task_id}/assign",
        json={"assignee_id": second.id, "reason": "covering for lunch"},
        headers=tenant.supervisor.headers,
    )
    assert moved.status_code == 200
    assert moved.json()["assignment_reason"] == (
        f"reassigned by Supervisor of {tenant.slug}: covering for lunch"
    )
    assert (await client.get("/api/v1/tasks/mine", headers=first.headers)).json()["items"] == []
    assert [
        t["id"]
        for t in (await client.get("/api/v1/tasks/mine", headers=second.headers)).json()["items"]
    ] == [task_id]
    [*_, last] = await outbox(tenant, "task.assigned")
    assert f"agent:{first.id}" in last["channels"]
    assert f"agent:{second.id}" in last["channels"]
    assert last["data"]["previous_assignee_id"] == first.id
    # Offline agents, readonly users and collectors themselves cannot be given work this way.
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET status = 'offline' WHERE id = $1", first.id)
    offline = await client.post(
        f"/api/v1/tasks/{task_id}/assign",
        json={"assignee_id": first.id},
        headers=tenant.supervisor.headers,
    )
    assert offline.status_code == 409
    assert "offline" in offline.json()["detail"]
    by_collector = await client.post(
        f"/api/v1/tasks/{task_id}/assign", json={"assignee_id": second.id}, headers=second.headers
    )
    assert by_collector.status_code == 403
    back = await client.post(
        f"/api/v1/tasks/{task_id}/assign",
        json={"assignee_id": None},
        headers=tenant.supervisor.headers,
    )
    assert back.json()["status"] == "open"
    assert back.json()["assignee_id"] is None


async def test_assigned_work_not_started_in_time_returns_to_its_queue(
    client, tenant: SeededTenant
) -> None:
    settings = await client.patch(
        "/api/v1/tenant",
        json={"worklist": {"assignment_timeout_minutes": 5}},
        headers=tenant.admin.headers,
    )
    assert settings.status_code == 200, settings.text
    queue_id = await queue(tenant)
    [late, fresh, started] = await tasks(tenant, 3, queue_id=queue_id)
    [agent] = await agents(tenant, 1)
    async with tenant.db.tenant(tenant.id) as conn:
        for task_id, minutes, status in (
            (late, 6, "assigned"),
            (fresh, 2, "assigned"),
            (started, 60, "in_progress"),
        ):
            await conn.execute(
                """UPDATE tasks SET status = $2, assignee_id = $3,
                  assigned_at = now() - make_interval(mins => $4) WHERE id = $1""",
                task_id,
                status,
                agent,
                minutes,
            )
        returned = await sweeps.return_timed_out(conn, system_actor(tenant.id))
    assert returned == [late]
    row = await task_row(tenant, late)
    assert (row["status"], row["assignee_id"]) == ("open", None)
    assert (await task_row(tenant, fresh))["status"] == "assigned"
    assert (await task_row(tenant, started))["status"] == "in_progress"
    [event] = await outbox(tenant, "task.updated")
    assert f"agent:{agent}" in event["channels"]
    assert f"queue:{queue_id}" in event["channels"]


@pytest.mark.parametrize("policy", ["keep", "return"])
async def test_an_agent_gone_offline_keeps_or_returns_work_as_the_tenant_says(
    client, tenant: SeededTenant, policy: str
) -> None:
    await client.patch(
        "/api/v1/tenant",
        json={"worklist": {"offline_after_minutes": 3, "offline_tasks": policy}},
        headers=tenant.admin.headers,
    )
    team = await group(tenant)
    gone, here = await agents(tenant, 2, group_id=team)
    made = await tasks(tenant, 4, strategy={"kind": "fewest_open", "group_id": team})
    async with tenant.db.tenant(tenant.id) as conn:
        await sweeps.assign_waiting(conn, system_actor(tenant.id))
        await conn.execute(
            "UPDATE users SET last_seen_at = now() - interval '4 minutes' WHERE id = $1", gone
        )
        offline, returned = await sweeps.mark_offline(conn, system_actor(tenant.id))
        status = await conn.fetchval("SELECT status FROM users WHERE id = $1", gone)
    assert offline == [gone]
    assert status == "offline"
    holders = [(await task_row(tenant, t))["assignee_id"] for t in made]
    if policy == "keep":
        assert returned == []
        assert holders.count(gone) == 2
    else:
        assert len(returned) == 2
        assert holders.count(gone) == 0
        assert holders.count(None) == 2
        # The next round gives the returned work to whoever is still here.
        async with tenant.db.tenant(tenant.id) as conn:
            await sweeps.assign_waiting(conn, system_actor(tenant.id))
        assert [(await task_row(tenant, t))["assignee_id"] for t in made].count(here) == 4
    assert (await outbox(tenant, "agent.status"))[-1]["data"]["status"] == "offline"


async def test_a_rule_run_hands_its_tasks_to_the_worker_for_assignment(
    relay, worker, client, tenant: SeededTenant
) -> None:
    """The run's events go out through the relay, which hands the tenant to an assignment
    job on a real worker."""
    team = await group(tenant)
    members = await agents(tenant, 2, group_id=team)
    rule = await make_rule(
        client,
        tenant,
        conditions=[{"field": "balance", "op": "gt", "value": 0}],
        strategy={"kind": "fewest_open", "group_id": team},
    )
    run = await client.post(f"/api/v1/rules/{rule['id']}/run", headers=tenant.supervisor.headers)
    assert run.json()["created"] == 3
    for _ in range(300):
        async with tenant.db.tenant(tenant.id) as conn:
            waiting = await conn.fetchval(
                "SELECT count(*) FROM tasks WHERE rule_id = $1 AND status = 'open'", rule["id"]
            )
        if waiting == 0:
            break
        await asyncio.sleep(0.05)
    assert waiting == 0, "the worker did not assign the rule's tasks"
    async with tenant.db.tenant(tenant.id) as conn:
        holders = await conn.fetch(
            "SELECT assignee_id, count(*) AS n FROM tasks WHERE rule_id = $1 GROUP BY 1", rule["id"]
        )
    assert sorted(r["n"] for r in holders) == [1, 2]
    assert {r["assignee_id"] for r in holders} == set(members)


async def test_the_scheduled_jobs_run_due_rules_and_sweep(tenant: SeededTenant) -> None:
    """The scheduler's jobs, called as a worker calls them."""
    from tasks.worklist import run_due_rules, sweep

    team = await group(tenant)
    [agent] = await agents(tenant, 1, group_id=team)
    async with tenant.db.tenant(tenant.id) as conn:
        rule = await RuleService(conn, system_actor(tenant.id)).create(
            RuleCreate(
                name="Everyone, by the minute",
                conditions=[],
                cadence_minutes=1,
                strategy=Strategy(kind="fewest_open", group_id=team),
            )
        )
    assert await run_due_rules(db=tenant.db) >= 3
    async with tenant.db.tenant(tenant.id) as conn:
        held = await conn.fetchval(
            "SELECT count(*) FROM tasks WHERE rule_id = $1 AND assignee_id = $2", rule.id, agent
        )
        assert held == 3
        # Assigned long ago and never started: the sweep returns it and offers it again.
        await conn.execute(
            "UPDATE tasks SET assigned_at = now() - interval '2 hours' WHERE rule_id = $1",
            rule.id,
        )
    figures = await sweep(db=tenant.db)
    assert figures["timed_out"] >= 3
    # Offered again at once (by the sweep, or by a worker the relay woke first).
    for _ in range(100):
        async with tenant.db.tenant(tenant.id) as conn:
            again = await conn.fetchval(
                """SELECT count(*) FROM tasks WHERE rule_id = $1 AND assignee_id = $2
                AND assigned_at > now() - interval '1 minute'""",
                rule.id,
                agent,
            )
        if again == 3:
            break
        await asyncio.sleep(0.05)
    assert again == 3
