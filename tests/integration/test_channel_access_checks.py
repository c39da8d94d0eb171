"""The channel policy's questions to the database: a collector's accounts, group and queues,
asked in the subscriber's tenant, and the notice that access changed."""

from __future__ import annotations

import pytest

from channels import names
from domain.actor import Actor
from domain.channel_access import ChannelAccess
from domain.db import Database
from tests.factories import SeededTenant, TenantFactory
from tests.integration.worklist_helpers import group, queue, tasks


async def in_group(tenant: SeededTenant, user_id: int, group_id: int | None) -> None:
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET group_id = $2 WHERE id = $1", user_id, group_id)


async def held_by(tenant: SeededTenant, task_id: int, user_id: int) -> None:
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tasks SET status = 'assigned', assignee_id = $2, assigned_at = now() "
            "WHERE id = $1",
            task_id,
            user_id,
        )


async def heard(access: ChannelAccess, name: str) -> str | None:
    """The channel as the client sees it, or the refusal's message."""
    try:
        return (await access(name)).name
    except names.ChannelRefused as refused:
        return str(refused)


async def test_a_collector_hears_the_accounts_they_own_or_hold_work_on(
    db: Database, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    owned, others, nobodys = tenant.accounts
    access = ChannelAccess.for_subscriber(db, tenant.collector.actor)
    assert await heard(access, names.account(owned.id)) == f"account:{owned.id}"
    assert await heard(access, names.account(others.id)) == (
        f"you may not subscribe to account:{others.id}"
    )
    assert await heard(access, names.account(nobodys.id)) == (
        f"you may not subscribe to account:{nobodys.id}"
    )
    [task_id] = await tasks(tenant, 1, account_id=nobodys.id)
    await held_by(tenant, task_id, tenant.collector.id)
    assert await heard(access, names.account(nobodys.id)) == f"account:{nobodys.id}"
    # Another tenant's account is not there to be seen, whoever owns it.
    other = await tenants.new()
    assert await heard(access, names.account(other.accounts[0].id)) == (
        f"you may not subscribe to account:{other.accounts[0].id}"
    )


async def test_a_collector_hears_their_own_group_only(db: Database, tenant: SeededTenant) -> None:
    team, other_team = await group(tenant, "Team"), await group(tenant, "Other")
    access = ChannelAccess.for_subscriber(db, tenant.collector.actor)
    assert await heard(access, names.group(team)) == f"you may not subscribe to group:{team}"
    await in_group(tenant, tenant.collector.id, team)
    assert await heard(access, names.group(team)) == f"group:{team}"
    assert await heard(access, names.group(other_team)) == (
        f"you may not subscribe to group:{other_team}"
    )


async def test_a_collector_hears_no_queue_not_even_one_they_pull_from(
    db: Database, tenant: SeededTenant
) -> None:
    """A queue's waiting tasks are on accounts the collector may not see yet."""
    team = await group(tenant, "Team")
    await in_group(tenant, tenant.collector.id, team)
    open_to_all = await queue(tenant, name="Everyone")
    teams = await queue(tenant, name="Team's", group_id=team)
    named = await queue(tenant, name="Named", agent_ids=[tenant.collector.id])
    access = ChannelAccess.for_subscriber(db, tenant.collector.actor)
    for pulled_from in (open_to_all, teams, named):
        assert await heard(access, names.queue(pulled_from)) == (
            "a collector may not subscribe to queue channels"
        )


async def test_the_questions_are_asked_in_the_subscribers_tenant(
    db: Database, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    other = await tenants.new()
    team = await group(other, "Theirs")
    await in_group(other, other.collector.id, team)
    # The same user id in the wrong tenant sees nothing of it.
    stranger = Actor(tenant_id=tenant.id, type="user", id=other.collector.id, role="collector")
    access = ChannelAccess.for_subscriber(db, stranger)
    assert await heard(access, names.group(team)) == f"you may not subscribe to group:{team}"
    owned = other.accounts[0].id
    assert await heard(access, names.account(owned)) == f"you may not subscribe to account:{owned}"
    theirs = ChannelAccess.for_subscriber(db, other.collector.actor)
    assert await heard(theirs, names.group(team)) == f"group:{team}"
    assert await heard(theirs, names.account(owned)) == f"account:{owned}"


@pytest.mark.parametrize("kind", ["account", "group"])
async def test_a_subscriber_without_an_id_is_never_granted_a_requirement(
    db: Database, tenant: SeededTenant, kind: str
) -> None:
    nobody = Actor(tenant_id=tenant.id, type="user", role="collector")
    access = ChannelAccess.for_subscriber(db, nobody)
    assert await access.check(kind, tenant.accounts[0].id) is False  # type: ignore[arg-type]
