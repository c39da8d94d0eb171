"""A queue as the API shows it carries what waits in it: how many open tasks and when the
oldest of them was created, for the list (one statement for every queue) and for one."""

from __future__ import annotations

import datetime as dt

from tests.factories import SeededTenant
from tests.integration.worklist_helpers import queue, tasks


async def _set(tenant: SeededTenant, task_id: int, **values: object) -> None:
    sets = ", ".join(f"{column} = ${n}" for n, column in enumerate(values, start=2))
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(f"UPDATE tasks SET {sets} WHERE id = $1", task_id, *values.values())


async def test_a_queue_shows_its_open_tasks_and_the_oldest_ones_age(
    client, tenant: SeededTenant, tenants
) -> None:
    busy = await queue(tenant, name="Busy")
    empty = await queue(tenant, name="Empty")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    oldest, middle, held = await tasks(tenant, 3, queue_id=busy)
    await _set(tenant, oldest, created_at=now - dt.timedelta(hours=3))
    await _set(tenant, middle, created_at=now - dt.timedelta(hours=1))
    # Older still, but held by an agent: it no longer waits.
    await _set(
        tenant,
        held,
        created_at=now - dt.timedelta(hours=9),
        status="assigned",
        assignee_id=tenant.collector.id,
    )
    # Another tenant's older waiting work in a queue of theirs is not counted here.
    other = await tenants.new()
    theirs = await queue(other, name="Busy")
    [far] = await tasks(other, 1, queue_id=theirs)
    await _set(other, far, created_at=now - dt.timedelta(days=4))

    listed = await client.get("/api/v1/queues", headers=tenant.supervisor.headers)
    assert listed.status_code == 200, listed.text
    by_id = {q["id"]: q for q in listed.json()["items"]}
    assert set(by_id) == {busy, empty}
    assert by_id[busy]["waiting"] == 2
    since = dt.datetime.fromisoformat(by_id[busy]["oldest_since"])
    assert since == now - dt.timedelta(hours=3)
    assert by_id[empty]["waiting"] == 0
    assert by_id[empty]["oldest_since"] is None

    one = await client.get(f"/api/v1/queues/{busy}", headers=tenant.admin.headers)
    assert one.json()["waiting"] == 2
    assert one.json()["oldest_since"] == by_id[busy]["oldest_since"]
    alone = await client.get(f"/api/v1/queues/{empty}", headers=tenant.admin.headers)
    assert (alone.json()["waiting"], alone.json()["oldest_since"]) == (0, None)

    # The oldest picked up: the next one is the oldest now.
    await _set(tenant, oldest, status="in_progress", assignee_id=tenant.collector.id)
    again = await client.get(f"/api/v1/queues/{busy}", headers=tenant.admin.headers)
    assert again.json()["waiting"] == 1
    assert dt.datetime.fromisoformat(again.json()["oldest_since"]) == now - dt.timedelta(hours=1)
