"""Time triggers: an account reaching its 30th day past due, entering a bucket, a promise
due in two days; each starts its workflow once that day, however often the job runs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx

from domain.clock import utcnow
from domain.db import Database
from tasks.workflows import run_time_triggers
from tests.factories import SeededTenant
from tests.integration.workflow_helpers import API, DEV, LINKS, Clock, runs


async def time_workflow(
    client: httpx.AsyncClient, tenant: SeededTenant, trigger: dict, title: str
) -> dict:
    response = await client.post(
        f"{API}/workflows",
        json={
            "name": title,
            "enabled": True,
            "trigger": trigger,
            "steps": [{"kind": "create_task", "type": "review", "title": title}],
        },
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_each_point_starts_its_workflow_once_on_its_day(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    settings = await client.get(f"{API}/tenant", headers=tenant.supervisor.headers)
    clock = Clock(utcnow())
    today = clock.now.astimezone(ZoneInfo(settings.json()["time_zone"])).date()
    late = await tenant.account(due_date=today - dt.timedelta(days=30))
    thirty = await time_workflow(
        client, tenant, {"type": "account.days_past_due", "days": 30}, "Thirty days late"
    )
    thirty_one = await time_workflow(
        client, tenant, {"type": "account.days_past_due", "days": 31}, "Thirty-one days late"
    )
    bucket = await time_workflow(
        client, tenant, {"type": "account.bucket_entered", "bucket": "31-60"}, "Into 31-60"
    )
    promised = await client.post(
        f"{API}/accounts/{late.id}/promises",
        json={"amount": "500.00", "due_date": (today + dt.timedelta(days=2)).isoformat()},
        headers={**tenant.supervisor.headers, "Idempotency-Key": f"promise-{late.id}"},
    )
    assert promised.status_code == 201, promised.text
    reminder = await time_workflow(
        client, tenant, {"type": "promise.due_in", "days": 2}, "Promise due in two days"
    )

    await run_time_triggers(db, LINKS, DEV, clock)
    await run_time_triggers(db, LINKS, DEV, clock)  # again the same day: nothing more
    assert [r["account_id"] for r in await runs(client, tenant, thirty["id"])] == [late.id]
    assert await runs(client, tenant, thirty_one["id"]) == []
    assert await runs(client, tenant, bucket["id"]) == []
    (due,) = await runs(client, tenant, reminder["id"])
    assert (due["account_id"], due["status"], due["trigger_type"]) == (
        late.id,
        "completed",
        "promise.due_in",
    )

    # The next day the account is 31 days late and enters the 31-60 bucket.
    clock.advance(days=1)
    await run_time_triggers(db, LINKS, DEV, clock)
    assert len(await runs(client, tenant, thirty["id"])) == 1
    assert [r["account_id"] for r in await runs(client, tenant, thirty_one["id"])] == [late.id]
    assert [r["account_id"] for r in await runs(client, tenant, bucket["id"])] == [late.id]
    assert len(await runs(client, tenant, reminder["id"])) == 1
    async with db.tenant(tenant.id) as conn:
        titles = [
            r["title"]
            for r in await conn.fetch(
                "SELECT title FROM tasks WHERE account_id = $1 ORDER BY id", late.id
            )
        ]
    assert titles == [
        "Thirty days late",
        "Promise due in two days",
        "Thirty-one days late",
        "Into 31-60",
    ]
