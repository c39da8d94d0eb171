""" "Call back later" over HTTP: a time in the debtor's zone inside the contact window books a
call task for the collector who booked it, held back until then, audited and announced; a
minute past the window, a blocked debtor, a time gone by, another's account: refused."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from domain.actor import system_actor
from domain.worklist import sweeps
from tests.factories import SeededTenant

API = "/api/v1"
ZONE = "America/Chicago"


def _url(account_id: int) -> str:
    return f"{API}/accounts/{account_id}/callbacks"


def tomorrow_at(hour: int, minute: int) -> str:
    """Tomorrow in the debtor's zone at ``hour:minute``, as the screen's field sends it."""
    day = dt.datetime.now(ZoneInfo(ZONE)).date() + dt.timedelta(days=1)
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}"


def in_utc(local: str) -> dt.datetime:
    return dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(ZONE)).astimezone(dt.UTC)


async def _in_chicago(tenant: SeededTenant, account_id: int, **flags: Any) -> None:
    sets = ", ".join(["time_zone = $2", *(f"{k} = {v}" for k, v in flags.items())])
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            f"UPDATE debtors SET {sets} WHERE id = (SELECT debtor_id FROM accounts WHERE id = $1)",
            account_id,
            ZONE,
        )


async def _book(
    client: httpx.AsyncClient, tenant: SeededTenant, account_id: int, at: str, user=None
) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await client.post(
        _url(account_id),
        json={"at": at, "notes": "after payday"},
        headers=(user or tenant.collector).headers,
    )


async def test_a_callback_a_minute_before_the_window_closes_is_booked_for_its_collector(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    await _in_chicago(tenant, account.id)
    at = tomorrow_at(20, 59)
    response = await _book(client, tenant, account.id, at)
    assert response.status_code == 201, response.text
    task = response.json()
    assert (task["type"], task["title"], task["status"], task["account_id"]) == (
        "call",
        "Callback",
        "open",
        account.id,
    )
    assert dt.datetime.fromisoformat(task["due_at"]) == in_utc(at)
    assert task["notes"] == "after payday"
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            "SELECT not_before, strategy, assignee_id FROM tasks WHERE id = $1", task["id"]
        )
        audit = await conn.fetchrow(
            "SELECT actor_id, action FROM audit_log WHERE entity_type = 'task' AND entity_id = $1",
            task["id"],
        )
        event = await conn.fetchrow(
            "SELECT channels, data FROM outbox WHERE type = 'task.created' "
            "AND (data -> 'task' ->> 'id')::bigint = $1",
            task["id"],
        )
    assert row["not_before"] == in_utc(at)
    assert row["strategy"] == {"kind": "agent", "agent_id": tenant.collector.id, "group_id": None}
    assert row["assignee_id"] is None
    assert (audit["actor_id"], audit["action"]) == (tenant.collector.id, "task.callback")
    assert f"account:{account.id}" in event["channels"]


async def test_the_window_s_closing_minute_and_the_minute_before_it_opens_are_refused(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    await _in_chicago(tenant, account.id)
    for hour, minute in ((21, 0), (7, 59)):
        at = tomorrow_at(hour, minute)
        refused = await _book(client, tenant, account.id, at)
        assert refused.status_code == 422, refused.text
        day = dt.datetime.fromisoformat(at)
        assert refused.json()["detail"] == (
            "calls only between 08:00 and 21:00 in the debtor's time zone (America/Chicago); "
            f"{day:%a} {day.day} {day:%b %Y} {hour:02d}:{minute:02d} is outside"
        )
        assert refused.json()["field"] == "at"
    opening = await _book(client, tenant, account.id, tomorrow_at(8, 0))
    assert opening.status_code == 201, opening.text
    async with tenant.db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM tasks WHERE title = 'Callback'") == 1


async def test_a_time_gone_by_or_not_a_time_is_refused(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    await _in_chicago(tenant, account.id)
    yesterday = (dt.datetime.now(ZoneInfo(ZONE)).date() - dt.timedelta(days=1)).isoformat()
    past = await _book(client, tenant, account.id, f"{yesterday}T12:00")
    assert past.status_code == 422, past.text
    assert past.json()["detail"].endswith("(America/Chicago) has passed")
    for bad in ("2026-02-30T12:00", "tomorrow", "2026-12-01T12:00+01:00"):
        refused = await _book(client, tenant, account.id, bad)
        assert refused.status_code == 422, (bad, refused.text)


async def test_a_debtor_who_asked_contact_to_cease_gets_no_callback(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    await _in_chicago(tenant, account.id, cease_requested_at="now()")
    refused = await _book(client, tenant, account.id, tomorrow_at(12, 0))
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "cease_requested"


async def test_another_collector_s_or_tenant_s_account_is_not_found_and_readonly_may_not(
    client: httpx.AsyncClient, tenants, tenant: SeededTenant
) -> None:
    theirs = tenant.accounts[1]
    hidden = await _book(client, tenant, theirs.id, tomorrow_at(12, 0))
    assert hidden.status_code == 404, hidden.text
    other = await tenants.new()
    foreign = await _book(client, tenant, other.accounts[0].id, tomorrow_at(12, 0), tenant.admin)
    assert foreign.status_code == 404, foreign.text
    reader = await _book(client, tenant, tenant.accounts[0].id, tomorrow_at(12, 0), tenant.readonly)
    assert reader.status_code == 403, reader.text
    async with other.db.tenant(other.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM tasks") == 0


async def test_the_callback_waits_for_its_time_then_goes_to_its_collector(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    await _in_chicago(tenant, account.id)
    at = tomorrow_at(10, 30)
    task = (await _book(client, tenant, account.id, at)).json()
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE users SET status = 'available' WHERE id = $1", tenant.collector.id
        )
    actor = system_actor(tenant.id)
    # A minute before: still held, nobody gets it.
    async with tenant.db.system() as conn:
        await sweeps.release_held_back(conn, in_utc(at) - dt.timedelta(minutes=1))
        assert tenant.id not in await sweeps.tenants_waiting(conn)
    async with tenant.db.tenant(tenant.id) as conn:
        assert await sweeps.assign_waiting(conn, actor) == []
    # Its time: back in line, and the round gives it to the collector who booked it.
    async with tenant.db.system() as conn:
        await sweeps.release_held_back(conn, in_utc(at))
        assert tenant.id in await sweeps.tenants_waiting(conn)
    # (A worker of the session, woken by the release's event, may run the round first.)
    async with tenant.db.tenant(tenant.id) as conn:
        made = await sweeps.assign_waiting(conn, actor)
    assert [(m.task_id, m.agent_id) for m in made] in ([], [(task["id"], tenant.collector.id)])
    for _ in range(100):  # the worker's round, if it was first, commits in its own time
        async with tenant.db.tenant(tenant.id) as conn:
            row = await conn.fetchrow(
                "SELECT status, assignee_id FROM tasks WHERE id = $1", task["id"]
            )
        if row["status"] != "waiting":
            break
        await asyncio.sleep(0.1)
    assert (row["status"], row["assignee_id"]) == ("assigned", tenant.collector.id)
