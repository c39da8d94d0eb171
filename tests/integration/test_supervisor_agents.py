"""Supervisors run the floor's agents: see each one's status, capacity and held work, set
status and capacity on their behalf (audited, announced where agents are shown), and
pause rules and workflows."""

from __future__ import annotations

import pytest

from tests.factories import SeededTenant
from tests.integration.supervisor_helpers import mark, set_agent, written
from tests.integration.worklist_helpers import assign, group, held, tasks

AGENTS = "/api/v1/agents"


async def test_a_supervisor_sets_an_agents_status_audited_and_announced_to_who_shows_it(
    client, tenant: SeededTenant
) -> None:
    team = await group(tenant)
    agent = tenant.collector
    await set_agent(tenant, agent.id, group_id=team, status="available")
    before = await mark(tenant)
    response = await client.patch(
        f"{AGENTS}/{agent.id}", json={"status": "away"}, headers=tenant.supervisor.headers
    )
    assert response.status_code == 200, response.text
    shown = response.json()
    assert (shown["id"], shown["status"], shown["capacity"], shown["held"]) == (
        agent.id,
        "away",
        25,
        0,
    )
    journal = await written(tenant, before)
    [entry] = journal.audit
    assert (entry["action"], entry["entity_type"], entry["entity_id"]) == (
        "agent.update",
        "user",
        agent.id,
    )
    assert (entry["actor_type"], entry["actor_id"]) == ("user", tenant.supervisor.id)
    assert (entry["before"]["status"], entry["after"]["status"]) == ("available", "away")
    [event] = journal.events  # a status alone: one event, the one shape
    assert event["type"] == "agent.status"
    # Not the group's: its collectors may not read one another's availability.
    assert event["channels"] == {f"agent:{agent.id}", "wallboard"}
    assert (event["data"]["status"], event["data"]["capacity"]) == ("away", 25)
    assert event["data"]["since"] == shown["since"]


