""" "Next task" at the function: who may pull, what a pull that finds nothing says, calls held
back and when they come back, and the task taken."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.accounts.schemas import Account
from domain.actor import Actor, system_actor
from domain.errors import Conflict, Forbidden
from domain.worklist.pull import NextTask, PullService
from tests.factories import SeededTenant
from tests.integration.worklist_helpers import (
    agent_actor,
    agents,
    parallel_work,
    queue,
    task_row,
    tasks,
)

# Noon UTC: a debtor on UTC may be called, one on UTC-9 (03:00) may not until 17:00 UTC.
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
NIGHT_ZONE = "Etc/GMT+9"


def at_noon() -> dt.datetime:
    return NOW


async def pull(tenant: SeededTenant, actor: Actor) -> NextTask:
    async with tenant.db.tenant(tenant.id) as conn:
        return await PullService(conn, actor, at_noon).next()


async def created(tenant: SeededTenant, task_ids: list[int], ago: dt.timedelta) -> None:
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tasks SET created_at = $2 WHERE id = ANY($1::bigint[])", task_ids, NOW - ago
        )


async def debtors_at(tenant: SeededTenant, zone: str, *, opt_out_call: bool = False) -> None:
    """Every debtor of the tenant lives in ``zone`` (and has opted out of calls if told)."""
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE debtors SET time_zone = $1, opt_out_call = $2", zone, opt_out_call
        )


async def test_only_a_signed_in_agent_pulls(tenant: SeededTenant) -> None:
    for actor in (
        system_actor(tenant.id),
        Actor(tenant_id=tenant.id, type="user", id=None, role="collector"),
        Actor(tenant_id=tenant.id, type="api_key", id=tenant.collector.id, role="collector"),
    ):
        with pytest.raises(Forbidden) as refused:
            await pull(tenant, actor)
        assert refused.value.detail == "only a signed-in agent pulls tasks"


async def test_only_an_active_agent_pulls(tenant: SeededTenant) -> None:
    await queue(tenant)
    await tasks(tenant, 1)
    [inactive] = await agents(tenant, 1)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET active = false WHERE id = $1", inactive)
    for actor in (
        agent_actor(tenant, inactive),
        tenant.readonly.actor,
        agent_actor(tenant, 2_000_000_000),  # nobody of this tenant
    ):
        with pytest.raises(Forbidden) as refused:
            await pull(tenant, actor)
        assert refused.value.detail == "only an active agent pulls tasks"


async def test_an_agent_in_no_queue_is_told_so(tenant: SeededTenant) -> None:
    mine, other = await agents(tenant, 2)
    await queue(tenant, agent_ids=[other])
    await tasks(tenant, 1)
    assert await pull(tenant, agent_actor(tenant, mine)) == NextTask(
        task=None, message="you are not in any queue"
    )


async def test_an_offline_agent_who_pulls_is_available_again(tenant: SeededTenant) -> None:
    [agent] = await agents(tenant, 1, status="offline")
    await queue(tenant)
    found = await pull(tenant, agent_actor(tenant, agent))
    assert found == NextTask(task=None, message="nothing is waiting in your queues")
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            "SELECT status, status_changed_at, last_seen_at FROM users WHERE id = $1", agent
        )
    assert tuple(row) == ("available", NOW, NOW)


async def test_a_pull_starts_the_task_and_says_its_queue_priority_and_whole_minutes_waited(
    tenant: SeededTenant,
) -> None:
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    [task_id] = await tasks(tenant, 1, queue_id=calls, priority=90)
    await created(tenant, [task_id], dt.timedelta(minutes=3, seconds=59))
    found = await pull(tenant, agent_actor(tenant, agent))
    reason = "next task from Calls: priority 90, waited 3 min"
    assert found.message == reason
    assert found.task is not None
    assert (found.task.id, found.task.status, found.task.assignee_id) == (
        task_id,
        "in_progress",
        agent,
    )
    row = await task_row(tenant, task_id)
    assert (
        row["assigned_by"],
        row["assignment_reason"],
        row["assigned_at"],
        row["started_at"],
        row["not_before"],
    ) == ("pull", reason, NOW, NOW, None)


async def test_a_task_stamped_after_the_pull_s_clock_has_waited_no_minutes(
    tenant: SeededTenant,
) -> None:
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    [task_id] = await tasks(tenant, 1, queue_id=calls, priority=20)
    await created(tenant, [task_id], -dt.timedelta(minutes=5))
    found = await pull(tenant, agent_actor(tenant, agent))
    assert found.message == "next task from Calls: priority 20, waited 0 min"


async def test_the_most_urgent_task_of_several_queues_comes_first_named_by_its_queue(
    tenant: SeededTenant,
) -> None:
    calls = await queue(tenant)
    letters = await queue(tenant, name="Letters")
    [agent] = await agents(tenant, 1)
    await tasks(tenant, 2, queue_id=calls, priority=50)
    [urgent] = await tasks(tenant, 1, queue_id=letters, priority=70)
    await created(tenant, [urgent], dt.timedelta(minutes=1))
    found = await pull(tenant, agent_actor(tenant, agent))
    assert found.task is not None
    assert found.task.id == urgent
    assert found.message == "next task from Letters: priority 70, waited 1 min"


async def test_one_boosted_queue_among_several_ranks_every_task_by_age(
    tenant: SeededTenant,
) -> None:
    plain = await queue(tenant)
    boosted = await queue(tenant, name="Aged", age_boost_minutes=10)
    [agent] = await agents(tenant, 1)
    [newer] = await tasks(tenant, 1, queue_id=plain, priority=45)
    [old] = await tasks(tenant, 1, queue_id=boosted, priority=40)
    await created(tenant, [newer], dt.timedelta(minutes=1))
    # Two hours at one step per ten minutes: rank 52 over the newer task's 45.
    await created(tenant, [old], dt.timedelta(hours=2))
    found = await pull(tenant, agent_actor(tenant, agent))
    assert found.task is not None
    assert found.task.id == old
    assert found.message == "next task from Aged: priority 40, waited 120 min"


async def test_an_agent_at_capacity_is_refused_with_what_they_hold(tenant: SeededTenant) -> None:
    await parallel_work(tenant)
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1, capacity=2)
    first, second, third = await tasks(tenant, 3, queue_id=calls)
    assert (await pull(tenant, agent_actor(tenant, agent))).task is not None
    at_capacity = await pull(tenant, agent_actor(tenant, agent))
    assert at_capacity.task is not None
    assert at_capacity.task.id == second
    with pytest.raises(Conflict) as refused:
        await pull(tenant, agent_actor(tenant, agent))
    assert refused.value.detail == (
        "you hold 2 tasks, your capacity; finish one before taking another"
    )
    row = await task_row(tenant, third)
    assert (row["status"], row["assignee_id"], row["not_before"]) == ("open", None, None)
    assert (await task_row(tenant, first))["assignee_id"] == agent


async def test_a_call_allowed_now_is_taken_and_shown_as_allowed(tenant: SeededTenant) -> None:
    await debtors_at(tenant, "Etc/GMT")
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    [call] = await tasks(tenant, 1, queue_id=calls, type="call")
    found = await pull(tenant, agent_actor(tenant, agent))
    assert found.task is not None
    assert found.task.id == call
    assert (found.task.contact.allowed, found.task.contact.reason, found.task.contact.opens_at) == (  # type: ignore[union-attr]
        True,
        None,
        None,
    )


async def test_calls_that_may_not_be_made_are_held_back_for_an_hour_and_counted(
    tenant: SeededTenant,
) -> None:
    await debtors_at(tenant, "Etc/GMT", opt_out_call=True)
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    blocked = await tasks(tenant, 2, queue_id=calls, type="call")
    found = await pull(tenant, agent_actor(tenant, agent))
    assert found == NextTask(
        task=None,
        message="nothing is waiting in your queues that may be worked now"
        " (2 calls may not be made yet)",
    )
    for task_id in blocked:
        row = await task_row(tenant, task_id)
        assert (row["status"], row["not_before"]) == ("open", NOW + dt.timedelta(hours=1))
    # Held back, they are out of line: the next pull passes over nothing.
    again = await pull(tenant, agent_actor(tenant, agent))
    assert again == NextTask(task=None, message="nothing is waiting in your queues")


async def test_a_call_outside_the_debtor_s_hours_is_held_until_they_open(
    tenant: SeededTenant,
) -> None:
    await debtors_at(tenant, NIGHT_ZONE)
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    [call] = await tasks(tenant, 1, queue_id=calls, type="call", priority=90)
    [review] = await tasks(tenant, 1, queue_id=calls, type="review", priority=10)
    found = await pull(tenant, agent_actor(tenant, agent))
    assert found.task is not None
    assert found.task.id == review
    assert found.task.contact is None
    # 08:00 on the debtor's clock, nine hours behind UTC.
    assert (await task_row(tenant, call))["not_before"] == dt.datetime(
        2026, 11, 30, 17, 0, tzinfo=dt.UTC
    )


async def test_a_pull_passes_over_more_held_calls_than_its_first_rounds_read(
    tenant: SeededTenant,
) -> None:
    await debtors_at(tenant, "Etc/GMT", opt_out_call=True)
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    blocked = await tasks(tenant, 12, queue_id=calls, type="call", priority=90)
    [review] = await tasks(tenant, 1, queue_id=calls, type="review", priority=10)
    found = await pull(tenant, agent_actor(tenant, agent))
    assert found.task is not None
    assert found.task.id == review
    held = [(await task_row(tenant, t))["not_before"] for t in blocked]
    assert held == [NOW + dt.timedelta(hours=1)] * 12


async def test_a_pull_is_audited_and_announced_to_the_agent_and_the_queue(
    tenant: SeededTenant,
) -> None:
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    [task_id] = await tasks(tenant, 1, queue_id=calls)
    await pull(tenant, agent_actor(tenant, agent))
    async with tenant.db.tenant(tenant.id) as conn:
        audit = await conn.fetch(
            "SELECT action, actor_id, occurred_at FROM audit_log "
            "WHERE entity_type = 'task' AND entity_id = $1",
            task_id,
        )
        [event] = await conn.fetch("SELECT channels, data FROM outbox WHERE type = 'task.assigned'")
    assert [tuple(r) for r in audit] == [("task.pull", agent, NOW)]
    assert f"agent:{agent}" in event["channels"]
    assert f"queue:{calls}" in event["channels"]
    assert event["data"]["task"]["id"] == task_id


async def calls_made(
    tenant: SeededTenant, account: Account, moments: list[dt.datetime], disposition: str
) -> None:
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.executemany(
            """INSERT INTO interactions (tenant_id, account_id, debtor_id, channel, direction,
              disposition, occurred_at) VALUES ($1, $2, $3, 'call', 'outbound', $4, $5)""",
            [(tenant.id, account.id, account.debtor_id, disposition, at) for at in moments],
        )


async def test_a_pull_holds_back_a_call_past_the_weekly_cap_or_after_a_conversation(
    tenant: SeededTenant,
) -> None:
    await debtors_at(tenant, "Etc/GMT")
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    capped, talked_to, room = tenant.accounts
    hours = [NOW - dt.timedelta(hours=h) for h in range(1, 8)]
    await calls_made(tenant, capped, hours, "no_answer")  # seven this week: the cap
    await calls_made(tenant, talked_to, hours[:1], "right_party_contact")
    await calls_made(tenant, room, hours[:6], "no_answer")  # six: one more is allowed
    held = [
        (await tasks(tenant, 1, account_id=a.id, queue_id=calls, type="call", priority=p))[0]
        for a, p in ((capped, 90), (talked_to, 80))
    ]
    [allowed] = await tasks(tenant, 1, account_id=room.id, queue_id=calls, type="call")
    found = await pull(tenant, agent_actor(tenant, agent))
    assert found.task is not None
    assert found.task.id == allowed
    # Both may be called again a week on, when the debtor's hours open.
    reopens = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
    for task_id in held:
        row = await task_row(tenant, task_id)
        assert (row["status"], row["not_before"]) == ("open", reopens)


async def test_next_task_gives_back_the_task_under_way_rather_than_taking_another(
    tenant: SeededTenant,
) -> None:
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    first, second = await tasks(tenant, 2, queue_id=calls)
    taken = await pull(tenant, agent_actor(tenant, agent))
    assert (taken.task.id, taken.resumed) == (first, False)  # type: ignore[union-attr]
    again = await pull(tenant, agent_actor(tenant, agent))
    assert again.task is not None
    assert (again.task.id, again.task.status, again.resumed, again.message) == (
        first,
        "in_progress",
        True,
        "you are already working on this task: complete it or hand it back to take another",
    )
    row = await task_row(tenant, second)
    assert (row["status"], row["assignee_id"]) == ("open", None)
    # Finished, the next press takes the next task.
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE tasks SET status = 'completed' WHERE id = $1", first)
    after = await pull(tenant, agent_actor(tenant, agent))
    assert (after.task.id, after.resumed) == (second, False)  # type: ignore[union-attr]


async def test_work_given_but_not_started_does_not_stop_a_pull(tenant: SeededTenant) -> None:
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    given, waiting = await tasks(tenant, 2, queue_id=calls)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tasks SET status = 'assigned', assignee_id = $2 WHERE id = $1", given, agent
        )
    found = await pull(tenant, agent_actor(tenant, agent))
    assert (found.task.id, found.resumed) == (waiting, False)  # type: ignore[union-attr]


async def test_a_tenant_that_allows_parallel_work_takes_another_task(
    tenant: SeededTenant,
) -> None:
    await parallel_work(tenant)
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1)
    first, second = await tasks(tenant, 2, queue_id=calls)
    assert (await pull(tenant, agent_actor(tenant, agent))).task.id == first  # type: ignore[union-attr]
    again = await pull(tenant, agent_actor(tenant, agent))
    assert (again.task.id, again.resumed) == (second, False)  # type: ignore[union-attr]


async def test_an_away_agent_gets_no_new_work_but_keeps_the_task_under_way(
    tenant: SeededTenant,
) -> None:
    calls = await queue(tenant)
    [agent] = await agents(tenant, 1, status="away")
    first, second = await tasks(tenant, 2, queue_id=calls)
    refused = await pull(tenant, agent_actor(tenant, agent))
    assert refused == NextTask(
        task=None, message="you are away: set yourself available to take new work"
    )
    for task_id in (first, second):
        row = await task_row(tenant, task_id)
        assert (row["status"], row["assignee_id"]) == ("open", None)
    async with tenant.db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT status FROM users WHERE id = $1", agent) == "away"
        await conn.execute(
            "UPDATE tasks SET status = 'in_progress', assignee_id = $2 WHERE id = $1", first, agent
        )
    # What is already theirs they still get back.
    back = await pull(tenant, agent_actor(tenant, agent))
    assert (back.task.id, back.resumed) == (first, True)  # type: ignore[union-attr]
