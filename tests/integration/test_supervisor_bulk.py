"""A supervisor acts on several tasks at once: reassign, cancel, move to a queue. All or
nothing, every id the tenant's, each changed task audited and announced to whoever shows
it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import SeededTenant, TenantFactory
from tests.integration.supervisor_helpers import mark, set_agent, statuses, written
from tests.integration.worklist_helpers import group, queue, task_row, tasks

BULK = "/api/v1/tasks/bulk"


def bodies(ids: list[int], agent: int, queue_id: int) -> dict[str, dict[str, Any]]:
    """A valid body for each bulk action on ``ids``."""
    return {
        "assign": {"task_ids": ids, "assignee_id": agent},
        "cancel": {"task_ids": ids, "reason": "debt sold"},
        "move": {"task_ids": ids, "queue_id": queue_id},
    }


async def hold(tenant: SeededTenant, task_id: int, agent: int, status: str = "assigned") -> None:
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tasks SET status = $3, assignee_id = $2, assigned_at = now() WHERE id = $1",
            task_id,
            agent,
            status,
        )


async def test_several_tasks_go_to_one_agent_each_audited_and_announced(
    client, tenant: SeededTenant
) -> None:
    collector, other = tenant.collector, tenant.other_collector
    await set_agent(tenant, collector.id, status="available")
    calls = await queue(tenant)
    [a, b, c] = await tasks(tenant, 3, queue_id=calls)
    await hold(tenant, b, other.id, "in_progress")
    before = await mark(tenant)
    response = await client.post(
        f"{BULK}/assign",
        json={"task_ids": [b, a], "assignee_id": collector.id, "reason": " cover "},
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["changed"] == 2
    assert [t["id"] for t in answer["tasks"]] == [a, b]
    for task in answer["tasks"]:
        assert (task["status"], task["assignee_id"], task["assigned_by"]) == (
            "assigned",
            collector.id,
            "supervisor",
        )
        assert task["assignment_reason"] == (f"reassigned by Supervisor of {tenant.slug}: cover")
        assert task["started_at"] is None
    assert (await statuses(tenant, [c]))[c] == ("open", None, calls)
    journal = await written(tenant, before)
    assert [(e["action"], e["entity_id"]) for e in journal.audit] == [
        ("task.assign", a),
        ("task.assign", b),
    ]
    assert journal.audit[1]["before"]["assignee_id"] == other.id
    account = tenant.accounts[0].id
    shown = {f"account:{account}", "wallboard", f"agent:{collector.id}", f"queue:{calls}"}
    events = {e["data"]["task"]["id"]: e for e in journal.of_type("task.assigned")}
    assert events[a]["channels"] == shown
    assert events[b]["channels"] == shown | {f"agent:{other.id}"}  # the one who lost it
    assert events[b]["data"]["previous_assignee_id"] == other.id
    assert "previous_assignee_id" not in events[a]["data"]

    # Tasks already theirs: nothing to change, nothing to say.
    again = await mark(tenant)
    same = await client.post(
        f"{BULK}/assign",
        json={"task_ids": [a, b], "assignee_id": collector.id},
        headers=tenant.supervisor.headers,
    )
    assert same.status_code == 200
    assert same.json()["changed"] == 0
    assert (await written(tenant, again)).audit == []


async def test_a_batch_holds_1_to_500_tasks(client, tenant: SeededTenant) -> None:
    ids = await tasks(tenant, 501)
    headers = tenant.supervisor.headers
    for listed in ([], ids):
        refused = await client.post(
            f"{BULK}/cancel", json={"task_ids": listed, "reason": "x"}, headers=headers
        )
        assert refused.status_code == 422, len(listed)
    assert set((await statuses(tenant, ids)).values()) == {("open", None, None)}
    before = await mark(tenant)
    done = await client.post(
        f"{BULK}/cancel", json={"task_ids": ids[:500], "reason": "x"}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["changed"] == 500
    journal = await written(tenant, before)
    assert len(journal.audit) == len(journal.events) == 500
    now = await statuses(tenant, ids)
    assert [now[i][0] for i in ids] == ["cancelled"] * 500 + ["open"]
    one = await client.post(
        f"{BULK}/cancel", json={"task_ids": [ids[500]], "reason": "x"}, headers=headers
    )
    assert one.status_code == 200
    assert one.json()["changed"] == 1


@pytest.mark.parametrize("action", ["assign", "cancel", "move"])
async def test_another_tenants_task_in_the_list_is_not_found_and_nothing_changes(
    client, tenants: TenantFactory, tenant: SeededTenant, action: str
) -> None:
    other = await tenants.new()
    [theirs] = await tasks(other, 1)
    mine = await tasks(tenant, 2)
    await set_agent(tenant, tenant.collector.id, status="available")
    calls = await queue(tenant)
    was_mine, was_theirs = await statuses(tenant, mine), await statuses(other, [theirs])
    before = await mark(tenant)
    for listed, missing in (([mine[0], theirs, mine[1]], [theirs]), ([mine[0], 2**62], [2**62])):
        body = bodies(listed, tenant.collector.id, calls)[action]
        response = await client.post(
            f"{BULK}/{action}", json=body, headers=tenant.supervisor.headers
        )
        assert response.status_code == 404, response.text
        assert response.json()["task_ids"] == missing
        assert str(missing[0]) in response.json()["detail"]
    assert await statuses(tenant, mine) == was_mine
    assert await statuses(other, [theirs]) == was_theirs
    assert (await written(tenant, before)).audit == []


@pytest.mark.parametrize("action", ["assign", "cancel", "move"])
async def test_tasks_already_done_are_a_conflict_naming_them_and_nothing_changes(
    client, tenant: SeededTenant, action: str
) -> None:
    [a, done, cancelled] = await tasks(tenant, 3)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE tasks SET status = 'completed' WHERE id = $1", done)
        await conn.execute("UPDATE tasks SET status = 'cancelled' WHERE id = $1", cancelled)
    await set_agent(tenant, tenant.collector.id, status="available")
    calls = await queue(tenant)
    before = await mark(tenant)
    body = bodies([cancelled, a, done], tenant.collector.id, calls)[action]
    response = await client.post(f"{BULK}/{action}", json=body, headers=tenant.supervisor.headers)
    assert response.status_code == 409, response.text
    assert response.json()["task_ids"] == [done, cancelled]
    assert (await statuses(tenant, [a]))[a] == ("open", None, None)
    assert (await written(tenant, before)).audit == []


async def test_a_task_listed_twice_or_a_bad_body_is_refused(client, tenant: SeededTenant) -> None:
    [a, b] = await tasks(tenant, 2)
    headers = tenant.supervisor.headers
    twice = await client.post(
        f"{BULK}/cancel", json={"task_ids": [a, b, a], "reason": "x"}, headers=headers
    )
    assert twice.status_code == 422
    assert str(a) in twice.json()["detail"]
    for body in (
        {"task_ids": [a], "reason": "   "},
        {"task_ids": [a]},
        {"task_ids": [a], "reason": "x", "notify": True},
        {"task_ids": [2**63], "reason": "x"},
        {"task_ids": "1,2", "reason": "x"},
    ):
        response = await client.post(f"{BULK}/cancel", json=body, headers=headers)
        assert response.status_code == 422, body
    assert await statuses(tenant, [a, b]) == {a: ("open", None, None), b: ("open", None, None)}


async def test_collectors_and_readonly_users_may_not_act_on_several_tasks(
    client, tenant: SeededTenant
) -> None:
    [a] = await tasks(tenant, 1)
    calls = await queue(tenant)
    for action, body in bodies([a], tenant.collector.id, calls).items():
        for role in ("collector", "readonly"):
            response = await client.post(
                f"{BULK}/{action}", json=body, headers=tenant.users[role].headers
            )
            assert response.status_code == 403, (action, role)


async def test_the_agent_must_be_an_active_agent_of_the_tenant_with_room(
    client, tenants: TenantFactory, tenant: SeededTenant
) -> None:
    collector = tenant.collector
    await set_agent(tenant, collector.id, status="available", capacity=3)
    [x, a, b, c] = await tasks(tenant, 4)
    await hold(tenant, x, collector.id)
    stranger = (await tenants.new()).collector.id
    headers = tenant.supervisor.headers

    async def give(ids: list[int], agent: int) -> Any:
        return await client.post(
            f"{BULK}/assign", json={"task_ids": ids, "assignee_id": agent}, headers=headers
        )

    for agent in (tenant.readonly.id, stranger):
        refused = await give([a], agent)
        assert (refused.status_code, refused.json()["field"]) == (422, "assignee_id")
    # Holding 1 of 3: three more are one too many; two more (and x, already theirs) fit.
    full = await give([a, b, c], collector.id)
    assert full.status_code == 409
    assert full.json()["detail"].startswith("Collector of")
    assert "holds 1 tasks of a capacity of 3" in full.json()["detail"]
    assert (await statuses(tenant, [a]))[a] == ("open", None, None)
    fits = await give([x, a, b], collector.id)
    assert fits.status_code == 200, fits.text
    assert fits.json()["changed"] == 2
    await set_agent(tenant, collector.id, status="offline", capacity=25)
    offline = await give([c], collector.id)
    assert offline.status_code == 409
    assert "offline" in offline.json()["detail"]
    await set_agent(tenant, collector.id, status="available", active=False)
    gone = await give([c], collector.id)
    assert gone.status_code == 422


async def test_tasks_moved_wait_in_the_new_queue_and_both_queues_hear_it(
    client, tenants: TenantFactory, tenant: SeededTenant
) -> None:
    team = await group(tenant)
    first, second = await queue(tenant, name="First"), await queue(tenant, group_id=team)
    [a, b] = await tasks(
        tenant, 2, queue_id=first, strategy={"kind": "fewest_open", "group_id": team}
    )
    await hold(tenant, b, tenant.collector.id, "in_progress")
    before = await mark(tenant)
    moved = await client.post(
        f"{BULK}/move", json={"task_ids": [a, b], "queue_id": second}, headers=tenant.admin.headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["changed"] == 2
    for task_id in (a, b):
        row = await task_row(tenant, task_id)
        assert (row["status"], row["assignee_id"], row["queue_id"], row["group_id"]) == (
            "open",
            None,
            second,
            team,
        )
        assert row["strategy"] == {"kind": "queue"}
        assert row["started_at"] is None
    journal = await written(tenant, before)
    assert [e["action"] for e in journal.audit] == ["task.move", "task.move"]
    events = {e["data"]["task"]["id"]: e for e in journal.of_type("task.updated")}
    account = tenant.accounts[0].id
    shown = {f"account:{account}", "wallboard", f"queue:{first}", f"queue:{second}"}
    assert events[a]["channels"] == shown
    assert events[b]["channels"] == shown | {f"agent:{tenant.collector.id}"}
    assert events[b]["data"]["previous_assignee_id"] == tenant.collector.id
    # Already there and waiting: nothing to do.
    again = await client.post(
        f"{BULK}/move", json={"task_ids": [a], "queue_id": second}, headers=tenant.admin.headers
    )
    assert again.json()["changed"] == 0
    theirs = await queue(await tenants.new())
    refused = await client.post(
        f"{BULK}/move", json={"task_ids": [a], "queue_id": theirs}, headers=tenant.admin.headers
    )
    assert (refused.status_code, refused.json()["field"]) == (422, "queue_id")


async def test_cancelled_tasks_keep_their_notes_with_the_reason_and_their_holder_hears(
    client, tenant: SeededTenant
) -> None:
    [a, b] = await tasks(tenant, 2)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE tasks SET notes = 'asked for a call' WHERE id = $1", a)
    await hold(tenant, b, tenant.other_collector.id)
    before = await mark(tenant)
    response = await client.post(
        f"{BULK}/cancel",
        json={"task_ids": [a, b], "reason": " Debt sold "},
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 200, response.text
    rows = [await task_row(tenant, i) for i in (a, b)]
    assert [r["notes"] for r in rows] == ["asked for a call\nDebt sold", "Debt sold"]
    assert {(r["status"], r["outcome"]) for r in rows} == {("cancelled", "cancelled")}
    assert all(r["cancelled_at"] is not None for r in rows)
    journal = await written(tenant, before)
    assert [e["action"] for e in journal.audit] == ["task.cancel", "task.cancel"]
    events = {e["data"]["task"]["id"]: e for e in journal.of_type("task.updated")}
    assert f"agent:{tenant.other_collector.id}" in events[b]["channels"]
    assert events[b]["data"]["task"]["status"] == "cancelled"
    # Their access to the account may have ended with the work: open sockets re-check.
    assert journal.of_type("access.changed")