async def test_a_capacity_change_is_announced_with_the_status_shape_and_as_a_user_change(
    client, tenant: SeededTenant
) -> None:
    agent = tenant.collector
    before = await mark(tenant)
    response = await client.patch(
        f"{AGENTS}/{agent.id}", json={"capacity": 3}, headers=tenant.admin.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["capacity"] == 3
    journal = await written(tenant, before)
    [entry] = journal.audit
    assert (entry["before"]["capacity"], entry["after"]["capacity"]) == (25, 3)
    [status] = journal.of_type("agent.status")
    assert status["channels"] == {f"agent:{agent.id}", "wallboard"}  # no group
    assert (status["data"]["capacity"], status["data"]["status"]) == (3, "offline")
    [user] = journal.of_type("user.updated")
    assert user["channels"] == {f"agent:{agent.id}", "setup"}
    # The same value again changes nothing and says nothing.
    again = await mark(tenant)
    same = await client.patch(
        f"{AGENTS}/{agent.id}", json={"capacity": 3}, headers=tenant.admin.headers
    )
    assert same.status_code == 200
    assert (await written(tenant, again)).audit == []


@pytest.mark.parametrize(
    ("capacity", "status"), [(-1, 422), (0, 200), (10_000, 200), (10_001, 422)]
)
async def test_capacity_is_between_0_and_10000(
    client, tenant: SeededTenant, capacity: int, status: int
) -> None:
    response = await client.patch(
        f"{AGENTS}/{tenant.collector.id}",
        json={"capacity": capacity},
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == status, response.text


async def test_who_may_set_an_agent_and_whom(client, tenant: SeededTenant) -> None:
    url = f"{AGENTS}/{tenant.collector.id}"
    for role in ("collector", "readonly"):
        refused = await client.patch(
            url, json={"status": "away"}, headers=tenant.users[role].headers
        )
        assert refused.status_code == 403, role
    # Not agents: a read-only user, a deactivated one, nobody.
    await set_agent(tenant, tenant.other_collector.id, active=False)
    for user_id in (tenant.readonly.id, tenant.other_collector.id, 2**62):
        missing = await client.patch(
            f"{AGENTS}/{user_id}", json={"status": "away"}, headers=tenant.supervisor.headers
        )
        assert missing.status_code == 404, user_id
    for body in ({"status": "busy"}, {"role": "admin"}, {"capacity": "5"}):
        bad = await client.patch(url, json=body, headers=tenant.supervisor.headers)
        assert bad.status_code == 422, body


async def test_the_floor_lists_active_agents_with_their_held_work(
    client, tenant: SeededTenant
) -> None:
    team = await group(tenant)
    first, second = tenant.collector, tenant.other_collector
    await set_agent(tenant, first.id, group_id=team, capacity=4)
    [a, b, c] = await tasks(tenant, 3)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            """UPDATE tasks SET status = 'assigned', assignee_id = $1 WHERE id = ANY($2::bigint[])""",
            first.id,
            [a, b],
        )
        await conn.execute(
            "UPDATE tasks SET status = 'completed', assignee_id = $1 WHERE id = $2",
            first.id,
            c,
        )
    response = await client.get(AGENTS, headers=tenant.supervisor.headers)
    assert response.status_code == 200
    by_id = {a["id"]: a for a in response.json()["items"]}
    # Every role but read-only works accounts.
    assert set(by_id) == {tenant.admin.id, tenant.supervisor.id, first.id, second.id}
    assert (by_id[first.id]["held"], by_id[first.id]["capacity"]) == (2, 4)  # not the done one
    assert by_id[second.id]["held"] == 0
    grouped = await client.get(AGENTS, params={"group_id": team}, headers=tenant.admin.headers)
    assert [a["id"] for a in grouped.json()["items"]] == [first.id]
    unknown = await client.get(AGENTS, params={"group_id": 2**62}, headers=tenant.admin.headers)
    assert unknown.status_code == 404
    one = await client.get(f"{AGENTS}/{first.id}", headers=tenant.supervisor.headers)
    assert one.json() == by_id[first.id]
    assert (await client.get(AGENTS, headers=first.headers)).status_code == 403


async def test_assignment_respects_the_capacity_a_supervisor_sets(
    client, tenant: SeededTenant
) -> None:
    agent = tenant.collector
    await set_agent(tenant, agent.id, status="available", capacity=0)
    pushed = await tasks(tenant, 2, strategy={"kind": "agent", "agent_id": agent.id})
    assert await assign(tenant) == []
    raised = await client.patch(
        f"{AGENTS}/{agent.id}", json={"capacity": 1}, headers=tenant.supervisor.headers
    )
    assert raised.status_code == 200
    [made] = await assign(tenant)
    assert made.task_id == pushed[0]
    assert await held(tenant, [agent.id]) == {agent.id: 1}
    assert await assign(tenant) == []  # full again


async def test_an_agent_set_away_gets_no_pushed_work(client, tenant: SeededTenant) -> None:
    agent = tenant.collector
    await set_agent(tenant, agent.id, status="available")
    away = await client.patch(
        f"{AGENTS}/{agent.id}", json={"status": "away"}, headers=tenant.supervisor.headers
    )
    assert away.status_code == 200
    await tasks(tenant, 1, strategy={"kind": "agent", "agent_id": agent.id})
    assert await assign(tenant) == []


# Pausing rules and workflows: the change an admin screen makes, audited and announced.


async def test_pausing_and_resuming_a_rule_is_audited_and_announced(
    client, tenant: SeededTenant
) -> None:
    made = await client.post(
        "/api/v1/rules",
        json={
            "name": "Late",
            "conditions": [{"field": "days_past_due", "op": "at_least", "value": 1}],
        },
        headers=tenant.supervisor.headers,
    )
    rule = made.json()
    for enabled in (False, True):
        before = await mark(tenant)
        response = await client.patch(
            f"/api/v1/rules/{rule['id']}",
            json={"enabled": enabled},
            headers=tenant.supervisor.headers,
        )
        assert response.status_code == 200
        assert response.json()["enabled"] is enabled
        journal = await written(tenant, before)
        [entry] = journal.audit
        assert entry["action"] == "rule.update"
        assert (entry["before"]["enabled"], entry["after"]["enabled"]) == (not enabled, enabled)
        [event] = journal.events
        assert (event["type"], event["channels"]) == ("rule.updated", {"setup"})
        assert event["data"]["enabled"] is enabled
    refused = await client.patch(
        f"/api/v1/rules/{rule['id']}", json={"enabled": False}, headers=tenant.collector.headers
    )
    assert refused.status_code == 403


async def test_pausing_a_workflow_is_audited_and_announced(client, tenant: SeededTenant) -> None:
    made = await client.post(
        "/api/v1/workflows",
        json={
            "name": "Thank-you",
            "enabled": True,
            "trigger": {"type": "payment.received"},
            "steps": [{"kind": "create_task", "type": "call"}],
        },
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    workflow = made.json()
    before = await mark(tenant)
    response = await client.patch(
        f"/api/v1/workflows/{workflow['id']}",
        json={"enabled": False},
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 200
    journal = await written(tenant, before)
    [entry] = journal.audit
    assert entry["action"] == "workflow.update"
    assert (entry["before"]["enabled"], entry["after"]["enabled"]) == (True, False)
    [event] = journal.events
    assert (event["type"], event["channels"], event["data"]["enabled"]) == (
        "workflow.updated",
        {"setup"},
        False,
    )
